"""Summary statistics over observations (units are the caller's)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from runner.records.performance import Stat


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
