"""The serving scenario on a GPU (marker `gpu`, skipped without CUDA): NVML energy over the
window and every timeline slice. Written for a lent GPU; not yet run on one."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.records.load import scan_results
from runner.validate import validate_results


@pytest.mark.gpu
def test_serving_on_gpu_measures_window_energy_through_nvml(tmp_path: Path) -> None:
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            "scenario=serving",
            "model=tiny-random",
            "task=chat",
            "backend.device=cuda",
            "model.dtype=bfloat16",
            "idle_seconds=2",
            "task.max_new_tokens=64",
            "scenario.warmup_s=3",
            "scenario.duration_s=10",
            "scenario.drain_timeout_s=10",
            "scenario.timeline_step_s=2",
            "scenario.request_rate=4,32",
            f"results_dir={tmp_path}",
            "calibrate=false",
        ]
    )
    assert code == 0
    problems, _, _, valid = validate_results(tmp_path)
    assert problems == [] and valid == 2
    for _, record in scan_results(tmp_path).records:
        assert record.energy.source == "zeus-nvml"
        summary = record.summary
        assert summary.energy_j is not None and summary.energy_j > 0
        per_request = summary.energy_per_finished_request_j
        assert per_request is not None and per_request > 0
        assert summary.energy_per_token_j is not None and summary.energy_per_token_j > 0
        assert summary.avg_power_w is not None and summary.avg_power_w > 0
        assert all(p.power_w is not None and p.power_w > 0 for p in record.timeline)
        assert summary.peak_memory_kind == "cuda_max_allocated"
        assert not record.identity.hardware_slug.startswith("cpu-")
        # A 10 s window on a GPU is never conclusive (the sample-size rule wants 60 s).
        assert record.verdict is not None and record.verdict.sample.on_gpu
        assert not record.verdict.sample.passes
