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

Published records (`runner.records.published`) become rows of their own, never pooled with
measured ones: each holds exactly the figures its source published (every other column is None,
shown as "not published"), its accuracy comes only from its source, no hardware-aware metric is
derived from it, and it carries its source (`source`, `source_id`, `citation`, ...). A
published row is placed on the boards of the measured hardware its alias names
(`conf/hardware_aliases.yaml`, `boards`) when those have results, else on a board of its own.
Throughput is the stored figure (a row pooling several records: their time-weighted mean), never
recomputed from tokens and time.
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
from leaderboard_site.spread import PERCENTILES, SPREAD_STATS, energy_samples, row_spread
from leaderboard_site.style import model_styles
from runner.accuracy.join import accuracy_average, best_accuracy_by_task, scores_of
from runner.hardware.derived import DerivedSettings, derive, load_settings
from runner.ingest.aliases import HardwareAliases, load_aliases
from runner.records.accuracy import AccuracyRecord
from runner.records.calibration import CalibrationRecord
from runner.records.performance import PerformanceRecord
from runner.records.published import PublishedRecord

Row = dict[str, Any]

# The Pareto views of every board: (name, x key, x better, y key, y better, title).
PARETO_VIEWS: tuple[tuple[str, str, Direction, str, Direction, str], ...] = (
    ("energy_accuracy", "energy_per_response_j", "lower", "accuracy_avg", "higher",
     "Energy per response vs accuracy"),
    ("latency_accuracy", "latency_s", "lower", "accuracy_avg", "higher",
     "Latency vs accuracy"),
    ("energy_latency", "latency_s", "lower", "energy_per_response_j", "lower",
     "Energy per response vs latency"),
    ("throughput_latency", "latency_s", "lower", "throughput_tok_s", "higher",
     "Throughput vs latency"),
)  # fmt: skip
# The views that need energy (a board without energy says so once and shows the others).
ENERGY_VIEWS = frozenset(
    name for name, x, _, y, _, _ in PARETO_VIEWS if "energy" in x or "energy" in y
)

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MEASURED = "measured"
PUBLISHED = "published"
# Row keys that say where a row's figures come from (downloads and board pages carry them).
SOURCE_KEYS = ("source", "source_id", "citation", "source_url", "source_note")
PUBLISHED_DERIVED_NOTE = (
    "published result: hardware-aware metrics are derived from this project's measurements only"
)
# PublishedMetrics field -> row key (the same names).
PUBLISHED_METRIC_KEYS = (
    "throughput_tok_s",
    "response_tokens",
    "latency_s",
    "ttft_s",
    "tpot_s",
    "energy_per_response_j",
    "energy_per_token_j",
    "avg_power_w",
)


@dataclass(frozen=True)
class LoadedRecord:
    """A validated record and its path relative to the results root (POSIX form)."""

    relpath: str
    record: PerformanceRecord | AccuracyRecord | CalibrationRecord | PublishedRecord
    # A performance record's raw per-request rows (only `spread.RAW_FIELDS`), read by the build;
    # None where they were not read (then pooled percentiles and energy distributions are absent).
    requests: tuple[dict[str, Any], ...] | None = None


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
    fronts_measured: dict[str, list[str]] = field(default_factory=dict)
    published_labels: list[str] = field(default_factory=list)

    @property
    def published_count(self) -> int:
        """How many of the board's rows are published results."""
        return sum(1 for row in self.rows if row.get("source") == PUBLISHED)

    @property
    def measured_rows(self) -> list[Row]:
        """The board's rows measured by this project."""
        return [row for row in self.rows if row.get("source") != PUBLISHED]

    @property
    def has_energy(self) -> bool:
        """Whether any row of the board has an energy per response."""
        return any(_number(row.get("energy_per_response_j")) for row in self.rows)

    @property
    def energy_reasons(self) -> list[str]:
        """Why the board's measured rows have no energy (the records' own reasons), distinct."""
        reasons = {row["energy_reason"] for row in self.measured_rows if row.get("energy_reason")}
        return sorted(reasons)

    @property
    def energy_sources(self) -> list[str]:
        """The energy sources of the board's measured rows (e.g. 'unavailable', 'zeus-nvml')."""
        return sorted({row["energy_source"] for row in self.measured_rows if row["energy_source"]})

    @property
    def model_names(self) -> list[str]:
        """The distinct model names of the board, sorted."""
        return sorted({row["model_name"] for row in self.rows})

    @property
    def batch_sizes(self) -> list[int]:
        """The distinct batch sizes of the board, sorted."""
        return sorted({row["batch_size"] for row in self.rows if row.get("batch_size")})

    def busyness(self) -> tuple[int, int, int, str]:
        """Sort key, busiest first: most models, then most rows, then energy measured, then
        the slug (alphabetical)."""
        return (-len(self.model_names), -len(self.rows), -int(self.has_energy), self.slug)


