"""Steady records as board rows: the reference's steady-state figures, headlined on the boards.

A steady record (`runner.records.steady`, `leaderboard run scenario=steady`) measures what the
reference leaderboard (ML.ENERGY v3) measures: one energy window over the steady state of a
continuous-batching engine at batch cap B. Its rows sit on the same boards as the static-batch
rows, in the same shape (`leaderboard_site.aggregate`), with a `method` saying which is which:
`steady state (continuous batching)` here, `HF static batches` for the performance records (a
reference for kernels and the roofline, not the serving figure).

One row is one (task, hardware, model, configuration) with `batching` continuous; records of the
same key pool: energy, tokens, completions and time are summed over their windows (energy per
token = total energy / total window tokens; energy per response = that x the mean output length
of their requests, request-weighted; throughput and average power over the total window time);
latency figures are means weighted by their `n`; an ITL percentile of several records is the
mean of their percentiles weighted by their gap counts (a percentile of the pooled gaps would
need every gap; the column says so). Accuracy joins as for every measured row (same model id and
revision). Hardware-aware metrics (x floor, achieved bandwidth) are for static batches only; the
energy-derived ones (tokens per joule, carbon, cost) come from the pooled figures with the same
settings and formulas as `runner.hardware.derived`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from leaderboard_site.columns import DERIVED_KEYS, REFERENCE_SHOTS, Column
from leaderboard_site.configurations import (
    configuration_fields,
    configuration_id,
    device_noun,
    per_device_values,
)
from leaderboard_site.model_pages import measured_model_facts, record_file
from leaderboard_site.pooling import hardware_label
from leaderboard_site.site_data import (
    MEASURED,
    LoadedRecord,
    ModelSummary,
    Row,
    board_slug,
    measured_row_cells,
    site_data_path,
    slugify,
)
from leaderboard_site.spread import PERCENTILES, SPREAD_STATS
from runner.accuracy.join import best_accuracy_by_task, scores_of
from runner.hardware.derived import DerivedSettings, configuration_devices, energy_metrics
from runner.records.accuracy import AccuracyRecord
from runner.records.configuration import configuration_key
from runner.records.steady import SteadyRecord

STEADY_METHOD = "steady state (continuous batching)"
STATIC_METHOD = "HF static batches"
# Boards list steady rows first: the headline; static rows follow as the kernels' reference.
METHOD_RANK = {STEADY_METHOD: 0, STATIC_METHOD: 1}
STEADY_DERIVED_NOTE = (
    "steady-state row: the hardware-aware metrics (x floor, bandwidth and FLOP shares, the "
    "roofline) are derived for HF static batches only"
)
ITL_KEYS = ("itl_median_s", "itl_p90_s", "itl_p95_s", "itl_p99_s")

# The column the steady rows bring to every board (the batch cap, mean running batch and ITL
# columns are among every board's columns already).
METHOD_COLUMN = Column(
    "method",
    "Method",
    "",
    "none",
    "basic",
    "text",
    description=f"{STEADY_METHOD}: the reference leaderboard's steady-state window on "
    f"transformers' continuous batching (the headline); {STATIC_METHOD}: batches that start "
    "together, a reference for kernels and the roofline, not the serving figure",
)


def with_steady_columns(columns: Sequence[Column]) -> list[Column]:
    """`columns` with the method column after the model's (unless it is there already)."""
    if any(column.key == METHOD_COLUMN.key for column in columns):
        return list(columns)
    at = next((i + 1 for i, c in enumerate(columns) if c.key == "model"), 0)
    return [*columns[:at], METHOD_COLUMN, *columns[at:]]


def steady_items(items: Sequence[LoadedRecord]) -> list[LoadedRecord]:
    """The steady records among `items`, in path order."""
    return sorted((i for i in items if isinstance(i.record, SteadyRecord)), key=lambda i: i.relpath)


def _weighted(pairs: Sequence[tuple[float | None, int]]) -> float | None:
    known = [(value, n) for value, n in pairs if value is not None and n > 0]
    total = sum(n for _, n in known)
    return sum(value * n for value, n in known) / total if total else None  # type: ignore[operator]


def _stat_mean(records: Sequence[SteadyRecord], name: str) -> float | None:
    return _weighted(
        [
            (stat.mean, stat.n)
            for stat in (getattr(r.measurements, name) for r in records)
            if stat is not None
        ]
    )


