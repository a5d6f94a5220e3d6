"""A runner-only install (no `eval`, `site` or `pipeline` extra): the GPU tests collect, and
`leaderboard run` works. The extras are made unimportable in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BLOCKER = REPO / "tests" / "support" / "runner_only"


def runner_only(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{BLOCKER}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )


@pytest.mark.slow
def test_gpu_tests_collect_without_the_site_pipeline_and_eval_stacks(tmp_path: Path) -> None:
    probe = runner_only(["-c", "import altair"], tmp_path)
    assert probe.returncode == 1 and "blocked" in probe.stderr  # the imitation works
    result = runner_only(["-m", "pytest", "--collect-only", "-q", "-m", "gpu", "tests"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "tests/measure/test_gpu.py::test_static_backends_match_eager_on_gpu_in_float32" in (
        result.stdout
    )
    assert "error" not in result.stdout.lower()


@pytest.mark.slow
def test_run_and_validate_need_only_the_runner_core(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = runner_only(
        [
            *("-m", "runner.cli", "run", "--no-progress", "experiment=demo", "num_prompts=2"),
            *("repeats=1", "min_window_s=0", "calibrate=false", "task.max_new_tokens=4"),
            f"results_dir={results}",
        ],
        tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    validate = runner_only(["-m", "runner.cli", "validate", "--results", str(results)], tmp_path)
    assert validate.returncode == 0, validate.stderr[-2000:]
    assert "1 record(s) ok" in validate.stdout
