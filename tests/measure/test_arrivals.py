"""The serving scenario's arrival processes follow their configuration (statistically), fast.

Tolerances are stated per test; each holds at well over 3 standard errors for ~10,000 arrivals,
and the processes are seeded, so the tests are deterministic.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from runner.errors import ConfigError
from runner.measure.arrivals import (
    arrival_times,
    gamma_arrivals,
    gaps,
    poisson_arrivals,
    read_trace,
    trace_arrivals,
)

RATE = 5.0  # requests per second
HORIZON = 2000.0  # seconds: ~10,000 arrivals


def _cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.fmean(values)


def _dispersion(times: list[float], horizon: float, bin_s: float = 1.0) -> float:
    """Variance over mean of the counts per bin (1 for Poisson, > 1 for bursty arrivals)."""
    counts = [0] * int(horizon / bin_s)
    for t in times:
        counts[int(t / bin_s)] += 1
    return statistics.variance(counts) / statistics.fmean(counts)


def _ks_exponential(values: list[float], rate: float) -> float:
    """Kolmogorov-Smirnov distance between the sample and Exp(rate)."""
    ordered = sorted(values)
    n = len(ordered)
    worst = 0.0
    for i, x in enumerate(ordered):
        cdf = 1.0 - math.exp(-rate * x)
        worst = max(worst, abs(cdf - i / n), abs((i + 1) / n - cdf))
    return worst


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_gaps_are_exponential_at_the_rate(seed: int) -> None:
    times = poisson_arrivals(RATE, HORIZON, seed)
    gap = gaps(times)
    n = len(gap)
    # count: Poisson(10,000) has sd 100; 5 sd
    assert abs(n - RATE * HORIZON) < 500
    assert statistics.fmean(gap) == pytest.approx(1 / RATE, rel=0.03)  # se 1%
    assert _cv(gap) == pytest.approx(1.0, abs=0.05)
    # KS at the 1% level: 1.63 / sqrt(n)
    assert _ks_exponential(gap, RATE) < 1.63 / math.sqrt(n)
    assert _dispersion(times, HORIZON) == pytest.approx(1.0, abs=0.12)  # se ~0.03


@pytest.mark.parametrize("cv", [1.5, 2.0, 3.0])
def test_gamma_gaps_have_the_rate_and_coefficient_of_variation(cv: float) -> None:
    times = gamma_arrivals(RATE, cv, HORIZON, seed=7)
    gap = gaps(times)
    assert statistics.fmean(gap) == pytest.approx(1 / RATE, rel=0.06)
    assert _cv(gap) == pytest.approx(cv, rel=0.1)
    # Burstier than Poisson: counts per second are over-dispersed (renewal theory: -> cv**2).
    assert _dispersion(times, HORIZON) > 1 + (cv * cv - 1) / 2


def test_gamma_matches_its_distribution_where_scipy_is_there() -> None:
    stats = pytest.importorskip("scipy.stats")
    cv = 2.0
    gap = gaps(gamma_arrivals(RATE, cv, HORIZON, seed=3))
    shape = 1 / cv**2
    result = stats.kstest(gap, "gamma", args=(shape, 0, 1 / (RATE * shape)))
    assert result.pvalue > 0.01


def test_processes_are_seeded_sorted_and_inside_the_horizon() -> None:
    for kind, extra in (("poisson", {}), ("gamma", {"cv": 2.0})):
        a = arrival_times(kind, horizon_s=60, seed=11, rate_rps=3.0, **extra)
        b = arrival_times(kind, horizon_s=60, seed=11, rate_rps=3.0, **extra)
        c = arrival_times(kind, horizon_s=60, seed=12, rate_rps=3.0, **extra)
        assert a == b and a != c
        assert a == sorted(a) and all(0 < t < 60 for t in a)


def test_a_longer_horizon_extends_the_same_arrivals() -> None:
    short = poisson_arrivals(2.0, 10, seed=5)
    long = poisson_arrivals(2.0, 20, seed=5)
    assert long[: len(short)] == short


def test_trace_replay_shifts_scales_and_cuts() -> None:
    assert trace_arrivals([103.0, 100.0, 101.5, 110.0], horizon_s=5, speedup=1.0) == [0, 1.5, 3.0]
    # At speedup 2 the last one lands at 5.0 s: outside [0, 5).
    assert trace_arrivals([100.0, 101.5, 103.0, 110.0], horizon_s=5, speedup=2.0) == [0, 0.75, 1.5]
    assert trace_arrivals([], horizon_s=5, speedup=1.0) == []


def test_read_trace_formats(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("# seconds\n0.5\n\n1.25\n3\n")
    assert read_trace(plain) == [0.5, 1.25, 3.0]
    csv = tmp_path / "t.csv"
    csv.write_text("timestamp,user\n1.0,a\n2.5,b\n")
    assert read_trace(csv) == [1.0, 2.5]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"timestamp_s": 4.0}\n{"timestamp": 5.5}\n')
    assert read_trace(jsonl) == [4.0, 5.5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.0\nsoon\n", ":2: expected a timestamp"),
        ("1.0\nnan\n", ":2: expected a finite timestamp"),
        ('{"t": 1}\n', ":1: expected a timestamp"),
        ("# nothing\n", "holds no timestamps"),
    ],
)
def test_read_trace_names_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_trace(path)


def test_missing_trace_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^scenario.trace_file: file .* not found$"):
        read_trace(tmp_path / "nope.txt")
