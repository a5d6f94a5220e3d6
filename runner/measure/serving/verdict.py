"""Judging one rate: the steady-state test and the sample-size rule over a window's figures.

The rules themselves (thresholds, binomial bounds) are in `runner.records.serving_rules`, shared
with the site; this module feeds them a window's figures and builds the record's `verdict`.
"""

from __future__ import annotations

from runner.measure.serving.window import WindowFigures
from runner.records.serving import RateVerdict, SampleSize, SteadyState
from runner.records.serving_rules import (
    MIN_GPU_WINDOW_S,
    judge_sample,
    judge_steady,
    rate_status,
)


def rate_verdict(
    figures: WindowFigures,
    *,
    measured_duration_s: float,
    target: float,
    confidence: float,
    min_requests: int,
    on_gpu: bool,
) -> RateVerdict:
    """The window's steady-state test, the sample-size rule on its SLO attainment, the status.

    Args:
        figures: the window's figures (`window_figures`).
        measured_duration_s: the window's length as the meter timed it (s).
        target: the SLO's attainment target (0 to 1).
        confidence: one-sided confidence of the binomial bounds.
        min_requests: fewest window requests a passing rate needs.
        on_gpu: the point ran on a GPU (windows under `MIN_GPU_WINDOW_S` are not conclusive).
    """
    summary = figures.summary
    steady = judge_steady(
        figures.sample_times_s,
        figures.outstanding,
        window_s=measured_duration_s,
        arrivals=summary.window_requests,
        completions=summary.any_phase_completions_in_window,
        unfinished_at_deadline=figures.timed_out_in_window,
    )
    sample = judge_sample(
        summary.slo_met,
        summary.window_requests,
        target=target,
        confidence=confidence,
        min_requests=min_requests,
        window_s=measured_duration_s,
        on_gpu=on_gpu,
    )
    return RateVerdict(
        status=rate_status(steady.steady, sample),
        steady_state=SteadyState(
            steady=steady.steady,
            outstanding_start=steady.outstanding_start,
            outstanding_end=steady.outstanding_end,
            outstanding_growth=steady.outstanding_growth,
            growth_limit=steady.growth_limit,
            arrivals=summary.window_requests,
            completions=summary.any_phase_completions_in_window,
            completion_deficit=steady.completion_deficit,
            deficit_limit=steady.deficit_limit,
            unfinished_at_deadline=figures.timed_out_in_window,
            reasons=list(steady.reasons),
        ),
        sample=SampleSize(
            requests=summary.window_requests,
            met=summary.slo_met,
            target=target,
            confidence=confidence,
            min_requests=min_requests,
            min_gpu_window_s=MIN_GPU_WINDOW_S,
            on_gpu=on_gpu,
            window_s=measured_duration_s,
            attainment_lower=sample.lower,
            attainment_upper=sample.upper,
            passes=sample.passes,
            fails=sample.fails,
            reasons=list(sample.reasons),
        ),
    )
