"""The Zeus adapter with Zeus faked as present and absent, and energy attribution in a run."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import ClassVar

import pytest

from runner.machine import energy
from runner.machine.energy import (
    FakeEnergyMeter,
    NullEnergyMeter,
    ZeusEnergyMeter,
    make_energy_meter,
)


class FakeMeasurement:
    def __init__(self, seconds: float, gpu: dict[int, float], cpu: dict[int, float] | None) -> None:
        self.time = seconds
        self.gpu_energy = gpu
        self.cpu_energy = cpu
        self.dram_energy = None


class FakeZeusMonitor:
    """Stands in for zeus.monitor.ZeusMonitor: 150 J per GPU window, 40 J per CPU window."""

    instances: ClassVar[list[FakeZeusMonitor]] = []

    def __init__(self, gpu_indices: list[int] | None = None, cpu_indices: list[int] | None = None):
        self.gpu_indices = gpu_indices
        self.cpu_indices = cpu_indices
        self.calls: list[tuple[str, str, bool]] = []
        FakeZeusMonitor.instances.append(self)

    def begin_window(self, key: str, sync_execution: bool = True) -> None:
        self.calls.append(("begin", key, sync_execution))

    def end_window(self, key: str, sync_execution: bool = True) -> FakeMeasurement:
        self.calls.append(("end", key, sync_execution))
        if self.gpu_indices:
            return FakeMeasurement(2.0, {i: 150.0 for i in self.gpu_indices}, None)
        return FakeMeasurement(2.0, {}, {0: 40.0})


@pytest.fixture
def fake_zeus(monkeypatch: pytest.MonkeyPatch) -> type[FakeZeusMonitor]:
    module = types.ModuleType("zeus.monitor")
    module.ZeusMonitor = FakeZeusMonitor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zeus.monitor", module)
    FakeZeusMonitor.instances.clear()
    return FakeZeusMonitor


def test_gpu_present_uses_nvml(monkeypatch: pytest.MonkeyPatch, fake_zeus: type) -> None:
    monkeypatch.setattr(energy, "nvml_available", lambda: True)
    meter = make_energy_meter("auto", "cuda", gpu_index=0)
    assert isinstance(meter, ZeusEnergyMeter)
    assert meter.source == "zeus-nvml" and meter.available and meter.reason is None
    meter.begin("w")
    reading = meter.end("w")
    assert reading.energy_j == 150.0 and reading.duration_s == 2.0
    monitor = fake_zeus.instances[-1]
    assert monitor.gpu_indices == [0]
    assert monitor.calls == [("begin", "w", True), ("end", "w", True)]


def test_cpu_with_rapl_uses_rapl(monkeypatch: pytest.MonkeyPatch, fake_zeus: type) -> None:
    monkeypatch.setattr(energy, "rapl_available", lambda: True)
    meter = make_energy_meter("auto", "cpu")
    assert meter.source == "zeus-rapl"
    meter.begin("w")
    assert meter.end("w").energy_j == 40.0


def test_absent_meters_give_null_energy_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(energy, "nvml_available", lambda: False)
    monkeypatch.setattr(energy, "rapl_available", lambda: False)
    for device in ("cpu", "cuda"):
        meter = make_energy_meter("auto", device)
        assert isinstance(meter, NullEnergyMeter)
        assert not meter.available and meter.source == "unavailable"
        assert meter.reason
        meter.begin("w")
        reading = meter.end("w")
        assert reading.energy_j is None and reading.duration_s >= 0


def test_this_machine_without_rapl_reports_unavailable_not_zero() -> None:
    if energy.rapl_available():
        pytest.skip("this machine exposes RAPL")
    meter = make_energy_meter("auto", "cpu")
    assert meter.source == "unavailable"
    assert "RAPL" in (meter.reason or "")


def test_meter_none_is_honoured() -> None:
    meter = make_energy_meter("none", "cuda")
    assert meter.source == "unavailable" and "energy_meter=none" in (meter.reason or "")


def test_fake_meter_energy_is_power_times_time() -> None:
    meter = FakeEnergyMeter(power_w=50.0)
    meter.begin("w")
    reading = meter.end("w")
    assert reading.energy_j == pytest.approx(50.0 * reading.duration_s)


def test_run_with_fake_meter_attributes_energy(tmp_path: Path) -> None:
    """Energy per response = batch energy / batch size; per token = / output tokens."""
    import json

    from runner.compose import compose_run_config, hydra_context
    from runner.hardware.calibration import ensure_calibration
    from runner.measure.point import run_point

    with hydra_context():
        config = compose_run_config(
            [
                "experiment=demo",
                f"results_dir={tmp_path}",
                "num_prompts=4",
                "repeats=1",
                "idle_seconds=0.2",
            ]
        )
    path = run_point(
        config,
        calibration=ensure_calibration,
        meter=FakeEnergyMeter(power_w=80.0),
        progress=False,
    )
    record = json.loads(path.read_text())
    assert record["energy"]["source"] == "fake"
    assert record["energy"]["idle_power_w"] == pytest.approx(80.0)
    summary = record["summary"]
    assert summary["energy_j"] == pytest.approx(80.0 * summary["measured_time_s"], rel=0.05)
    assert summary["energy_per_response_j"] == pytest.approx(summary["energy_j"] / 4)
    assert summary["energy_per_token_j"] == pytest.approx(
        summary["energy_j"] / summary["output_tokens"]
    )
    assert summary["avg_power_w"] == pytest.approx(80.0, rel=0.05)
    # constant power equal to idle: nothing above idle (up to window-edge timing)
    assert (
        abs(summary["energy_above_idle_per_response_j"]) < 0.05 * summary["energy_per_response_j"]
    )
    rows = [json.loads(line) for line in (path.parent / record["raw_data"]["file"]).open()]
    for row in rows:
        assert row["energy_share_j"] == pytest.approx(row["batch_energy_j"] / config.batch_size)
