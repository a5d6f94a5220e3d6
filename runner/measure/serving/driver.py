"""The load driver: sends requests on time, meters the window and its slices, collects results."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runner.errors import PointFailed
from runner.machine.energy import EnergyMeter
from runner.measure.serving.outcomes import (
    Engine,
    EngineResult,
    Outcome,
    ScheduledRequest,
    phase_of,
    record_result,
)
from runner.measure.serving.window import Slice

POLL_S = 0.05  # longest wait for a result before the loop checks its schedule again
DUE_S = 1e-6  # an event due within this much of now is run now (no busy loop on rounding)


@dataclass
class DriveResult:
    """What one run of the load produced (times in s from t = 0).

    Attributes:
        outcomes: every dispatched request, exactly once.
        opened_s / closed_s: when the measured meter window opened and closed.
        measured_duration_s: the window's length as the meter timed it.
        energy_j: the window's energy, None when unmetered.
        slices: the timeline slices of the window.
        last_end_s: when the last window request ended (its last token, or its cancellation).
        duplicates: results delivered more than once for one request (counted once; kept to
            show the engine misbehaved).
    """

    outcomes: list[Outcome]
    opened_s: float
    closed_s: float
    measured_duration_s: float
    energy_j: float | None
    slices: list[Slice]
    last_end_s: float
    duplicates: int = 0


def _slice_edges(start_s: float, duration_s: float, step_s: float) -> list[float]:
    count = max(1, math.ceil(duration_s / step_s - 1e-9))
    return [start_s + min(duration_s, k * step_s) for k in range(count + 1)]


def drive_load(
    engine: Engine,
    requests: Sequence[ScheduledRequest],
    meter: EnergyMeter,
    *,
    warmup_s: float,
    duration_s: float,
    drain_timeout_s: float,
    timeline_step_s: float,
    decode: Callable[[list[int]], str] = lambda tokens: "",
    clock: Callable[[], float] | None = None,
    tick: Callable[[float], None] | None = None,
) -> DriveResult:
    """Send every request at its time, meter the window, collect every result.

    Events run in time order on this thread: the window opens at `warmup_s` (meter window and
    the first slice), each slice boundary closes one slice and opens the next, the window closes
    at `warmup_s + duration_s`. Requests keep arriving after the window until every window
    request has ended; then the remaining drain requests are cancelled. Window requests still
    running `drain_timeout_s` after the window are cancelled and marked `timed_out`. A cancelled
    request keeps the tokens (and their times) it had generated, as the engine reports them at
    cancel.

    `clock` defaults to the engine's own (`engine.clock`, else `time.perf_counter`): the times
    the engine stamps and the schedule must be on one clock.

    Raises:
        PointFailed: the engine stopped (for example out of memory) before the window's requests
            ended.
    """
    clock = clock or getattr(engine, "clock", time.perf_counter)
    origin = clock()

    def now() -> float:
        return clock() - origin

    window_end = warmup_s + duration_s
    edges = _slice_edges(warmup_s, duration_s, timeline_step_s)
    meter_events = [(edge, "edge", k) for k, edge in enumerate(edges)]
    pending = list(requests)
    next_request = 0
    outcomes: dict[str, Outcome] = {}
    open_ids: set[str] = set()
    window_open_ids: set[str] = set()
    slices: list[Slice] = []
    slice_started: float | None = None
    opened_s = closed_s = 0.0
    window_energy: float | None = None
    measured = 0.0
    duplicates = 0
    meter_index = 0
    last_window_end = window_end

    def finish(result: EngineResult, at: float) -> None:
        nonlocal duplicates, last_window_end
        outcome = outcomes.get(result.request_id)
        if outcome is None or outcome.status != "pending":
            duplicates += outcome is not None
            return
        record_result(outcome, result, origin, decode)
        outcome.ended_s = outcome.last_token_s if outcome.last_token_s is not None else at
        open_ids.discard(result.request_id)
        if result.request_id in window_open_ids:
            window_open_ids.discard(result.request_id)
            last_window_end = max(last_window_end, outcome.ended_s)

    def stop_outstanding(status: str, ids: set[str], at: float) -> None:
        nonlocal last_window_end
        for request_id in sorted(ids):
            partial = engine.cancel(request_id)
            outcome = outcomes[request_id]
            outcome.status = status
            if partial is not None:
                if partial.started is not None:
                    outcome.started_s = partial.started - origin
                outcome.token_times_s = [t - origin for t in partial.token_times]
                outcome.output_tokens = len(partial.tokens)
                outcome.text = decode(partial.tokens)
            last = outcome.last_token_s
            outcome.ended_s = at if last is None else max(at, last)
            open_ids.discard(request_id)
            if request_id in window_open_ids:
                window_open_ids.discard(request_id)
                last_window_end = max(last_window_end, outcome.ended_s)

    deadline = window_end + drain_timeout_s
    sending = True
    while True:
        t = now() + DUE_S
        # Meter events first (they are on the window's clock), then due arrivals.
        while meter_index < len(meter_events) and meter_events[meter_index][0] <= t:
            _, _, k = meter_events[meter_index]
            at = now()
            if k == 0:
                meter.begin("serving-window")
                opened_s = at
            else:
                reading = meter.end(f"serving-slice-{k - 1}")
                begun = at if slice_started is None else slice_started
                slices.append(Slice(begun, at, reading.energy_j))
            if k < len(edges) - 1:
                meter.begin(f"serving-slice-{k}")
                slice_started = now()
            else:
                reading = meter.end("serving-window")
                closed_s = now()
                window_energy, measured = reading.energy_j, reading.duration_s
            meter_index += 1
        while sending and next_request < len(pending) and pending[next_request].scheduled_s <= t:
            request = pending[next_request]
            next_request += 1
            arrival = now()
            engine.submit(request.request_id, request.input_ids)
            phase = phase_of(request.scheduled_s, warmup_s, duration_s)
            outcomes[request.request_id] = Outcome(
                index=request.index,
                request_id=request.request_id,
                prompt_id=request.prompt.id,
                phase=phase,
                scheduled_s=request.scheduled_s,
                arrival_s=arrival,
                prompt_tokens=len(request.input_ids),
            )
            open_ids.add(request.request_id)
            if phase == "window":
                window_open_ids.add(request.request_id)
        t = now()
        window_closed = meter_index >= len(meter_events)
        if window_closed and not window_open_ids:
            # Every window request has ended: the drain load is no longer needed.
            sending = False
            stop_outstanding("cancelled", {i for i in open_ids if outcomes[i].phase != "window"}, t)
            break
        if window_closed and t + DUE_S >= deadline:
            sending = False
            stop_outstanding("timed_out", set(window_open_ids), t)
            stop_outstanding("cancelled", set(open_ids), t)
            break
        problem = engine.alive()
        if problem is not None:
            raise PointFailed(f"serving engine stopped: {problem}")
        upcoming = [deadline]
        if meter_index < len(meter_events):
            upcoming.append(meter_events[meter_index][0])
        if sending and next_request < len(pending):
            upcoming.append(pending[next_request].scheduled_s)
        wait = max(0.0, min(min(upcoming) - t, POLL_S))
        result = engine.poll(wait)
        while result is not None:
            finish(result, now())
            result = engine.poll(0.0)
        if tick is not None:
            tick(now())
    ordered = sorted(outcomes.values(), key=lambda o: o.index)
    return DriveResult(
        outcomes=ordered,
        opened_s=opened_s,
        closed_s=closed_s,
        measured_duration_s=measured if measured > 0 else closed_s - opened_s,
        energy_j=window_energy,
        slices=slices,
        last_end_s=last_window_end,
        duplicates=duplicates,
    )
