"""The serving scenario without a model: latencies and SLO attainment on hand-made timings,
censored percentiles, window figures, accounting (no request lost or counted twice, tokens of
cancelled requests kept), and the load driver against a fake engine on a fake clock
(deterministic, instantaneous)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import pytest

from runner.config import SLOConfig
from runner.errors import PointFailed
from runner.machine.energy import EnergyReading
from runner.measure.serving.driver import drive_load
from runner.measure.serving.outcomes import (
    EngineResult,
    Outcome,
    ScheduledRequest,
    accounting,
    meets_slo,
    phase_of,
    slo_counts,
)
from runner.measure.serving.window import Slice, step_counts, window_figures
from runner.measure.stats import summarize_censored
from runner.records.consistency import serving_relations
from runner.workload.prompts import Prompt


def outcome(
    index: int,
    arrival: float,
    tokens: list[float],
    *,
    phase: str = "window",
    status: str = "finished",
    started: float | None = None,
    lag: float = 0.0,
) -> Outcome:
    return Outcome(
        index=index,
        request_id=f"r{index}",
        prompt_id=f"p{index}",
        phase=phase,
        scheduled_s=arrival,
        arrival_s=arrival + lag,
        prompt_tokens=10,
        status=status,
        started_s=arrival if started is None else started,
        token_times_s=list(tokens),
        output_tokens=len(tokens),
        ended_s=tokens[-1] if tokens else arrival,
    )


# ---------------------------------------------------------------- per-request latencies and SLO


def test_latencies_of_one_request_by_hand() -> None:
    o = outcome(0, 1.0, [1.5, 1.6, 1.7, 2.0], started=1.2)
    assert o.queueing_delay_s == pytest.approx(0.2)
    assert o.ttft_s == pytest.approx(0.5)
    assert o.e2e_latency_s == pytest.approx(1.0)
    assert o.itls_s == pytest.approx([0.1, 0.1, 0.3])
    # p90 of [0.1, 0.1, 0.3] with linear interpolation: 0.1 + 0.8 * 0.2
    assert o.itl_p90_s == pytest.approx(0.26)
    # TPOT as vLLM: (E2E - TTFT) / (tokens - 1) = (1.0 - 0.5) / 3
    assert o.tpot_s == pytest.approx(0.5 / 3)


def test_latencies_count_from_the_scheduled_arrival_and_keep_the_send_lag() -> None:
    late = outcome(0, 1.0, [1.5, 2.0], started=1.3, lag=0.25)  # sent at 1.25, due at 1.0
    assert late.send_lag_s == pytest.approx(0.25)
    assert late.ttft_s == pytest.approx(0.5)  # from 1.0, not from 1.25
    assert late.queueing_delay_s == pytest.approx(0.3)
    assert late.e2e_latency_s == pytest.approx(1.0)


def test_an_unfinished_request_has_no_final_latency_only_bounds() -> None:
    from runner.measure.serving.outcomes import latency_observations

    cancelled = outcome(0, 1.0, [1.5, 1.7], status="timed_out", started=1.2)
    cancelled.ended_s = 3.0  # cancelled 2 s after its scheduled arrival
    assert cancelled.e2e_latency_s is None and cancelled.tpot_s is None
    seen = latency_observations(cancelled, max_new_tokens=11)
    assert seen["ttft_s"] == (pytest.approx(0.5), False)  # it had a first token
    assert seen["queueing_delay_s"] == (pytest.approx(0.2), False)
    assert seen["e2e_latency_s"] == (pytest.approx(2.0), True)
    # Its last token would have come after 3.0 s, with at most 11 tokens: TPOT > 1.5 / 10.
    assert seen["tpot_s"] == (pytest.approx(0.15), True)
    never = outcome(1, 1.0, [], status="timed_out", started=None)
    never.started_s, never.ended_s = None, 2.5
    seen = latency_observations(never, max_new_tokens=11)
    assert seen["queueing_delay_s"] == seen["ttft_s"] == seen["e2e_latency_s"] == (1.5, True)
    assert seen["tpot_s"] == (0.0, True)
    one = latency_observations(outcome(2, 0.0, [0.1]), max_new_tokens=11)
    assert one["tpot_s"] is None  # a one-token answer has no TPOT


def test_censored_percentiles_by_hand() -> None:
    # Observed 1, 2, 3, 4 and one request censored at 2.5 (its latency is above 2.5).
    stat = summarize_censored([(1.0, False), (2.0, False), (3.0, False), (4.0, False), (2.5, True)])
    assert stat is not None and (stat.n, stat.censored) == (5, 1)
    # Sorted: 1, 2, 2.5*, 3, 4. p50 reads rank 2 (the censored one): a lower bound.
    assert (stat.p50, stat.p50_censored) == (2.5, True)
    assert stat.p90 == pytest.approx(3.6) and stat.p90_censored
    assert stat.observed is not None and stat.observed.n == 4
    exact = summarize_censored([(1.0, False), (2.0, False), (3.0, False), (9.0, True)])
    assert exact is not None
    # p50 reads ranks 1 and 2 (1.5 between 2 and 3), below the censored value: exact.
    assert (exact.p50, exact.p50_censored) == (2.5, False)
    assert exact.p90_censored and exact.p99_censored
    # A censored value equal to an observed one ranks after it (it exceeds its bound).
    tie = summarize_censored([(2.0, True), (2.0, False)])
    assert tie is not None and (tie.p50, tie.p50_censored) == (2.0, True)
    assert summarize_censored([]) is None


@pytest.mark.parametrize(
    ("slo", "met"),
    [
        (SLOConfig(ttft_s=0.6, itl_p90_s=0.3), True),
        (SLOConfig(ttft_s=0.4, itl_p90_s=0.3), False),  # TTFT 0.5 > 0.4
        (SLOConfig(ttft_s=0.6, itl_p90_s=0.25), False),  # p90 ITL 0.26 > 0.25
        (SLOConfig(e2e_s=0.9), False),  # end to end 1.0 > 0.9
        (SLOConfig(tpot_s=0.17), True),  # TPOT 0.5 / 3 = 0.1667
        (SLOConfig(tpot_s=0.16), False),
        (SLOConfig(), True),  # no target: every finished request meets it
    ],
)
def test_meets_slo_on_hand_made_timings(slo: SLOConfig, met: bool) -> None:
    assert meets_slo(outcome(0, 1.0, [1.5, 1.6, 1.7, 2.0]), slo) is met


def test_targets_are_inclusive() -> None:
    # Binary-exact times: TTFT 0.5, every gap 0.25, end to end 1.25.
    exact = outcome(0, 1.0, [1.5, 1.75, 2.0, 2.25])
    assert meets_slo(exact, SLOConfig(ttft_s=0.5, itl_p90_s=0.25, e2e_s=1.25))
    assert not meets_slo(exact, SLOConfig(ttft_s=0.5, itl_p90_s=0.25, e2e_s=1.24))


def test_one_token_response_has_no_itl_and_meets_that_target() -> None:
    assert meets_slo(outcome(0, 0.0, [0.1]), SLOConfig(ttft_s=1, itl_p90_s=0.001, tpot_s=0.001))


@pytest.mark.parametrize("status", ["failed", "timed_out", "cancelled"])
def test_unfinished_requests_never_meet_the_slo(status: str) -> None:
    assert not meets_slo(outcome(0, 0.0, [0.1, 0.2], status=status), SLOConfig())


def test_attainment_counts_window_requests_only() -> None:
    slo = SLOConfig(ttft_s=1.0)
    outcomes = [
        outcome(0, 0.0, [5.0], phase="warmup"),  # misses, but warm-up: not counted
        outcome(1, 10.0, [10.5]),  # meets
        outcome(2, 11.0, [12.5]),  # TTFT 1.5: misses
        outcome(3, 12.0, [12.2], status="failed"),  # failed: misses
        outcome(4, 13.0, [13.1]),  # meets
        outcome(5, 30.0, [40.0], phase="drain"),  # drain: not counted
    ]
    assert slo_counts(outcomes, slo) == (2, 4)


def test_phases_split_at_the_window_edges() -> None:
    assert phase_of(0.0, 5, 10) == "warmup"
    assert phase_of(4.999, 5, 10) == "warmup"
    assert phase_of(5.0, 5, 10) == "window"
    assert phase_of(14.999, 5, 10) == "window"
    assert phase_of(15.0, 5, 10) == "drain"


# ---------------------------------------------------------------- window figures by hand


def test_window_figures_by_hand() -> None:
    slo = SLOConfig(ttft_s=0.5)
    # Window [10, 20): 10 s, metered at 100 J.
    outcomes = [
        outcome(0, 8.0, [9.0, 9.5, 10.5], phase="warmup", started=8.5),  # 1 token + end inside
        outcome(1, 11.0, [11.2, 11.4]),  # meets; ends inside
        outcome(2, 12.0, [13.0, 14.0]),  # TTFT 1.0 misses; ends inside
        outcome(3, 19.0, [19.4, 20.5]),  # meets; 1 token inside, ends after the window
    ]
    slices = [Slice(10.0, 15.0, 40.0), Slice(15.0, 20.0, 60.0)]
    figures = window_figures(
        outcomes,
        slo,
        opened_s=10.0,
        closed_s=20.0,
        measured_duration_s=10.0,
        energy_j=100.0,
        slices=slices,
        max_new_tokens=2,
        idle_power_w=2.0,
    )
    s = figures.summary
    # Window requests only: 1, 2 and 3, with 2 tokens each (request 3's last after the window).
    assert (s.window_requests, s.window_finished, s.window_unfinished) == (3, 3, 0)
    assert s.window_output_tokens == 6
    assert s.finished_rps == pytest.approx(0.3)
    assert s.output_tok_s == pytest.approx(0.6)
    assert s.energy_per_finished_request_j == pytest.approx(100 / 3)
    assert s.energy_per_token_j == pytest.approx(100 / 6)
    assert s.energy_above_idle_per_finished_request_j == pytest.approx((100 - 2 * 10) / 3)
    assert s.avg_power_w == pytest.approx(10.0)
    assert (s.slo_met, s.slo_attainment) == (2, pytest.approx(2 / 3))
    assert s.goodput_rps == pytest.approx(0.2)  # same requests as finished_rps: never above it
    # What the clock window held, of any phase: the warm-up request's last token and end
    # (10.5), both tokens and ends of requests 1 and 2, request 3's first token.
    assert (s.any_phase_tokens_in_window, s.any_phase_completions_in_window) == (6, 3)
    m = figures.measurements
    assert m.ttft_s is not None and (m.ttft_s.n, m.ttft_s.censored) == (3, 0)
    assert m.ttft_s.p50 == pytest.approx(0.4) and not m.ttft_s.p50_censored
    assert m.tpot_s is not None and m.tpot_s.p50 == pytest.approx(1.0)  # 0.2, 1.0, 1.1
    assert m.itl_s is not None and sorted([m.itl_s.min, m.itl_s.max]) == pytest.approx([0.2, 1.1])
    points = figures.timeline
    assert [p.t_s for p in points] == [0.0, 5.0]
    assert [p.power_w for p in points] == [8.0, 12.0]
    assert [p.output_tokens for p in points] == [5, 1]
    assert [p.completed for p in points] == [3, 0]
    assert m.slice_power_w is not None and m.slice_power_w.mean == pytest.approx(10.0)
    # Inside [10, 20): request 0 runs [8.5, 10.5] -> 0.5 s, 1 runs [11.0, 11.4] -> 0.4 s,
    # 2 runs [12.0, 14.0] -> 2 s, 3 runs [19.0, 20.5] -> 1 s: 3.9 s of running requests in 10 s.
    assert s.mean_running_requests == pytest.approx(0.39, abs=0.005)


def test_unmetered_window_has_null_energy_never_zero() -> None:
    figures = window_figures(
        [outcome(0, 1.0, [1.1, 1.2])],
        SLOConfig(),
        opened_s=0.0,
        closed_s=2.0,
        measured_duration_s=2.0,
        energy_j=None,
        slices=[Slice(0.0, 2.0, None)],
        max_new_tokens=2,
    )
    s = figures.summary
    assert s.energy_j is s.energy_per_finished_request_j is s.energy_per_token_j is None
    assert s.avg_power_w is None
    assert figures.measurements.slice_power_w is None
    assert figures.timeline[0].power_w is None


def test_step_counts() -> None:
    intervals = [(0.0, 2.0), (1.0, 3.0), (2.0, 2.5)]
    assert step_counts(intervals, [0.5, 1.5, 2.2, 2.7, 3.5]) == [1, 2, 2, 1, 0]


# ---------------------------------------------------------------- accounting


def test_accounting_counts_each_request_once_by_phase() -> None:
    outcomes = [
        outcome(0, 0.0, [0.1], phase="warmup"),
        outcome(1, 1.0, [1.1]),
        outcome(2, 1.5, [], status="failed"),
        outcome(3, 2.0, [], status="timed_out"),
        outcome(4, 3.0, [], phase="drain", status="cancelled"),
    ]
    counts = accounting(outcomes)
    assert counts.warmup.dispatched == counts.warmup.finished == 1
    window = counts.window
    assert (window.dispatched, window.finished, window.failed, window.timed_out) == (3, 1, 1, 1)
    drain = counts.drain
    assert (drain.dispatched, drain.timed_out, drain.cancelled) == (1, 0, 1)  # load, not a failure
    assert (counts.warmup.output_tokens, window.output_tokens) == (1, 1)


def test_accounting_refuses_a_request_counted_twice_or_unfinished() -> None:
    with pytest.raises(ValueError, match="twice"):
        accounting([outcome(0, 0.0, [0.1]), outcome(0, 0.0, [0.1])])
    with pytest.raises(ValueError, match="no final status"):
        accounting([outcome(0, 0.0, [], status="pending")])


# ---------------------------------------------------------------- the driver, on a fake clock


class FakeClock:
    """Time that moves only when the fake engine waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ClockMeter:
    """An energy meter on the fake clock: constant power."""

    source = "fake"
    reason = None

    def __init__(self, clock: FakeClock, power_w: float = 50.0) -> None:
        self.devices = ["fake:0"]
        self.clock, self.power_w = clock, power_w
        self.open: dict[str, float] = {}
        self.windows: list[str] = []

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        assert name not in self.open
        self.open[name] = self.clock()

    def end(self, name: str) -> EnergyReading:
        duration = self.clock() - self.open.pop(name)
        self.windows.append(name)
        return EnergyReading(self.power_w * duration, duration)


