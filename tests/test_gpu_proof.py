"""`benchmarks/gpu_proof.sh --smoke`: the GPU proof's every step, on CPU with the tiny model.

The real proof runs once on a lent GPU; running its smoke mode here, inside `make test`, keeps
the script from rotting between loans.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.records.calibration import CalibrationRecord
from runner.records.load import scan_results
from runner.records.performance import PerformanceRecord

REPO = Path(__file__).resolve().parent.parent
STEPS = (
    "versions",
    "nvidia-smi",
    "gpu-tests",
    "calibrate",
    "decode-floor",
    "overhead",
    "meter-agreement",
    "run",
    "serving",
    "validate",
)


@pytest.mark.slow
def test_gpu_proof_smoke_writes_every_output_and_valid_records(tmp_path: Path) -> None:
    out = tmp_path / "proof"
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_proof.sh"), "--smoke", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PY": sys.executable},
        cwd=REPO,
        timeout=600,
        check=False,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = (out / "SUMMARY.md").read_text()
    for step in STEPS:
        assert f"| {step} | 0 |" in summary, summary
    assert "0 step(s) failed" in summary
    assert "| tensor-parallel | skipped | 0 | 0 GPU(s) visible, smoke run |" in summary
    for name in (
        "versions.txt",
        "nvidia-smi.txt",
        "gpu-tests.txt",
        "gpu-tests.xml",
        "calibrate.txt",
        "decode_floor.md",
        "overhead.md",
        "meter_agreement.md",
        "run.txt",
        "serving.txt",
        "validate.txt",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "torch 2." in (out / "versions.txt").read_text()
    floor = (out / "decode_floor.md").read_text()
    for backend in ("eager", "compiled", "graph"):
        assert f"| tiny-random | 1 | {backend} |" in floor
    overhead = (out / "overhead.md").read_text()
    assert "| eager |" in overhead and "| graph |" in overhead
    assert "not measured" in (out / "meter_agreement.md").read_text()  # no meter on this CPU

    scan = scan_results(out / "results")
    assert scan.problems == []
    records = [record for _, record in scan.records]
    performance = [r for r in records if isinstance(r, PerformanceRecord)]
    assert [r for r in records if isinstance(r, CalibrationRecord)]
    points = {(r.identity.task, r.identity.batch_size, r.identity.backend) for r in performance}
    assert points == {
        (task, batch, backend)
        for task in ("chat", "chat-concise", "instruct", "instruct-concise")
        for batch in (1, 8)
        for backend in ("eager", "graph")
    }
    serving = [r for r in records if getattr(r, "kind", "") == "serving"]
    assert sorted(r.arrival.request_rate_rps for r in serving) == [4.0, 16.0]
    for record in performance:
        assert record.calibration_id is not None  # linked to the proof's own calibration
        assert record.energy_windows is not None and record.execution is not None
        assert record.summary.output_tokens == 8 * record.summary.requests  # fixed length
    # The issue asks for under 3 minutes; on the shared 2-core build machine, loaded by other
    # jobs, it took 2.5-2.7 min. The bound here leaves room for that load.
    assert took < 300, f"the smoke proof took {took:.0f} s"
