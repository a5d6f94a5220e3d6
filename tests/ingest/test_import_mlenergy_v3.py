"""`leaderboard import mlenergy-v3`: the reference leaderboard's current public data layout.

The input is the synthetic sample in tests/fixtures/published/mlenergy_v3/ (invented names and
figures in the real layout: index.json, tasks/<task>.json, models/<org>__<name>__<task>.json).
The tests read the sample's JSON themselves and compare every stored value with it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.cli import main
from runner.ingest.aliases import load_aliases
from runner.ingest.common import ImportRefused
from runner.ingest.importer import ImportResult, import_files
from runner.records.consistency import inconsistencies, published_relations
from runner.records.load import load_record, scan_results
from runner.records.published import PublishedRecord
from tests.support.site_support import REPO

SAMPLE = REPO / "tests" / "fixtures" / "published" / "mlenergy_v3"
CARD = REPO / "conf" / "sources" / "mlenergy-v3.yaml"
BUNDLE = "/* vega bundle stand-in */"
FORMAT = "mlenergy-v3"
# source field -> (metric, divide by): the project's units (ms -> s, the rest as published).
METRICS = {
    "energy_per_token_joules": ("energy_per_token_j", 1),
    "energy_per_request_joules": ("energy_per_response_j", 1),
    "avg_power_watts": ("avg_power_w", 1),
    "output_throughput_tokens_per_sec": ("throughput_tok_s", 1),
    "avg_output_len": ("response_tokens", 1),
    "median_itl_ms": ("itl_median_s", 1000),
    "p90_itl_ms": ("itl_p90_s", 1000),
    "p95_itl_ms": ("itl_p95_s", 1000),
    "p99_itl_ms": ("itl_p99_s", 1000),
}


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def index() -> dict[str, Any]:
    return read(SAMPLE / "index.json")


def token_tasks() -> list[str]:
    groups = index()["architectures"]
    return sorted(groups["llm"] + groups["mllm"])


def source_configurations() -> list[tuple[str, int, dict[str, Any]]]:
    """(task, position, configuration) of every LLM and MLLM configuration of the sample."""
    return [
        (task, i, entry)
        for task in token_tasks()
        for i, entry in enumerate(read(SAMPLE / "tasks" / f"{task}.json")["configurations"])
    ]


def model_file_listing(task: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The listing of `entry` in its models/ file: same settings and the same figures."""
    name = entry["model_id"].replace("/", "__")
    listings = read(SAMPLE / "models" / f"{name}__{task}.json")["configurations"]
    same = [
        listing
        for listing in listings
        if all(listing[k] == entry[k] for k in ("gpu_model", "num_gpus", "max_num_seqs"))
        and all(
            listing["parallelization"][k] == entry[k]
            for k in ("tensor_parallel", "expert_parallel", "data_parallel")
        )
        and all(listing[k] == entry[k] for k in (*METRICS, "avg_batch_size"))
    ]
    assert len(same) == 1
    return same[0]


def records_under(results: Path) -> list[PublishedRecord]:
    scan = scan_results(results)
    assert scan.problems == []
    return [r for _, r in scan.records if isinstance(r, PublishedRecord)]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportResult]:
    results = tmp_path_factory.mktemp("v3") / "results"
    return results, import_files(FORMAT, [SAMPLE], results)


def record_of(records: list[PublishedRecord], task: str, entry: dict[str, Any]) -> PublishedRecord:
    """The record made of one source configuration (its verbatim entry is its first row)."""
    found = [
        r
        for r in records
        if r.identity.task == task
        and r.source_rows[0].file == f"tasks/{task}.json"
        and r.source_rows[0].values == entry
    ]
    assert len(found) == 1, (task, entry["model_id"])
    return found[0]


