"""`leaderboard run` on the tiny offline model on CPU, every task, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.records.load import scan_results

TASKS = ("chat", "chat-concise", "instruct", "instruct-concise")


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("e2e") / "results"
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            "experiment=demo",
            "task=" + ",".join(TASKS),
            f"results_dir={results}",
            "num_prompts=4",
            "repeats=1",
            "calibrate=false",
        ]
    )
    assert code == 0
    return results


def test_every_task_writes_a_valid_record(demo_results: Path) -> None:
    scan = scan_results(demo_results)
    assert scan.problems == [] and scan.warnings == []
    assert sorted(record.identity.task for _, record in scan.records) == sorted(TASKS)
    for path, record in scan.records:
        assert path.parent.parent.parent.name == "tiny-random"
        assert path.name == f"{record.run_id}.json"
        assert record.identity.batch_size == 2
        # one energy window of whole passes over the 4 prompts (2 batches each)
        [window] = record.energy_windows.windows
        assert window.passes >= 1 and window.duration_s >= 0.5  # demo: min_window_s=0.5
        assert record.summary.requests == 4 * window.passes == window.requests
        assert record.measurements.latency_s.n == record.summary.requests
        assert record.measurements.batch_time_s.n == 2 * window.passes == window.batches
        assert record.summary.measured_time_s == window.duration_s >= window.busy_s
        assert record.summary.output_tokens > 0
        assert record.measurements.ttft_s.mean <= record.measurements.latency_s.mean
        assert record.model.random_weights is True
        assert record.model.architecture is not None
        assert record.model.architecture.num_layers == 2


def test_cpu_without_meter_has_null_energy_and_a_reason(demo_results: Path) -> None:
    from runner.machine.energy import rapl_available

    if rapl_available():
        pytest.skip("this machine exposes RAPL")
    for _, record in scan_results(demo_results).records:
        assert record.energy.source == "unavailable"
        assert record.energy.reason
        assert record.summary.energy_j is None
        assert record.summary.energy_per_response_j is None
        assert record.measurements.energy_per_token_j is None
        assert record.energy_windows.attribution is None
        for window in record.energy_windows.windows:
            assert window.energy_j is None and window.reason == record.energy.reason
            assert window.timeline is None


def test_raw_data_has_one_row_per_request(demo_results: Path) -> None:
    for path, record in scan_results(demo_results).records:
        rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
        assert len(rows) == record.summary.requests
        passes = record.energy_windows.windows[0].passes
        assert [r["prompt_id"] for r in rows] == record.task.prompt_ids * passes
        assert [r["pass"] for r in rows] == [p for p in range(passes) for _ in range(4)]
        assert sum(r["response_tokens"] for r in rows) == record.summary.output_tokens


def test_provenance_is_filled(demo_results: Path) -> None:
    _, record = scan_results(demo_results).records[0]
    provenance = record.provenance
    assert provenance.library_versions["torch"] == "2.13.0+cpu" or provenance.library_versions[
        "torch"
    ].startswith("2.13.0")
    assert provenance.device == "cpu"
    assert provenance.started_utc < provenance.ended_utc
    assert provenance.seed == 0
    assert "run" in provenance.command_line or provenance.command_line


def test_second_run_adds_a_record_and_keeps_the_first(demo_results: Path) -> None:
    before = {p: p.read_bytes() for p in demo_results.rglob("*") if p.is_file()}
    code = main(
        [
            "run",
            "--no-progress",
            "experiment=demo",
            "task=chat",
            f"results_dir={demo_results}",
            "num_prompts=4",
            "repeats=1",
            "calibrate=false",
        ]
    )
    assert code == 0
    after = {p: p.read_bytes() for p in demo_results.rglob("*") if p.is_file()}
    assert all(after[p] == data for p, data in before.items())
    assert len(after) == len(before) + 2
    assert scan_results(demo_results).problems == []


def test_same_config_gives_same_config_hash(demo_results: Path) -> None:
    chat = [r for _, r in scan_results(demo_results).records if r.identity.task == "chat"]
    assert len({r.identity.config_hash for r in chat}) == 1


def test_sweep_over_batch_sizes(tmp_path: Path) -> None:
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            "experiment=demo",
            "task=chat",
            "batch_size=1,4",
            f"results_dir={tmp_path}",
            "num_prompts=4",
            "repeats=1",
            "calibrate=false",
        ]
    )
    assert code == 0
    sizes = sorted(r.identity.batch_size for _, r in scan_results(tmp_path).records)
    assert sizes == [1, 4]


def test_bad_override_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["run", "experiment=demo", "model.dtype=fp8", f"results_dir={tmp_path}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "model.dtype: expected one of float32, float16, bfloat16, got 'fp8'" in err
    assert "Traceback" not in err
    assert not any(tmp_path.rglob("*.json"))


def test_sweep_without_multirun_flag_is_refused(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "batch_size=1,2"]) == 1
    assert "needs -m" in capsys.readouterr().err


def test_unloadable_model_fails_the_point_only(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            "experiment=demo",
            "task=chat",
            "model=tiny-random,Qwen__Qwen2.5-0.5B-Instruct",
            "backend.device=cpu",
            f"results_dir={tmp_path}",
            "num_prompts=2",
            "repeats=1",
            "calibrate=false",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot be loaded" in err and "Traceback" not in err
    records = scan_results(tmp_path).records
    assert [r.identity.model_name for _, r in records] == ["tiny-random"]
