"""The steady-state window from the requests' own timings: bounds, tokens, energy, statistics.

Pure functions of `RequestRun`s and the energy counter's ticks (times in seconds from the
measured run's start, when the N requests were submitted together), tested on hand-made timings.
The definitions are the record's (`runner.records.steady`):

- the window opens when B requests have their first token (the B-th first-token time) and
  closes when N - B - 1 requests have completed (the (N - B - 1)-th completion time);
- the counter was read at ticks; the measured window runs from the first tick at or after the
  opening to the last tick at or before the closing, so its energy is the sum of whole counter
  windows and its tokens are counted over exactly the same interval. Without a meter there is
  no counter to align with, and the window is the two events themselves.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from runner.measure.serving.window import step_counts
from runner.measure.stats import percentile, summarize
from runner.records.performance import WindowRule, relative_uncertainty
from runner.records.steady import ItlPercentiles, SteadyMeasurements, SteadySummary


class NoSteadyState(ValueError):
    """The run never reached a steady state that a window could measure (the message says why)."""


@dataclass
class RequestRun:
    """One request of a steady run and what happened to it (times in s from the run's start).

    Attributes:
        phase: `warmup` (run before the measured run, excluded) or `measured`.
        submitted_s: when it was handed to the engine.
        started_s: when the engine admitted it into the running batch (None if not reported).
        token_times_s: when each output token was stamped.
        status: `pending`, `finished` or `failed`.
    """

    index: int
    request_id: str
    prompt_id: str
    phase: str
    submitted_s: float
    prompt_tokens: int
    status: str = "pending"
    started_s: float | None = None
    token_times_s: list[float] = field(default_factory=list)
    output_tokens: int = 0
    error: str | None = None
    text: str = ""

    @property
    def first_token_s(self) -> float | None:
        """When its first token was stamped."""
        return self.token_times_s[0] if self.token_times_s else None

    @property
    def last_token_s(self) -> float | None:
        """When its last token was stamped (its completion)."""
        return self.token_times_s[-1] if self.token_times_s else None

    @property
    def admitted_s(self) -> float | None:
        """When it joined the running batch: the engine's admission time, else its first token."""
        return self.started_s if self.started_s is not None else self.first_token_s


@dataclass(frozen=True)
class Bounds:
    """The window's bounds: the defining events and the counter ticks just inside them.

    Attributes:
        open_event_s: the B-th first-token time.
        close_event_s: the (N - B - 1)-th completion time.
        start_index / end_index: indexes into the tick times of the measured window's ends.
        start_s / end_s: those ticks' times.
    """

    open_event_s: float
    close_event_s: float
    start_index: int
    end_index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """The measured window's length."""
        return self.end_s - self.start_s


def window_bounds(
    first_token_times: Sequence[float],
    completion_times: Sequence[float],
    cap: int,
    num_requests: int,
    tick_times: Sequence[float] | None,
) -> Bounds:
    """The window of a run of `num_requests` requests at batch cap `cap` (see the module);
    `tick_times` None: no counter, the window is the events themselves (indexes -1).

    Raises:
        NoSteadyState: fewer than `cap` requests produced a token, fewer than N - B - 1
            completed, the closing came before the opening, or no two ticks lie between them.
    """
    firsts = sorted(first_token_times)
    completions = sorted(completion_times)
    close_count = num_requests - cap - 1
    if close_count < 1:
        raise NoSteadyState(
            f"N = {num_requests} requests at cap B = {cap}: the window needs N - B - 1 >= 1 "
            "completions; raise scenario.num_requests"
        )
    if len(firsts) < cap:
        raise NoSteadyState(
            f"only {len(firsts)} requests produced a token, fewer than the cap B = {cap}"
        )
    if len(completions) < close_count:
        raise NoSteadyState(
            f"only {len(completions)} requests completed, fewer than N - B - 1 = {close_count}"
        )
    opened, closed = firsts[cap - 1], completions[close_count - 1]
    if closed <= opened:
        raise NoSteadyState(
            f"no steady state: the {close_count}th completion ({closed:.3f} s) came before "
            f"{cap} requests had their first token ({opened:.3f} s); raise scenario.num_requests"
        )
    if tick_times is None:
        return Bounds(opened, closed, -1, -1, opened, closed)
    start_index = bisect.bisect_left(tick_times, opened)
    end_index = bisect.bisect_right(tick_times, closed) - 1
    if start_index >= len(tick_times) or end_index <= start_index:
        raise NoSteadyState(
            f"the steady state ({opened:.3f} s to {closed:.3f} s) holds no whole counter tick "
            "interval; raise scenario.num_requests or lower scenario.tick_s"
        )
    return Bounds(
        opened, closed, start_index, end_index, tick_times[start_index], tick_times[end_index]
    )


def count_in(times: Sequence[float], start: float, end: float) -> int:
    """How many of `times` fall in `(start, end]`."""
    return sum(1 for t in times if start < t <= end)


def running_overlap_s(runs: Sequence[RequestRun], start: float, end: float) -> float:
    """Request-seconds of running (admitted, not yet finished) inside `[start, end]`."""
    total = 0.0
    for run in runs:
        admitted, last = run.admitted_s, run.last_token_s
        if admitted is None or last is None:
            continue
        total += max(0.0, min(last, end) - max(admitted, start))
    return total


def running_at(runs: Sequence[RequestRun], moments: Sequence[float]) -> list[int]:
    """Requests admitted and not finished at each of `moments` (ends sorted once)."""
    intervals = [
        (run.admitted_s, run.last_token_s)
        for run in runs
        if run.admitted_s is not None and run.last_token_s is not None
    ]
    return step_counts(intervals, moments)


def window_gaps(runs: Sequence[RequestRun], start: float, end: float) -> list[float]:
    """Inter-token gaps whose later token falls in `(start, end]`."""
    return [
        later - earlier
        for run in runs
        for earlier, later in itertools.pairwise(run.token_times_s)
        if start < later <= end
    ]


@dataclass(frozen=True)
class WindowFigures:
    """Everything the record states about the window (see `runner.records.steady`)."""

    bounds: Bounds
    output_tokens: int
    completed: int
    energy_j: float | None
    energy_reason: str | None
    relative_uncertainty: float | None
    meets_rule: bool
    note: str | None
    summary: SteadySummary
    measurements: SteadyMeasurements


def window_figures(
    runs: Sequence[RequestRun],
    tick_times: Sequence[float],
    tick_energies: Sequence[float | None],
    *,
    cap: int,
    snap: bool = True,
    rule: WindowRule,
    resolution_s: float | None,
    energy_reason: str | None,
    idle_power_w: float | None,
    short_reason: str | None = None,
    peak_memory_bytes: int | None = None,
    peak_memory_kind: str | None = None,
    load_time_s: float = 0.0,
) -> WindowFigures:
    """The window's figures from the measured run's requests and the counter's ticks.

    Args:
        runs: every request of the measured run (warm-up excluded), all finished.
        tick_times: the counter's ticks (s), `tick_energies[k]` the energy between ticks k and
            k + 1 (J; None when not measured).
        cap: the batch cap B.
        snap: align the window with the ticks (False without a meter: no counter to align
            with, the window is the opening and closing events themselves).
        rule: the window rule; a window shorter than an enforced rule gets no energy.
        resolution_s: the meter's resolution (s); None without a meter.
        energy_reason: why energy is not measured (the meter's reason), or None.
        idle_power_w: the point's idle baseline (W), for the energy above idle.
        short_reason: why N could not grow further, said when the window stays short.

    Raises:
        NoSteadyState: see `window_bounds`.
    """
    finished = [run for run in runs if run.status == "finished" and run.token_times_s]
    bounds = window_bounds(
        [run.first_token_s for run in finished],  # type: ignore[misc]
        [run.last_token_s for run in finished],  # type: ignore[misc]
        cap,
        len(runs),
        tick_times if snap else None,
    )
    start, end, duration = bounds.start_s, bounds.end_s, bounds.duration_s
    tokens = sum(count_in(run.token_times_s, start, end) for run in finished)
    completing = [run for run in finished if start < run.last_token_s <= end]  # type: ignore[operator]
    slices = tick_energies[bounds.start_index : bounds.end_index] if snap else [None]
    energy: float | None = None
    reason = energy_reason
    if all(value is not None for value in slices) and energy_reason is None:
        energy = float(sum(slices))  # type: ignore[arg-type]
    elif reason is None:
        reason = "a counter reading inside the window was not measured"
    meets = duration >= rule.min_window_s
    note = None
    if not meets:
        note = (
            f"the window lasted {duration:.3f} s, shorter than the rule ({rule.min_window_s:g} s)"
        )
        if short_reason:
            note += f": {short_reason}"
        if rule.enforced and energy is not None:
            energy, reason = None, f"{note}; a short window's energy is never stored as a number"
        elif not rule.enforced and rule.note:
            note += f" ({rule.note})"
    if energy is not None and resolution_s is not None and duration < resolution_s:
        energy = None
        reason = f"window of {duration:.3f} s is shorter than the meter's resolution"
    uncertainty = relative_uncertainty(resolution_s, duration) if energy is not None else None

    gaps = sorted(window_gaps(finished, start, end))
    itl = (
        ItlPercentiles(
            median=percentile(gaps, 50),
            p90=percentile(gaps, 90),
            p95=percentile(gaps, 95),
            p99=percentile(gaps, 99),
        )
        if gaps
        else None
    )
    admitted = [run for run in completing if run.started_s is not None]
    latencies = [run.last_token_s - run.admitted_s for run in completing]  # type: ignore[operator]
    ttfts = [run.first_token_s - run.admitted_s for run in completing]  # type: ignore[operator]
    tpots = [
        (latency - ttft) / (run.output_tokens - 1)
        for run, latency, ttft in zip(completing, latencies, ttfts, strict=True)
        if run.output_tokens > 1
    ]
    ticks_inside = (
        tick_times[bounds.start_index : bounds.end_index]
        if snap
        else [t for t in tick_times if start <= t < end] or [start]
    )
    mean_running = running_overlap_s(finished, start, end) / duration
    mean_output = sum(run.output_tokens for run in finished) / len(finished)
    per_token = None if energy is None or tokens == 0 else energy / tokens
    above = None
    if energy is not None and idle_power_w is not None and tokens:
        above = (energy - idle_power_w * duration) / tokens
    measurements = SteadyMeasurements(
        itl_s=summarize(gaps),
        itl_percentiles_s=itl,
        queueing_s=summarize([run.started_s - run.submitted_s for run in admitted]),  # type: ignore[operator]
        ttft_s=summarize(ttfts),
        latency_s=summarize(latencies),
        tpot_s=summarize(tpots),
        output_tokens=summarize([run.output_tokens for run in finished]),  # type: ignore[arg-type]
        prompt_tokens=summarize([run.prompt_tokens for run in runs]),  # type: ignore[arg-type]
        running_requests=summarize(running_at(finished, ticks_inside)),  # type: ignore[arg-type]
    )
    summary = SteadySummary(
        output_tokens_in_window=tokens,
        completed_in_window=len(completing),
        throughput_tok_s=tokens / duration,
        throughput_rps=len(completing) / duration,
        energy_j=energy,
        energy_reason=None if energy is not None else reason,
        avg_power_w=None if energy is None else energy / duration,
        energy_per_token_j=per_token,
        mean_output_tokens=mean_output,
        energy_per_request_j=None if per_token is None else per_token * mean_output,
        energy_above_idle_per_token_j=above,
        mean_running_batch=mean_running,
        itl_median_s=itl.median if itl else None,
        itl_p90_s=itl.p90 if itl else None,
        itl_p95_s=itl.p95 if itl else None,
        itl_p99_s=itl.p99 if itl else None,
        peak_memory_bytes=peak_memory_bytes,
        peak_memory_kind=peak_memory_kind,  # type: ignore[arg-type]
        load_time_s=load_time_s,
    )
    return WindowFigures(
        bounds=bounds,
        output_tokens=tokens,
        completed=len(completing),
        energy_j=energy,
        energy_reason=summary.energy_reason,
        relative_uncertainty=uncertainty,
        meets_rule=meets,
        note=note,
        summary=summary,
        measurements=measurements,
    )


def requests_for_window(rate_per_s: float, needed_s: float) -> int:
    """Completions needed to cover `needed_s` seconds at `rate_per_s` completions per second."""
    return max(0, math.ceil(needed_s * rate_per_s))
