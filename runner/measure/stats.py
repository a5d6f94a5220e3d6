"""Summary statistics over observations (units are the caller's)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from runner.records.performance import Stat
from runner.records.serving import CensoredStat


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of already sorted values; q in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    position = (len(sorted_values) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def summarize(values: Sequence[float]) -> Stat | None:
    """n, mean, median, p90, p99, sample stdev, min and max; None for an empty sequence."""
    clean = sorted(float(v) for v in values)
    if not clean:
        return None
    if any(not math.isfinite(v) for v in clean):
        raise ValueError("statistics over non-finite values")
    return Stat(
        n=len(clean),
        mean=statistics.fmean(clean),
        median=statistics.median(clean),
        p90=percentile(clean, 90),
        p99=percentile(clean, 99),
        stdev=statistics.stdev(clean) if len(clean) > 1 else 0.0,
        min=clean[0],
        max=clean[-1],
    )


def summarize_censored(observations: Sequence[tuple[float, bool]]) -> CensoredStat | None:
    """Percentiles over (value, censored) pairs, censored values ranking at their lower bound.

    Values are sorted with an observed value before a censored one of equal value (a censored
    latency exceeds its bound). Each percentile is the linear-interpolation percentile of that
    list; it is exact when no censored value sits at or below the upper of the two ranks it
    reads, and otherwise a lower bound of the true percentile (raising any value can only raise
    an order statistic). None for no observations.
    """
    ranked = sorted((float(v), bool(c)) for v, c in observations)
    if not ranked:
        return None
    if any(not math.isfinite(v) for v, _ in ranked):
        raise ValueError("statistics over non-finite values")
    values = [v for v, _ in ranked]
    first_censored = next((i for i, (_, c) in enumerate(ranked) if c), len(ranked))

    def at(q: float) -> tuple[float, bool]:
        upper = math.ceil((len(ranked) - 1) * q / 100.0)
        return percentile(values, q), first_censored <= upper

    (p50, c50), (p90, c90), (p99, c99) = at(50), at(90), at(99)
    return CensoredStat(
        n=len(ranked),
        censored=sum(c for _, c in ranked),
        p50=p50,
        p90=p90,
        p99=p99,
        p50_censored=c50,
        p90_censored=c90,
        p99_censored=c99,
        observed=summarize([v for v, c in ranked if not c]),
    )
