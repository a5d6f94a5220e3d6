"""The per-hardware `calibrate` stage: the template, an edited file left alone, and
`leaderboard calibrate --params ... --missing-only` (fast; the DVC round trips that run the stage
are in tests/publish/test_dvc_pipeline.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from runner.cli import main
from runner.errors import UserError
from runner.hardware.calibration import load_calibrations, run_calibration
from runner.machine.provenance import hardware_slug
from runner.publish.calibration_stage import (
    CalibrationNeed,
    calibrate_needs,
    needed_calibrations,
    plan,
)
from runner.publish.pipeline import (
    benchmark_targets,
    ensure_pipeline,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
HW = "nvidia-test-gpu"
PATH = f"pipelines/{HW}/dvc.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


def test_an_existing_pipeline_file_is_left_as_it_is(repo: Path) -> None:
    path = repo / PATH
    path.parent.mkdir(parents=True)
    path.write_text("# edited by a maintainer\n")
    assert ensure_pipeline(repo, HW) == (path, "unchanged")
    assert path.read_text() == "# edited by a maintainer\n"


def test_template_orders_calibrate_before_every_benchmark_stage(repo: Path) -> None:
    path, action = ensure_pipeline(repo, HW)
    assert action == "created"
    stages = yaml.safe_load(path.read_text())["stages"]
    folder = "results/calibration/${hardware}"
    assert stages["calibrate"]["outs"] == [{folder: {"persist": True}}]
    assert folder in stages["benchmark"]["deps"]
    assert "--missing-only" in stages["calibrate"]["cmd"][1]
    assert stages["calibrate"]["cmd"][0] == "leaderboard hardware-slug --expect ${hardware}"
    assert ensure_pipeline(repo, HW) == (path, "unchanged")
    # pull/push of the printed targets include the calibration folder (they do not follow deps)
    targets = benchmark_targets(repo, HW, ["Qwen__Qwen2.5-0.5B-Instruct"])
    assert targets[0] == f"{PATH}:calibrate"
    assert targets[1:] == [
        f"{PATH}:benchmark@Qwen__Qwen2.5-0.5B-Instruct-{task}"
        for task in yaml.safe_load((repo / "params.yaml").read_text())["tasks"]
    ]


def test_needs_come_from_every_listed_model_and_the_extra_overrides() -> None:
    # The listed models are all bfloat16; `auto` resolves to this machine's device.
    (need,) = needed_calibrations(REPO_ROOT, [])
    assert need.dtype == "bfloat16" and need.device in ("cpu", "cuda")
    assert needed_calibrations(
        REPO_ROOT, ["model.dtype=float32,float16", "backend.device=cpu"]
    ) == [
        CalibrationNeed("cpu", "float16"),
        CalibrationNeed("cpu", "float32"),
    ]


def test_plan_refuses_mixed_or_stray_arguments() -> None:
    assert plan(dtypes=["float32", "float32"], device="cpu", params=None, overrides=[]) == [
        CalibrationNeed("cpu", "float32")
    ]
    with pytest.raises(UserError, match="not both"):
        plan(dtypes=["float32"], device="cpu", params=REPO_ROOT / "params.yaml", overrides=[])
    with pytest.raises(UserError, match="need --params"):
        plan(dtypes=None, device="cpu", params=None, overrides=["model.dtype=float32"])


def test_missing_only_reuses_the_newest_calibration(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _, first = run_calibration(results, device="cpu", dtype="float32", size="small")
    lines = calibrate_needs(
        results, [CalibrationNeed("cpu", "float32")], size="small", missing_only=True
    )
    assert lines == [lines[0]] and lines[0].startswith(f"calibrate: reusing {first.run_id}")
    assert [r.run_id for r in load_calibrations(results)] == [first.run_id]


def test_cli_calibrates_each_dtype_of_the_params_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    argv = ["calibrate", "--results", str(results), "--params", str(REPO_ROOT / "params.yaml")]
    argv += ["--missing-only", "--size", "small", "backend.device=cpu", "model.dtype=float32"]
    assert main(argv) == 0
    (record,) = load_calibrations(results)
    assert (record.device, record.dtype, record.size) == ("cpu", "float32", "small")
    assert record.hardware_slug == hardware_slug("cpu")
    assert main(argv) == 0  # second time: reused, nothing written
    assert len(load_calibrations(results)) == 1
    assert "reusing" in capsys.readouterr().out
