"""The steady scenario on a simulated engine and clock: window bounds, tokens, energy and N's
growth checked against figures computed by hand; then the real engine on CPU, end to end."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import pytest

from runner.errors import PointFailed
from runner.machine.energy import EnergyReading
from runner.measure.serving.outcomes import EngineResult, ScheduledRequest
from runner.measure.steady.driver import drive_steady, run_warmup
from runner.measure.steady.window import NoSteadyState, window_bounds, window_figures
from runner.records.performance import WindowRule
from runner.workload.prompts import Prompt


class FakeClock:
    """Seconds that move only when the simulated engine waits; rounded to the microsecond so
    the hand-computed bounds are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def move_to(self, moment: float) -> None:
        self.now = round(max(self.now, moment), 6)


class ClockMeter:
    """A counter on the fake clock: constant power, so a window's energy is power x time."""

    source = "fake"
    reason = None
    resolution_s = 0.0

    def __init__(self, clock: FakeClock, power_w: float = 100.0) -> None:
        self.clock, self.power_w = clock, power_w
        self.devices = ["fake:0"]
        self.open: dict[str, float] = {}

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        assert name not in self.open
        self.open[name] = self.clock()

    def end(self, name: str) -> EnergyReading:
        duration = self.clock() - self.open.pop(name)
        return EnergyReading(self.power_w * duration, duration)


class SimulatedEngine:
    """Continuous batching in miniature: a step every `step_s` seconds (at 1, 2, 3, ... x step);
    at each step the free slots (at most `cap` running) are filled from the queue in order, and
    every running request gets one token; a request with all its `length` tokens completes and
    is returned by `poll`."""

    def __init__(self, clock: FakeClock, cap: int, length: int = 3, step_s: float = 1.0) -> None:
        self.clock, self.cap, self.length, self.step_s = clock, cap, length, step_s
        self.queue: deque[str] = deque()
        self.running: dict[str, list[float]] = {}
        self.started: dict[str, float] = {}
        self.done: deque[EngineResult] = deque()
        self.next_step = step_s

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        self.queue.append(request_id)

    def _step(self) -> None:
        at = self.next_step
        self.next_step = round(self.next_step + self.step_s, 6)
        while self.queue and len(self.running) < self.cap:
            request_id = self.queue.popleft()
            self.running[request_id] = []
            self.started[request_id] = at
        for request_id, times in list(self.running.items()):
            times.append(at)
            if len(times) == self.length:
                del self.running[request_id]
                self.done.append(
                    EngineResult(
                        request_id, True, self.started[request_id], times, [7] * len(times)
                    )
                )

    def poll(self, timeout_s: float) -> EngineResult | None:
        until = round(self.clock() + timeout_s, 6)
        while not self.done and self.next_step <= until and (self.queue or self.running):
            self.clock.move_to(self.next_step)
            self._step()
        if self.done:
            return self.done.popleft()
        self.clock.move_to(until)
        return None

    def cancel(self, request_id: str) -> None:
        raise AssertionError("a steady run cancels nothing")

    def alive(self) -> str | None:
        return None


def request(index: int) -> ScheduledRequest:
    return ScheduledRequest(index, 0.0, Prompt(id=f"p{index}", text="x"), [1, 2, 3])


def drive(engine: SimulatedEngine, clock: FakeClock, **kwargs):
    settings = {
        "cap": engine.cap,
        "num_requests": 6,
        "max_requests": 1000,
        "min_window_s": 0.0,
        "grow": False,
        "tick_s": 0.25,
        "max_duration_s": 1000.0,
    }
    settings.update(kwargs)
    return drive_steady(engine, request, ClockMeter(clock), clock=clock, **settings)


def figures(result, cap: int, rule_s: float = 0.0, enforced: bool = True, **kwargs):
    rule = WindowRule(min_window_s=rule_s, basis="test", enforced=enforced)
    return window_figures(
        result.runs,
        result.tick_times,
        result.tick_energies,
        cap=cap,
        rule=rule,
        resolution_s=None,
        energy_reason=None,
        idle_power_w=None,
        **kwargs,
    )


