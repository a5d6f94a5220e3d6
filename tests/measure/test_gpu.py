"""GPU path (marker `gpu`, skipped without CUDA): NVML energy through Zeus on a real GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.records.load import scan_results


@pytest.mark.gpu
def test_tiny_random_on_gpu_measures_energy_through_nvml(tmp_path: Path) -> None:
    code = main(
        [
            "run",
            "--no-progress",
            "model=tiny-random",
            "task=chat",
            "backend.device=cuda",
            "model.dtype=bfloat16",
            "num_prompts=32",
            "batch_size=8",
            "idle_seconds=2",
            "idle_settle_s=1",
            "min_window_s=3",  # below the GPU floor: the run raises it to 10 s
            "repeats=2",
            "power_sample_period_s=0.05",
            "task.max_new_tokens=128",
            "task.sampling.fixed_output_length=true",
            f"results_dir={tmp_path}",
            "calibrate=false",
        ]
    )
    assert code == 0
    [(_, record)] = scan_results(tmp_path).records
    assert record.energy.source == "zeus-nvml"
    assert record.summary.energy_j is not None and record.summary.energy_j > 0
    windows = record.energy_windows
    assert windows.meter_resolution_s == 0.1 and len(windows.windows) == 2
    assert windows.rule.min_window_s == 10.0 and "GPU floor" in windows.rule.basis
    for window in windows.windows:
        assert window.duration_s >= 10 and window.energy_j > 0
        assert window.relative_uncertainty == pytest.approx(0.2 / window.duration_s)
        assert window.idle_power_w is not None and window.idle_power_w > 0
    # Zeus' PowerMonitor sampled the windows (it starts sampler processes with spawn)
    assert windows.attribution == "power-timeline", windows.attribution_note
    assert all(w.timeline is not None and w.timeline.samples > 10 for w in windows.windows)
    assert record.energy.idle_power_w is not None and record.energy.idle_power_w > 0
    assert record.summary.peak_memory_kind == "cuda_max_allocated"
    assert record.provenance.gpu_name and record.provenance.gpu_driver
    assert not record.identity.hardware_slug.startswith("cpu-")


@pytest.mark.gpu
def test_static_backends_match_eager_on_gpu_in_float32(tmp_path: Path) -> None:
    """compiled (Inductor) and graph (a captured CUDA graph) give eager's greedy tokens."""
    import json

    for backend in ("eager", "compiled", "graph"):
        code = main(
            [
                "run",
                "--no-progress",
                "model=tiny-random",
                "task=instruct",
                "backend.device=cuda",
                "model.dtype=float32",
                f"backend={backend}",
                "num_prompts=8",
                "batch_size=4",
                "task.max_new_tokens=32",
                "idle_seconds=0",
                "min_window_s=1",
                "energy_meter=none",  # tokens, not energy: no 10 s GPU windows needed here
                f"results_dir={tmp_path}",
                "calibrate=false",
            ]
        )
        assert code == 0
    texts = {}
    records = {}
    for path, record in scan_results(tmp_path).records:
        rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
        texts[record.identity.backend] = {r["prompt_id"]: r["response_text"] for r in rows}
        records[record.identity.backend] = record
    assert texts["compiled"] == texts["eager"]
    assert texts["graph"] == texts["eager"]
    for record in records.values():
        assert record.execution.timing == "cuda-events"
    assert records["graph"].execution.cuda_graph is True
    assert records["compiled"].execution.compiles_warmup == 1
    assert records["compiled"].execution.compiles_measured == 0