@dataclass
class FakeEngine:
    """Serves each request from its arrival (one token per `step_s`), in parallel.

    `fail` requests come back failed; `hang` requests are never scheduled (cancel returns
    nothing of them); `slow` requests stream `slow_tokens` tokens one per `slow_step_s` (cancel
    returns those generated so far); `duplicate` requests are delivered twice.
    """

    clock: FakeClock
    service_tokens: int = 4
    step_s: float = 0.05
    fail: frozenset[str] = frozenset()
    hang: frozenset[str] = frozenset()
    slow: frozenset[str] = frozenset()
    slow_tokens: int = 1000
    slow_step_s: float = 0.3
    duplicate: frozenset[str] = frozenset()
    dies_at: float | None = None

    def __post_init__(self) -> None:
        self.queue: list[tuple[float, int, EngineResult]] = []
        self.submitted: list[str] = []
        self.cancelled: list[str] = []
        self.streams: dict[str, tuple[float, list[float]]] = {}
        self.counter = 0

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        self.submitted.append(request_id)
        if request_id in self.hang:
            return
        start = self.clock()
        count, step = self.service_tokens, self.step_s
        if request_id in self.slow:
            count, step = self.slow_tokens, self.slow_step_s
        times = [start + step * (k + 1) for k in range(count)]
        self.streams[request_id] = (start, times)
        result = EngineResult(
            request_id=request_id,
            finished=request_id not in self.fail,
            started=start,
            token_times=times if request_id not in self.fail else [],
            tokens=list(range(count)) if request_id not in self.fail else [],
            error="boom" if request_id in self.fail else None,
        )
        for _ in range(2 if request_id in self.duplicate else 1):
            self.counter += 1
            heapq.heappush(self.queue, (times[-1], self.counter, result))

    def poll(self, timeout_s: float) -> EngineResult | None:
        if self.queue and self.queue[0][0] <= self.clock() + timeout_s:
            due, _, result = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, due)
            return result
        self.clock.now += timeout_s
        return None

    def cancel(self, request_id: str) -> EngineResult | None:
        self.cancelled.append(request_id)
        self.queue = [item for item in self.queue if item[2].request_id != request_id]
        heapq.heapify(self.queue)
        if request_id not in self.streams:
            return None
        start, times = self.streams[request_id]
        done = [t for t in times if t <= self.clock()]
        return EngineResult(request_id, False, start, done, list(range(len(done))))

    def alive(self) -> str | None:
        if self.dies_at is not None and self.clock() >= self.dies_at:
            return "CUDA out of memory"
        return None