def test_window_bounds_and_figures_match_the_hand_computed_ones() -> None:
    """B = 2, N = 6, 3 tokens each, one step a second. Steps at t = 1, 2, 3: r0 and r1 (first
    tokens at 1, complete at 3); at 4, 5, 6: r2, r3; at 7, 8, 9: r4, r5.

    The window opens at the 2nd first token (t = 1) and closes at the N - B - 1 = 3rd
    completion (t = 6); the counter ticks every 0.25 s, so the measured window is (1, 6]:
    5 s, 10 tokens (r0, r1 at 2 and 3; r2, r3 at 4, 5 and 6), 4 completions, 8 gaps of 1 s,
    running request-seconds 2 + 2 + 2 + 2 = 8 (mean running batch 1.6), 500 J at 100 W."""
    clock = FakeClock()
    engine = SimulatedEngine(clock, cap=2)
    result = drive(engine, clock)
    assert [run.first_token_s for run in result.runs] == [1, 1, 4, 4, 7, 7]
    assert [run.last_token_s for run in result.runs] == [3, 3, 6, 6, 9, 9]
    assert [run.started_s for run in result.runs] == [1, 1, 4, 4, 7, 7]
    assert result.tick_times[:5] == [0.0, 0.25, 0.5, 0.75, 1.0]

    window = figures(result, cap=2)
    bounds = window.bounds
    assert (bounds.open_event_s, bounds.close_event_s) == (1.0, 6.0)
    assert (bounds.start_s, bounds.end_s, bounds.duration_s) == (1.0, 6.0, 5.0)
    assert window.output_tokens == 10 and window.completed == 4
    summary = window.summary
    assert summary.energy_j == pytest.approx(500.0)
    assert summary.throughput_tok_s == pytest.approx(2.0)
    assert summary.energy_per_token_j == pytest.approx(50.0)
    assert summary.mean_output_tokens == 3.0
    assert summary.energy_per_request_j == pytest.approx(150.0)  # per token x mean length
    assert summary.avg_power_w == pytest.approx(100.0)
    assert summary.mean_running_batch == pytest.approx(1.6)
    assert summary.itl_median_s == summary.itl_p99_s == pytest.approx(1.0)
    assert window.measurements.itl_s.n == 8
    # requests completing in the window: admitted at their first token, so TTFT 0 and latency 2
    assert window.measurements.latency_s.mean == pytest.approx(2.0)
    assert window.measurements.tpot_s.mean == pytest.approx(1.0)
    assert window.measurements.queueing_s.max == pytest.approx(4.0)  # r2, r3 waited 0 -> 4


def test_bounds_snap_inside_the_events_to_the_ticks() -> None:
    ticks = [0.0, 0.4, 0.8, 1.2, 1.6, 2.0]
    bounds = window_bounds([0.3, 0.5, 0.9], [1.0, 1.5, 1.9, 2.5], 2, 6, ticks)
    # opens at the 2nd first token (0.5), closes at the 3rd completion (1.9)
    assert (bounds.open_event_s, bounds.close_event_s) == (0.5, 1.9)
    assert (bounds.start_s, bounds.end_s) == (0.8, 1.6)
    assert (bounds.start_index, bounds.end_index) == (2, 4)


def test_no_steady_state_is_said_in_one_line() -> None:
    with pytest.raises(NoSteadyState, match="came before 2 requests had their first token"):
        window_bounds([0.1, 5.0], [1.0, 2.0, 6.0], 2, 4, [0.0, 1.0, 2.0, 6.0])
    with pytest.raises(NoSteadyState, match="no whole counter tick"):
        window_bounds([0.1, 0.2], [0.5, 0.6, 0.7], 2, 5, [0.0, 1.0])


def test_n_grows_until_the_window_meets_the_rule() -> None:
    """Rule 20 s: with N = 10 the window would close at the 7th completion, t = 12 (11 s); the
    driver adds requests while the queue is still full, and the final window follows the same
    definition with the final N and lasts at least the rule."""
    clock = FakeClock()
    engine = SimulatedEngine(clock, cap=2)
    result = drive(engine, clock, num_requests=10, min_window_s=20.0, grow=True)
    final = len(result.runs)
    assert final > 10 and result.extensions
    assert final == 10 + sum(added for _, added in result.extensions)
    window = figures(result, cap=2, rule_s=20.0)
    completions = sorted(run.last_token_s for run in result.runs)
    assert window.bounds.close_event_s == completions[final - 2 - 1 - 1]
    assert window.bounds.open_event_s == 1.0
    assert window.bounds.duration_s >= 20.0 and window.meets_rule
    assert window.summary.energy_j == pytest.approx(100.0 * window.bounds.duration_s)


def test_a_window_that_stays_short_has_no_energy_and_says_why() -> None:
    clock = FakeClock()
    engine = SimulatedEngine(clock, cap=2)
    result = drive(engine, clock, num_requests=10, max_requests=10, min_window_s=20.0, grow=True)
    assert "max_num_requests (10)" in result.short_reason
    window = figures(result, cap=2, rule_s=20.0, short_reason=result.short_reason)
    assert not window.meets_rule and window.summary.energy_j is None
    assert "lasted 11.000 s, shorter than the rule (20 s)" in window.summary.energy_reason
    assert "max_num_requests (10)" in window.summary.energy_reason
    assert "never stored as a number" in window.summary.energy_reason
    assert window.summary.energy_per_token_j is None and window.summary.avg_power_w is None
    # without a meter the rule is not enforced: no energy anyway, and the note says why
    unenforced = figures(result, cap=2, rule_s=20.0, enforced=False)
    assert not unenforced.meets_rule and "shorter than the rule" in unenforced.note


