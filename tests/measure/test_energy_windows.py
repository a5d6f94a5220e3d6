"""Steady-state energy windows: whole passes until `min_window_s`, resolution, attribution."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from runner.machine.energy import (
    EnergyReading,
    FakeEnergyMeter,
    NullEnergyMeter,
    checked_energy,
    integrate_power,
)
from runner.measure.generation import BatchResult, RequestTiming
from runner.measure.point import (
    build_summary,
    energy_windows_block,
    measure_windows,
    pooled_idle,
)
from runner.workload.prompts import Prompt

PROMPTS = [Prompt(id=f"p{k}", text=f"prompt {k}") for k in range(4)]


def fake_generate(seconds: float = 0.02, tokens: int = 5):
    """A batch runner that sleeps `seconds` and returns `tokens` tokens per request."""

    def generate(batch: list[Prompt]) -> BatchResult:
        started = time.perf_counter()
        time.sleep(seconds)
        took = time.perf_counter() - started
        requests = [RequestTiming(3, tokens, took / tokens, took, "x") for _ in batch]
        return BatchResult(batch_time_s=took, requests=requests)

    return generate


# --- integration of a power timeline ---------------------------------------------------------


def test_a_stepwise_power_trace_integrates_to_the_hand_computed_joules() -> None:
    """Zeus' PowerMonitor keeps a sample only when the power changed, so each sample holds until
    the next. Trace: 100 W from t=0, 300 W from t=1, 200 W from t=3 (no sample between)."""
    trace = [(0.0, 100.0), (1.0, 300.0), (3.0, 200.0)]
    # [0.5, 4]: 100 W x 0.5 s + 300 W x 2 s + 200 W x 1 s (the last sample holds to the end)
    assert integrate_power(trace, 0.5, 4.0, 0.05) == pytest.approx(50.0 + 600.0 + 200.0)
    # [1.5, 2.5] lies inside the 300 W step: a linear ramp from 300 to 200 W would say 275 J
    assert integrate_power(trace, 1.5, 2.5, 0.05) == pytest.approx(300.0)
    # [0, 3]: exactly the first two steps
    assert integrate_power(trace, 0.0, 3.0, 0.05) == pytest.approx(100.0 + 600.0)


def test_integral_of_a_constant_and_of_a_sampled_ramp() -> None:
    constant = [(t / 10, 100.0) for t in range(0, 21)]  # 0..2 s at 100 W, every 0.1 s
    assert integrate_power(constant, 0.25, 1.75, 0.1) == pytest.approx(150.0)
    ramp = [(t / 10, 10.0 * t / 10) for t in range(0, 21)]  # P = 10 t W, sampled every 0.1 s
    # held samples: the left Riemann sum, sum over t = 0.5, 0.6, ..., 1.4 of 10 t x 0.1 = 9.5 J
    assert integrate_power(ramp, 0.5, 1.5, 0.1) == pytest.approx(9.5)


def test_integral_refuses_short_or_unknown_intervals() -> None:
    samples = [(t / 10, 100.0) for t in range(0, 11)]  # 0..1 s
    assert integrate_power(samples, 0.5, 0.55, 0.1) is None  # shorter than one period
    assert integrate_power(samples, -0.5, 0.5, 0.1) is None  # no reading known at the start
    assert integrate_power([], 0.0, 1.0, 0.1) is None
    # the first sample is taken back to the start within one period; the last holds to the end
    assert integrate_power(samples, -0.05, 1.5, 0.1) == pytest.approx(155.0)


def test_window_below_the_meter_resolution_is_never_a_number() -> None:
    assert checked_energy(EnergyReading(0.0, 0.05), 0.1) == (
        None,
        "window of 0.050 s is shorter than the meter's resolution (0.1 s)",
    )
    assert checked_energy(EnergyReading(12.0, 0.2), 0.1) == (12.0, None)
    assert checked_energy(EnergyReading(None, 5.0), 0.1) == (None, None)


# --- windows --------------------------------------------------------------------------------


def test_windows_run_whole_passes_until_min_window() -> None:
    meter = FakeEnergyMeter(power_w=50.0)
    windows = measure_windows(
        fake_generate(0.02),
        meter,
        PROMPTS,
        batch_size=2,
        repeats=2,
        min_window_s=0.15,
        idle_power_w=50.0,
        idle_window_s=0.05,
    )
    assert len(windows) == 2
    for window in windows:
        assert window.duration_s >= 0.15
        # 2 batches per pass of ~0.02 s: at least 4 passes to pass 0.15 s, and whole passes only
        assert window.passes >= 4
        assert len(window.batches) == 2 * window.passes
        assert [b.index for b in window.batches] == [0, 1] * window.passes
        assert [b.pass_index for b in window.batches] == [
            p for p in range(window.passes) for _ in range(2)
        ]
        assert window.requests == 4 * window.passes
        assert window.energy_j == pytest.approx(50.0 * window.duration_s)
        assert window.idle_power_w == pytest.approx(50.0)  # the point's one baseline
        assert window.idle_window_s == 0.05
        assert window.energy_above_idle_j == pytest.approx(0.0, abs=1e-6)
        # time-share attribution: the batches add up to the window
        assert sum(b.energy_j for b in window.batches) == pytest.approx(window.energy_j)
    power, total = pooled_idle(windows)
    assert power == pytest.approx(50.0) and total >= 0.1


def test_zero_min_window_is_one_pass() -> None:
    windows = measure_windows(
        fake_generate(0.001),
        FakeEnergyMeter(),
        PROMPTS,
        batch_size=4,
        repeats=1,
        min_window_s=0.0,
    )
    assert windows[0].passes == 1 and len(windows[0].batches) == 1


def test_window_below_resolution_stores_null_with_reason() -> None:
    meter = FakeEnergyMeter(power_w=50.0, resolution_s=10.0)
    windows = measure_windows(
        fake_generate(0.01),
        meter,
        PROMPTS,
        batch_size=2,
        repeats=1,
        min_window_s=0.0,
    )
    [window] = windows
    assert window.energy_j is None
    assert "shorter than the meter's resolution (10 s)" in window.reason
    assert all(batch.energy_j is None for batch in window.batches)
    summary = build_summary(windows, "cpu", 0.0, 0.0)
    assert summary.energy_j is None and summary.energy_per_token_j is None
    assert summary.energy_above_idle_per_response_j is None
    block = energy_windows_block(windows, meter, 0.0)
    assert block.windows[0].energy_j is None and block.attribution is None


def test_power_timeline_attributes_energy_to_batches() -> None:
    """A power that changes with time: each batch gets the integral over its own span."""
    origin = time.time()

    def power(moment: float) -> float:
        return 100.0 + 200.0 * (moment - origin)  # a ramp, so batches differ

    meter = FakeEnergyMeter(timeline_period_s=0.01, power=power)
    windows = measure_windows(
        fake_generate(0.05),
        meter,
        PROMPTS,
        batch_size=1,
        repeats=1,
        min_window_s=0.2,
    )
    [window] = windows
    assert window.timeline is not None
    for batch in window.batches:
        start, end = batch.wall_start, batch.wall_end
        exact = 100.0 * (end - start) + 100.0 * ((end - origin) ** 2 - (start - origin) ** 2)
        # samples every 0.01 s held until the next: within 200 W/s x 0.01 s of the exact ramp
        assert batch.energy_j == pytest.approx(exact, abs=2.0 * (end - start) + 1e-9)
        assert batch.energy_j == pytest.approx(window.timeline.energy_j(start, end))
    energies = [b.energy_j for b in window.batches]
    assert energies == sorted(energies)  # later batches ran at higher power
    # host gaps between batches are in the window, not in any batch
    assert sum(energies) < window.energy_j
    block = energy_windows_block(windows, meter, 0.2)
    assert block.attribution == "power-timeline" and block.attribution_note is None
    timeline = block.windows[0].timeline
    assert timeline.source == "fake" and timeline.sample_period_s == 0.01
    assert len(timeline.t_s) == len(timeline.power_w) <= 200
    assert timeline.t_s == sorted(timeline.t_s) and 0 <= timeline.t_s[0] < 0.02


def test_timeline_is_downsampled_to_200_points() -> None:
    meter = FakeEnergyMeter(timeline_period_s=0.001)
    windows = measure_windows(
        fake_generate(0.1),
        meter,
        PROMPTS,
        batch_size=4,
        repeats=1,
        min_window_s=0.5,
    )
    block = energy_windows_block(windows, meter, 0.5)
    timeline = block.windows[0].timeline
    assert timeline.samples >= 500
    assert len(timeline.t_s) <= 200
    assert all(p == pytest.approx(100.0) for p in timeline.power_w)


def test_batches_shorter_than_a_sample_have_null_energy_and_a_note() -> None:
    meter = FakeEnergyMeter(timeline_period_s=0.2)
    windows = measure_windows(
        fake_generate(0.01),
        meter,
        PROMPTS,
        batch_size=2,
        repeats=1,
        min_window_s=0.5,
    )
    assert all(batch.energy_j is None for batch in windows[0].batches)
    assert windows[0].energy_j is not None  # the window itself is measured
    block = energy_windows_block(windows, meter, 0.5)
    assert "shorter than one power sample" in block.attribution_note


def test_a_batch_without_energy_leaves_the_others_statistics_intact() -> None:
    """Before issue 21, one batch without an energy nulled every per-batch energy statistic."""
    from runner.measure.point import MeasuredBatch, build_measurements

    def batch(index: int, energy: float | None) -> MeasuredBatch:
        requests = [RequestTiming(3, 4, 0.01, 0.04, "x"), RequestTiming(3, 6, 0.01, 0.05, "y")]
        return MeasuredBatch(0, 0, index, PROMPTS[:2], BatchResult(0.05, requests), energy_j=energy)

    measurements = build_measurements([batch(0, 10.0), batch(1, None), batch(2, 20.0)])
    assert measurements.energy_per_response_j.n == 2  # the two batches with an energy
    assert measurements.energy_per_response_j.mean == pytest.approx((5.0 + 10.0) / 2)
    assert measurements.energy_per_token_j.mean == pytest.approx((1.0 + 2.0) / 2)
    assert measurements.latency_s.n == 6  # per-request statistics keep every request


def test_no_meter_means_null_windows() -> None:
    meter = NullEnergyMeter("no meter here")
    windows = measure_windows(
        fake_generate(0.001),
        meter,
        PROMPTS,
        batch_size=2,
        repeats=1,
        min_window_s=0.01,
    )
    [window] = windows
    assert window.energy_j is None and window.reason == "no meter here"
    assert window.idle_window_s is None and window.idle_power_w is None
    block = energy_windows_block(windows, meter, 0.01)
    assert block.meter_resolution_s is None and block.attribution is None


def test_throughput_is_null_not_zero_without_time() -> None:
    from runner.measure.point import MeasuredBatch, MeasuredWindow

    result = BatchResult(batch_time_s=0.0, requests=[RequestTiming(1, 1, 0.0, 0.0, "")])
    window = MeasuredWindow(
        0, 0.0, None, "none", 1, [MeasuredBatch(0, 0, 0, PROMPTS[:1], result)], None, None, 0, 0
    )
    assert build_summary([window], "cpu", 0.0, 0.0).throughput_tok_s is None


# --- a whole run with a fake meter with a timeline ---------------------------------------------


def test_run_record_carries_windows_and_timelines(tmp_path: Path) -> None:
    from runner.compose import compose_run_config, hydra_context
    from runner.measure.point import run_point
    from runner.records.load import scan_results

    with hydra_context():
        config = compose_run_config(
            [
                "experiment=demo",
                f"results_dir={tmp_path}",
                "num_prompts=2",
                "batch_size=1",
                "repeats=2",
                "idle_seconds=0.1",
                "idle_settle_s=0.05",
                "min_window_s=0.3",
                "task.max_new_tokens=8",
                "calibrate=false",
            ]
        )
    path = run_point(
        config, meter=FakeEnergyMeter(power_w=60.0, timeline_period_s=0.005), progress=False
    )
    [(_, record)] = scan_results(tmp_path).records
    windows = record.energy_windows
    assert windows.min_window_s == 0.3 and windows.attribution == "power-timeline"
    assert len(windows.windows) == 2
    for window in windows.windows:
        assert window.duration_s >= 0.3
        assert window.energy_j == pytest.approx(60.0 * window.duration_s, rel=1e-3)
        assert window.idle_power_w == pytest.approx(60.0)
        assert window.timeline is not None and window.timeline.power_w
        assert window.relative_uncertainty is None  # the fake meter has no resolution
    assert windows.rule.min_window_s == 0.3 and windows.rule.enforced
    assert record.energy.idle_settle_s == 0.05 and "before warm-up" in record.energy.idle_note
    assert record.summary.energy_j == pytest.approx(sum(w.energy_j for w in windows.windows))
    assert record.summary.measured_time_s == pytest.approx(
        sum(w.duration_s for w in windows.windows)
    )
    # above idle subtracts idle power x window time: constant power gives ~0
    assert record.summary.energy_above_idle_per_response_j == pytest.approx(0.0, abs=1e-3)
    assert record.energy.idle_window_s >= 0.1  # one idle window, before warm-up
    rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
    assert {row["window"] for row in rows} == {0, 1}
    assert sum(w.requests for w in windows.windows) == len(rows) == record.summary.requests