@dataclass
class ModelSummary:
    """Everything the model page shows about one model (config name).

    A model with published results only has no revision, config or provenance of ours (None /
    empty): the page shows its sources instead.
    """

    model_name: str
    slug: str
    display_name: str
    model_id: str
    revision: str | None
    params: int | None
    dtype: str | None
    license: str | None
    url: str
    trust_remote_code: bool
    random_weights: bool
    base_model: str | None
    config: dict[str, Any]
    provenance: dict[str, Any]
    rows: list[Row]
    performance_files: list[dict[str, Any]]
    accuracy: list[dict[str, Any]]
    measured: bool = True
    published: list[dict[str, Any]] = field(default_factory=list)
    published_files: list[dict[str, Any]] = field(default_factory=list)
    # hardware label -> [{"label": "chat · bs 4 · eager", "values": [J per response, ...]}]
    energy_series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # [{"label", "t_s", "power_w"}] of the records that carry a power timeline (newest per row)
    timelines: list[dict[str, Any]] = field(default_factory=list)


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
    published_count: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)
    # model name -> {"color", "shape", "index"}: one look per model across every chart.
    styles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # task -> the slug of its busiest board (most models, then rows); "" -> the busiest of all.
    busiest: dict[str, str] = field(default_factory=dict)
    # task -> system prompt as the newest measured record of the task ran it.
    system_prompts: dict[str, str] = field(default_factory=dict)

    @property
    def random_weight_models(self) -> list[str]:
        """The model names whose rows say `random_weights` (accuracy means nothing)."""
        return sorted({row["model_name"] for row in self.rows if row.get("random_weights")})

    def board(self, slug: str) -> Board | None:
        """The board with this slug, or None."""
        return next((b for b in self.boards if b.slug == slug), None)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


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


def mark_fronts(rows: list[Row], flag: str = "front_") -> dict[str, list[str]]:
    """Per Pareto view, the row ids on the front; sets `<flag><view>` on every row."""
    fronts: dict[str, list[str]] = {}
    for name, x_key, x_better, y_key, y_better, _ in PARETO_VIEWS:
        front = pareto_front(
            ((row["row_id"], row.get(x_key), row.get(y_key)) for row in rows), x_better, y_better
        )
        for row in rows:
            row[f"{flag}{name}"] = row["row_id"] in front
        fronts[name] = sorted(str(key) for key in front)
    return fronts


def published_scores(record: PublishedRecord, eval_tasks: Sequence[str]) -> dict[str, float | None]:
    """A published record's scores by eval task (None where its source gives none).

    A reference task's score fills its column only at the reference shots (a 0-shot ARC is not
    the 25-shot ARC column); the model page lists every published score.
    """
    scores: dict[str, float | None] = dict.fromkeys(eval_tasks)
    for score in record.accuracy:
        wanted = REFERENCE_SHOTS.get(score.eval_task)
        if wanted is not None and score.num_fewshot != wanted:
            continue
        if score.eval_task in scores:
            scores[score.eval_task] = score.score
    return scores


def source_note(record: PublishedRecord, hardware_label: str) -> str:
    """The hover text of a published row: who published it, on what, and how."""
    source = record.source
    parts = [f"Published: {source.citation}"]
    if source.version:
        parts.append(f"version {source.version}")
    if source.date:
        parts.append(f"dated {source.date}")
    note = ", ".join(parts) + f" ({source.url})."
    note += f" Hardware as published: {record.identity.hardware_name} ({hardware_label})."
    return f"{note} Methodology: {source.methodology}"