def requests_at(times: list[float]) -> list[ScheduledRequest]:
    return [
        ScheduledRequest(i, t, Prompt(f"p{i}", "hello"), [1, 2, 3]) for i, t in enumerate(times)
    ]


def drive(engine: FakeEngine, clock: FakeClock, times: list[float], **kwargs: float):  # type: ignore[no-untyped-def]
    meter = ClockMeter(clock)
    settings = {"warmup_s": 1.0, "duration_s": 2.0, "drain_timeout_s": 1.0, "timeline_step_s": 0.5}
    settings.update(kwargs)
    return drive_load(engine, requests_at(times), meter, clock=clock, **settings), meter  # type: ignore[arg-type]


def test_driver_accounts_for_every_request_exactly_once() -> None:
    clock = FakeClock()
    times = [0.1 * k for k in range(1, 40)]  # 0.1 .. 3.9 s: warm-up, window, drain
    engine = FakeEngine(clock, fail=frozenset({"r15"}), duplicate=frozenset({"r12"}))
    result, meter = drive(engine, clock, times)
    ids = [o.request_id for o in result.outcomes]
    assert ids == sorted(set(ids), key=lambda r: int(r[1:]))  # once each, in arrival order
    assert ids == engine.submitted  # nothing dispatched is missing from the outcomes
    assert result.duplicates == 1
    phases = {o.request_id: o.phase for o in result.outcomes}
    assert {r for r, p in phases.items() if p == "window"} == {f"r{k}" for k in range(9, 29)}
    counts = accounting(result.outcomes, result.duplicates)
    assert counts.warmup.dispatched == counts.warmup.finished == 9
    assert (counts.window.dispatched, counts.window.failed) == (20, 1)
    assert counts.window.finished == 19
    total = counts.warmup.dispatched + counts.window.dispatched + counts.drain.dispatched
    assert total == len(engine.submitted)
    # The last window request (2.8 s) ends at 3.0 s: drain load ran until then, then stopped.
    assert all(o.status in ("finished", "cancelled") for o in result.outcomes if o.phase == "drain")
    assert result.opened_s == pytest.approx(1.0, abs=1e-9)
    assert result.closed_s == pytest.approx(3.0, abs=1e-9)
    assert result.energy_j == pytest.approx(100.0)  # 50 W x 2 s
    assert [round(s.end_s - s.start_s, 9) for s in result.slices] == [0.5, 0.5, 0.5, 0.5]
    assert meter.windows.count("serving-window") == 1 and not meter.open


