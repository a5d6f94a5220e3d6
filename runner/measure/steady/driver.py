"""The steady run's driver: N requests at once, counter ticks, N grown until the window is long.

One loop on the calling thread submits the N requests of the measured run together, reads the
energy counter at back-to-back ticks (`meter.end` of one counter window and `meter.begin` of the
next, every `tick_s`), and collects every result. It never waits on the engine for longer than
the time to the next tick.

N grows while the window would be shorter than the rule: at each completion, once more than B
requests have completed (completions come in bursts of up to B, so the rate is read over more
than one), the driver predicts from their rate when the window would close (at the
(N - B - 1)-th completion) and, if the window would then be shorter than the rule (with a
margin), submits more requests at once while the queue is still full, so the running batch stays
at its cap. N at most doubles per step, so a poor early estimate cannot run away; it stops at
`max_requests`, and the record says when the window stayed short and why.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runner.errors import PointFailed
from runner.machine.energy import EnergyMeter
from runner.measure.serving.outcomes import Engine, ScheduledRequest, record_result
from runner.measure.steady.window import RequestRun

POLL_S = 0.05  # longest wait for a result before the loop looks at its clock again
# Grow N until the predicted window is this much longer than the rule (the prediction is from
# the completion rate so far; a margin keeps a slightly slower tail above the rule).
EXTEND_MARGIN = 1.2


@dataclass
class SteadyDrive:
    """What the measured run produced (times in s from its start, when the N were submitted).

    Attributes:
        runs: every request of the measured run, in submission order.
        tick_times: when the counter was read (the first at 0).
        tick_energies: energy between consecutive ticks (J; None when unmetered).
        extensions: (when, how many) requests were added to grow N.
        short_reason: why N stopped growing while the window was predicted short, if it did.
    """

    runs: list[RequestRun]
    tick_times: list[float]
    tick_energies: list[float | None]
    extensions: list[tuple[float, int]] = field(default_factory=list)
    short_reason: str | None = None


def run_warmup(
    engine: Engine,
    requests: Sequence[ScheduledRequest],
    *,
    timeout_s: float,
    decode: Callable[[list[int]], str] = lambda tokens: "",
    clock: Callable[[], float] = time.perf_counter,
) -> list[RequestRun]:
    """Submit `requests` at once and wait until every one has finished (excluded from numbers).

    Raises:
        PointFailed: the engine stopped, a request failed, or they took over `timeout_s`.
    """
    origin = clock()
    runs: dict[str, RequestRun] = {}
    for request in requests:
        request_id = f"w{request.index}"
        engine.submit(request_id, request.input_ids)
        runs[request_id] = RequestRun(
            request.index, request_id, request.prompt.id, "warmup", clock() - origin,
            len(request.input_ids),
        )  # fmt: skip
    pending = set(runs)
    while pending:
        if clock() - origin > timeout_s:
            raise PointFailed(
                f"steady warm-up: {len(pending)} of {len(runs)} requests unfinished after "
                f"{timeout_s:g} s (scenario.max_duration_s)"
            )
        result = engine.poll(POLL_S)
        while result is not None:
            run = runs.get(result.request_id)
            if run is not None and run.status == "pending":
                record_result(run, result, origin, decode)
                pending.discard(result.request_id)
            result = engine.poll(0.0)
        problem = engine.alive()
        if problem is not None and pending:
            raise PointFailed(f"serving engine stopped in the steady warm-up: {problem}")
    failed = [run for run in runs.values() if run.status == "failed"]
    if failed:
        raise PointFailed(
            f"steady warm-up: request {failed[0].request_id} failed: {failed[0].error}"
        )
    return list(runs.values())


def drive_steady(
    engine: Engine,
    make_request: Callable[[int], ScheduledRequest],
    meter: EnergyMeter,
    *,
    cap: int,
    num_requests: int,
    max_requests: int,
    min_window_s: float,
    grow: bool,
    tick_s: float,
    max_duration_s: float,
    decode: Callable[[list[int]], str] = lambda tokens: "",
    clock: Callable[[], float] = time.perf_counter,
    tick: Callable[[float, int, int], None] | None = None,
) -> SteadyDrive:
    """Run the measured requests: submit N at once, tick the counter, grow N, collect results.

    Args:
        engine: the serving engine.
        make_request: the request of index k (0-based), made when it is submitted.
        meter: the energy meter; one counter window per tick, back to back.
        cap: the batch cap B.
        num_requests: N as configured (submitted at once).
        max_requests: the most N may grow to.
        min_window_s: the window rule (s).
        grow: whether N may grow (False: the rule is not enforced, e.g. without a meter).
        tick_s: seconds between counter readings.
        max_duration_s: the longest the run may take.
        tick: progress callback (time s, requests finished, N).

    Raises:
        PointFailed: the engine stopped, a request failed, or the run took over
            `max_duration_s`.
    """
    origin = clock()

    def now() -> float:
        return clock() - origin

    runs: list[RequestRun] = []
    by_id: dict[str, RequestRun] = {}
    pending: set[str] = set()

    def submit(count: int) -> None:
        for _ in range(count):
            request = make_request(len(runs))
            request_id = f"r{request.index}"
            engine.submit(request_id, request.input_ids)
            run = RequestRun(
                request.index, request_id, request.prompt.id, "measured", now(),
                len(request.input_ids),
            )  # fmt: skip
            runs.append(run)
            by_id[request_id] = run
            pending.add(request_id)

    meter.begin("steady-tick-0")
    tick_times = [now()]
    tick_energies: list[float | None] = []
    submit(num_requests)
    drive = SteadyDrive(runs, tick_times, tick_energies)
    completions: list[float] = []
    first_tokens: list[float] = []

    def read_counter() -> None:
        index = len(tick_energies)
        reading = meter.end(f"steady-tick-{index}")
        at = now()
        meter.begin(f"steady-tick-{index + 1}")
        tick_times.append(at)
        tick_energies.append(reading.energy_j)

    def maybe_grow(at: float) -> None:
        total = len(runs)
        close_count = total - cap - 1
        done = len(completions)
        if not grow or done <= cap or done >= close_count:
            return
        span = completions[-1] - completions[0]
        if span <= 0:
            return
        rate = (done - 1) / span  # completions per second at the cap
        opened = first_tokens[cap - 1] if len(first_tokens) >= cap else completions[0]
        predicted_close = at + (close_count - done) / rate
        target = min_window_s * EXTEND_MARGIN + 2 * tick_s  # ticks shave up to one at each end
        missing_s = opened + target - predicted_close
        if missing_s <= 0:
            return
        wanted = max(cap, math.ceil(missing_s * rate) + 1)
        room = max_requests - total
        if room <= 0:
            drive.short_reason = (
                f"N reached scenario.max_num_requests ({max_requests}) while the window was "
                "predicted shorter than the rule"
            )
            return
        added = min(wanted, room, total)
        submit(added)
        drive.extensions.append((at, added))

    while pending:
        if now() >= tick_times[-1] + tick_s:
            read_counter()
        if now() > max_duration_s:
            raise PointFailed(
                f"steady run: {len(pending)} of {len(runs)} requests unfinished after "
                f"{max_duration_s:g} s (scenario.max_duration_s)"
            )
        wait = max(0.0, min(POLL_S, tick_times[-1] + tick_s - now()))
        result = engine.poll(wait)
        while result is not None:
            run = by_id.get(result.request_id)
            if run is not None and run.status == "pending":
                record_result(run, result, origin, decode)
                pending.discard(result.request_id)
                if run.status == "failed":
                    raise PointFailed(
                        f"steady run: request {run.request_id} failed: {run.error}; a steady "
                        "state needs every request served"
                    )
                if run.first_token_s is not None:
                    bisect.insort(first_tokens, run.first_token_s)  # kept sorted
                    completions.append(run.last_token_s)  # type: ignore[arg-type]
                maybe_grow(now())
            result = engine.poll(0.0)
        problem = engine.alive()
        if problem is not None and pending:
            raise PointFailed(f"serving engine stopped in the steady run: {problem}")
        if tick is not None:
            tick(now(), len(runs) - len(pending), len(runs))
    read_counter()
    meter.end(f"steady-tick-{len(tick_energies)}")
    return drive
