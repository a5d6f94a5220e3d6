"""Seeded request-arrival processes for the serving scenario: Poisson, bursty gamma, trace replay.

Every process returns arrival times in seconds from the start of the run (time 0), sorted, in
`[0, horizon_s)`. The same arguments always give the same times (`random.Random(seed)`), so a
serving record can be reproduced from its `arrival` block.

- **poisson**: independent exponential inter-arrival times with mean `1 / rate_rps`
  (coefficient of variation 1).
- **gamma**: gamma-distributed inter-arrival times with mean `1 / rate_rps` and coefficient of
  variation `cv` (> 1 is burstier than Poisson: shape `k = 1 / cv**2`, scale `1 / (rate_rps * k)`).
- **trace**: the timestamps of a trace file, shifted so its first arrival is at 0 and divided by
  `speedup` (2 replays twice as fast).

The first arrival of a generated process is one inter-arrival time after 0 (not at 0), as in a
renewal process started at 0.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from pathlib import Path

from runner.errors import ConfigError

ARRIVAL_KINDS = ("poisson", "gamma", "trace")
MAX_ARRIVALS = 1_000_000


def poisson_arrivals(rate_rps: float, horizon_s: float, seed: int) -> list[float]:
    """Arrival times (s) of a Poisson process of `rate_rps` requests per second."""
    _check_rate(rate_rps)
    rng = random.Random(seed)
    return _renewal(lambda: rng.expovariate(rate_rps), horizon_s)


def gamma_arrivals(rate_rps: float, cv: float, horizon_s: float, seed: int) -> list[float]:
    """Arrival times (s) with gamma inter-arrival times: mean `1/rate_rps`, coefficient of
    variation `cv` (the standard deviation over the mean of the gaps; 1 is Poisson)."""
    _check_rate(rate_rps)
    if not (isinstance(cv, int | float) and math.isfinite(cv) and cv > 0):
        raise ValueError(f"cv must be a positive number, got {cv!r}")
    shape = 1.0 / (cv * cv)
    scale = 1.0 / (rate_rps * shape)
    rng = random.Random(seed)
    return _renewal(lambda: rng.gammavariate(shape, scale), horizon_s)


def trace_arrivals(timestamps_s: Sequence[float], horizon_s: float, speedup: float) -> list[float]:
    """A trace's timestamps (s), sorted, shifted to start at 0, divided by `speedup`, cut at
    `horizon_s`."""
    if not timestamps_s:
        return []
    if speedup <= 0:
        raise ValueError(f"speedup must be positive, got {speedup!r}")
    ordered = sorted(float(t) for t in timestamps_s)
    start = ordered[0]
    return [(t - start) / speedup for t in ordered if (t - start) / speedup < horizon_s]


def _renewal(gap: object, horizon_s: float) -> list[float]:
    times: list[float] = []
    now = 0.0
    draw = gap  # a callable returning the next gap in seconds
    while True:
        now += draw()  # type: ignore[operator]
        if now >= horizon_s:
            return times
        times.append(now)
        if len(times) > MAX_ARRIVALS:
            raise ConfigError(
                f"scenario: more than {MAX_ARRIVALS} arrivals in {horizon_s:g} s; "
                "lower scenario.request_rate or the window"
            )


def _check_rate(rate_rps: float) -> None:
    if not (isinstance(rate_rps, int | float) and math.isfinite(rate_rps) and rate_rps > 0):
        raise ValueError(f"rate_rps must be a positive number, got {rate_rps!r}")


def read_trace(path: Path) -> list[float]:
    """Arrival timestamps (s) from a trace file.

    Formats: one number per line (`#` comments and blank lines skipped; in a CSV line the first
    field), or JSON Lines with a `timestamp_s` (or `timestamp`) number per object.

    Raises:
        ConfigError: the file is missing, unreadable, or a line is not a finite number; the
            message names the file and line.
    """
    field = "scenario.trace_file"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{field}: file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{field}: cannot read {str(path)!r} ({error})") from None
    times: list[float] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        value: object
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise ConfigError(f"{path}:{number}: not valid JSON") from None
            value = row.get("timestamp_s", row.get("timestamp")) if isinstance(row, dict) else None
        else:
            value = line.split(",", 1)[0].strip()
        try:
            time_s = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            if number == 1 and not line.startswith("{"):
                continue  # a CSV header
            raise ConfigError(
                f"{path}:{number}: expected a timestamp in seconds, got {raw.strip()[:40]!r}"
            ) from None
        if not math.isfinite(time_s):
            raise ConfigError(f"{path}:{number}: expected a finite timestamp, got {time_s!r}")
        times.append(time_s)
    if not times:
        raise ConfigError(f"{field}: {str(path)!r} holds no timestamps")
    return times


def arrival_times(
    kind: str,
    *,
    horizon_s: float,
    seed: int,
    rate_rps: float | None = None,
    cv: float | None = None,
    trace_s: Sequence[float] | None = None,
    speedup: float = 1.0,
) -> list[float]:
    """Arrival times (s) in `[0, horizon_s)` of the configured process (see the module doc)."""
    if kind == "poisson":
        return poisson_arrivals(float(rate_rps or 0), horizon_s, seed)
    if kind == "gamma":
        return gamma_arrivals(float(rate_rps or 0), float(cv or 0), horizon_s, seed)
    if kind == "trace":
        return trace_arrivals(list(trace_s or []), horizon_s, speedup)
    raise ValueError(f"unknown arrival kind {kind!r} (expected one of {', '.join(ARRIVAL_KINDS)})")


def gaps(times: Sequence[float]) -> list[float]:
    """Inter-arrival times (s) of sorted arrival times, the first measured from 0."""
    previous = 0.0
    out = []
    for time_s in times:
        out.append(time_s - previous)
        previous = time_s
    return out