def test_one_record_per_configuration_at_its_canonical_path(imported) -> None:
    results, result = imported
    configurations = source_configurations()
    assert len(result.report.written) == len(configurations) == 12
    date = index()["last_updated"]
    for path in result.report.written:
        record = load_record(path)
        ident = record.identity
        assert path.relative_to(results).parts == (
            "published",
            f"mlenergy-v3-{date}",
            ident.hardware_slug,
            ident.model_name,
            ident.task,
            f"{record.run_id}.json",
        )
    records = records_under(results)
    assert len({r.run_id for r in records}) == 12
    assert {r.identity.hardware_name: r.identity.hardware_slug for r in records} == {
        "H100": "nvidia-h100",
        "B200": "nvidia-b200",
    }


def test_every_value_equals_the_source_value(imported) -> None:
    records = records_under(imported[0])
    for task, _, entry in source_configurations():
        record = record_of(records, task, entry)
        for field, (metric, divide) in METRICS.items():
            assert getattr(record.metrics, metric) == entry[field] / divide, (task, field)
        configuration = record.identity.configuration
        assert configuration.num_devices == entry["num_gpus"]
        assert configuration.tensor_parallel == entry["tensor_parallel"]
        assert configuration.expert_parallel == entry["expert_parallel"]
        assert configuration.data_parallel == entry["data_parallel"]
        assert configuration.batching == "continuous"
        assert configuration.max_num_seqs == entry["max_num_seqs"]
        assert configuration.mean_running_batch == entry["avg_batch_size"]
        assert configuration.precision == entry["weight_precision"]
        assert configuration.pipeline_parallel is None and configuration.batch_size is None
        assert record.identity.model_id == entry["model_id"]
        assert record.identity.hardware_name == entry["gpu_model"]
        assert record.identity.batch_size is None
        model = record.model
        assert model.display_name == entry["nickname"]
        assert model.params_b == entry["total_params_billions"]
        assert model.activated_params_b == entry["activated_params_billions"]
        assert model.architecture == entry["architecture"]
        assert model.precision == entry["weight_precision"]
        assert model.url is None  # the format gives none
        listing = model_file_listing(task, entry)
        distribution = record.output_length_distribution
        assert distribution is not None
        assert distribution.bins == listing["output_length_distribution"]["bins"]
        assert distribution.counts == listing["output_length_distribution"]["counts"]
        name = entry["model_id"].replace("/", "__")
        assert record.source_rows[1].file == f"models/{name}__{task}.json"
        assert record.source_rows[1].values == listing


def test_source_rows_point_at_the_line_of_each_entry(imported) -> None:
    for record in records_under(imported[0]):
        for row in record.source_rows:
            lines = (SAMPLE / row.file).read_text().splitlines()
            assert lines[row.line - 1].strip() == "{"
            following = "\n".join(lines[row.line - 1 :])
            first_key = next(iter(sorted(row.values)))
            assert f'"{first_key}"' in lines[row.line]  # the entry opens on that line
            assert following.startswith("    {")


def test_nothing_is_invented(imported) -> None:
    results = imported[0]
    for path in sorted(results.rglob("*.json")):
        text = path.read_text()
        data = json.loads(text)
        assert "null" not in text  # absent, never null-filled
        assert set(data["metrics"]) == {metric for metric, _ in METRICS.values()}
        for word in ("ttft", "tpot", "latency_s", "stdev", "prompt_tokens", "pipeline_parallel"):
            assert f'"{word}' not in text, (path, word)
        assert data["accuracy"] == [] and "url" not in data["model"]
        assert "batch_size" not in data["identity"]
        assert "license" not in data["source"]  # not given by the source


