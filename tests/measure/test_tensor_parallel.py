"""Tensor-parallel points on CPU (`parallel.tensor=2`: two gloo ranks), and their failures.

Run time on the shared 2-core build machine is stated in docs/multi-gpu.md; each 2-rank run of
the tiny model spends most of its seconds starting two Python processes that import torch and
transformers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import ConfigError, PointFailed, UserError
from runner.records.load import scan_results

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = ["experiment=demo", "model=tiny-random", "task=chat", "batch_size=4", "num_prompts=8"]


def _first_pass(path: Path, record) -> dict[str, tuple[int, str]]:
    """prompt id -> (response tokens, response text) of the record's first pass."""
    rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
    return {
        r["prompt_id"]: (r["response_tokens"], r["response_text"])
        for r in rows
        if r["window"] == 0 and r["pass"] == 0
    }


@pytest.fixture(scope="module")
def tp_and_single(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The issue's command with parallel.tensor=2, and the same point in one process."""
    root = tmp_path_factory.mktemp("tp")
    tp, single = root / "tp", root / "single"
    where = ["--no-progress", "calibrate=false"]
    assert main(["run", *where, *DEMO, "parallel.tensor=2", f"results_dir={tp}"]) == 0
    assert main(["run", *where, *DEMO, f"results_dir={single}"]) == 0
    return tp, single


@pytest.mark.slow
def test_two_ranks_write_one_valid_record_with_the_same_tokens(tp_and_single) -> None:
    tp, single = tp_and_single
    tp_scan, single_scan = scan_results(tp), scan_results(single)
    assert tp_scan.problems == [] and tp_scan.warnings == []
    [(tp_path, tp_record)] = tp_scan.records
    [(single_path, single_record)] = single_scan.records
    configuration = tp_record.identity.configuration
    assert configuration.tensor_parallel == 2 and configuration.num_devices == 2
    assert single_record.identity.configuration.tensor_parallel == 1
    assert tp_path.parent.name == "bs4-eager-g2-tp2" and single_path.parent.name == "bs4-eager"
    assert tp_record.config["parallel"] == {"tensor": 2}
    # Same seeded prompts, same greedy tokens: the sharded model decodes what one process does.
    assert tp_record.task.prompt_ids == single_record.task.prompt_ids
    first = _first_pass(tp_path, tp_record)
    assert first == _first_pass(single_path, single_record) and len(first) == 8
    assert tp_record.model.params == single_record.model.params  # whole tensors, not shards
    # One entry per rank; peak memory of the point is every rank's together.
    devices = tp_record.summary.per_device
    assert [d.rank for d in devices] == [0, 1] and all(d.peak_memory_bytes for d in devices)
    assert tp_record.summary.peak_memory_bytes == sum(d.peak_memory_bytes for d in devices)
    assert single_record.summary.per_device is None
    notes = tp_record.execution.notes
    assert any("tensor parallel: 2 torch.distributed ranks (gloo)" in note for note in notes)
    assert tp_record.provenance.command_line == sys.argv  # the command that started the point


@pytest.mark.slow
def test_energy_is_the_sum_over_every_device_of_the_point(tmp_path: Path) -> None:
    """Rank 0's meter reads every device in one window; each device's share is kept."""
    from runner.compose import compose_run_config, hydra_context
    from runner.machine.energy import FakeEnergyMeter
    from runner.measure.point import run_point
    from runner.records.consistency import inconsistencies
    from runner.records.load import load_record

    overrides = [*DEMO, "parallel.tensor=2", "repeats=1", "idle_seconds=0.2"]
    with hydra_context():
        config = compose_run_config([*overrides, f"results_dir={tmp_path}", "calibrate=false"])
    meter = FakeEnergyMeter(power_w=300.0, devices=2)
    record = load_record(run_point(config, meter=meter, progress=False))
    assert inconsistencies(record) == []
    assert record.energy.source == "fake" and record.energy.devices == ["fake:0", "fake:1"]
    [window] = record.energy_windows.windows
    assert [d.device for d in window.per_device] == ["fake:0", "fake:1"]
    assert sum(d.energy_j for d in window.per_device) == pytest.approx(window.energy_j)
    assert all(d.idle_power_w == pytest.approx(150.0) for d in window.per_device)
    assert record.energy.idle_power_w == pytest.approx(300.0)
    per_device = record.summary.per_device
    assert sum(d.energy_j for d in per_device) == pytest.approx(record.summary.energy_j)
    assert record.summary.avg_power_w == pytest.approx(300.0, rel=0.05)


READY = re.compile(r"rank (\d+) of \d+ \(pid (\d+), \w+\) loaded and warmed up; measuring")


@pytest.mark.slow
def test_a_killed_rank_fails_the_point_by_name_and_writes_nothing(tmp_path: Path) -> None:
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "runner.cli",
        "run",
        "--no-progress",
        *DEMO,
        "parallel.tensor=2",
        "min_window_s=600",  # the window is still open when rank 1 is killed
        "repeats=1",
        f"results_dir={results}",
        "calibrate=false",
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    ready: dict[int, int] = {}
    lines: list[str] = []
    assert process.stderr is not None
    deadline = time.monotonic() + 180
    while len(ready) < 2 and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        # Every announcement in the line (ranks writing at once may share one line).
        for rank, pid in READY.findall(line):
            ready[int(rank)] = int(pid)
    assert len(ready) == 2, "".join(lines)
    time.sleep(0.5)  # well inside the measured window
    os.kill(ready[1], signal.SIGKILL)
    _, rest = process.communicate(timeout=120)
    stderr = "".join(lines) + rest
    assert process.returncode == 1, stderr
    assert "rank 1 of 2 was killed by SIGKILL" in stderr
    assert "no record was written" in stderr
    assert "Traceback" not in stderr
    written = [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
    assert written == []
    for pid in ready.values():  # no rank outlives the point
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _raise_on_rank_one(ranks) -> None:
    """A rank target: rank 1 fails with a user-facing error, rank 0 waits for it."""
    if ranks.rank == 1:
        raise UserError("conf/model/x.yaml: out of memory on cpu")
    ranks.meet()


def _bug_on_rank_zero(ranks) -> None:
    if ranks.rank == 0:
        raise ZeroDivisionError("a bug")
    ranks.meet()


@pytest.mark.slow
def test_an_error_on_a_rank_is_one_line_naming_it_and_a_bug_keeps_its_traceback(
    tmp_path: Path,
) -> None:
    from runner.machine.distributed import launch

    (tmp_path / "a").mkdir()
    with pytest.raises(PointFailed) as failed:
        launch(_raise_on_rank_one, (), world_size=2, device="cpu", workdir=tmp_path / "a", what="t")
    assert str(failed.value) == (
        "t: rank 1 of 2: conf/model/x.yaml: out of memory on cpu; t failed on all 2 ranks and "
        "no record was written"
    )
    (tmp_path / "b").mkdir()
    with pytest.raises(RuntimeError) as bug:
        launch(_bug_on_rank_zero, (), world_size=2, device="cpu", workdir=tmp_path / "b", what="t")
    assert "t: rank 0 of 2 failed" in str(bug.value)
    assert "ZeroDivisionError: a bug" in str(bug.value) and "Traceback" in str(bug.value)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["backend=compiled"], "parallel.tensor: expected 1 with backend=compiled"),
        (["scenario=serving"], "parallel.tensor: expected 1 with scenario=serving (transformers "),
        (["parallel.tensor=0"], "parallel.tensor: expected an integer from 1 to 64, got 0"),
    ],
)
def test_what_tensor_parallel_cannot_run_is_refused_in_one_line(extra, expected) -> None:
    from runner.compose import compose_run_config, hydra_context

    with hydra_context(), pytest.raises(ConfigError) as refused:
        compose_run_config(["parallel.tensor=2", *extra])
    assert str(refused.value).startswith(expected), str(refused.value)
    assert "\n" not in str(refused.value)