def test_driver_times_out_window_requests_and_cancels_the_rest() -> None:
    clock = FakeClock()
    times = [0.5, 1.5, 2.5, 3.5]
    engine = FakeEngine(clock, hang=frozenset({"r1"}))
    result, _ = drive(engine, clock, times)
    status = {o.request_id: o.status for o in result.outcomes}
    assert status["r1"] == "timed_out"  # a window request still running at window end + 1 s
    assert status["r0"] == status["r2"] == "finished"
    assert "r1" in engine.cancelled
    assert result.last_end_s == pytest.approx(4.0)  # the deadline: window end 3 s + 1 s
    figures = window_figures(
        result.outcomes,
        SLOConfig(ttft_s=10),
        opened_s=result.opened_s,
        closed_s=result.closed_s,
        measured_duration_s=result.measured_duration_s,
        energy_j=result.energy_j,
        slices=result.slices,
        max_new_tokens=4,
    )
    assert (figures.summary.slo_met, figures.summary.window_requests) == (1, 2)


def test_cancelled_requests_keep_their_tokens_and_are_censored_by_hand() -> None:
    """Warm-up 1 s, window [1, 3), deadline 4 s. r0 (warm-up, 0.4 s) and r1 (window, 1.4 s)
    stream 4 tokens every 0.5 s and finish; r2 (window, 2.0 s) streams a token every 0.3 s and
    never finishes; r3 (window, 2.5 s) is never scheduled; r4 (drain, 3.7 s) starts but has no
    token by the deadline. At 4 s the driver cancels r2 and r3 (timed out) and r4."""
    from runner.measure.serving.point import raw_data_rows

    clock = FakeClock()
    engine = FakeEngine(
        clock, step_s=0.5, slow=frozenset({"r2"}), slow_step_s=0.3, hang=frozenset({"r3"})
    )
    result, _ = drive(engine, clock, [0.4, 1.4, 2.0, 2.5, 3.7], duration_s=2.0)
    by_id = {o.request_id: o for o in result.outcomes}
    assert [by_id[r].status for r in ("r0", "r1", "r2", "r3", "r4")] == [
        "finished", "finished", "timed_out", "timed_out", "cancelled",
    ]  # fmt: skip
    slow = by_id["r2"]
    # Tokens at 2.3, 2.6, 2.9, 3.2, 3.5 and 3.8 s, read at the cancel (4 s): kept.
    assert slow.output_tokens == 6
    assert slow.token_times_s == pytest.approx([2.3, 2.6, 2.9, 3.2, 3.5, 3.8])
    assert slow.ended_s == pytest.approx(4.0)
    assert by_id["r3"].output_tokens == 0 and by_id["r3"].started_s is None
    assert by_id["r4"].output_tokens == 0 and by_id["r4"].started_s == pytest.approx(3.7)
    counts = accounting(result.outcomes)
    assert (counts.warmup.output_tokens, counts.window.output_tokens) == (4, 10)  # r1 4 + r2 6
    assert (counts.window.finished, counts.window.timed_out) == (1, 2)
    assert (counts.drain.output_tokens, counts.drain.cancelled) == (0, 1)

    figures = window_figures(
        result.outcomes,
        SLOConfig(ttft_s=1.0),
        opened_s=result.opened_s,
        closed_s=result.closed_s,
        measured_duration_s=result.measured_duration_s,
        energy_j=result.energy_j,
        slices=result.slices,
        max_new_tokens=10,
    )
    s = figures.summary
    assert (s.window_requests, s.window_finished, s.window_unfinished) == (3, 1, 2)
    assert s.window_output_tokens == 10 and s.output_tok_s == pytest.approx(5.0)
    assert (s.slo_met, s.finished_rps, s.goodput_rps) == (1, pytest.approx(0.5), pytest.approx(0.5))
    assert s.energy_per_token_j == pytest.approx(100.0 / 10)  # 50 W x 2 s over 10 tokens
    assert s.energy_per_finished_request_j == pytest.approx(100.0)
    # Inside [1, 3): r0's 1.4, 1.9, 2.4; r1's 1.9, 2.4, 2.9; r2's 2.3, 2.6, 2.9. r0 ends inside.
    assert (s.any_phase_tokens_in_window, s.any_phase_completions_in_window) == (9, 1)
    m = figures.measurements
    # TTFT: r1 0.5 and r2 0.3 observed; r3 censored at 4.0 - 2.5 = 1.5 (no token by then).
    ttft = m.ttft_s
    assert ttft is not None and (ttft.n, ttft.censored) == (3, 1)
    assert (ttft.p50, ttft.p50_censored) == (pytest.approx(0.5), False)
    assert (ttft.p90, ttft.p90_censored) == (pytest.approx(0.5 + 0.8 * 1.0), True)  # "> 1.3"
    # End to end: r1 2.0 observed; r2 censored at 2.0 and r3 at 1.5: every percentile a bound.
    e2e = m.e2e_latency_s
    assert e2e is not None and (e2e.n, e2e.censored) == (3, 2)
    assert (e2e.p50, e2e.p50_censored) == (pytest.approx(2.0), True)
    # TPOT: r1 (3.4 - 1.9) / 3 = 0.5; r2 censored at (2.0 - 0.3) / 9; r3 at 0.
    tpot = m.tpot_s
    assert tpot is not None and (tpot.n, tpot.censored) == (3, 2)
    assert tpot.observed is not None and tpot.observed.max == pytest.approx(0.5)
    assert tpot.p50 == pytest.approx(1.7 / 9) and tpot.p50_censored
    # Queueing: r1 and r2 started at once (0, observed); r3 censored at 1.5.
    queue = m.queueing_delay_s
    assert queue is not None and (queue.p50, queue.p50_censored) == (0.0, False)
    assert queue.p90_censored
    rows = {row["request_id"]: row for row in raw_data_rows("x", result.outcomes, SLOConfig(), 10)}
    assert rows["r1"]["tpot_s"] == pytest.approx(0.5) and rows["r1"]["send_lag_s"] == 0.0
    assert rows["r2"]["output_tokens"] == 6 and rows["r2"]["ttft_s"] == pytest.approx(0.3)
    assert rows["r2"]["e2e_latency_s"] is None and rows["r2"]["tpot_s"] is None
    assert rows["r2"]["censored_e2e_latency_s"] == pytest.approx(2.0)
    assert rows["r2"]["censored_tpot_s"] == pytest.approx(1.7 / 9, abs=1e-6)
    assert rows["r3"]["censored_ttft_s"] == pytest.approx(1.5)
    assert rows["r1"]["meets_slo"] and rows["r2"]["meets_slo"] is False