def test_a_configuration_listed_twice_keeps_both_rows(imported) -> None:
    records = records_under(imported[0])
    gpqa = read(SAMPLE / "tasks" / "gpqa.json")["configurations"]
    key = ("example-org/Mixer-30B-A3B", "H100", 1, 64)
    listings = [
        e for e in gpqa if (e["model_id"], e["gpu_model"], e["num_gpus"], e["max_num_seqs"]) == key
    ]
    assert len(listings) == 2 and listings[0] != listings[1]
    repeats = [record_of(records, "gpqa", entry) for entry in listings]
    assert [r.identity.occurrence for r in repeats] == [1, 2]  # in the source's order
    assert repeats[0].run_id != repeats[1].run_id
    assert repeats[0].identity.configuration.mean_running_batch == listings[0]["avg_batch_size"]
    assert repeats[1].metrics.energy_per_token_j == listings[1]["energy_per_token_joules"]
    others = [r for r in records if r not in repeats]
    assert {r.identity.occurrence for r in others} == {None}


def test_one_two_four_and_eight_gpu_configurations_stay_apart(imported) -> None:
    records = records_under(imported[0])
    mixer = [
        r
        for r in records
        if r.identity.model_id == "example-org/Mixer-30B-A3B"
        and r.identity.hardware_name == "H100"
        and r.identity.configuration.max_num_seqs == 64
    ]
    layouts = sorted(
        (
            c.num_devices,
            c.tensor_parallel,
            c.expert_parallel,
            c.data_parallel,
            r.identity.occurrence,
        )
        for r in mixer
        for c in [r.identity.configuration]
    )
    assert layouts == [
        (1, 1, 1, 1, 1),
        (1, 1, 1, 1, 2),
        (2, 2, 1, 1, None),
        (4, 1, 4, 1, None),
        (8, 2, 8, 4, None),
    ]
    assert len({r.run_id for r in mixer}) == 5
    # Energy, power and throughput are the configuration's, all GPUs together, as published.
    eight = next(r for r in mixer if r.identity.configuration.num_devices == 8)
    entry = record_of(records, "gpqa", eight.source_rows[0].values).source_rows[0].values
    assert eight.metrics.avg_power_w == entry["avg_power_watts"]
    data_parallel = [r for r in records if r.identity.configuration.data_parallel == 2]
    assert [r.identity.task for r in data_parallel] == ["lm-arena-chat"]


def test_the_source_is_pinned_by_the_data_and_its_tasks_are_its_own(imported) -> None:
    records = records_under(imported[0])
    result = imported[1]
    date = index()["last_updated"]
    card = yaml.safe_load(CARD.read_text())
    for record in records:
        source = record.source
        assert source.source_id == f"mlenergy-v3-{date}" and source.format == FORMAT
        assert source.date == date and source.version == f"{date} (index.json last_updated)"
        assert source.url == "https://huggingface.co/datasets/ml-energy/benchmark-v3"
        assert source.license is None
        assert source.citation.startswith("Jae-Won Chung, Jeff J. Ma, Ruofan Wu")
        assert "NeurIPS Datasets and Benchmarks, 2025" in source.citation
        assert "steady state" in source.methodology
        task = read(SAMPLE / "tasks" / f"{record.identity.task}.json")
        assert record.task.id == task["task"] == record.identity.task
        assert record.task.name == task["task_display_name"]
        assert record.task.description == card["tasks"][record.task.id]["description"]
    names = {r.task.id: r.task.name for r in records}
    assert names == {
        "gpqa": "GPQA Diamond",
        "lm-arena-chat": "LLM Chat (LM Arena)",
        "image-chat": "Image Chat",
    }
    assert result.warnings == [
        f"source 'mlenergy-v3-{date}': no license given (--source FILE); the records leave it "
        "absent"
    ]


