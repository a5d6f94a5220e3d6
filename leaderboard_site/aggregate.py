"""Pure aggregation: validated records in, JSON-ready rows, boards, models and Pareto marks out.

Nothing here writes files; the only file read is the derived-metric settings
(conf/derived/default.yaml) when `aggregate` is not given them. One row is one (task, hardware,
model, batch size, backend); where several records share that key they are pooled (sums of
energy, requests, tokens and time; request-weighted means of latency figures). Accuracy is joined
per `runner.accuracy.join`: same model id and same revision only; a missing score stays None
("not measured"), never 0. The hardware-aware metrics (× floor, tokens per joule, carbon, cost,
arithmetic intensity, achieved shares of the calibrated ceilings) are computed here by
`runner.hardware.derived.derive` from the pooled inputs and the calibration the row's newest
record links to: derived, never stored; None when an input is missing.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from leaderboard_site.columns import (
    DERIVED_KEYS,
    REFERENCE_EVAL_TASKS,
    REFERENCE_SHOTS,
    Column,
    accuracy_key,
    columns_for,
    ordered_eval_tasks,
)
from leaderboard_site.pareto import Direction, pareto_front
from runner.accuracy.join import accuracy_average, best_accuracy_by_task, scores_of
from runner.hardware.derived import DerivedSettings, derive, load_settings
from runner.records.accuracy import AccuracyRecord
from runner.records.calibration import CalibrationRecord
from runner.records.performance import PerformanceRecord

Row = dict[str, Any]

# The Pareto views of every board: (name, x key, x better, y key, y better, title).
PARETO_VIEWS: tuple[tuple[str, str, Direction, str, Direction, str], ...] = (
    ("energy_accuracy", "energy_per_response_j", "lower", "accuracy_avg", "higher",
     "Energy per response vs accuracy"),
    ("latency_accuracy", "latency_s", "lower", "accuracy_avg", "higher",
     "Latency vs accuracy"),
    ("energy_latency", "latency_s", "lower", "energy_per_response_j", "lower",
     "Energy per response vs latency"),
)  # fmt: skip

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LoadedRecord:
    """A validated record and its path relative to the results root (POSIX form)."""

    relpath: str
    record: PerformanceRecord | AccuracyRecord | CalibrationRecord


@dataclass(frozen=True)
class CalibrationInfo:
    """A calibration record as the site shows it (units in the names).

    Attributes:
        run_id: the calibration's run id (what performance records link as `calibration_id`).
        hardware: its hardware slug.
        device / device_name: 'cuda' or 'cpu', and the GPU or CPU model name.
        dtype: dtype of the matmul ceiling.
        measured_utc: when the calibration ended (UTC).
        bandwidth_gb_s: measured copy bandwidth, 1e9 bytes/s.
        matmul_tflop_s: measured dense-matmul throughput, 1e12 FLOP/s.
        idle_power_w: idle power, None when not measured.
        file: the record's URL relative to the site root.
        record: the record itself (the roofline draws its ceilings).
    """

    run_id: str
    hardware: str
    device: str
    device_name: str
    dtype: str
    measured_utc: str
    bandwidth_gb_s: float
    matmul_tflop_s: float
    idle_power_w: float | None
    file: str
    record: CalibrationRecord


def calibration_info(item: LoadedRecord) -> CalibrationInfo:
    """The site's view of one loaded calibration record."""
    record: CalibrationRecord = item.record  # type: ignore[assignment]
    return CalibrationInfo(
        run_id=record.run_id,
        hardware=record.hardware_slug,
        device=record.device,
        device_name=record.device_name,
        dtype=record.dtype,
        measured_utc=record.provenance.ended_utc,
        bandwidth_gb_s=record.memory_bandwidth.bytes_s / 1e9,
        matmul_tflop_s=record.matmul.flop_s / 1e12,
        idle_power_w=record.idle_power.power_w,
        file=site_data_path(item.relpath),
        record=record,
    )


@dataclass
class Board:
    """One leaderboard view: a task on a piece of hardware."""

    task: str
    hardware: str
    hardware_label: str
    slug: str
    rows: list[Row]
    fronts: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ModelSummary:
    """Everything the model page shows about one model (config name)."""

    model_name: str
    slug: str
    display_name: str
    model_id: str
    revision: str
    params: int
    dtype: str
    license: str
    url: str
    trust_remote_code: bool
    random_weights: bool
    base_model: str | None
    config: dict[str, Any]
    provenance: dict[str, Any]
    rows: list[Row]
    performance_files: list[dict[str, Any]]
    accuracy: list[dict[str, Any]]