def test_driver_fails_the_point_when_the_engine_dies() -> None:
    clock = FakeClock()
    engine = FakeEngine(clock, dies_at=clock.now + 1.5)
    with pytest.raises(PointFailed, match="serving engine stopped: CUDA out of memory"):
        drive(engine, clock, [0.5, 1.2, 2.0])


def test_relations_of_a_record_built_from_the_driver_hold() -> None:
    """The consistency checks `leaderboard validate` runs agree with what the runner computes."""
    from tests.support.serving_records import record_from_outcomes

    clock = FakeClock()
    result, _ = drive(FakeEngine(clock), clock, [0.1 * k for k in range(1, 40)])
    record = record_from_outcomes(result)
    for relation in serving_relations(record):
        assert relation.value == pytest.approx(relation.expected, rel=1e-9), relation.field


def test_engine_config_arguments_follow_the_transformers_release() -> None:
    from dataclasses import dataclass as plain_dataclass

    from runner.measure.serving.engine import _supported_kwargs

    @plain_dataclass
    class Before517:  # an earlier 5.x ContinuousBatchingConfig: block_size, no seed
        block_size: int = 256
        num_blocks: int | None = None

    assert _supported_kwargs(Before517, page_size=64, num_blocks=8, seed=0) == {
        "block_size": 64,
        "num_blocks": 8,
    }
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    pinned = _supported_kwargs(ContinuousBatchingConfig, page_size=64, seed=3)
    assert pinned == {"page_size": 64, "seed": 3}