def pool_steady(records: Sequence[SteadyRecord]) -> dict[str, Any]:
    """The pooled figures of records sharing one row key (see the module docstring)."""
    tokens = sum(r.window.output_tokens for r in records)
    completed = sum(r.window.completed for r in records)
    time_s = sum(r.window.duration_s for r in records)
    energies = [r.summary.energy_j for r in records]
    energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]
    per_token = None if energy is None or tokens == 0 else energy / tokens
    output_mean = _weighted(
        [(r.measurements.output_tokens.mean, r.measurements.output_tokens.n) for r in records]
    )
    idle = [r.energy.idle_power_w for r in records if r.energy.idle_power_w is not None]
    above = [r.summary.energy_above_idle_per_token_j for r in records]
    above_token = (
        None
        if any(a is None for a in above) or tokens == 0
        else sum(a * r.window.output_tokens for a, r in zip(above, records, strict=True)) / tokens  # type: ignore[operator]
    )
    memory = [r.summary.peak_memory_bytes for r in records if r.summary.peak_memory_bytes]
    gaps = [r.measurements.itl_s.n if r.measurements.itl_s else 0 for r in records]
    pooled: dict[str, Any] = {
        "requests": completed,
        "output_tokens": tokens,
        "measured_time_s": time_s,
        "energy_j": energy,
        "energy_per_token_j": per_token,
        "energy_per_response_j": None
        if per_token is None or output_mean is None
        else per_token * output_mean,
        "energy_above_idle_per_response_j": None
        if above_token is None or output_mean is None
        else above_token * output_mean,
        "avg_power_w": None if energy is None or time_s <= 0 else energy / time_s,
        "idle_power_w": sum(idle) / len(idle) if idle else None,
        "latency_s": _stat_mean(records, "latency_s"),
        "ttft_s": _stat_mean(records, "ttft_s"),
        "tpot_s": _stat_mean(records, "tpot_s"),
        "throughput_tok_s": tokens / time_s if time_s > 0 else None,
        "response_tokens": output_mean,
        "peak_memory_gb": max(memory) / 1e9 if memory else None,
        "runs": len(records),
        "mean_running_batch": _weighted([(r.summary.mean_running_batch, 1) for r in records]),
    }
    for key in ITL_KEYS:
        pooled[key] = _weighted(
            [(getattr(r.summary, key), n) for r, n in zip(records, gaps, strict=True)]
        )
    return pooled


def energy_derived(pooled: dict[str, Any], newest: SteadyRecord, settings: DerivedSettings) -> Row:
    """The derived keys of a steady row: tokens per joule, carbon and cost from the pooled
    figures (as `runner.hardware.derived`); the hardware-aware ones None with the reason."""
    values: Row = dict.fromkeys(DERIVED_KEYS)
    devices = configuration_devices(newest)
    hour_usd = settings.hour_usd(newest.identity.hardware_slug, newest.provenance.device)
    values.update(
        energy_metrics(
            energy_j=pooled["energy_j"],
            output_tokens=pooled["output_tokens"] or 0,
            energy_per_response_j=pooled["energy_per_response_j"],
            energy_per_token_j=pooled["energy_per_token_j"],
            throughput_tok_s=pooled["throughput_tok_s"],
            hour_usd=hour_usd * devices,
            g_per_kwh=settings.grid_intensity_g_per_kwh,
        )
    )
    values.update(
        flops_per_token=None,
        achieved_flop_s=None,
        calibration_id=None,
        linked_calibration_id=None,
        derived_notes=STEADY_DERIVED_NOTE,
    )
    return values