@dataclass
class SiteData:
    """The aggregated site: rows, boards, models, columns and the build's warnings."""

    rows: list[Row]
    boards: list[Board]
    models: list[ModelSummary]
    columns: list[Column]
    eval_tasks: list[str]
    tasks: list[str]
    hardware: list[tuple[str, str]]
    last_updated_utc: str | None
    performance_count: int
    accuracy_count: int
    warnings: list[str]
    notes: list[str]
    calibrations: dict[str, CalibrationInfo] = field(default_factory=dict)
    settings: DerivedSettings | None = None


def slugify(text: str) -> str:
    """A file-name-safe slug (letters, digits, '.', '_', '-'); never empty, never '.' or '..'.

    A name that is already safe is its own slug. Any other name gets a short hash of itself
    appended, so two different names never share a page (`a b` and `a-b` would otherwise).
    """
    slug = _SLUG_UNSAFE.sub("-", text).strip("-.") or "x"
    if slug != text:
        slug = f"{slug[:80]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"
    return slug


def board_slug(task: str, hardware: str) -> str:
    """The file stem of a board page."""
    return f"{slugify(task)}--{slugify(hardware)}"


def site_data_path(relpath: str) -> str:
    """Where a raw record file is copied inside the site (relative URL from the site root)."""
    return str(PurePosixPath("data") / "records" / relpath)


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


