"""The measured window's figures from outcomes alone: summary, statistics with spread (latencies
censored where a request did not finish), timeline, and the samples of the steady-state test."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.config import SLOConfig
from runner.measure.serving.outcomes import Outcome, latency_observations, slo_counts
from runner.measure.stats import summarize, summarize_censored
from runner.records.serving import ServingMeasurements, ServingSummary, SLOInfo, TimelinePoint

OCCUPANCY_SAMPLE_S = 0.01  # occupancy and queue length are sampled every 10 ms of the window


def count_between(times: Sequence[float], start: float, end: float) -> int:
    """How many of the sorted `times` fall in `[start, end)`."""
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def step_counts(intervals: Sequence[tuple[float, float]], samples: Sequence[float]) -> list[int]:
    """For each sample time, how many `[start, end)` intervals contain it."""
    return _Counter(intervals).at(samples)


class _Counter:
    """`step_counts` with the interval ends sorted once."""

    def __init__(self, intervals: Sequence[tuple[float, float]]) -> None:
        self.starts = sorted(start for start, _ in intervals)
        self.ends = sorted(end for _, end in intervals)

    def at(self, samples: Sequence[float]) -> list[int]:
        starts, ends = self.starts, self.ends
        return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in samples]


def occupancy_intervals(
    outcomes: Sequence[Outcome], closed_s: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(running, queued) intervals of every request.

    Running: from leaving the queue to the last token (a finished request) or to its end (a
    failed or cancelled one). Queued: from arrival to leaving the queue. A request with no known
    start (cancelled before it was scheduled) counts as queued from its arrival to its end
    (`ended_s`, else `closed_s`).
    """
    running: list[tuple[float, float]] = []
    queued: list[tuple[float, float]] = []
    for o in outcomes:
        if o.started_s is not None:
            queued.append((o.arrival_s, max(o.arrival_s, o.started_s)))
            if o.finished and o.last_token_s is not None:
                end = o.last_token_s
            else:
                end = o.ended_s if o.ended_s is not None else closed_s
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
    running, queued = (_Counter(i) for i in occupancy_intervals(outcomes, closed_s))
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
                running_mean=statistics.fmean(running.at(samples)),
                queued_mean=statistics.fmean(queued.at(samples)),
            )
        )
    return points


@dataclass(frozen=True)
class WindowFigures:
    """What `window_figures` computes (see `runner.records.serving` for the definitions).

    `sample_times_s` and `outstanding` are the requests in the system (queued + running),
    sampled uniformly over the window: the steady-state test's trend.
    """

    summary: ServingSummary
    measurements: ServingMeasurements
    timeline: list[TimelinePoint]
    sample_times_s: list[float]
    outstanding: list[int]
    timed_out_in_window: int


def window_figures(
    outcomes: Sequence[Outcome],
    slo: SLOConfig | SLOInfo,
    *,
    opened_s: float,
    closed_s: float,
    measured_duration_s: float,
    energy_j: float | None,
    slices: Sequence[Slice],
    max_new_tokens: int | None = None,
    idle_power_w: float | None = None,
    peak_memory_bytes: int | None = None,
    peak_memory_kind: str | None = None,
    load_time_s: float = 0.0,
) -> WindowFigures:
    """Window summary, statistics with spread, and the timeline, from the outcomes alone.

    Only window requests (scheduled inside the window) enter the summary and the per-request
    statistics; `max_new_tokens` bounds the TPOT of unfinished requests (see
    `latency_observations`; without it their TPOT is bounded below by 0 only). What the clock
    window held of any request is kept apart (`any_phase_*`, the timeline).
    """
    window = [o for o in outcomes if o.phase == "window"]
    finished = [o for o in window if o.finished]
    window_tokens = sum(o.output_tokens for o in window)
    token_times = sorted(t for o in outcomes for t in o.token_times_s)
    any_tokens = count_between(token_times, opened_s, closed_s)
    ends = sorted(o.last_token_s for o in outcomes if o.finished and o.last_token_s is not None)
    any_completions = count_between(ends, opened_s, closed_s)
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
    if energy_j is not None and idle_power_w is not None and finished:
        above_idle = (energy_j - idle_power_w * duration) / len(finished)
    summary = ServingSummary(
        window_requests=requests,
        window_finished=len(finished),
        window_unfinished=requests - len(finished),
        window_output_tokens=window_tokens,
        finished_rps=len(finished) / duration,
        output_tok_s=window_tokens / duration,
        slo_met=met,
        slo_attainment=met / requests if requests else None,
        goodput_rps=met / duration,
        energy_j=energy_j,
        avg_power_w=ratio(energy_j, duration),
        energy_per_finished_request_j=ratio(energy_j, len(finished)),
        energy_per_token_j=ratio(energy_j, window_tokens),
        energy_above_idle_per_finished_request_j=above_idle,
        any_phase_completions_in_window=any_completions,
        any_phase_tokens_in_window=any_tokens,
        mean_running_requests=statistics.fmean(running_samples),
        peak_memory_bytes=peak_memory_bytes,
        peak_memory_kind=peak_memory_kind,  # type: ignore[arg-type]
        load_time_s=load_time_s,
    )
    metered = all(p.energy_j is not None for p in points) and bool(points)

    def stat(values: Sequence[float | None]) -> Any:
        return summarize([v for v in values if v is not None])

    observations = [latency_observations(o, max_new_tokens or 0) for o in window]

    def censored(name: str) -> Any:
        return summarize_censored([x[name] for x in observations if x[name] is not None])

    measurements = ServingMeasurements(
        queueing_delay_s=censored("queueing_delay_s"),
        ttft_s=censored("ttft_s"),
        tpot_s=censored("tpot_s"),
        e2e_latency_s=censored("e2e_latency_s"),
        itl_s=stat([gap for o in window for gap in o.itls_s]),
        itl_p90_per_request_s=stat([o.itl_p90_s for o in finished]),
        prompt_tokens=stat([o.prompt_tokens for o in window]),
        output_tokens=stat([o.output_tokens for o in window]),
        send_lag_s=stat([o.send_lag_s for o in outcomes]) or _zero_stat(),
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
        finished_only_v2=None,
    )
    return WindowFigures(
        summary=summary,
        measurements=measurements,
        timeline=points,
        sample_times_s=samples,
        outstanding=[r + q for r, q in zip(running_samples, queued_samples, strict=True)],
        timed_out_in_window=sum(o.status == "timed_out" for o in window),
    )


def _zero_stat() -> Any:
    return summarize([0.0])