def test_diffusion_tasks_are_left_out_with_one_line(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    assert main(["import", FORMAT, str(SAMPLE), "--results", str(results)]) == 0
    captured = capsys.readouterr()
    assert "wrote 12 published record(s) of mlenergy-v3-" in captured.out
    notes = [line for line in captured.err.splitlines() if line.startswith("note: ")]
    diffusion = read(SAMPLE / "tasks" / "text-to-image.json")["configurations"]
    assert notes == [
        f"note: {SAMPLE / 'tasks' / 'text-to-image.json'}: task 'text-to-image' (diffusion) "
        f"left out: {len(diffusion)} configuration(s) not imported (their figures are per image "
        "or video, not per output token)"
    ]
    assert {r.identity.task for r in records_under(results)} == set(token_tasks())


def copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(SAMPLE, target)
    return target


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def entry_line(path: Path, position: int) -> int:
    """The line where `configurations[position]` opens, found by counting the entries."""
    opening = [i for i, line in enumerate(path.read_text().splitlines(), 1) if line == "    {"]
    return opening[position]


def refused(source: Path, tmp_path: Path) -> list[str]:
    results = tmp_path / "results"
    with pytest.raises(ImportRefused) as caught:
        import_files(FORMAT, [source], results)
    assert not results.exists()  # nothing written, not even the good records
    assert all("\n" not in line for line in caught.value.lines)
    return caught.value.lines


def test_an_unknown_gpu_is_refused_with_one_line(tmp_path: Path) -> None:
    source = copy_sample(tmp_path)
    task_file = source / "tasks" / "gpqa.json"
    position = next(
        i for i, e in enumerate(read(task_file)["configurations"]) if e["gpu_model"] == "B200"
    )

    def rename(data: dict[str, Any]) -> None:
        for entry in data["configurations"]:
            if entry["gpu_model"] == "B200":
                entry["gpu_model"] = "Z999"

    edit(task_file, rename)
    edit(source / "models" / "example-org__Mixer-30B-A3B__gpqa.json", rename)
    lines = refused(source, tmp_path)
    assert lines == [
        f"{task_file}:{entry_line(task_file, position)}: configurations[{position}].gpu_model: "
        f"GPU 'Z999' has no entry in {load_aliases().path} (known: A100, A40, B200, H100, V100; "
        "1 configuration(s) name it); add one"
    ]


def set_field(position: int, field: str, value: Any):
    def change(data: dict[str, Any]) -> None:
        data["configurations"][position][field] = value

    return change


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        (
            "tasks/gpqa.json",
            set_field(1, "num_gpus", "two"),
            r"tasks/gpqa\.json:{line1}: configurations\[1\]\.num_gpus: expected a whole number "
            r">= 1, got 'two'$",
        ),
        (
            "tasks/gpqa.json",
            set_field(0, "energy_per_token_joules", -0.25),
            r"tasks/gpqa\.json:{line0}: configurations\[0\]\.energy_per_token_joules \(J per "
            r"output token\): expected a positive number or null, got -0\.25$",
        ),
        (
            "tasks/gpqa.json",
            set_field(1, "tensor_parallel", 4),
            r"tasks/gpqa\.json:{line1}: configurations\[1\]\.tensor_parallel: expected at most "
            r"num_gpus \(2\), got 4$",
        ),
        (
            "tasks/image-chat.json",
            lambda d: d.update(task="video-chat"),
            r"tasks/image-chat\.json: task: expected 'image-chat' \(the file's name\), got "
            r"'video-chat'$",
        ),
        (
            "tasks/lm-arena-chat.json",
            lambda d: d.pop("task_display_name"),
            r"tasks/lm-arena-chat\.json: task_display_name: expected the task's name as text",
        ),
        (
            "index.json",
            lambda d: d.update(last_updated="last week"),
            r"index\.json: last_updated: expected a date YYYY-MM-DD, got 'last week'$",
        ),
        (
            "index.json",
            lambda d: d["architectures"]["mllm"].append("video-chat"),
            r"index\.json: architectures: task 'video-chat' has no file tasks/video-chat\.json$",
        ),
        (
            "models/other-lab__Vista-7B-VL__image-chat.json",
            lambda d: d["configurations"][0]["output_length_distribution"]["counts"].pop(),
            r"models/other-lab__Vista-7B-VL__image-chat\.json:\d+: configurations\[0\]\."
            r"output_length_distribution: .*bins: expected 50 edges for 49 counts",
        ),
        (
            "models/example-org__Alpha-8B-Instruct__lm-arena-chat.json",
            lambda d: d["configurations"][0].update(avg_power_watts=1.0),
            r"models/example-org__Alpha-8B-Instruct__lm-arena-chat\.json:\d+: configurations\[0\]"
            r": no configuration of .*tasks/lm-arena-chat\.json has these settings and figures$",
        ),
    ],
)
def test_bad_input_is_named_one_line_each_and_nothing_is_written(
    tmp_path: Path, file: str, change, expected: str
) -> None:
    source = copy_sample(tmp_path)
    edit(source / file, change)
    lines = refused(source, tmp_path)
    if file.startswith("tasks/gpqa"):
        path = source / file
        expected = expected.format(line0=entry_line(path, 0), line1=entry_line(path, 1))
    assert any(re.search(expected, line) for line in lines), lines
    assert all(line.startswith(str(source)) for line in lines)