def published_row(
    item: LoadedRecord,
    eval_tasks: Sequence[str],
    average_over: Sequence[str],
    labels: dict[str, str],
) -> Row:
    """The row of one published record: its published figures, every other value None."""
    record: PublishedRecord = item.record  # type: ignore[assignment]
    ident = record.identity
    label = labels.get(ident.hardware_slug, ident.hardware_name)
    batch = "na" if ident.batch_size is None else ident.batch_size
    row: Row = {
        "row_id": f"{ident.task}|{ident.hardware_slug}|{ident.model_name}|bs{batch}"
        f"|published:{record.source.source_id}:{record.run_id}",
        "task": ident.task,
        "hardware": ident.hardware_slug,
        "hardware_label": label,
        "board_slug": board_slug(ident.task, ident.hardware_slug),
        "model": record.model.display_name,
        "model_name": ident.model_name,
        "model_slug": slugify(ident.model_name),
        "model_id": ident.model_id,
        "revision": None,
        "params_b": record.model.params_b,
        "batch_size": ident.batch_size,
        "backend": None,
        "dtype": record.model.precision,
        "energy_source": None,
        "energy_reason": None,
        "random_weights": False,
        "trust_remote_code": False,
        "run_ids": [record.run_id],
        "files": [site_data_path(item.relpath)],
        "ended_utc": record.source.imported_utc,
        "requests": None,
        "output_tokens": None,
        "measured_time_s": None,
        "energy_j": None,
        "energy_above_idle_per_response_j": None,
        "idle_power_w": None,
        "latency_p90_s": None,
        "peak_memory_gb": None,
        "runs": None,
        "source": PUBLISHED,
        "source_id": record.source.source_id,
        "citation": record.source.citation,
        "source_url": record.source.url,
        "source_note": source_note(record, label),
    }
    for key in PUBLISHED_METRIC_KEYS:
        row[key] = getattr(record.metrics, key)
    row.update(dict.fromkeys(DERIVED_KEYS))
    row.update(
        gflops_per_token=None,
        achieved_bandwidth_gb_s=None,
        achieved_gflop_s=None,
        flops_per_token=None,
        achieved_flop_s=None,
        calibration_id=None,
        linked_calibration_id=None,
        derived_notes=PUBLISHED_DERIVED_NOTE,
    )
    # No spread and no percentile: the source publishes none (never invented).
    for key in SPREAD_STATS:
        row[f"{key}_sd"] = row[f"{key}_n"] = None
    row.update(dict.fromkeys(PERCENTILES))
    scores = published_scores(record, eval_tasks)
    for eval_task in eval_tasks:
        row[accuracy_key(eval_task)] = scores[eval_task]
    row["accuracy_avg"] = accuracy_average({t: scores[t] for t in average_over})
    missing = [t for t in average_over if scores[t] is None]
    row["accuracy_reason"] = (
        f"not published by {record.source.citation} ({', '.join(missing)})" if missing else None
    )
    return row


def accuracy_reason(
    model_id: str,
    revision: str,
    model_name: str,
    scores: dict[str, float | None],
    average_over: Sequence[str],
    records: Sequence[AccuracyRecord],
) -> str | None:
    """Why a measured row's accuracy (average, or some of its scores) is not measured; None if
    every score is there."""
    missing = [task for task, score in scores.items() if score is None]
    if not missing:
        return None
    mine = [r for r in records if r.identity.model_id == model_id]
    same = [r for r in mine if r.identity.model_revision == revision]
    if not same:
        reason = f"no accuracy record for {model_id} at revision {revision}"
        others = sorted({r.identity.model_revision for r in mine})
        if others:
            reason += (
                f"; the records of revision(s) {', '.join(others)} are not joined "
                "(a score of another revision is never shown)"
            )
        return reason + f". Measure it with `leaderboard eval model={model_name}`."
    shots = ", ".join(
        f"{t} ({REFERENCE_SHOTS[t]}-shot)" if t in REFERENCE_SHOTS else t for t in missing
    )
    reason = f"no record of {shots} for this revision"
    if any(t in average_over for t in missing):
        reason += "; the average needs every score"
    return reason + "."