def test_warmup_waits_for_every_request_and_failures_stop_the_point() -> None:
    clock = FakeClock()
    engine = SimulatedEngine(clock, cap=2)
    runs = run_warmup(engine, [request(k) for k in range(3)], timeout_s=100.0, clock=clock)
    assert [run.status for run in runs] == ["finished"] * 3 and runs[0].phase == "warmup"

    class Failing(SimulatedEngine):
        def poll(self, timeout_s: float) -> EngineResult | None:
            result = super().poll(timeout_s)
            if result is not None and result.request_id == "r1":
                return EngineResult("r1", False, None, [], [], "out of blocks")
            return result

    clock = FakeClock()
    with pytest.raises(PointFailed, match="request r1 failed: out of blocks"):
        drive(Failing(clock, cap=2), clock)


# --- the real engine on CPU, end to end -------------------------------------------------------


STEADY = [
    "experiment=demo",
    "model=tiny-random",
    "task=chat",
    "scenario=steady",
    "scenario.max_num_seqs=4",
    "scenario.num_requests=24",
    "task.max_new_tokens=16",
]


def test_steady_run_on_cpu_writes_a_record_that_validates_and_stores_its_window(
    tmp_path: Path,
) -> None:
    """The issue's command (with a smaller N and cap, to stay quick) through the CLI."""
    from runner.cli import main
    from runner.records.load import scan_results
    from runner.records.steady import SteadyRecord
    from runner.validate import validate_results

    assert main(["run", "--no-progress", *STEADY, f"results_dir={tmp_path}"]) == 0
    [record] = [r for _, r in scan_results(tmp_path).records if isinstance(r, SteadyRecord)]
    problems, _, _, valid = validate_results(tmp_path)
    assert problems == [] and valid == 2  # the steady record and its calibration
    window = record.window
    assert 0 <= window.open_event_s < window.close_event_s
    assert window.open_event_s <= window.start_s < window.end_s <= window.close_event_s
    assert window.duration_s == pytest.approx(window.end_s - window.start_s)
    assert window.output_tokens == record.summary.output_tokens_in_window > 0
    assert record.identity.configuration.max_num_seqs == 4 == record.engine.max_batch_requests
    assert record.identity.configuration.batching == "continuous"
    assert 0 < record.summary.mean_running_batch <= 4
    assert record.summary.itl_median_s is not None and record.summary.itl_p99_s is not None
    assert record.summary.itl_median_s <= record.summary.itl_p95_s <= record.summary.itl_p99_s
    # no meter on this CPU: energy is null with the reason, and the rule says it is not enforced
    assert record.summary.energy_j is None and "RAPL" in record.summary.energy_reason
    assert not window.rule.enforced and "no energy is measured" in window.rule.note
    assert record.load.num_requests == 24 and record.load.warmup_requests == 4
    path = next(tmp_path.glob("steady/*/tiny-random/chat/cap4/*.json"))
    rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
    assert len(rows) == 28 and {row["phase"] for row in rows} == {"warmup", "measured"}
    assert sum(row["completed_in_window"] for row in rows) == record.window.completed


def test_steady_run_with_a_meter_grows_n_to_the_rule_and_stores_energy(tmp_path: Path) -> None:
    """A fake meter with the NVML resolution: the run grows N until the window lasts the rule,
    and the record holds the window's energy, its relative uncertainty and the rule."""
    from runner.compose import compose_run_config, hydra_context
    from runner.machine.energy import FakeEnergyMeter
    from runner.measure.steady import run_steady_point
    from runner.records.consistency import inconsistencies
    from runner.records.load import load_record

    with hydra_context():
        config = compose_run_config(
            [
                *STEADY,
                f"results_dir={tmp_path}",
                "calibrate=false",
                "min_window_s=1.0",
                "idle_seconds=0.1",
                "idle_settle_s=0.05",
            ]
        )
    meter = FakeEnergyMeter(power_w=80.0, resolution_s=0.1)
    record = load_record(run_steady_point(config, meter=meter, progress=False))
    assert inconsistencies(record) == []
    window = record.window
    assert window.rule.enforced and window.rule.min_window_s == 1.0
    assert window.meets_rule and window.duration_s >= 1.0
    assert record.load.num_requests > 24 and record.load.extensions
    assert record.summary.energy_j == pytest.approx(80.0 * window.duration_s, rel=0.02)
    assert record.summary.energy_per_token_j == pytest.approx(
        record.summary.energy_j / window.output_tokens
    )
    assert window.relative_uncertainty == pytest.approx(0.2 / window.duration_s)
    assert record.energy.idle_power_w == pytest.approx(80.0)
    assert record.energy.idle_settle_s == 0.05