def test_a_file_that_is_not_json_is_named_with_its_line(tmp_path: Path) -> None:
    source = copy_sample(tmp_path)
    path = source / "tasks" / "gpqa.json"
    text = path.read_text().splitlines()
    text[3] = text[3].replace(",", ",,")
    path.write_text("\n".join(text) + "\n")
    assert refused(source, tmp_path) == [
        f"{path}:4:{len(text[3])}: not valid JSON (Expecting "
        "property name enclosed in double quotes)"
    ]


def test_the_two_files_of_a_configuration_must_agree(tmp_path: Path) -> None:
    source = copy_sample(tmp_path)
    task_file = source / "tasks" / "lm-arena-chat.json"
    edit(task_file, set_field(1, "p99_itl_ms", 99.0))
    lines = refused(source, tmp_path)
    model_file = source / "models" / "example-org__Alpha-8B-Instruct__lm-arena-chat.json"
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{task_file}:{entry_line(task_file, 1)}",
        f"{model_file}:{entry_line(model_file, 0)}",  # the listing is reversed in models/
    ]


def test_a_missing_models_file_leaves_a_note_not_a_gap(tmp_path: Path) -> None:
    source = copy_sample(tmp_path)
    missing = source / "models" / "example-org__Alpha-8B-Instruct__gpqa.json"
    missing.unlink()
    result = import_files(FORMAT, [source], tmp_path / "results")
    assert len(result.report.written) == 12
    note = (
        f"{missing}: not found; 1 configuration(s) of {source / 'tasks' / 'gpqa.json'} carry "
        "no output-length distribution"
    )
    assert note in result.notes
    alpha = [
        load_record(p) for p in result.report.written if "Alpha-8B-Instruct/gpqa/" in p.as_posix()
    ]
    assert len(alpha) == 1
    assert alpha[0].output_length_distribution is None and len(alpha[0].source_rows) == 1


def test_fields_the_format_does_not_describe_are_named_and_kept(tmp_path: Path) -> None:
    source = copy_sample(tmp_path)

    def add(data: dict[str, Any]) -> None:
        for entry in data["configurations"]:
            entry["max_num_batched_tokens"] = None

    edit(source / "tasks" / "image-chat.json", add)
    result = import_files(FORMAT, [source], tmp_path / "results")
    assert [n for n in result.notes if "does not describe" in n] == [
        f"{source / 'tasks' / 'image-chat.json'}: field(s) the mlenergy-v3 format does not "
        "describe, kept in each record's source_rows only: max_num_batched_tokens"
    ]
    image = [load_record(p) for p in result.report.written if "/image-chat/" in p.as_posix()]
    assert all("max_num_batched_tokens" in r.source_rows[0].values for r in image)