def source_summaries(pub_items: Sequence[LoadedRecord]) -> list[dict[str, Any]]:
    """One entry per published source, for the methodology page and the model pages.

    `not_published` lists the figures none of the source's records holds.
    """
    by_source: dict[str, list[PublishedRecord]] = defaultdict(list)
    for item in pub_items:
        record: PublishedRecord = item.record  # type: ignore[assignment]
        by_source[record.source.source_id].append(record)
    out = []
    for source_id in sorted(by_source):
        records = sorted(by_source[source_id], key=lambda r: r.run_id)
        newest = max(records, key=lambda r: r.source.imported_utc)
        present = {k for r in records for k in PUBLISHED_METRIC_KEYS if getattr(r.metrics, k)}
        hardware = sorted({(r.identity.hardware_name, r.identity.hardware_slug) for r in records})
        out.append(
            {
                **newest.source.model_dump(mode="json"),
                "records": len(records),
                "hardware": [{"name": n, "slug": slug} for n, slug in hardware],
                "tasks": sorted({r.identity.task for r in records}),
                "published_figures": [k for k in PUBLISHED_METRIC_KEYS if k in present],
                "not_published": [k for k in PUBLISHED_METRIC_KEYS if k not in present],
                "batch_sizes": sorted(
                    {r.identity.batch_size for r in records if r.identity.batch_size}
                ),
            }
        )
    return out


def place_published(
    published: Sequence[Row], measured_hardware: set[str], aliases: HardwareAliases | None
) -> list[tuple[str, str, Row]]:
    """(task, board hardware, row copy) for every published row and every board it shows on.

    A row shows on the boards of the measured hardware its alias lists (`boards`) that have
    results; where none has, on a board of its own hardware slug. Each board gets its own copy
    (its Pareto flags are the board's); the row's `board_slug` names its first board.
    """
    by_slug = aliases.by_slug() if aliases is not None else {}
    placed: list[tuple[str, str, Row]] = []
    for row in published:
        alias = by_slug.get(row["hardware"])
        targets = [b for b in (alias.boards if alias else ()) if b in measured_hardware]
        if not targets:
            targets = [row["hardware"]]
        row["board_slug"] = board_slug(row["task"], targets[0])
        for target in targets:
            copy = dict(row)
            copy["board_slug"] = board_slug(row["task"], target)
            placed.append((row["task"], target, copy))
    return placed


def aggregate(
    items: Sequence[LoadedRecord],
    warnings: Sequence[str] = (),
    settings: DerivedSettings | None = None,
    aliases: HardwareAliases | None = None,
) -> SiteData:
    """Rows, boards and model summaries from validated records.

    Args:
        items: every valid record (performance, accuracy, calibration, published) with its path
            under the results root.
        warnings: warnings found while loading (carried into the result).
        settings: carbon/cost settings of the derived metrics; default: read
            conf/derived/default.yaml (`runner.hardware.derived.load_settings`).
        aliases: the hardware aliases (which boards show published rows, and their labels);
            default: read conf/hardware_aliases.yaml when there are published records.
    """
    settings = settings or load_settings()
    calibrations = {
        i.record.run_id: calibration_info(i)
        for i in sorted(items, key=lambda i: i.relpath)
        if isinstance(i.record, CalibrationRecord)
    }
    perf_all = [i for i in items if isinstance(i.record, PerformanceRecord)]
    acc_items = [i for i in items if isinstance(i.record, AccuracyRecord)]
    pub_items = sorted(
        (i for i in items if isinstance(i.record, PublishedRecord)), key=lambda i: i.relpath
    )
    if pub_items and aliases is None:
        aliases = load_aliases()
    acc_records: list[AccuracyRecord] = [i.record for i in acc_items]  # type: ignore[misc]
    perf, revision_warnings = select_revisions(perf_all)
    all_warnings = [*warnings, *revision_warnings]
    notes: list[str] = []

    found_eval = {r.identity.eval_task for r in acc_records}
    for item in pub_items:
        found_eval |= {s.eval_task for s in item.record.accuracy}  # type: ignore[union-attr]
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
        row.update(row_spread(records, [i.requests for i in group]))
        row.update(derived_values(records, pooled, calibrations, settings))
        for eval_task in eval_tasks:
            row[accuracy_key(eval_task)] = scores[eval_task]
        row["accuracy_avg"] = accuracy_average({t: scores[t] for t in average_over})
        row["accuracy_reason"] = accuracy_reason(
            ident.model_id, ident.model_revision, model_name, scores, average_over, acc_records
        )
        row.update(
            source=MEASURED, source_id=None, citation=None, source_url=None, source_note=None
        )
        rows.append(row)

    labels = {a.slug: a.label for a in aliases.by_name.values()} if aliases else {}
    published = [published_row(i, eval_tasks, average_over, labels) for i in pub_items]

    by_board: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_board[(row["task"], row["hardware"])].append(row)
    measured_hardware = {row["hardware"] for row in rows}
    for task, target, copy in place_published(published, measured_hardware, aliases):
        by_board[(task, target)].append(copy)
    boards: list[Board] = []
    for (task, hardware), board_rows in sorted(by_board.items()):
        own = [r for r in board_rows if r.get("source") != PUBLISHED] or board_rows
        labels_found = {row["hardware_label"] for row in own}
        label = labels_found.pop() if len(labels_found) == 1 else hardware
        board = Board(task, hardware, label, board_slug(task, hardware), board_rows)
        board.fronts = mark_fronts(board_rows)
        if board.published_count:
            board.fronts_measured = mark_fronts(board.measured_rows, "front_measured_")
            board.published_labels = sorted(
                {r["hardware_label"] for r in board_rows if r.get("source") == PUBLISHED} - {label}
            )
        boards.append(board)
    rows.extend(published)

    models = _model_summaries(perf, acc_items, rows, pub_items)
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
    ends = [
        i.record.source.imported_utc  # type: ignore[union-attr]
        if isinstance(i.record, PublishedRecord)
        else i.record.provenance.ended_utc
        for i in items
    ]
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
        published_count=len(pub_items),
        sources=source_summaries(pub_items),
        styles=model_styles(row["model_name"] for row in rows),
        busiest=busiest_boards(boards),
        system_prompts=system_prompts(perf),
    )


