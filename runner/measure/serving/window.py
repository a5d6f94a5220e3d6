"""The measured window's figures from outcomes alone: summary, statistics with spread, timeline."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.config import SLOConfig
from runner.measure.serving.outcomes import Outcome, slo_counts
from runner.measure.stats import summarize
from runner.records.serving import ServingMeasurements, ServingSummary, SLOInfo, TimelinePoint

OCCUPANCY_SAMPLE_S = 0.01  # occupancy and queue length are sampled every 10 ms of the window


def count_between(times: Sequence[float], start: float, end: float) -> int:
    """How many of the sorted `times` fall in `[start, end)`."""
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def step_counts(intervals: Sequence[tuple[float, float]], samples: Sequence[float]) -> list[int]:
    """For each sample time, how many `[start, end)` intervals contain it."""
    starts = sorted(start for start, _ in intervals)
    ends = sorted(end for _, end in intervals)
    return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in samples]


def occupancy_intervals(
    outcomes: Sequence[Outcome], closed_s: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(running, queued) intervals of every request.

    Running: from leaving the queue to the last token. Queued: from arrival to leaving the queue.
    A request with no known start (cancelled or timed out before it returned) counts as queued
    from its arrival to its end (`ended_s`, else `closed_s`).
    """
    running: list[tuple[float, float]] = []
    queued: list[tuple[float, float]] = []
    for o in outcomes:
        if o.started_s is not None:
            queued.append((o.arrival_s, max(o.arrival_s, o.started_s)))
            end = o.last_token_s if o.last_token_s is not None else (o.ended_s or closed_s)
            running.append((o.started_s, max(o.started_s, end)))
        else:
            queued.append((o.arrival_s, max(o.arrival_s, o.ended_s or closed_s)))
    return running, queued


@dataclass(frozen=True)
class Slice:
    """One timeline slice as the meter measured it (times in s from t = 0)."""

    start_s: float
    end_s: float
    energy_j: float | None


def sample_times(start_s: float, end_s: float, step_s: float = OCCUPANCY_SAMPLE_S) -> list[float]:
    """Uniform sample times in `[start_s, end_s)`, at the middle of each `step_s` cell."""
    count = max(1, math.ceil((end_s - start_s) / step_s))
    width = (end_s - start_s) / count
    return [start_s + (i + 0.5) * width for i in range(count)]


def timeline(
    outcomes: Sequence[Outcome], slices: Sequence[Slice], closed_s: float
) -> list[TimelinePoint]:
    """The window's timeline: per slice its energy and power, tokens, completions and the
    time-averaged batch occupancy and queue length."""
    token_times = sorted(t for o in outcomes for t in o.token_times_s)
    ends = sorted(o.last_token_s for o in outcomes if o.status == "finished" and o.last_token_s)
    running, queued = occupancy_intervals(outcomes, closed_s)
    opened = slices[0].start_s if slices else 0.0
    points = []
    for piece in slices:
        samples = sample_times(piece.start_s, piece.end_s)
        duration = piece.end_s - piece.start_s
        points.append(
            TimelinePoint(
                t_s=piece.start_s - opened,
                duration_s=duration,
                energy_j=piece.energy_j,
                power_w=None if piece.energy_j is None else piece.energy_j / duration,
                output_tokens=count_between(token_times, piece.start_s, piece.end_s),
                completed=count_between(ends, piece.start_s, piece.end_s),
                running_mean=statistics.fmean(step_counts(running, samples)),
                queued_mean=statistics.fmean(step_counts(queued, samples)),
            )
        )
    return points


@dataclass(frozen=True)
class WindowFigures:
    """What `window_figures` computes (see `runner.records.serving` for the definitions)."""

    summary: ServingSummary
    measurements: ServingMeasurements
    timeline: list[TimelinePoint]


def window_figures(
    outcomes: Sequence[Outcome],
    slo: SLOConfig | SLOInfo,
    *,
    opened_s: float,
    closed_s: float,
    measured_duration_s: float,
    energy_j: float | None,
    slices: Sequence[Slice],
    idle_power_w: float | None = None,
    peak_memory_bytes: int | None = None,
    peak_memory_kind: str | None = None,
    load_time_s: float = 0.0,
) -> WindowFigures:
    """Window summary, statistics with spread, and the timeline, from the outcomes alone."""
    window = [o for o in outcomes if o.phase == "window"]
    finished = [o for o in window if o.status == "finished"]
    token_times = sorted(t for o in outcomes for t in o.token_times_s)
    tokens_in = count_between(token_times, opened_s, closed_s)
    ends = sorted(o.last_token_s for o in outcomes if o.status == "finished" and o.last_token_s)
    completed_in = count_between(ends, opened_s, closed_s)
    met, requests = slo_counts(outcomes, slo)
    duration = measured_duration_s
    running, queued = occupancy_intervals(outcomes, closed_s)
    samples = sample_times(opened_s, closed_s)
    running_samples = step_counts(running, samples)
    queued_samples = step_counts(queued, samples)
    points = timeline(outcomes, slices, closed_s)

    def ratio(numerator: float | None, denominator: float) -> float | None:
        return None if numerator is None or denominator <= 0 else numerator / denominator

    above_idle = None
    if energy_j is not None and idle_power_w is not None and completed_in:
        above_idle = (energy_j - idle_power_w * duration) / completed_in
    summary = ServingSummary(
        requests_in_window=requests,
        completed_in_window=completed_in,
        output_tokens_in_window=tokens_in,
        throughput_rps=completed_in / duration,
        throughput_tok_s=tokens_in / duration,
        energy_j=energy_j,
        avg_power_w=ratio(energy_j, duration),
        energy_per_request_j=ratio(energy_j, completed_in),
        energy_per_output_token_j=ratio(energy_j, tokens_in),
        energy_above_idle_per_request_j=above_idle,
        slo_met=met,
        slo_attainment=met / requests if requests else None,
        goodput_rps=met / duration,
        mean_running_requests=statistics.fmean(running_samples),
        peak_memory_bytes=peak_memory_bytes,
        peak_memory_kind=peak_memory_kind,  # type: ignore[arg-type]
        load_time_s=load_time_s,
    )
    metered = all(p.energy_j is not None for p in points) and bool(points)

    def stat(values: Sequence[float | None]) -> Any:
        return summarize([v for v in values if v is not None])

    measurements = ServingMeasurements(
        queueing_delay_s=stat([o.queueing_delay_s for o in finished]),
        ttft_s=stat([o.ttft_s for o in finished]),
        itl_s=stat([gap for o in finished for gap in o.itls_s]),
        itl_p90_per_request_s=stat([o.itl_p90_s for o in finished]),
        e2e_latency_s=stat([o.e2e_latency_s for o in finished]),
        prompt_tokens=stat([o.prompt_tokens for o in window]),
        output_tokens=stat([o.output_tokens for o in finished]),
        dispatch_lag_s=stat([o.dispatch_lag_s for o in outcomes]) or _zero_stat(),
        running_requests=stat(running_samples) or _zero_stat(),
        queued_requests=stat(queued_samples) or _zero_stat(),
        slice_throughput_tok_s=stat([p.output_tokens / p.duration_s for p in points])
        or _zero_stat(),
        slice_power_w=stat([p.power_w for p in points]) if metered else None,
        slice_energy_per_output_token_j=stat(
            [p.energy_j / p.output_tokens for p in points if p.output_tokens and p.energy_j]
        )
        if metered
        else None,
    )
    return WindowFigures(summary, measurements, points)


def _zero_stat() -> Any:
    return summarize([0.0])