def test_validate_build_and_the_consistency_check_pass(
    imported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    results = imported[0]
    for record in records_under(results):
        relations = list(published_relations(record))
        # energy per token vs energy per request / mean output length: checked on every row
        assert [r.field for r in relations] == ["metrics.energy_per_token_j"]
        assert relations[0].value == pytest.approx(relations[0].expected, rel=1e-9)
        assert inconsistencies(record) == []
    assert main(["validate", "--results", str(results)]) == 0
    assert "12 record(s) ok" in capsys.readouterr().out
    monkeypatch.setattr("leaderboard_site.build.vega_bundle", lambda: BUNDLE)
    out = tmp_path / "_site"
    assert main(["build", "--results", str(results), "--out", str(out), "--strict"]) == 0
    assert "12 published records" in capsys.readouterr().out
    date = index()["last_updated"]
    assert (out / "data" / "records" / "published" / f"mlenergy-v3-{date}").is_dir()


def test_a_second_import_is_refused_and_a_newer_release_is_a_new_source(
    imported, tmp_path: Path
) -> None:
    results = imported[0]
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    with pytest.raises(ImportRefused) as caught:
        import_files(FORMAT, [SAMPLE], results)
    assert len(caught.value.lines) == 12
    assert all("already imported" in line for line in caught.value.lines)
    assert {p: p.read_bytes() for p in results.rglob("*.json")} == before
    newer = copy_sample(tmp_path)
    edit(newer / "index.json", lambda d: d.update(last_updated="2029-08-01"))
    target = tmp_path / "results"
    shutil.copytree(results, target)
    result = import_files(FORMAT, [newer], target)
    assert len(result.report.written) == 12
    assert {p.relative_to(target).parts[1] for p in result.report.written} == {
        "mlenergy-v3-2029-08-01"
    }


def test_a_source_card_refines_the_pinned_card(tmp_path: Path) -> None:
    card = tmp_path / "source.yaml"
    card.write_text(
        "license: Example-Licence-1.0\n"
        "tasks:\n  gpqa: {name: GPQA Diamond (v3), description: Told by the user.}\n"
    )
    result = import_files(FORMAT, [SAMPLE], tmp_path / "results", source_card=card)
    assert result.warnings == []
    records = [load_record(p) for p in result.report.written]
    assert {r.source.license for r in records} == {"Example-Licence-1.0"}
    gpqa = {(r.task.name, r.task.description) for r in records if r.task.id == "gpqa"}
    assert gpqa == {("GPQA Diamond (v3)", "Told by the user.")}
    chat = {r.task.name for r in records if r.task.id == "lm-arena-chat"}
    assert chat == {"LLM Chat (LM Arena)"}  # the data's name, where the user's card is silent


def test_the_import_takes_one_folder(tmp_path: Path) -> None:
    for paths, expected in (
        ([SAMPLE / "index.json"], "expected one folder"),
        ([SAMPLE, SAMPLE], "expected one folder"),
        ([tmp_path], "no index.json here"),
    ):
        with pytest.raises(ImportRefused) as caught:
            import_files(FORMAT, paths, tmp_path / "results")
        assert len(caught.value.lines) == 1 and expected in caught.value.lines[0]


def test_entry_lines_follow_the_elements_of_the_array() -> None:
    from runner.ingest.mlenergy_v3 import array_entry_lines

    text = (
        '{\n  "other": [\n    {"a": 1}\n  ],\n  "configurations": [\n    {"s": "x, [y] {z}",'
        '\n     "n": {"m": [1, 2]}},\n    5,\n\n    {"k": "\\"q\\""}, "t"\n  ]\n}\n'
    )
    assert array_entry_lines(text, "configurations") == [6, 8, 10, 10]
    assert array_entry_lines(text, "other") == [3]
    assert array_entry_lines('{"configurations": []}', "configurations") == []


def test_a_mapping_is_for_csv_only(tmp_path: Path) -> None:
    from runner.errors import UserError

    with pytest.raises(UserError, match=r"--mapping is for the csv format \(mlenergy-v3 has"):
        import_files(FORMAT, [SAMPLE], tmp_path / "results", mapping=tmp_path / "m.yaml")
