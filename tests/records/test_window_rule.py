"""`leaderboard validate` refuses a measured GPU energy window shorter than its record's rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.records.consistency import window_rule_problems
from runner.records.load import load_record
from runner.records.performance import GPU_MIN_WINDOW_S
from runner.validate import validate_results
from tests.support.site_support import GOLDEN, first_record


def gpu_performance_record(tmp_path: Path, duration_s: float, rule_s: float) -> Path:
    """A golden performance record made a measured GPU one with one energy window of
    `duration_s` under a rule of `rule_s` (its figures kept in agreement)."""
    source = first_record(GOLDEN)
    target = tmp_path / "results" / source.parent.relative_to(GOLDEN)
    shutil.copytree(source.parent, target)
    path = target / source.name
    data = json.loads(path.read_text())
    summary = data["summary"]
    summary["measured_time_s"] = duration_s
    summary["energy_j"] = 300.0 * duration_s
    summary["throughput_tok_s"] = summary["output_tokens"] / duration_s
    summary["energy_per_response_j"] = summary["energy_j"] / summary["requests"]
    summary["energy_per_token_j"] = summary["energy_j"] / summary["output_tokens"]
    summary["avg_power_w"] = 300.0
    data["energy"]["source"] = "zeus-nvml"
    data["energy_windows"] = {
        "min_window_s": rule_s,
        "meter_resolution_s": 0.1,
        "attribution": "window-time-share",
        "windows": [
            {
                "index": 0,
                "duration_s": duration_s,
                "energy_j": summary["energy_j"],
                "passes": 1,
                "batches": summary["batches"],
                "requests": summary["requests"],
                "output_tokens": summary["output_tokens"],
                "busy_s": duration_s,
                "idle_power_w": None,
                "idle_window_s": None,
                "energy_above_idle_j": None,
            }
        ],
        "rule": {"min_window_s": rule_s, "basis": "test", "enforced": True},
    }
    path.write_text(json.dumps(data))
    return path


def test_a_gpu_window_shorter_than_its_rule_is_refused(tmp_path: Path, capsys) -> None:
    path = gpu_performance_record(tmp_path, duration_s=4.0, rule_s=60.0)
    problems, _, _, valid = validate_results(tmp_path / "results")
    assert valid == 0
    assert problems == [
        f"{path}: energy_windows.windows[0]: measured GPU energy window of 4.000 s is shorter "
        "than the record's rule (60 s); its energy may not be stored as a number"
    ]
    assert main(["validate", "--results", str(tmp_path / "results")]) == 1
    assert "shorter than the record's rule (60 s)" in capsys.readouterr().err


def test_a_gpu_rule_below_the_floor_is_refused_and_a_long_window_passes(tmp_path: Path) -> None:
    low = load_record(gpu_performance_record(tmp_path / "low", duration_s=12.0, rule_s=3.0))
    assert window_rule_problems(low) == [
        f"energy_windows.windows[0]: window rule 3 s is below the GPU floor "
        f"{GPU_MIN_WINDOW_S:g} s (NVML counter windows shorter than that are too coarse)"
    ]
    good = gpu_performance_record(tmp_path / "good", duration_s=61.0, rule_s=60.0)
    assert window_rule_problems(load_record(good)) == []
    problems, _, _, valid = validate_results(tmp_path / "good" / "results")
    assert problems == [] and valid == 1


def test_the_rule_binds_gpu_records_only(tmp_path: Path) -> None:
    path = gpu_performance_record(tmp_path, duration_s=4.0, rule_s=60.0)
    data = json.loads(path.read_text())
    data["energy"]["source"] = "zeus-rapl"  # a CPU window: the GPU rule does not apply
    path.write_text(json.dumps(data))
    assert window_rule_problems(load_record(path)) == []


@pytest.fixture(scope="module")
def steady_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A steady record of the tiny model on CPU (no meter)."""
    root = tmp_path_factory.mktemp("steady")
    code = main(
        [
            "run",
            "--no-progress",
            "experiment=demo",
            "scenario=steady",
            "scenario.max_num_seqs=4",
            "scenario.num_requests=16",
            "task.max_new_tokens=8",
            "calibrate=false",
            f"results_dir={root}",
        ]
    )
    assert code == 0
    return root


def test_a_steady_gpu_window_shorter_than_its_rule_is_refused(
    steady_results: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    shutil.copytree(steady_results, results)
    [path] = results.glob("steady/*/*/*/*/*.json")
    data = json.loads(path.read_text())
    summary, window = data["summary"], data["window"]
    assert window["duration_s"] < GPU_MIN_WINDOW_S  # a tiny model's window on CPU
    data["energy"].update(source="zeus-nvml", reason=None, devices=["gpu:0"])
    summary["energy_j"] = 250.0 * window["duration_s"]
    summary["energy_reason"] = None
    summary["avg_power_w"] = 250.0
    summary["energy_per_token_j"] = summary["energy_j"] / window["output_tokens"]
    summary["energy_per_request_j"] = summary["energy_per_token_j"] * summary["mean_output_tokens"]
    window["rule"] = {"min_window_s": GPU_MIN_WINDOW_S, "basis": "test", "enforced": True}
    path.write_text(json.dumps(data))
    problems, _, _, valid = validate_results(results)
    assert valid == 0
    assert problems == [
        f"{path}: window: measured GPU energy window of {window['duration_s']:.3f} s is shorter "
        f"than the record's rule ({GPU_MIN_WINDOW_S:g} s); its energy may not be stored as a "
        "number"
    ]
