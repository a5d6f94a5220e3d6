"""Record validation: round trip, unknown versions, malformed and changed files are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import RecordError
from runner.records.load import load_record, scan_results
from runner.records.performance import PerformanceRecord, json_schema


@pytest.fixture(scope="module")
def one_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("rec") / "results"
    assert (
        main(
            [
                "run",
                "--no-progress",
                "experiment=demo",
                f"results_dir={results}",
                "num_prompts=2",
                "repeats=1",
                "calibrate=false",
            ]
        )
        == 0
    )
    return next(results.rglob("*.json"))


def copy_results(record: Path, tmp_path: Path) -> Path:
    """Copy a record and its raw data to the same place under `tmp_path/results`."""
    from runner.records.layout import expected_parts

    parts = expected_parts(load_record(record))
    assert parts is not None
    target = tmp_path.joinpath("results", *parts[:-1])
    target.mkdir(parents=True)
    for file in record.parent.iterdir():
        shutil.copy(file, target / file.name)
    return target / record.name


def test_round_trip(one_record: Path) -> None:
    record = load_record(one_record)
    assert isinstance(record, PerformanceRecord)
    again = PerformanceRecord.model_validate_json(json.dumps(record.model_dump(mode="json")))
    assert again == record


def test_unknown_schema_version_is_refused(one_record: Path, tmp_path: Path) -> None:
    path = copy_results(one_record, tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match="unknown schema_version 99"):
        load_record(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hello": 1}', "not a leaderboard record"),
        ('{"kind": "weird", "schema_version": 1}', "unknown record kind"),
    ],
)
def test_malformed_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(RecordError, match=message) as caught:
        load_record(path)
    assert str(caught.value).startswith(str(path))


def test_truncated_record_and_forged_field(one_record: Path, tmp_path: Path) -> None:
    path = copy_results(one_record, tmp_path)
    text = path.read_text()
    forged = json.loads(text)
    forged["summary"]["energy_j"] = 0.0
    forged["extra_field"] = True
    path.write_text(json.dumps(forged))
    with pytest.raises(RecordError, match="extra_field"):
        load_record(path)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(RecordError, match="not valid JSON"):
        load_record(path)


def test_changed_raw_data_is_detected(one_record: Path, tmp_path: Path) -> None:
    path = copy_results(one_record, tmp_path)
    raw = next(path.parent.glob("*.requests.jsonl"))
    raw.write_text(raw.read_text() + "{}\n")
    scan = scan_results(tmp_path / "results")
    assert len(scan.problems) == 1 and "sha256 differs" in scan.problems[0]


def test_validate_cli_names_each_problem(one_record: Path, tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    copy_results(one_record, tmp_path)
    (results / "notes.txt").write_text("hello")
    (results / "broken.json").write_text("{")
    (results / ".x.json.1234abcd.partial").write_text("{")
    assert main(["validate", "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "notes.txt: foreign file" in err
    assert "broken.json: not valid JSON" in err
    # The temp file of an interrupted write is a leftover: one note, with the command.
    assert "note: 1 leftover file(s)" in err and "leaderboard clean-interrupted" in err
    assert "validate: 2 problem(s)" in err


def test_validate_passes_on_good_results(one_record: Path, tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    copy_results(one_record, tmp_path)
    assert main(["validate", "--results", str(results)]) == 0
    assert "1 record(s) ok" in capsys.readouterr().out


def test_schema_command_prints_the_json_schema(capsys: pytest.CaptureFixture) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "PerformanceRecord"
    assert printed["properties"]["schema_version"] == json_schema()["properties"]["schema_version"]


def test_a_record_moved_into_another_models_folder_is_refused(one_record: Path, tmp_path) -> None:
    """A copy of a real record under another model's folder must not become that model's row."""
    path = copy_results(one_record, tmp_path)
    forged_folder = Path(str(path.parent).replace("/tiny-random/", "/other-model/"))
    forged_folder.mkdir(parents=True)
    for file in path.parent.iterdir():
        shutil.copy(file, forged_folder / file.name)
    scan = scan_results(tmp_path / "results")
    assert len(scan.records) == 1
    assert len(scan.problems) == 1
    assert "other-model" in scan.problems[0] and "a moved or forged record" in scan.problems[0]


def test_records_written_before_the_issue_13_blocks_still_load(repo_root: Path) -> None:
    """The golden fixtures (schema 1, no `energy_windows` / `execution`) validate unchanged."""
    golden = repo_root / "tests" / "fixtures" / "golden_results"
    scan = scan_results(golden)
    assert scan.problems == []
    performance = [r for _, r in scan.records if isinstance(r, PerformanceRecord)]
    assert performance
    for record in performance:
        assert record.energy_windows is None and record.execution is None


def test_new_blocks_are_in_the_schema_and_optional() -> None:
    schema = json_schema()
    assert "energy_windows" in schema["properties"] and "execution" in schema["properties"]
    assert "energy_windows" not in schema["required"] and "execution" not in schema["required"]