def busiest_boards(boards: Sequence[Board]) -> dict[str, str]:
    """task -> slug of its busiest board, and "" -> the busiest board of all (see `busyness`)."""
    out: dict[str, str] = {}
    for board in sorted(boards, key=Board.busyness):
        out.setdefault(board.task, board.slug)
        out.setdefault("", board.slug)
    return out


def system_prompts(perf: Sequence[LoadedRecord]) -> dict[str, str]:
    """task -> the system prompt its newest measured record ran with."""
    newest: dict[str, PerformanceRecord] = {}
    for item in perf:
        record: PerformanceRecord = item.record  # type: ignore[assignment]
        current = newest.get(record.identity.task)
        if current is None or record.provenance.ended_utc > current.provenance.ended_utc:
            newest[record.identity.task] = record
    return {task: record.task.system_prompt for task, record in sorted(newest.items())}


def _published_entries(pub_items: Sequence[LoadedRecord]) -> dict[str, list[LoadedRecord]]:
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in pub_items:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    return by_model


def _model_summaries(
    perf: Sequence[LoadedRecord],
    acc_items: Sequence[LoadedRecord],
    rows: Sequence[Row],
    pub_items: Sequence[LoadedRecord] = (),
) -> list[ModelSummary]:
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    published_by_model = _published_entries(pub_items)
    rows_by_model: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        rows_by_model[row["model_name"]].append(row)
    acc_by_model: dict[tuple[str, str], list[LoadedRecord]] = defaultdict(list)
    for item in acc_items:
        ident = item.record.identity  # type: ignore[union-attr]
        acc_by_model[(ident.model_id, ident.model_revision)].append(item)
    models: list[ModelSummary] = []
    for name in sorted(set(by_model) | set(published_by_model)):
        published = _published_summary(published_by_model.get(name, []))
        published_files = [
            {
                "run_id": i.record.run_id,
                "source_id": i.record.source.source_id,  # type: ignore[union-attr]
                "task": i.record.identity.task,  # type: ignore[union-attr]
                "hardware": i.record.identity.hardware_name,  # type: ignore[union-attr]
                "file": site_data_path(i.relpath),
            }
            for i in published_by_model.get(name, [])
        ]
        model_rows = sorted(
            rows_by_model[name],
            key=lambda r: (
                r["task"],
                r["hardware"],
                r["batch_size"] or 0,
                r["backend"] or "",
                r.get("source_id") or "",
            ),
        )
        if name not in by_model:
            candidates: list[PublishedRecord] = [i.record for i in published_by_model[name]]  # type: ignore[misc]
            # A source that gives a display name (not just the id) names the page.
            first = next(
                (r for r in candidates if r.model.display_name != r.identity.model_id),
                candidates[0],
            )
            models.append(
                ModelSummary(
                    model_name=name,
                    slug=slugify(name),
                    display_name=first.model.display_name,
                    model_id=first.identity.model_id,
                    revision=None,
                    params=None,
                    dtype=first.model.precision,
                    license=None,
                    url=first.model.url or "",
                    trust_remote_code=False,
                    random_weights=False,
                    base_model=None,
                    config={},
                    provenance={},
                    rows=model_rows,
                    performance_files=[],
                    accuracy=[],
                    measured=False,
                    published=published,
                    published_files=published_files,
                )
            )
            continue
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
                    str(PurePosixPath(i.relpath).parent / i.record.raw_data.file)  # type: ignore[union-attr]
                ),
            }
            for i in items
        ]
        series, timelines = _raw_views(items)
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
                rows=model_rows,
                performance_files=files,
                accuracy=accuracy,
                published=published,
                published_files=published_files,
                energy_series=series,
                timelines=timelines,
            )
        )
    return models


