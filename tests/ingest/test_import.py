"""`leaderboard import`: published tables in, published records out; all or nothing.

The inputs are the synthetic samples in tests/fixtures/published/ (made-up names and figures in
the mlenergy-v1 layout and in a table read through a YAML mapping).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import ConfigError, UserError
from runner.ingest.aliases import load_aliases
from runner.ingest.common import ImportRefused
from runner.ingest.importer import import_files
from runner.records.load import load_record, scan_results
from runner.records.published import METRIC_FIELDS, PublishedRecord
from tests.support.site_support import REPO

SAMPLES = REPO / "tests" / "fixtures" / "published"
MLENERGY = SAMPLES / "mlenergy_v1"
TABLE = SAMPLES / "example_table"
BUNDLE = "/* vega bundle stand-in */"
PROBLEM_LINE = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): .+")


def records_under(results: Path) -> list[tuple[Path, PublishedRecord]]:
    scan = scan_results(results)
    assert scan.problems == []
    return [(p, r) for p, r in scan.records if isinstance(r, PublishedRecord)]


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def benchmark_rows() -> list[tuple[str, str, int, dict[str, str]]]:
    """(GPU, task, line, cells) of every row of the sample benchmark files."""
    rows = []
    for path in sorted(MLENERGY.glob("*_benchmark.csv")):
        gpu, task = path.name.removesuffix("_benchmark.csv").split("_", 1)
        with path.open(newline="") as handle:
            for line, cells in enumerate(csv.DictReader(handle), start=2):
                rows.append((gpu, task, line, cells))
    return rows


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("imp") / "results"
    assert main(["import", "mlenergy-v1", str(MLENERGY), "--results", str(results)]) == 0
    return results


def test_mlenergy_rows_become_records_at_their_canonical_paths(imported: Path) -> None:
    found = records_under(imported)
    rows = benchmark_rows()
    assert len(found) == len(rows) == 8
    for path, record in found:
        ident = record.identity
        assert path.relative_to(imported).parts == (
            "published",
            "mlenergy-v1",
            ident.hardware_slug,
            ident.model_name,
            ident.task,
            f"{record.run_id}.json",
        )
        assert record.source.type == "published" and record.source.format == "mlenergy-v1"
        assert ident.batch_size == 1 and record.model.precision == "float16"
    slugs = {r.identity.hardware_name: r.identity.hardware_slug for _, r in found}
    assert slugs == {"A100": "nvidia-a100", "A40": "nvidia-a40"}  # no memory variant invented


def test_every_value_equals_the_source_value(imported: Path) -> None:
    by_key = {
        (r.identity.hardware_name, r.identity.task, r.identity.model_id): r
        for _, r in records_under(imported)
    }
    models = json.loads((MLENERGY / "models.json").read_text())
    with (MLENERGY / "score.csv").open(newline="") as handle:
        scores = {row["model"]: row for row in csv.DictReader(handle)}
    for gpu, task, line, cells in benchmark_rows():
        record = by_key[(gpu, task, cells["model"])]
        metrics = record.metrics
        for column, field in (
            ("throughput", "throughput_tok_s"),
            ("response_length", "response_tokens"),
            ("latency", "latency_s"),
            ("energy", "energy_per_response_j"),
        ):
            expected = float(cells[column]) if cells[column] else None
            assert getattr(metrics, field) == expected, (gpu, task, cells["model"], column)
        assert record.source_rows[0].file == f"{gpu}_{task}_benchmark.csv"
        assert record.source_rows[0].line == line and record.source_rows[0].values == cells
        entry = models[cells["model"]]
        assert record.model.display_name == entry["nickname"]
        assert record.model.url == entry["url"] and record.model.params_b == entry["params"]
        published = {s.eval_task: (s.score, s.num_fewshot) for s in record.accuracy}
        if cells["model"] in scores:
            row = scores[cells["model"]]
            assert published == {
                "arc_challenge": (float(row["arc"]) / 100, 25),
                "hellaswag": (float(row["hellaswag"]) / 100, 10),
                "truthfulqa_mc2": (float(row["truthfulqa"]) / 100, 0),
            }
        else:
            assert published == {}


def test_nothing_is_invented(imported: Path) -> None:
    for path, _ in records_under(imported):
        text = path.read_text()
        data = json.loads(text)
        assert "null" not in text  # absent, never null-filled
        # Only the four published figures (fewer where a cell is empty), nothing else.
        assert set(data["metrics"]) <= {
            "throughput_tok_s",
            "response_tokens",
            "latency_s",
            "energy_per_response_j",
        }
        for word in ("ttft", "tpot", "stdev", "p90", "p99", "median", "load_time", "prompt_tok"):
            assert word not in text, (path, word)
        assert '"n":' not in text and "revision" not in text
        assert set(METRIC_FIELDS) >= set(data["metrics"])
        for value in data["metrics"].values():
            assert value > 0
    gamma = [r for _, r in records_under(imported) if r.identity.model_id == "other-lab/gamma-3b"]
    a40 = next(r for r in gamma if r.identity.hardware_name == "A40")
    assert a40.metrics.energy_per_response_j is None  # the empty cell: not published
    assert all(r.accuracy == [] for r in gamma)  # no score.csv row: no accuracy


def test_imported_records_pass_validate_and_a_strict_build(
    imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert main(["validate", "--results", str(imported)]) == 0
    assert "8 record(s) ok" in capsys.readouterr().out
    monkeypatch.setattr("leaderboard_site.build.vega_bundle", lambda: BUNDLE)
    out = tmp_path / "_site"
    assert main(["build", "--results", str(imported), "--out", str(out), "--strict"]) == 0
    assert "8 published records" in capsys.readouterr().out
    assert (out / "data" / "records" / "published" / "mlenergy-v1").is_dir()


def test_a_second_import_is_refused_and_changes_nothing(imported: Path, capsys) -> None:
    before = {p: p.read_bytes() for p in files_under(imported)}
    assert main(["import", "mlenergy-v1", str(MLENERGY), "--results", str(imported)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 9  # one line per duplicate, then the summary
    assert all("already imported" in line for line in err[:-1])
    assert err[-1] == "error: import: 8 problem(s) in 8 file(s); nothing was written"
    assert {p: p.read_bytes() for p in files_under(imported)} == before


def copy_samples(tmp_path: Path) -> Path:
    target = tmp_path / "in"
    shutil.copytree(MLENERGY, target)
    return target


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def test_bad_rows_are_named_one_line_each_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    source = copy_samples(tmp_path)
    replace_line(
        source / "A100_chat_benchmark.csv", 3, "example-org/beta-13b,22.87,301.2,abc,4876.9"
    )
    replace_line(source / "A100_chat_benchmark.csv", 4, "nobody/unknown-1b,45.1,190.0,4.3,981.25")
    replace_line(source / "A40_chat_benchmark.csv", 2, "example-org/alpha-7b,-18.6,279.9,15.4,inf")
    replace_line(source / "score.csv", 3, "example-org/beta-13b,59.4,182.3,51.7")
    results = tmp_path / "results"
    assert main(["import", "mlenergy-v1", str(source), "--results", str(results)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    problems = {
        (Path(m["file"]).name, int(m["line"]), int(m["col"]))
        for m in (PROBLEM_LINE.match(line) for line in err[:-1])
        if m
    }
    assert problems == {
        ("A100_chat_benchmark.csv", 3, 4),  # latency 'abc'
        ("A100_chat_benchmark.csv", 4, 1),  # model not in models.json
        ("A40_chat_benchmark.csv", 2, 2),  # negative throughput
        ("A40_chat_benchmark.csv", 2, 5),  # inf energy
        ("score.csv", 3, 3),  # HellaSwag above 100 percent
    }
    assert len(err) == 6 and "nothing was written" in err[-1]
    assert any(
        "latency (s per response): expected a positive number, got 'abc'" in line for line in err
    )
    assert any("'nobody/unknown-1b' is not in models.json" in line for line in err)
    assert not results.exists()  # the good files were not written either


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: (d / "A100_chat_benchmark.csv").rename(d / "Z999_chat_benchmark.csv"),
            r"Z999_chat_benchmark\.csv: file name: GPU 'Z999' has no entry in .*hardware_aliases",
        ),
        (
            lambda d: replace_line(d / "A100_instruct_benchmark.csv", 1, "model,throughput,energy"),
            r"A100_instruct_benchmark\.csv:1: expected the columns .* \(missing response_length, "
            r"latency\)",
        ),
        (
            lambda d: (d / "models.json").write_text('{\n  "a/b": {"url": "x",}\n}\n'),
            r"models\.json:2:\d+: not valid JSON",
        ),
        (
            lambda d: (d / "models.json").write_text('{"a/b": {"nickname": "B", "params": -2}}'),
            r"models\.json:1: 'a/b'\.params: expected a positive number \(billions\)",
        ),
        (
            lambda d: replace_line(
                d / "A100_chat_benchmark.csv", 4, "example-org/alpha-7b,1,2,3,4"
            ),
            r"A100_chat_benchmark\.csv:4:1: model 'example-org/alpha-7b' listed twice \(also "
            r"line 2\)",
        ),
        (
            lambda d: replace_line(d / "A40_chat_benchmark.csv", 3, "example-org/beta-13b,1,2"),
            r"A40_chat_benchmark\.csv:3:\d+: expected 5 cells \(as in the header\), got 3",
        ),
        (lambda d: (d / "models.json").unlink(), r"no models\.json"),
        (
            lambda d: (d / "A40_chat_benchmark.csv").write_bytes(b"model,\xff\n"),
            r"A40_chat_benchmark\.csv: not UTF-8 text",
        ),
    ],
)
def test_each_kind_of_bad_input_is_one_line(tmp_path: Path, mutate, expected: str) -> None:
    source = copy_samples(tmp_path)
    mutate(source)
    results = tmp_path / "results"
    with pytest.raises(ImportRefused) as caught:
        import_files("mlenergy-v1", [source], results)
    assert any(re.search(expected, line) for line in caught.value.lines), caught.value.lines
    assert all("\n" not in line for line in caught.value.lines)
    assert not results.exists()


def test_a_source_card_refines_the_format_defaults(tmp_path: Path) -> None:
    card = tmp_path / "source.yaml"
    card.write_text(
        "id: mlenergy-v1-abc1234\nlicense: Example-Licence-1.0\nversion: commit abc1234\n"
        "date: 2023-07-01\n"
    )
    result = import_files("mlenergy-v1", [MLENERGY], tmp_path / "results", source_card=card)
    assert result.warnings == []
    record = load_record(result.report.written[0])
    assert record.source.source_id == "mlenergy-v1-abc1234"
    assert (record.source.license, record.source.version, record.source.date) == (
        "Example-Licence-1.0",
        "commit abc1234",
        "2023-07-01",
    )
    assert record.source.citation.startswith("Jae-Won Chung")  # the pinned card's, kept
    assert record.source.url.endswith("/tree/2024-02-18/data")  # the release, not the live site
    assert record.task.name == "Chat (ML.ENERGY v1)"  # the card's tasks, kept
    card.write_text("id: x\nlicence: typo\n")
    with pytest.raises(ImportRefused) as caught:
        import_files("mlenergy-v1", [MLENERGY], tmp_path / "r2", source_card=card)
    assert any(":2: source.licence: unknown key" in line for line in caught.value.lines)


def test_the_v1_import_is_pinned_by_default(tmp_path: Path) -> None:
    result = import_files("mlenergy-v1", [MLENERGY], tmp_path / "results")
    assert result.warnings == []
    record = load_record(result.report.written[0])
    source = record.source
    assert (source.license, source.date) == ("Apache-2.0", "2024-02-18")
    assert source.version.startswith("2024-02-18 (commit 710a6351")
    assert "ml-energy/leaderboard-v2/tree/2024-02-18" in source.url


def test_without_licence_or_date_the_import_says_so(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "".join(
            line
            for line in (TABLE / "mapping.yaml").read_text().splitlines(keepends=True)
            if not line.lstrip().startswith(("license:", "date:"))
        )
    )
    result = import_files("csv", [TABLE / "table.csv"], tmp_path / "results", mapping=mapping)
    assert len(result.warnings) == 2
    assert "no license given" in result.warnings[0] and "no date given" in result.warnings[1]
    data = json.loads(result.report.written[0].read_text())
    assert "license" not in data["source"] and "date" not in data["source"]


def test_csv_with_a_mapping(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    args = ["import", "csv", str(TABLE / "table.csv"), "--mapping", str(TABLE / "mapping.yaml")]
    assert main([*args, "--results", str(results)]) == 0
    assert "wrote 3 published record(s) of example-table-2026" in capsys.readouterr().out
    found = {(r.identity.model_id, r.identity.batch_size): r for _, r in records_under(results)}
    alpha8 = found[("example-org/alpha-7b", 8)]
    assert alpha8.identity.task == "chat" and alpha8.identity.hardware_slug == "nvidia-a100"
    assert alpha8.metrics.energy_per_response_j == 1.2345 * 1000  # kJ -> J
    assert alpha8.metrics.latency_s == 10250 / 1000 and alpha8.metrics.ttft_s == 180 / 1000
    assert alpha8.metrics.throughput_tok_s == 215.5
    assert alpha8.metrics.response_tokens is None  # not in the table: absent
    assert [(s.eval_task, s.num_fewshot, s.score) for s in alpha8.accuracy] == [
        ("arc_challenge", 25, 53.2 / 100)
    ]
    delta = found[("other-lab/delta-1b", 8)]
    assert delta.identity.hardware_slug == "nvidia-h100" and delta.accuracy == []
    assert delta.source.license == "CC-BY-4.0" and delta.source.date == "2026-01-15"
    assert main(["validate", "--results", str(results)]) == 0


@pytest.mark.parametrize(
    ("mapping_change", "expected"),
    [
        (
            (
                '"Latency (ms)": {field: latency_s, unit: ms}',
                '"Latency (ms)": {field: latency, unit: ms}',
            ),
            r"mapping\.yaml:\d+: columns\.'Latency \(ms\)'\.field: expected one of",
        ),
        (
            (
                '"Latency (ms)": {field: latency_s, unit: ms}',
                '"Latency (ms)": {field: latency_s, unit: us}',
            ),
            r"mapping\.yaml:\d+: columns\.'Latency \(ms\)'\.unit: expected one of s, ms",
        ),
        (("  task: chat\n", ""), r"mapping\.yaml: task: needs a column or a constant"),
        (("  id: example-table-2026\n", "  id: ../escape\n"), r"source\.id: expected a name"),
        (("Model: model_id", "Modell: model_id"), r"table\.csv:1: column\(s\) 'Modell'"),
        (
            ("source:", "!!python/object:os.system\nsource:"),
            r"mapping\.yaml:2: not valid YAML \(could not determine a constructor",
        ),
    ],
)
def test_mapping_problems_name_their_line(tmp_path: Path, mapping_change, expected: str) -> None:
    old, new = mapping_change
    text = (TABLE / "mapping.yaml").read_text()
    assert old in text
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(text.replace(old, new, 1))
    with pytest.raises(ImportRefused) as caught:
        import_files("csv", [TABLE / "table.csv"], tmp_path / "results", mapping=mapping)
    assert any(re.search(expected, line) for line in caught.value.lines), caught.value.lines
    assert not (tmp_path / "results").exists()


def test_csv_rows_are_checked_too(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    lines = (TABLE / "table.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",A100,", ",TPUv9,")
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRefused) as caught:
        import_files("csv", [table], tmp_path / "results", mapping=TABLE / "mapping.yaml")
    assert [line.split(str(tmp_path) + "/")[1] for line in caught.value.lines] == [
        "table.csv:2:2: hardware 'TPUv9' has no entry in "
        f"{load_aliases().path} (known: A100, A40, B200, H100, V100); add one"
    ]


def test_a_configuration_listed_twice_keeps_both_rows(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    lines = (TABLE / "table.csv").read_text().splitlines()
    repeat = lines[2].replace("2.6021", "2.7")  # the same configuration, another run's figures
    table.write_text("\n".join([*lines, repeat]) + "\n")
    result = import_files("csv", [table], tmp_path / "results", mapping=TABLE / "mapping.yaml")
    records = [load_record(p) for p in result.report.written]
    assert len(records) == len(lines)  # every data row and the repeat: nothing dropped
    key = (records[1].identity.model_id, records[1].identity.batch_size)
    same = [r for r in records if (r.identity.model_id, r.identity.batch_size) == key]
    assert sorted(r.identity.occurrence for r in same) == [1, 2]
    assert len({r.run_id for r in same}) == 2
    assert {r.identity.occurrence for r in records if r not in same} == {None}


def test_a_failed_write_removes_what_the_import_wrote(tmp_path, monkeypatch) -> None:
    from runner.ingest import write

    calls = []
    real = write.write_new_file

    def fail_third(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise UserError(f"{path}: no space left on device; nothing was written")
        real(path, data)

    monkeypatch.setattr(write, "write_new_file", fail_third)
    results = tmp_path / "results"
    with pytest.raises(UserError, match="no space left"):
        import_files("mlenergy-v1", [MLENERGY], results)
    assert len(calls) == 3
    assert [p for p in files_under(results) if p.suffix == ".json"] == []


def test_unknown_format_and_missing_mapping(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown format 'mlenergy-v9'"):
        import_files("mlenergy-v9", [MLENERGY], tmp_path)
    with pytest.raises(UserError, match="--mapping FILE is required"):
        import_files("csv", [TABLE / "table.csv"], tmp_path)


def test_hardware_aliases(tmp_path: Path) -> None:
    aliases = load_aliases()
    a100 = aliases.lookup(" a100 ")
    assert a100 is not None and a100.slug == "nvidia-a100"
    assert "memory variant not reported" in a100.label
    assert "nvidia-a100-sxm4-40gb" in a100.boards
    assert aliases.lookup("A800") is None
    bad = tmp_path / "aliases.yaml"
    bad.write_text("aliases:\n  A100:\n    slug: ../etc\n    label: x\n")
    with pytest.raises(ConfigError, match=r"aliases\.yaml: aliases\.A100\.slug"):
        load_aliases(bad)
    bad.write_text("aliases:\n  A100: {slug: a, label: x}\n  a100: {slug: b, label: y}\n")
    with pytest.raises(ConfigError, match="listed twice"):
        load_aliases(bad)


def test_a_file_named_twice_counts_once(tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = import_files("mlenergy-v1", [MLENERGY, MLENERGY / "A40_chat_benchmark.csv"], results)
    assert len(result.report.written) == 8


def test_schema_command_prints_the_published_schema(capsys) -> None:
    assert main(["schema", "--kind", "published"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "PublishedRecord"
    assert schema["$id"] == "energy-leaderboard/published-record/v2"
    metrics = schema["$defs"]["PublishedMetrics"]
    assert "required" not in metrics  # every figure is optional: absent when not published
    model = schema["$defs"]["PublishedModel"]
    # Model facts a source may publish (mlenergy-v3): optional, absent when not published.
    for name in ("params_b", "activated_params_b", "architecture", "precision", "url"):
        assert name in model["properties"] and name not in model["required"]
    assert model["required"] == ["display_name"]
    assert "active per token" in model["properties"]["activated_params_b"]["description"]


def test_validate_checks_the_aliases_file(tmp_path: Path) -> None:
    from runner.validate import validate_configs

    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    (conf / "hardware_aliases.yaml").write_text("aliases:\n  A100: {slug: 'a b', label: x}\n")
    problems = validate_configs(conf)
    assert len(problems) == 1
    assert problems[0].startswith(f"{conf / 'hardware_aliases.yaml'}: aliases.A100.slug")