# ---------------------------------------------------------------- the schedule of a config


def _config(*overrides: str):  # type: ignore[no-untyped-def]
    from runner.compose import compose_run_config, hydra_context

    with hydra_context():
        return compose_run_config(["scenario=serving", *overrides])


def test_schedule_of_a_poisson_config_is_its_seeded_process() -> None:
    from runner.measure.arrivals import poisson_arrivals
    from runner.measure.serving.point import schedule

    config = _config("scenario.request_rate=3", "seed=4", "scenario.drain_timeout_s=5")
    times, trace, sha = schedule(config)
    assert times == poisson_arrivals(3.0, 5.0 + 60.0 + 5.0, seed=4)
    assert trace is None and sha is None


def test_schedule_replays_a_trace_and_refuses_a_short_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from runner.errors import ConfigError
    from runner.measure.serving.point import schedule

    trace = tmp_path / "trace.txt"
    trace.write_text("\n".join(str(100 + 0.5 * k) for k in range(200)) + "\n")  # 99.5 s
    config = _config(
        "scenario.arrival=trace", f"scenario.trace_file={trace}", "scenario.trace_speedup=1.5"
    )
    times, path, sha = schedule(config)
    assert times[:3] == [0.0, pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert path == str(trace) and sha is not None and len(sha) == 64
    too_fast = _config(
        "scenario.arrival=trace", f"scenario.trace_file={trace}", "scenario.trace_speedup=3"
    )
    with pytest.raises(ConfigError, match=r"spans 33.2 s after trace_speedup, shorter than"):
        schedule(too_fast)


def test_a_window_without_arrivals_is_refused_before_loading_anything() -> None:
    from runner.errors import ConfigError
    from runner.measure.serving.point import schedule

    config = _config("scenario.request_rate=0.001", "scenario.duration_s=1")
    with pytest.raises(ConfigError, match="no request arrives in the 1 s window"):
        schedule(config)