MAX_TIMELINES = 12


def power_timelines(record: Any) -> list[dict[str, Any]]:
    """The power timelines a record carries (`energy_windows.windows[].timeline`: `t_s` and
    `power_w`), read without assuming the record schema has them: records written before power
    timelines existed simply have none."""
    windows = getattr(getattr(record, "energy_windows", None), "windows", None) or []
    out = []
    for window in windows:
        timeline = getattr(window, "timeline", None)
        t_s = list(getattr(timeline, "t_s", None) or [])
        power_w = list(getattr(timeline, "power_w", None) or [])
        if t_s and len(t_s) == len(power_w):
            out.append(
                {"window": getattr(window, "index", len(out)), "t_s": t_s, "power_w": power_w}
            )
    return out


def _raw_views(
    items: Sequence[LoadedRecord],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """A model's energy-per-response samples per hardware and configuration (from the raw
    per-request data of every record), and the power timelines of the newest record per
    configuration (at most `MAX_TIMELINES`)."""
    samples: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    labels: dict[str, str] = {}
    newest: dict[tuple[str, str, int, str], Any] = {}
    for item in sorted(items, key=lambda i: i.record.run_id):
        record: PerformanceRecord = item.record  # type: ignore[assignment]
        ident = record.identity
        key = (ident.hardware_slug, ident.task, ident.batch_size, ident.backend)
        labels[ident.hardware_slug] = _hardware_label([record], ident.hardware_slug)
        samples[key].extend(energy_samples(item.requests))
        newest[key] = record
    series: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(samples):
        if samples[key]:
            hardware, task, batch, backend = key
            series.setdefault(labels[hardware], []).append(
                {"label": f"{task} · bs {batch} · {backend}", "values": samples[key]}
            )
    timelines = []
    for key in sorted(newest):
        hardware, task, batch, backend = key
        for line in power_timelines(newest[key]):
            label = (
                f"{labels[hardware]} · {task} · bs {batch} · {backend} · window {line['window']}"
            )
            timelines.append({"label": label, "t_s": line["t_s"], "power_w": line["power_w"]})
    return series, timelines[:MAX_TIMELINES]


def _published_summary(items: Sequence[LoadedRecord]) -> list[dict[str, Any]]:
    """Per source of a model's published records: the source and the model facts it gives."""
    by_source: dict[str, list[PublishedRecord]] = defaultdict(list)
    for item in items:
        record: PublishedRecord = item.record  # type: ignore[assignment]
        by_source[record.source.source_id].append(record)
    out = []
    for source_id in sorted(by_source):
        records = by_source[source_id]
        first = records[0]
        scores = {(s.eval_task, s.num_fewshot): s for r in records for s in r.accuracy}
        out.append(
            {
                "source": first.source.model_dump(mode="json"),
                "model_id": first.identity.model_id,
                "display_name": first.model.display_name,
                "url": first.model.url,
                "params_b": first.model.params_b,
                "precision": first.model.precision,
                "accuracy": [
                    scores[key].model_dump(mode="json") for key in sorted(scores, key=str)
                ],
            }
        )
    return out


TABLE_KEYS_EXTRA = (
    "row_id",
    "source",
    "source_id",
    "citation",
    "source_url",
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
    """Flat JSON-ready rows for downloads (CSV/JSON): identity fields, every column, then the
    spread of the columns that have one (`<key>_sd`, `<key>_n`; empty for published rows)."""
    keys = [*TABLE_KEYS_EXTRA, *(c.key for c in columns if c.key not in TABLE_KEYS_EXTRA)]
    keys += [f"{key}_{part}" for key in SPREAD_STATS for part in ("sd", "n")]
    return [{key: row.get(key) for key in keys} for row in rows]
