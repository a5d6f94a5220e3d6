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


class FakePowerMonitor:
    """Stands in for zeus.monitor.PowerMonitor: 200 W samples every 0.05 s from t=1000."""

    fail: ClassVar[bool] = False
    made: ClassVar[list[FakePowerMonitor]] = []

    def __init__(self, gpu_indices: list[int], update_period: float) -> None:
        if FakePowerMonitor.fail:
            raise RuntimeError("Power monitor subprocess for device_instant failed to start")
        self.gpu_indices = gpu_indices
        self.update_period = update_period
        self.measurement_domains = [types.SimpleNamespace(value="device_instant")]
        self.queries: list[tuple] = []
        FakePowerMonitor.made.append(self)

    def get_power_timeline(self, domain, gpu_index=None, start_time=None, end_time=None):
        self.queries.append((domain, gpu_index, start_time, end_time))
        samples = [(1000 + k * 0.05, 200.0) for k in range(41)]  # 1000..1002 s
        low = -float("inf") if start_time is None else start_time
        return {gpu_index: [(t, w) for t, w in samples if low <= t <= end_time]}


@pytest.fixture
def fake_zeus(monkeypatch: pytest.MonkeyPatch) -> type[FakeZeusMonitor]:
    module = types.ModuleType("zeus.monitor")
    module.ZeusMonitor = FakeZeusMonitor  # type: ignore[attr-defined]
    module.PowerMonitor = FakePowerMonitor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zeus.monitor", module)
    monkeypatch.setattr(energy, "_POWER_MONITORS", {})
    FakeZeusMonitor.instances.clear()
    FakePowerMonitor.made.clear()
    FakePowerMonitor.fail = False
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


def test_gpu_meter_samples_a_power_timeline(
    monkeypatch: pytest.MonkeyPatch, fake_zeus: type
) -> None:
    monkeypatch.setattr(energy, "nvml_available", lambda: True)
    meter = make_energy_meter("auto", "cuda", gpu_index=0, power_sample_period_s=0.05)
    assert meter.resolution_s == energy.NVML_RESOLUTION_S == 0.1
    assert meter.timeline_period_s == 0.05 and meter.timeline_reason is None
    timeline = meter.power_timeline(1000.5, 1001.5)
    assert timeline is not None and timeline.source == "zeus-power-monitor:device_instant"
    assert timeline.energy_j(1000.5, 1001.5) == pytest.approx(200.0)
    [monitor] = FakePowerMonitor.made
    assert monitor.gpu_indices == [0] and monitor.update_period == 0.05
    # the whole timeline up to the end: the sample in force at the start may be long before it
    assert monitor.queries == [("device_instant", 0, None, 1001.5)]
    assert timeline.samples[0] == (1000.5, 200.0) and timeline.samples[-1][0] <= 1001.5
    # one sampler per process: a second meter reuses it
    make_energy_meter("auto", "cuda", gpu_index=0, power_sample_period_s=0.05)
    assert len(FakePowerMonitor.made) == 1


def test_a_sampler_that_does_not_start_leaves_windows_working(
    monkeypatch: pytest.MonkeyPatch, fake_zeus: type
) -> None:
    monkeypatch.setattr(energy, "nvml_available", lambda: True)
    FakePowerMonitor.fail = True
    meter = make_energy_meter("auto", "cuda", power_sample_period_s=0.05)
    assert meter.available and meter.power_timeline(0, 1) is None
    assert "PowerMonitor did not start: RuntimeError" in meter.timeline_reason
    meter.begin("w")
    assert meter.end("w").energy_j == 150.0
    off = make_energy_meter("auto", "cuda", power_sample_period_s=0)
    assert off.power_timeline(0, 1) is None and "power_sample_period_s=0" in off.timeline_reason


def test_missing_zeus_names_zeus_not_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zeus.monitor", None)  # import zeus.monitor -> ImportError
    monkeypatch.setattr(energy, "nvml_available", lambda: True)
    for device in ("cuda", "cpu"):
        meter = make_energy_meter("auto", device)
        assert isinstance(meter, NullEnergyMeter)
        assert "zeus package cannot be imported" in meter.reason
        assert "driver" not in meter.reason


def test_cpu_with_rapl_uses_rapl(monkeypatch: pytest.MonkeyPatch, fake_zeus: type) -> None:
    monkeypatch.setattr(energy, "rapl_available", lambda: True)
    meter = make_energy_meter("auto", "cpu", power_sample_period_s=0.05)
    assert meter.source == "zeus-rapl"
    assert meter.power_timeline(0, 1) is None and "GPUs only" in meter.timeline_reason
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
                "min_window_s=0.3",
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
    [window] = record["energy_windows"]["windows"]
    assert window["duration_s"] >= 0.3 and window["energy_j"] == summary["energy_j"]
    assert summary["measured_time_s"] == window["duration_s"]
    assert summary["energy_j"] == pytest.approx(80.0 * summary["measured_time_s"], rel=0.01)
    assert record["energy_windows"]["attribution"] == "window-time-share"
    assert summary["requests"] == 4 * window["passes"]
    assert summary["energy_per_response_j"] == pytest.approx(
        summary["energy_j"] / summary["requests"]
    )
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
    # window-time-share: the batches' energies add up to the window's
    batches = {(r["window"], r["pass"], r["batch_index"]): r["batch_energy_j"] for r in rows}
    assert sum(batches.values()) == pytest.approx(window["energy_j"])


def test_a_deduplicated_timeline_holds_each_reading_until_the_next(
    monkeypatch: pytest.MonkeyPatch, fake_zeus: type
) -> None:
    """Zeus keeps a sample only when the power changed: a flat 100 W from t=990 (one sample),
    then 300 W from 1001. The step integral over [1000, 1002] is 100 + 300 = 400 J; a linear
    ramp between 990 and 1001 would have given a false 281.8 J for the first second."""

    def timeline(self, domain, gpu_index=None, start_time=None, end_time=None):
        samples = [(990.0, 100.0), (1001.0, 300.0)]
        low = -float("inf") if start_time is None else start_time
        return {gpu_index: [(t, w) for t, w in samples if low <= t <= end_time]}

    monkeypatch.setattr(FakePowerMonitor, "get_power_timeline", timeline)
    monkeypatch.setattr(energy, "nvml_available", lambda: True)
    meter = make_energy_meter("auto", "cuda", gpu_index=0, power_sample_period_s=0.05)
    held = meter.power_timeline(1000.0, 1002.0)
    assert held is not None and held.samples == [(990.0, 100.0), (1001.0, 300.0)]
    assert held.energy_j(1000.0, 1002.0) == pytest.approx(400.0)