def steady_rows(
    items: Sequence[LoadedRecord],
    eval_tasks: Sequence[str],
    average_over: Sequence[str],
    acc_records: Sequence[AccuracyRecord],
    settings: DerivedSettings,
    accuracy_reason: Any,
) -> list[Row]:
    """One row per (task, hardware, model, batch cap) of the steady records in `items`.

    Args:
        items: every loaded record (the steady ones are used).
        eval_tasks, average_over: the accuracy columns and those the average is over.
        acc_records: the accuracy records (joined by model id and revision).
        settings: the derived-metric settings (carbon, cost).
        accuracy_reason: `aggregate.accuracy_reason` (why a score is missing), passed in so
            this module does not import `aggregate`.
    """
    groups: dict[tuple[Any, ...], list[LoadedRecord]] = defaultdict(list)
    for item in steady_items(items):
        record: SteadyRecord = item.record  # type: ignore[assignment]
        ident = record.identity
        key = (
            ident.task,
            ident.hardware_slug,
            ident.model_name,
            ident.model_revision,
            configuration_key(ident.configuration),
        )
        groups[key].append(item)
    newest_revision = _newest_revisions(groups)
    rows: list[Row] = []
    for key in sorted(groups):
        task, hardware, model_name, revision, _ = key
        if newest_revision[model_name] != revision:
            continue  # as measured rows: only a model's newest revision is shown
        group = sorted(groups[key], key=lambda i: i.record.run_id)
        records: list[SteadyRecord] = [i.record for i in group]  # type: ignore[misc]
        newest = records[-1]
        ident = newest.identity
        chosen = best_accuracy_by_task(
            ident.model_id, ident.model_revision, list(acc_records), shots=REFERENCE_SHOTS
        )
        scores = scores_of(chosen, list(eval_tasks))
        sources = sorted({r.energy.source for r in records})
        reasons = sorted({r.summary.energy_reason for r in records if r.summary.energy_reason})
        configuration = ident.configuration
        row: Row = {
            "row_id": f"{task}|{hardware}|{model_name}|{configuration_id(configuration)}|steady",
            "task": task,
            "hardware": hardware,
            "hardware_label": hardware_label(records, hardware),
            "board_slug": board_slug(task, hardware),
            "model": newest.model.display_name,
            "model_name": model_name,
            "model_slug": slugify(model_name),
            "model_id": ident.model_id,
            "revision": ident.model_revision,
            "params_b": newest.model.params / 1e9,
            "batch_size": None,
            "backend": ident.engine,
            "dtype": newest.model.dtype,
            "energy_source": "+".join(sources),
            "energy_reason": "; ".join(reasons) or None,
            "random_weights": newest.model.random_weights,
            "trust_remote_code": newest.model.trust_remote_code,
            "run_ids": [r.run_id for r in records],
            "files": [site_data_path(i.relpath) for i in group],
            "ended_utc": max(r.provenance.ended_utc for r in records),
            "method": STEADY_METHOD,
            "method_rank": METHOD_RANK[STEADY_METHOD],
            **configuration_fields(configuration, device_noun(hardware)),
            "window_s": sum(r.window.duration_s for r in records),
            "window_relative_uncertainty": max(
                (r.window.relative_uncertainty for r in records if r.window.relative_uncertainty),
                default=None,
            ),
        }
        pooled = pool_steady(records)
        row.update(pooled)
        row.update(per_device_values(row))
        # No per-batch spread and no raw percentiles of latency: the window is one measurement.
        for spread_key in SPREAD_STATS:
            row[f"{spread_key}_sd"] = row[f"{spread_key}_n"] = None
        row.update(dict.fromkeys(PERCENTILES))
        row.update(energy_derived(pooled, newest, settings))
        reason = accuracy_reason(
            ident.model_id, ident.model_revision, model_name, scores, average_over, acc_records
        )
        row.update(measured_row_cells(eval_tasks, scores, average_over, reason))
        rows.append(row)
    return rows


def _newest_revisions(
    groups: dict[tuple[Any, ...], list[LoadedRecord]],
) -> dict[str, str]:
    newest: dict[str, tuple[str, str]] = {}
    for (_, _, model_name, revision, _), group in groups.items():
        for item in group:
            stamp = (item.record.provenance.ended_utc, revision)  # type: ignore[union-attr]
            if model_name not in newest or stamp > newest[model_name]:
                newest[model_name] = stamp
    return {name: revision for name, (_, revision) in newest.items()}


def label_static_rows(rows: Sequence[Row]) -> None:
    """Mark the measured static-batch rows (every row without a method) as HF static batches."""
    for row in rows:
        if row.get("source") == MEASURED and "method" not in row:
            row["method"] = STATIC_METHOD
            row["method_rank"] = METHOD_RANK[STATIC_METHOD]
            configuration = {"num_devices": 1, "batching": "static", "max_num_seqs": None}
            for key, value in configuration.items():
                row.setdefault(key, value)
            row.setdefault("mean_running_batch", None)
            for key in ITL_KEYS:
                row.setdefault(key, None)


def steady_model_summaries(
    items: Sequence[LoadedRecord], models: Sequence[ModelSummary], rows: Sequence[Row]
) -> list[ModelSummary]:
    """Model pages for models that have steady records only (the others already have one),
    so every row's model link leads somewhere: built from the newest steady record."""
    have = {model.model_name for model in models}
    by_model: dict[str, list[SteadyRecord]] = defaultdict(list)
    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in steady_items(items):
        record: SteadyRecord = item.record  # type: ignore[assignment]
        name = record.identity.model_name
        if name in have:
            continue
        by_model[name].append(record)
        files[name].append(record_file(item))
    out = []
    for name in sorted(by_model):
        newest = max(by_model[name], key=lambda r: (r.provenance.ended_utc, r.run_id))
        out.append(
            ModelSummary(
                model_name=name,
                slug=slugify(name),
                **measured_model_facts(newest),
                rows=sorted(
                    (r for r in rows if r["model_name"] == name),
                    key=lambda r: (r["task"], r["hardware"], r.get("max_num_seqs") or 0),
                ),
                performance_files=files[name],
                accuracy=[],
            )
        )
    return out