def pool_records(records: Sequence[PerformanceRecord]) -> dict[str, Any]:
    """Pooled metric values of records sharing one row key (units as in the column table).

    Energy is pooled only when every record measured it; otherwise it is None.
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
        "latency_p90_s": _weighted_mean(
            [(r.measurements.latency_s.p90, r.measurements.latency_s.n) for r in records]
        ),
        "ttft_s": stat_mean("ttft_s"),
        "tpot_s": _weighted_mean(tpots),
        "throughput_tok_s": tokens / time_s if time_s > 0 else None,
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


def _energy_source(records: Sequence[PerformanceRecord]) -> tuple[str, str | None]:
    sources = sorted({r.energy.source for r in records})
    reasons = sorted({r.energy.reason for r in records if r.energy.reason})
    return "+".join(sources), ("; ".join(reasons) or None)


def _hardware_label(records: Sequence[PerformanceRecord], slug: str) -> str:
    names = sorted({r.provenance.gpu_name for r in records if r.provenance.gpu_name})
    return names[0] if len(names) == 1 else slug


def select_revisions(
    perf: Sequence[LoadedRecord],
) -> tuple[list[LoadedRecord], list[str]]:
    """Keep, per model name, only the records of its newest revision (by newest end time).

    Returns the kept records and one warning per model whose older revisions were left out.
    """
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    kept: list[LoadedRecord] = []
    warnings: list[str] = []
    for name in sorted(by_model):
        items = by_model[name]
        newest = max(items, key=lambda i: (i.record.provenance.ended_utc, i.record.run_id))
        revision = newest.record.identity.model_revision  # type: ignore[union-attr]
        keep = [i for i in items if i.record.identity.model_revision == revision]  # type: ignore[union-attr]
        dropped = len(items) - len(keep)
        if dropped:
            warnings.append(
                f"model {name!r}: {dropped} record(s) of older revisions left out; "
                f"showing revision {revision!r}"
            )
        kept.extend(keep)
    return kept, warnings


def accuracy_entry(item: LoadedRecord, chosen: bool) -> dict[str, Any]:
    """An accuracy record as the model page shows it."""
    record: AccuracyRecord = item.record  # type: ignore[assignment]
    loyalty = record.loyalty.model_dump(mode="json") if record.loyalty else None
    return {
        "run_id": record.run_id,
        "eval_task": record.identity.eval_task,
        "num_fewshot": record.identity.num_fewshot,
        "limit": record.identity.limit,
        "revision": record.identity.model_revision,
        "metric": record.metric,
        "score": record.score,
        "stderr": record.stderr,
        "samples": record.samples,
        "random_weights": record.random_weights,
        "lm_eval_version": record.lm_eval_version,
        "cost_energy_j": record.cost.energy_j,
        "cost_energy_source": record.cost.energy_source,
        "cost_duration_s": record.cost.duration_s,
        "cost_hardware": record.cost.hardware_slug,
        "loyalty": loyalty,
        "chosen": chosen,
        "file": site_data_path(item.relpath),
        "raw_file": site_data_path(str(PurePosixPath(item.relpath).parent / record.raw_data.file)),
    }


def mark_fronts(rows: list[Row]) -> dict[str, list[str]]:
    """Per Pareto view, the row ids on the front; sets `front_<view>` on every row."""
    fronts: dict[str, list[str]] = {}
    for name, x_key, x_better, y_key, y_better, _ in PARETO_VIEWS:
        front = pareto_front(
            ((row["row_id"], row.get(x_key), row.get(y_key)) for row in rows), x_better, y_better
        )
        for row in rows:
            row[f"front_{name}"] = row["row_id"] in front
        fronts[name] = sorted(str(key) for key in front)
    return fronts


def aggregate(
    items: Sequence[LoadedRecord],
    warnings: Sequence[str] = (),
    settings: DerivedSettings | None = None,
) -> SiteData:
    """Rows, boards and model summaries from validated records.

    Args:
        items: every valid record (performance, accuracy, calibration) with its path under the
            results root.
        warnings: warnings found while loading (carried into the result).
        settings: carbon/cost settings of the derived metrics; default: read
            conf/derived/default.yaml (`runner.hardware.derived.load_settings`).
    """
    settings = settings or load_settings()
    calibrations = {
        i.record.run_id: calibration_info(i)
        for i in sorted(items, key=lambda i: i.relpath)
        if isinstance(i.record, CalibrationRecord)
    }
    perf_all = [i for i in items if isinstance(i.record, PerformanceRecord)]
    acc_items = [i for i in items if isinstance(i.record, AccuracyRecord)]
    acc_records: list[AccuracyRecord] = [i.record for i in acc_items]  # type: ignore[misc]
    perf, revision_warnings = select_revisions(perf_all)
    all_warnings = [*warnings, *revision_warnings]
    notes: list[str] = []

    found_eval = {r.identity.eval_task for r in acc_records}
    eval_tasks = ordered_eval_tasks(found_eval)
    reference = [t for t in eval_tasks if t in REFERENCE_EVAL_TASKS]
    average_over = reference or eval_tasks
    columns = columns_for(eval_tasks)

    groups: dict[tuple[str, str, str, int, str], list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        ident = item.record.identity  # type: ignore[union-attr]
        key = (ident.task, ident.hardware_slug, ident.model_name, ident.batch_size, ident.backend)
        groups[key].append(item)

    accuracy_cache: dict[tuple[str, str], dict[str, AccuracyRecord]] = {}
    rows: list[Row] = []
    for key in sorted(groups):
        task, hardware, model_name, batch_size, backend = key
        group = sorted(groups[key], key=lambda i: i.record.run_id)
        records: list[PerformanceRecord] = [i.record for i in group]  # type: ignore[misc]
        newest = records[-1]
        ident = newest.identity
        cache_key = (ident.model_id, ident.model_revision)
        if cache_key not in accuracy_cache:
            accuracy_cache[cache_key] = best_accuracy_by_task(
                ident.model_id, ident.model_revision, acc_records, shots=REFERENCE_SHOTS
            )
        chosen = accuracy_cache[cache_key]
        scores = scores_of(chosen, eval_tasks)
        source, reason = _energy_source(records)
        row: Row = {
            "row_id": f"{task}|{hardware}|{model_name}|bs{batch_size}|{backend}",
            "task": task,
            "hardware": hardware,
            "hardware_label": _hardware_label(records, hardware),
            "board_slug": board_slug(task, hardware),
            "model": newest.model.display_name,
            "model_name": model_name,
            "model_slug": slugify(model_name),
            "model_id": ident.model_id,
            "revision": ident.model_revision,
            "params_b": newest.model.params / 1e9,
            "batch_size": batch_size,
            "backend": backend,
            "dtype": newest.model.dtype,
            "energy_source": source,
            "energy_reason": reason,
            "random_weights": newest.model.random_weights,
            "trust_remote_code": newest.model.trust_remote_code,
            "run_ids": [r.run_id for r in records],
            "files": [site_data_path(i.relpath) for i in group],
            "ended_utc": max(r.provenance.ended_utc for r in records),
        }
        pooled = pool_records(records)
        row.update(pooled)
        row.update(derived_values(records, pooled, calibrations, settings))
        for eval_task in eval_tasks:
            row[accuracy_key(eval_task)] = scores[eval_task]
        row["accuracy_avg"] = accuracy_average({t: scores[t] for t in average_over})
        rows.append(row)

    boards: list[Board] = []
    by_board: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_board[(row["task"], row["hardware"])].append(row)
    for (task, hardware), board_rows in sorted(by_board.items()):
        labels = {row["hardware_label"] for row in board_rows}
        label = labels.pop() if len(labels) == 1 else hardware
        board = Board(task, hardware, label, board_slug(task, hardware), board_rows)
        board.fronts = mark_fronts(board_rows)
        boards.append(board)

    models = _model_summaries(perf, acc_items, rows)
    perf_models = {(m.model_id, m.revision) for m in models}
    for item in acc_items:
        ident = item.record.identity  # type: ignore[union-attr]
        if (ident.model_id, ident.model_revision) not in perf_models:
            notes.append(
                f"{item.relpath}: accuracy of {ident.model_id}@{ident.model_revision} "
                "has no performance row of the same revision (not joined)"
            )

    tasks = sorted({row["task"] for row in rows})
    hardware_labels = {board.hardware: board.hardware_label for board in boards}
    hardware = sorted(hardware_labels.items())
    ends = [i.record.provenance.ended_utc for i in items]
    return SiteData(
        rows=rows,
        boards=boards,
        models=models,
        columns=columns,
        eval_tasks=eval_tasks,
        tasks=tasks,
        hardware=hardware,
        last_updated_utc=max(ends) if ends else None,
        performance_count=len(perf_all),
        accuracy_count=len(acc_items),
        warnings=all_warnings,
        notes=notes,
        calibrations=calibrations,
        settings=settings,
    )


def _model_summaries(
    perf: Sequence[LoadedRecord], acc_items: Sequence[LoadedRecord], rows: Sequence[Row]
) -> list[ModelSummary]:
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    rows_by_model: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        rows_by_model[row["model_name"]].append(row)
    acc_by_model: dict[tuple[str, str], list[LoadedRecord]] = defaultdict(list)
    for item in acc_items:
        ident = item.record.identity  # type: ignore[union-attr]
        acc_by_model[(ident.model_id, ident.model_revision)].append(item)
    models: list[ModelSummary] = []
    for name in sorted(by_model):
        items = sorted(by_model[name], key=lambda i: i.record.run_id)
        newest: PerformanceRecord = items[-1].record  # type: ignore[assignment]
        ident = newest.identity
        accuracy_items = acc_by_model.get((ident.model_id, ident.model_revision), [])
        chosen = best_accuracy_by_task(
            ident.model_id,
            ident.model_revision,
            [i.record for i in accuracy_items],  # type: ignore[misc]
            shots=REFERENCE_SHOTS,
        )
        chosen_ids = {record.run_id for record in chosen.values()}
        accuracy = [
            accuracy_entry(i, i.record.run_id in chosen_ids)
            for i in sorted(
                accuracy_items,
                key=lambda i: (i.record.identity.eval_task, i.record.run_id),  # type: ignore[union-attr]
            )
        ]
        files = [
            {
                "run_id": i.record.run_id,
                "task": i.record.identity.task,  # type: ignore[union-attr]
                "hardware": i.record.identity.hardware_slug,  # type: ignore[union-attr]
                "batch_size": i.record.identity.batch_size,  # type: ignore[union-attr]
                "backend": i.record.identity.backend,  # type: ignore[union-attr]
                "energy_source": i.record.energy.source,  # type: ignore[union-attr]
                "file": site_data_path(i.relpath),
                "raw_file": site_data_path(
                    str(PurePosixPath(i.relpath).parent / i.record.raw_data.file)
                ),
            }
            for i in items
        ]
        models.append(
            ModelSummary(
                model_name=name,
                slug=slugify(name),
                display_name=newest.model.display_name,
                model_id=ident.model_id,
                revision=ident.model_revision,
                params=newest.model.params,
                dtype=newest.model.dtype,
                license=newest.model.license,
                url=newest.model.url,
                trust_remote_code=newest.model.trust_remote_code,
                random_weights=newest.model.random_weights,
                base_model=newest.model.base_model,
                config=newest.config,
                provenance=newest.provenance.model_dump(mode="json"),
                rows=sorted(
                    rows_by_model[name],
                    key=lambda r: (r["task"], r["hardware"], r["batch_size"], r["backend"]),
                ),
                performance_files=files,
                accuracy=accuracy,
            )
        )
    return models


TABLE_KEYS_EXTRA = (
    "row_id",
    "task",
    "hardware",
    "hardware_label",
    "model_name",
    "model_slug",
    "model_id",
    "revision",
    "dtype",
    "energy_reason",
    "random_weights",
    "trust_remote_code",
    "calibration_id",
    "derived_notes",
)


def table_records(rows: Sequence[Row], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """Flat JSON-ready rows for downloads (CSV/JSON): identity fields, then every column."""
    keys = [*TABLE_KEYS_EXTRA, *(c.key for c in columns if c.key not in TABLE_KEYS_EXTRA)]
    return [{key: row.get(key) for key in keys} for row in rows]
