"""Pooling the measured records of one row: sums, weighted means, throughput, derived metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from leaderboard_site.columns import DERIVED_KEYS
from leaderboard_site.site_data import CalibrationInfo
from runner.hardware.derived import DerivedSettings, derive
from runner.records.performance import PerformanceRecord
from runner.records.serving import ServingRecord
from runner.records.steady import SteadyRecord


def _weighted_mean(pairs: Sequence[tuple[float, int]]) -> float | None:
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    return sum(value * n for value, n in pairs) / total


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    collected = list(values)
    if not collected or any(value is None for value in collected):
        return None
    return float(sum(collected))  # type: ignore[arg-type]


def _ratio(numerator: float | None, denominator: float) -> float | None:
    if numerator is None or denominator <= 0:
        return None
    return numerator / denominator


def stored_throughput(records: Sequence[PerformanceRecord]) -> float | None:
    """The stored throughput of a row (tokens/s): the record's own `summary.throughput_tok_s`.

    Several records: the mean of their stored throughputs weighted by measured time (which is
    total tokens / total time when each record agrees with itself). None without measured time.
    """
    timed = [
        r
        for r in records
        if r.summary.measured_time_s > 0 and r.summary.throughput_tok_s is not None
    ]
    if not timed:
        return None
    if len(timed) == 1:
        return timed[0].summary.throughput_tok_s
    total = sum(r.summary.measured_time_s for r in timed)
    return sum(r.summary.throughput_tok_s * r.summary.measured_time_s for r in timed) / total  # type: ignore[operator]


def pool_records(records: Sequence[PerformanceRecord]) -> dict[str, Any]:
    """Pooled metric values of records sharing one row key (units as in the column table).

    Energy is pooled only when every record measured it; otherwise it is None. Throughput is the
    stored figure (`stored_throughput`), not recomputed.
    """
    requests = sum(r.summary.requests for r in records)
    tokens = sum(r.summary.output_tokens for r in records)
    time_s = sum(r.summary.measured_time_s for r in records)
    energy_j = _sum_or_none(r.summary.energy_j for r in records)
    above = _sum_or_none(
        None
        if r.summary.energy_above_idle_per_response_j is None
        else r.summary.energy_above_idle_per_response_j * r.summary.requests
        for r in records
    )
    idle = [r.energy.idle_power_w for r in records if r.energy.idle_power_w is not None]
    memory = [r.summary.peak_memory_bytes for r in records if r.summary.peak_memory_bytes]
    tpots = [
        (r.measurements.tpot_s.mean, r.measurements.tpot_s.n)
        for r in records
        if r.measurements.tpot_s is not None
    ]

    def stat_mean(name: str) -> float | None:
        return _weighted_mean(
            [(getattr(r.measurements, name).mean, getattr(r.measurements, name).n) for r in records]
        )

    return {
        "requests": requests,
        "output_tokens": tokens,
        "measured_time_s": time_s,
        "energy_j": energy_j,
        "energy_per_response_j": _ratio(energy_j, requests),
        "energy_per_token_j": _ratio(energy_j, tokens),
        "energy_above_idle_per_response_j": _ratio(above, requests),
        "avg_power_w": _ratio(energy_j, time_s),
        "idle_power_w": sum(idle) / len(idle) if idle else None,
        "latency_s": stat_mean("latency_s"),
        "ttft_s": stat_mean("ttft_s"),
        "tpot_s": _weighted_mean(tpots),
        "throughput_tok_s": stored_throughput(records),
        "response_tokens": stat_mean("response_tokens"),
        "peak_memory_gb": max(memory) / 1e9 if memory else None,
        "runs": len(records),
    }


def pooled_inputs(
    records: Sequence[PerformanceRecord], pooled: dict[str, Any]
) -> PerformanceRecord:
    """The record `runner.hardware.derived.derive` should see for a pooled row.

    One record: itself. Several: a copy of the newest with the inputs derive() reads replaced by
    the pooled figures (summary totals, request-weighted means of prompt tokens, response tokens
    and time per output token), so a pooled row is derived by exactly the same formulas.
    """
    newest = records[-1]
    if len(records) == 1:
        return newest
    summary = newest.summary.model_copy(
        update={
            key: pooled[key]
            for key in (
                "requests",
                "output_tokens",
                "measured_time_s",
                "energy_j",
                "energy_per_response_j",
                "energy_per_token_j",
            )
        }
        | {"throughput_tok_s": pooled["throughput_tok_s"]}
    )
    measurements = newest.measurements

    def with_mean(stat: Any, mean: float | None) -> Any:
        return None if stat is None or mean is None else stat.model_copy(update={"mean": mean})

    prompt_mean = _weighted_mean(
        [(r.measurements.prompt_tokens.mean, r.measurements.prompt_tokens.n) for r in records]
    )
    measurements = measurements.model_copy(
        update={
            "prompt_tokens": with_mean(measurements.prompt_tokens, prompt_mean),
            "response_tokens": with_mean(measurements.response_tokens, pooled["response_tokens"]),
            "tpot_s": with_mean(
                measurements.tpot_s
                or next((r.measurements.tpot_s for r in records if r.measurements.tpot_s), None),
                pooled["tpot_s"],
            ),
        }
    )
    return newest.model_copy(update={"summary": summary, "measurements": measurements})


def derived_values(
    records: Sequence[PerformanceRecord],
    pooled: dict[str, Any],
    calibrations: dict[str, CalibrationInfo],
    settings: DerivedSettings,
) -> dict[str, Any]:
    """The hardware-aware values of one row (keys of `columns.DERIVED_KEYS` plus context).

    Judged against the calibration the newest record links to. Scaled for display: FLOPs per
    token in GFLOP, achieved bandwidth in GB/s, achieved compute in GFLOP/s (the unscaled
    `flops_per_token` and `achieved_flop_s` are kept for the roofline). None stays None.
    """
    newest = records[-1]
    linked = newest.calibration_id
    info = calibrations.get(linked) if linked else None
    metrics = derive(
        pooled_inputs(records, pooled), info.record if info else None, settings
    ).as_row()
    notes = list(metrics["notes"])
    if linked and info is None:
        notes = [n for n in notes if n != "no calibration linked to this record"]
        notes.append(f"calibration {linked} is not in the results (the record links it)")
    others = sorted({r.calibration_id or "none" for r in records[:-1]} - {linked or "none"})
    if others:
        notes.append(
            f"judged against {linked or 'no calibration'} (the newest record's); "
            f"older records of this row link {', '.join(others)}"
        )

    def scaled(value: float | None, factor: float) -> float | None:
        return None if value is None else value / factor

    values = {key: metrics.get(key) for key in DERIVED_KEYS}
    values.update(
        gflops_per_token=scaled(metrics["flops_per_token"], 1e9),
        achieved_bandwidth_gb_s=scaled(metrics["achieved_bandwidth_bytes_s"], 1e9),
        achieved_gflop_s=scaled(metrics["achieved_flop_s"], 1e9),
        flops_per_token=metrics["flops_per_token"],
        achieved_flop_s=metrics["achieved_flop_s"],
        calibration_id=metrics["calibration_id"],
        linked_calibration_id=linked,
        derived_notes="; ".join(notes) or None,
    )
    return values


def energy_source(records: Sequence[PerformanceRecord]) -> tuple[str, str | None]:
    sources = sorted({r.energy.source for r in records})
    reasons = sorted({r.energy.reason for r in records if r.energy.reason})
    return "+".join(sources), ("; ".join(reasons) or None)


def hardware_label(
    records: Sequence[PerformanceRecord | SteadyRecord | ServingRecord], slug: str
) -> str:
    """How people name the hardware of `records`: the GPU's name, or for a CPU machine the
    CPU's ("AMD EPYC 7B13 (CPU)"); the slug where the records name none or disagree."""
    names = sorted({r.provenance.gpu_name for r in records if r.provenance.gpu_name})
    if len(names) == 1:
        return names[0]
    if names:
        return slug
    cpus = sorted({(r.provenance.cpu or "").strip() for r in records} - {""})
    if len(cpus) == 1:
        return cpus[0] if "cpu" in cpus[0].casefold() else f"{cpus[0]} (CPU)"
    return slug
