"""Spread of a row's figures: pooled standard deviations and exact percentiles (pure functions).

A row pools every record of one (task, hardware, model, batch size, backend). Its spread is:

- **± stdev**: the sample standard deviation over every measured request (latency, TTFT, time
  per output token, response length) or every measured batch (energy per response and per
  token, throughput), pooled exactly from each record's (n, mean, stdev) when there are several;
- **percentiles** (p50, p90, p99 of latency and TTFT): over the union of every measured request
  of the row, read from the records' raw per-request data (`<run_id>.requests.jsonl`), with the
  same linear interpolation the runner uses (numpy's default). Percentiles cannot be pooled from
  per-record percentiles, so a row pooling several records without their raw data has none
  (None, "not available"); a single record's own stored percentile is its exact value.

Published rows get none of this: their sources publish no spread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# Row metric key -> (the Stat in `measurements`, the raw per-request field or None, what n counts).
SPREAD_STATS: dict[str, tuple[str, str | None, str]] = {
    "latency_s": ("latency_s", "latency_s", "requests"),
    "ttft_s": ("ttft_s", "ttft_s", "requests"),
    "tpot_s": ("tpot_s", "tpot_s", "requests"),
    "response_tokens": ("response_tokens", "response_tokens", "requests"),
    "energy_per_response_j": ("energy_per_response_j", None, "batches"),
    "energy_per_token_j": ("energy_per_token_j", None, "batches"),
    "throughput_tok_s": ("throughput_tok_s", None, "batches"),
}
# Percentile columns: row key -> (raw per-request field, Stat field of a single record, q).
PERCENTILES: dict[str, tuple[str, str, float]] = {
    "latency_p50_s": ("latency_s", "median", 50.0),
    "latency_p90_s": ("latency_s", "p90", 90.0),
    "latency_p99_s": ("latency_s", "p99", 99.0),
    "ttft_p50_s": ("ttft_s", "median", 50.0),
    "ttft_p90_s": ("ttft_s", "p90", 90.0),
    "ttft_p99_s": ("ttft_s", "p99", 99.0),
}
# The raw per-request fields the site reads (everything else in the file is left unread).
RAW_FIELDS = ("latency_s", "ttft_s", "tpot_s", "response_tokens", "energy_share_j", "batch_index")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of sorted values; q in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    position = (len(sorted_values) - 1) * q / 100.0
    lower, upper = math.floor(position), math.ceil(position)
    low = sorted_values[lower]
    return low + (sorted_values[upper] - low) * (position - lower)


def pooled_stdev(groups: Sequence[tuple[int, float, float]]) -> tuple[int, float | None]:
    """(n, sample stdev) of the union of groups given as (n, mean, sample stdev).

    Exact: the within-group sums of squares plus the between-group ones. One observation in
    all: stdev None (a spread of one value is not 0, it is unknown).
    """
    n = sum(count for count, _, _ in groups)
    if n < 2:
        return n, None
    mean = sum(count * m for count, m, _ in groups) / n
    squares = sum((count - 1) * sd * sd + count * (m - mean) ** 2 for count, m, sd in groups)
    return n, math.sqrt(max(squares, 0.0) / (n - 1))


def _numbers(rows: Sequence[Mapping[str, Any]], field: str) -> list[float]:
    values = []
    for row in rows:
        value = row.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            values.append(float(value))
    return values


def row_spread(records: Sequence[Any], raw: Sequence[Sequence[Mapping[str, Any]] | None]) -> dict:
    """`<key>_sd` and `<key>_n` for every key of `SPREAD_STATS`, and the percentile columns.

    Args:
        records: the row's performance records.
        raw: per record, its raw per-request rows, or None where they were not read.
    """
    out: dict[str, Any] = {}
    for key, (stat_name, _, _) in SPREAD_STATS.items():
        stats = [getattr(r.measurements, stat_name) for r in records]
        if any(s is None for s in stats):
            out[f"{key}_n"], out[f"{key}_sd"] = None, None
            continue
        n, sd = pooled_stdev([(s.n, s.mean, s.stdev) for s in stats])
        out[f"{key}_n"], out[f"{key}_sd"] = n, sd
    have_raw = bool(records) and all(rows is not None for rows in raw)
    for key, (field, stat_field, q) in PERCENTILES.items():
        value = None
        if have_raw:
            values = sorted(v for rows in raw for v in _numbers(rows or (), field))
            value = percentile(values, q) if values else None
        elif len(records) == 1:
            value = getattr(getattr(records[0].measurements, field), stat_field)
        out[key] = value
    return out


def energy_samples(raw: Sequence[Mapping[str, Any]] | None) -> list[float]:
    """The energy attributed to each response of a record (J), from its raw per-request rows.

    This is the batch's energy split evenly over its responses (the methodology's attribution):
    every response of one batch has the same value. Empty without raw data or energy.
    """
    return _numbers(raw or (), "energy_share_j")
