"""The site's data model: loaded records, boards, model summaries, the aggregated site, names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from leaderboard_site.columns import Column, accuracy_key
from runner.accuracy.join import accuracy_average
from runner.hardware.derived import DerivedSettings
from runner.records.accuracy import AccuracyRecord
from runner.records.calibration import CalibrationRecord
from runner.records.performance import PerformanceRecord
from runner.records.published import PublishedRecord

Row = dict[str, Any]


_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


MEASURED = "measured"


PUBLISHED = "published"


# Row keys that say where a row's figures come from (downloads and board pages carry them).
SOURCE_KEYS = ("source", "source_id", "citation", "source_url", "source_note")


@dataclass(frozen=True)
class LoadedRecord:
    """A validated record and its path relative to the results root (POSIX form).

    With several results roots, `relpath` starts with the root's name in the site
    (`build.root_names`) and `path` is the file itself.
    """

    relpath: str
    record: PerformanceRecord | AccuracyRecord | CalibrationRecord | PublishedRecord
    # A performance record's raw per-request rows (only `spread.RAW_FIELDS`), read by the build;
    # None where they were not read (then pooled percentiles and energy distributions are absent).
    requests: tuple[dict[str, Any], ...] | None = None
    # The record file (None: `relpath` under the one results root).
    path: Path | None = None


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
    # Which prompts and settings each source's rows used (`aggregate.board_workloads`).
    workloads: list[dict[str, Any]] = field(default_factory=list)

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
    def gpu_counts(self) -> list[int | None]:
        """The distinct GPU counts of the board's configurations, sorted (None, "not
        published", last)."""
        counts = {row.get("num_devices") for row in self.rows}
        return sorted(counts - {None}) + ([None] if None in counts else [])

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
    # [{"label", "bins", "counts"}]: output-length distributions its sources publish
    output_lengths: list[dict[str, Any]] = field(default_factory=list)


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
    # task -> {name, source_id, citation, about, description, system_prompt}: a source's own
    # task is named and described as its source does (`aggregate.task_descriptions`).
    task_info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def task_name(self, task: str) -> str:
        """How the site names a task: this project's task name, or the source's own name."""
        return (self.task_info.get(task) or {}).get("name") or task

    def hardware_label(self, slug: str) -> str:
        """How the site names a hardware slug (its boards' label; the slug where none)."""
        return dict(self.hardware).get(slug, slug)

    @property
    def random_weight_models(self) -> list[str]:
        """The model names whose rows say `random_weights` (accuracy means nothing)."""
        return sorted({row["model_name"] for row in self.rows if row.get("random_weights")})

    def board(self, slug: str) -> Board | None:
        """The board with this slug, or None."""
        return next((b for b in self.boards if b.slug == slug), None)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def measured_row_cells(
    eval_tasks: Sequence[str],
    scores: dict[str, float | None],
    average_over: Sequence[str],
    accuracy_reason: str | None,
) -> Row:
    """A measured row's accuracy cells (one per eval task, their average, why one is absent)
    and its source cells (measured here: no source, citation or note)."""
    cells: Row = {accuracy_key(eval_task): scores[eval_task] for eval_task in eval_tasks}
    cells["accuracy_avg"] = accuracy_average({t: scores[t] for t in average_over})
    cells["accuracy_reason"] = accuracy_reason
    cells.update(source=MEASURED, source_id=None, citation=None, source_url=None, source_note=None)
    return cells


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