def test_sweeps_over_the_degree_compose(tmp_path: Path) -> None:
    from runner.compose import compose_run_config, expand_sweep, hydra_context

    jobs = expand_sweep(["parallel.tensor=1,2", "batch_size=1,4"])
    with hydra_context():
        degrees = sorted(compose_run_config(job).parallel.tensor for job in jobs)
    assert degrees == [1, 1, 2, 2]


@pytest.mark.gpu
def test_two_gpus_make_one_point_metered_over_both(tmp_path: Path) -> None:
    """The GPU path: NCCL ranks on cuda:0 and cuda:1, one Zeus window over both GPUs."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs")
    code = main(
        [
            "run",
            "--no-progress",
            "model=tiny-random",
            "task=chat",
            "backend.device=cuda",
            "batch_size=4",
            "num_prompts=8",
            "task.max_new_tokens=32",
            "min_window_s=2",
            "idle_seconds=1",
            "parallel.tensor=2",
            f"results_dir={tmp_path}",
            "calibrate=false",
        ]
    )
    assert code == 0
    [(path, record)] = scan_results(tmp_path).records
    assert path.parent.name == "bs4-eager-g2-tp2"
    assert record.identity.configuration.num_devices == 2
    assert any("(nccl)" in note for note in record.execution.notes)
    from runner.machine.energy import nvml_available

    if nvml_available():
        assert record.energy.devices == ["gpu:0", "gpu:1"]
        assert [d.device for d in record.summary.per_device] == ["gpu:0", "gpu:1"]
        total = sum(d.energy_j for d in record.summary.per_device)
        assert total == pytest.approx(record.summary.energy_j)
        assert all(d.idle_power_w and d.idle_power_w > 0 for d in record.summary.per_device)


def test_eval_refuses_a_tensor_parallel_degree_instead_of_ignoring_it(capsys) -> None:
    assert main(["eval", "parallel.tensor=2"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: parallel.tensor: expected 1 for leaderboard eval (accuracy runs in one process), "
        "got 2"
    )
