"""The rules that judge a serving point, shared by the runner and the site (pure functions).

- **Sweep identity.** Two serving records belong to one rate sweep when their configurations
  (`runner.records.configuration.configuration_key`) and their `sweep_hash` are equal: the
  sha256 of the resolved config with what varies along a sweep removed (the rate, the search,
  the seed, the window lengths, where results go, and the static scenario's knobs). Everything
  else (model, output cap, sampling, SLO, prompts, arrival process, engine limits) splits sweeps.
- **Sample size.** SLO attainment is a binomial share. Its one-sided Clopper-Pearson bounds at
  `confidence` (0.95 by default) decide: a rate *passes* when its window holds at least
  `min_requests` requests, the lower bound on attainment is at or above the target, and, on a
  GPU, the window lasted at least `MIN_GPU_WINDOW_S` (60 s: NVML energy counters update every
  ~100 ms and the meter agrees with the power integral within 2 % only over ~10 s or more). It
  *fails* when the upper bound is below the target. Otherwise it is *inconclusive*.
  Example: 11 of 11 requests meeting the SLO bound attainment below only by 0.05^(1/11) = 0.76.
- **Steady state.** The load was steady when (1) the requests in the system (queued + running)
  did not grow over the window: the least-squares trend of their count, times the window's
  length, is at most `max(STEADY_GROWTH_FLOOR, STEADY_GROWTH_SHARE x window arrivals)`;
  (2) completions kept up with arrivals: the requests of any phase completing inside the window
  fall short of the window's arrivals by at most `STEADY_DEFICIT_SHARE x arrivals +
  STEADY_DEFICIT_SIGMAS x sqrt(arrivals)` (Poisson noise); (3) every window request ended
  before the drain deadline. A rate that is not steady is *overloaded*.
- **Status** of a rate: `overloaded` (not steady), else `passes`, `fails` or `inconclusive` by
  the sample-size rule. Only a rate that `passes` can be the maximum sustainable rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from runner.records.store import canonical_json, sha256_bytes

MIN_GPU_WINDOW_S = 60.0
STEADY_GROWTH_FLOOR = 3.0  # requests
STEADY_GROWTH_SHARE = 0.05  # of the window's arrivals
STEADY_DEFICIT_SHARE = 0.05  # of the window's arrivals
STEADY_DEFICIT_SIGMAS = 3.0  # Poisson standard deviations, sqrt(arrivals)

Status = Literal["passes", "fails", "inconclusive", "overloaded"]
STATUSES: tuple[Status, ...] = ("passes", "fails", "inconclusive", "overloaded")

# Config paths (dotted) left out of the sweep hash: what a sweep varies, or what does not change
# the point being measured.
SWEEP_HASH_IGNORES = (
    "results_dir",
    "results_subdir",
    "seed",
    "calibrate",
    "idle_seconds",
    "idle_settle_s",
    "batch_size",
    "num_prompts",
    "warmup_batches",
    "repeats",
    "min_window_s",
    "power_sample_period_s",
    "backend.device",
    "scenario.request_rate",
    "scenario.trace_speedup",
    "scenario.search",
    "scenario.warmup_s",
    "scenario.duration_s",
    "scenario.drain_timeout_s",
    "scenario.timeline_step_s",
)


def sweep_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of `config` without `SWEEP_HASH_IGNORES`."""
    data = json.loads(json.dumps(config))
    for path in SWEEP_HASH_IGNORES:
        *parents, leaf = path.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return sha256_bytes(canonical_json(data).encode("utf-8"))


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def config_differences(configs: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The config paths (dotted) whose values differ between `configs`, with each config's
    value (None where absent), leaving out `SWEEP_HASH_IGNORES`: what splits them into sweeps."""
    flat = [_leaves(config) for config in configs]
    paths = sorted({path for leaves in flat for path in leaves})
    ignored = tuple(SWEEP_HASH_IGNORES)
    out = {}
    for path in paths:
        if any(path == i or path.startswith(i + ".") for i in ignored):
            continue
        values = [leaves.get(path) for leaves in flat]
        if any(value != values[0] for value in values):
            out[path] = values
    return out


# ------------------------------------------------------------------------------------------------
# Binomial bounds (Clopper-Pearson, one-sided)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (a, b > 0, 0 <= x <= 1)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _solve(function: Any, target: float) -> float:
    """The p in [0, 1] where the increasing `function(p)` equals `target` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        if function(middle) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def attainment_bounds(met: int, requests: int, confidence: float) -> tuple[float, float]:
    """One-sided Clopper-Pearson (lower, upper) bounds on a binomial share, each at `confidence`.

    The lower bound is the p at which `met` or more successes out of `requests` have
    probability 1 - confidence; the upper bound the p at which `met` or fewer do. With no
    requests the bounds are (0, 1).
    """
    if requests <= 0:
        return 0.0, 1.0
    if not 0 <= met <= requests:
        raise ValueError(f"met ({met}) must be between 0 and requests ({requests})")
    alpha = 1.0 - confidence
    lower = 0.0
    if met > 0:
        # P(X >= met | p) = I_p(met, requests - met + 1), increasing in p.
        lower = _solve(lambda p: regularized_beta(met, requests - met + 1, p), alpha)
    upper = 1.0
    if met < requests:
        # P(X <= met | p) = 1 - I_p(met + 1, requests - met), decreasing in p.
        upper = _solve(lambda p: regularized_beta(met + 1, requests - met, p), 1.0 - alpha)
    return lower, upper


# ------------------------------------------------------------------------------------------------
# Sample size, steady state, status


@dataclass(frozen=True)
class SampleJudgement:
    """The sample-size rule applied to one rate (see the module doc)."""

    lower: float
    upper: float
    passes: bool
    fails: bool
    reasons: tuple[str, ...]


def judge_sample(
    met: int,
    requests: int,
    *,
    target: float,
    confidence: float,
    min_requests: int,
    window_s: float,
    on_gpu: bool,
) -> SampleJudgement:
    """Whether `met` of `requests` window requests conclusively pass or fail `target`."""
    lower, upper = attainment_bounds(met, requests, confidence)
    reasons = []
    if requests < min_requests:
        reasons.append(f"{requests} window requests, fewer than the {min_requests} required")
    if lower < target:
        reasons.append(
            f"the {confidence:.0%} lower bound on attainment, {lower:.3f}, is below the "
            f"target {target:g}"
        )
    if on_gpu and window_s < MIN_GPU_WINDOW_S:
        reasons.append(f"a {window_s:.3g} s window on a GPU, shorter than {MIN_GPU_WINDOW_S:g} s")
    fails = upper < target
    passes = not reasons
    if fails:
        reasons = [
            f"the {confidence:.0%} upper bound on attainment, {upper:.3f}, is below the "
            f"target {target:g}"
        ]
    return SampleJudgement(lower, upper, passes, fails, tuple(reasons))


@dataclass(frozen=True)
class SteadyJudgement:
    """The steady-state test applied to one window (see the module doc)."""

    steady: bool
    outstanding_start: float
    outstanding_end: float
    outstanding_growth: float
    growth_limit: float
    completion_deficit: int
    deficit_limit: float
    reasons: tuple[str, ...]


def trend(times: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares line through (times, values): (intercept at times[0], slope per unit time)."""
    if not times:
        return 0.0, 0.0
    t0 = times[0]
    xs = [t - t0 for t in times]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(values) / len(values)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread <= 0:
        return mean_y, 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / spread
    return mean_y - slope * mean_x, slope


def judge_steady(
    sample_times: Sequence[float],
    outstanding: Sequence[float],
    *,
    window_s: float,
    arrivals: int,
    completions: int,
    unfinished_at_deadline: int,
) -> SteadyJudgement:
    """The steady-state test: outstanding-request trend, completions vs arrivals, deadline.

    Args:
        sample_times / outstanding: requests in the system (queued + running), sampled
            uniformly over the window (times in s).
        window_s: the window's length (s).
        arrivals: requests arriving in the window.
        completions: requests of any phase whose last token falls inside the window.
        unfinished_at_deadline: window requests still unfinished at the drain deadline.
    """
    start, slope = trend(sample_times, outstanding)
    growth = slope * window_s
    growth_limit = max(STEADY_GROWTH_FLOOR, STEADY_GROWTH_SHARE * arrivals)
    deficit = arrivals - completions
    deficit_limit = STEADY_DEFICIT_SHARE * arrivals + STEADY_DEFICIT_SIGMAS * math.sqrt(arrivals)
    reasons = []
    if growth > growth_limit:
        reasons.append(
            f"requests in the system grew by {growth:.3g} over the window "
            f"(limit {growth_limit:.3g})"
        )
    if deficit > deficit_limit:
        reasons.append(
            f"{completions} completions for {arrivals} arrivals in the window "
            f"(shortfall {deficit}, limit {deficit_limit:.3g})"
        )
    if unfinished_at_deadline:
        reasons.append(
            f"{unfinished_at_deadline} window request(s) unfinished at the drain deadline"
        )
    return SteadyJudgement(
        steady=not reasons,
        outstanding_start=start,
        outstanding_end=start + growth,
        outstanding_growth=growth,
        growth_limit=growth_limit,
        completion_deficit=deficit,
        deficit_limit=deficit_limit,
        reasons=tuple(reasons),
    )


def rate_status(steady: bool, sample: SampleJudgement) -> Status:
    """`overloaded` when not steady, else `passes`, `fails` or `inconclusive`."""
    if not steady:
        return "overloaded"
    if sample.passes:
        return "passes"
    return "fails" if sample.fails else "inconclusive"
