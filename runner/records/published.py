"""The published record: one row of a table someone else published, kept as they published it.

A published record is not a measurement of this project. It holds only what its source
published: every statistic or field the source does not give is absent from the file (never
null-filled, never invented: no n = 1, no stdev 0, no percentile equal to the mean, no TTFT equal
to the latency, no zero prompt tokens or load time). Its `source` block says who published it,
where, under which licence, which version, when, and the source's own methodology in a sentence
(decoding, batch size, precision, serving stack). The cells it came from are kept verbatim in
`source_rows`, so every value can be checked against the source.

Measured records (`runner.records.performance`) keep requiring every statistic; the two kinds
never share a schema, so relaxing this one cannot weaken that one.

Version 2 adds the configuration to the identity (`runner.records.configuration`: GPU count,
parallel layout, batching, precision; only the fields the source publishes), an `occurrence`
for a configuration the source lists more than once (repeat runs: every listing is kept), and
the source's own `task` (its id, name and description: a source's task is its own workload,
never this project's task of the same name).

Units are in the field names, as in the performance record: `_s` seconds, `_j` joules, `_w`
watts, `_tok_s` output tokens per second, `_tokens` tokens; `params_b` is 1e9 parameters; an
accuracy `score` is a fraction in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from runner.records.configuration import KEY_FIELDS, Configuration
from runner.records.layout import SAFE_NAME
from runner.records.performance import Strict

PUBLISHED_SCHEMA_VERSION = 2
RECORD_KIND = "published"
RUN_ID_PREFIX = "pub-"


def _safe(value: str, field: str) -> str:
    if not SAFE_NAME.match(value) or ".." in value:
        raise ValueError(
            f"{field}: expected a name of letters, digits, '.', '_' or '-', got {value!r}"
        )
    return value


class PublishedSource(Strict):
    """Who published the values, and how they were obtained (in the source's own words)."""

    type: Literal["published"]
    source_id: str = Field(description="short safe name of the source, e.g. 'mlenergy-v1'")
    format: str = Field(description="the importer that read it, e.g. 'mlenergy-v1' or 'csv'")
    citation: str = Field(min_length=1, description="how to cite the source")
    url: str = Field(min_length=1, description="where the source is published")
    license: str | None = Field(default=None, description="the data's licence; absent: not given")
    version: str | None = Field(
        default=None, description="release, version or commit of the source; absent: not given"
    )
    date: str | None = Field(default=None, description="the source's date; absent: not given")
    methodology: str = Field(
        min_length=1,
        description="the source's methodology in a sentence: decoding, batch size, precision, "
        "serving stack",
    )
    imported_utc: str = Field(description="when `leaderboard import` wrote this record (UTC)")

    @model_validator(mode="after")
    def _safe_id(self) -> PublishedSource:
        _safe(self.source_id, "source.source_id")
        return self


class SourceRow(Strict):
    """The verbatim input one record was built from: a CSV row or a JSON entry."""

    file: str = Field(
        description="file name as imported: no folder, or the path inside the imported folder "
        "for layouts with sub-folders (e.g. 'tasks/gpqa.json')"
    )
    line: int = Field(ge=1, description="line of the row (CSV) or of the entry's key (JSON)")
    values: dict[str, Any] = Field(description="the cells (CSV: text as written) or entry")


class PublishedIdentity(Strict):
    """What was benchmarked, where, as the source names it (plus our safe names for paths)."""

    model_name: str = Field(description="safe name from the model id, e.g. 'org__name'")
    model_id: str = Field(description="the model as the source names it, e.g. 'org/name'")
    task: str
    hardware_slug: str = Field(description="from conf/hardware_aliases.yaml, e.g. 'nvidia-a100'")
    hardware_name: str = Field(description="the hardware as the source names it, e.g. 'A100'")
    batch_size: int | None = Field(default=None, ge=1, description="absent: not published")
    configuration: Configuration = Field(
        default_factory=Configuration,
        description="the configuration as published: each field absent when not published",
    )
    occurrence: int | None = Field(
        default=None,
        ge=1,
        description="the source lists this configuration more than once (repeat runs): which "
        "listing this is, in the source's order; absent when it is listed once",
    )

    @model_validator(mode="after")
    def _safe_names(self) -> PublishedIdentity:
        _safe(self.model_name, "identity.model_name")
        _safe(self.task, "identity.task")
        _safe(self.hardware_slug, "identity.hardware_slug")
        if self.configuration.batch_size != self.batch_size:
            raise ValueError(
                f"identity.batch_size: {self.batch_size} differs from "
                f"configuration.batch_size ({self.configuration.batch_size})"
            )
        return self


class PublishedTask(Strict):
    """The source's own task: what its rows ran, in its words (never this project's task)."""

    id: str = Field(description="the source's task id (= identity.task)")
    name: str = Field(min_length=1, description="the source's name, e.g. 'GPQA Diamond'")
    description: str | None = Field(
        default=None, description="which prompts and settings the source's rows used"
    )


class Histogram(Strict):
    """A distribution as published: `counts[i]` values fell in `[bins[i], bins[i + 1])`."""

    bins: list[float] = Field(min_length=2, description="bin edges (one more than counts)")
    counts: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Histogram:
        if len(self.bins) != len(self.counts) + 1:
            raise ValueError(
                f"bins: expected {len(self.counts) + 1} edges for {len(self.counts)} counts, "
                f"got {len(self.bins)}"
            )
        if any(b >= a for a, b in zip(self.bins[1:], self.bins, strict=False)):
            raise ValueError("bins: expected increasing edges")
        if any(c < 0 for c in self.counts):
            raise ValueError("counts: expected counts of 0 or more")
        return self


class PublishedModel(Strict):
    """Descriptive model facts the source gives (absent when it does not)."""

    display_name: str = Field(min_length=1)
    url: str | None = None
    params_b: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="parameters, 1e9 (all of them)"
    )
    activated_params_b: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="parameters active per token, 1e9 (fewer than params_b for a mixture of "
        "experts); absent: not published",
    )
    architecture: str | None = Field(
        default=None,
        min_length=1,
        description="the source's word for the architecture, e.g. 'Dense Transformer', 'MoE'; "
        "absent: not published",
    )
    precision: str | None = Field(default=None, description="e.g. 'float16', as published")


_METRIC = {"default": None, "ge": 0, "allow_inf_nan": False}


class PublishedMetrics(Strict):
    """The figures the source published, in the project's units; each absent when not published.

    They are the source's own summaries (typically means over its requests); no spread, count or
    percentile is implied.
    """

    throughput_tok_s: float | None = Field(**_METRIC, description="output tokens / s")
    response_tokens: float | None = Field(**_METRIC, description="response length, tokens")
    prompt_tokens: float | None = Field(**_METRIC, description="prompt length, tokens")
    latency_s: float | None = Field(**_METRIC, description="time per response, s")
    ttft_s: float | None = Field(**_METRIC, description="time to first token, s")
    tpot_s: float | None = Field(**_METRIC, description="time per output token, s")
    energy_per_response_j: float | None = Field(**_METRIC, description="J per response")
    energy_per_token_j: float | None = Field(**_METRIC, description="J per output token")
    avg_power_w: float | None = Field(**_METRIC, description="average power, W")
    itl_median_s: float | None = Field(**_METRIC, description="median inter-token latency, s")
    itl_p90_s: float | None = Field(**_METRIC, description="p90 inter-token latency, s")
    itl_p95_s: float | None = Field(**_METRIC, description="p95 inter-token latency, s")
    itl_p99_s: float | None = Field(**_METRIC, description="p99 inter-token latency, s")


METRIC_FIELDS: tuple[str, ...] = tuple(PublishedMetrics.model_fields)


class PublishedScore(Strict):
    """One accuracy score the source published for the model."""

    eval_task: str = Field(description="lm-eval task name, e.g. 'arc_challenge'")
    num_fewshot: int | None = Field(default=None, ge=0)
    metric: str | None = Field(default=None, description="e.g. 'acc_norm'; absent: not given")
    score: float = Field(ge=0, le=1, allow_inf_nan=False, description="fraction in [0, 1]")


class PublishedRecord(Strict):
    """One published result. Written once by `leaderboard import`, never replaced."""

    schema_version: Literal[2]
    kind: Literal["published"]
    run_id: str = Field(description="'pub-' + 16 hex of the sha256 of source id and identity")
    source: PublishedSource
    identity: PublishedIdentity
    task: PublishedTask
    model: PublishedModel
    metrics: PublishedMetrics
    accuracy: list[PublishedScore] = Field(default_factory=list)
    output_length_distribution: Histogram | None = Field(
        default=None, description="output tokens per request, as published; absent: not given"
    )
    source_rows: list[SourceRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _checks(self) -> PublishedRecord:
        if not any(getattr(self.metrics, name) is not None for name in METRIC_FIELDS):
            raise ValueError("metrics: a published record needs at least one published figure")
        if self.task.id != self.identity.task:
            raise ValueError(f"task.id: {self.task.id!r} differs from identity.task")
        expected = published_run_id(self.source.source_id, self.identity)
        if self.run_id != expected and self.run_id != version_1_run_id(self):
            raise ValueError(f"run_id: expected {expected!r} (from source and identity)")
        tasks = [score.eval_task for score in self.accuracy]
        if len(tasks) != len(set(tasks)):
            raise ValueError("accuracy: an eval task appears twice")
        precision = self.identity.configuration.precision
        if None not in (precision, self.model.precision) and precision != self.model.precision:
            raise ValueError(
                f"identity.configuration.precision: {precision!r} differs from "
                f"model.precision ({self.model.precision!r})"
            )
        return self


def _digest(key: dict[str, Any]) -> str:
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return RUN_ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def published_run_id(source_id: str, identity: PublishedIdentity) -> str:
    """The deterministic run id of a published record: one record per source and identity
    (configuration and occurrence included; absent fields left out of the key).

    The configuration counts by the fields that name it (`configuration.KEY_FIELDS`):
    `mean_running_batch` is a measurement, so two listings of one configuration with different
    figures (repeat runs) share the key and are told apart by their `occurrence`.
    A second import of the same row gets the same id, hence the same path, and is refused.
    """
    key = identity.model_dump(mode="json", exclude_none=True)
    if "configuration" in key:
        key["configuration"] = {
            name: value for name, value in key["configuration"].items() if name in KEY_FIELDS
        }
    return _digest({"source_id": source_id, **key})


def version_1_run_id(record: PublishedRecord) -> str | None:
    """The run id a version-1 record of this identity had, when the record is exactly what the
    1 -> 2 migration makes of one (`runner.records.migrate.published_1_to_2`); else None.

    Version-1 files keep their names (records are never rewritten), so their ids stay valid.
    """
    identity = record.identity
    batch = identity.batch_size
    migrated = Configuration(
        batching=None if batch is None else "static",
        batch_size=batch,
        precision=record.model.precision,
    )
    if identity.configuration != migrated or identity.occurrence is not None:
        return None
    return _digest(
        {
            "source_id": record.source.source_id,
            **identity.model_dump(
                mode="json", include={"model_name", "model_id", "task", "hardware_slug"}
            ),
            "hardware_name": identity.hardware_name,
            "batch_size": batch,
        }
    )


def record_json(record: PublishedRecord) -> dict[str, Any]:
    """The record as written: JSON with every field that was not published left out."""
    return record.model_dump(mode="json", exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the published record."""
    schema = PublishedRecord.model_json_schema()
    schema["$id"] = f"energy-leaderboard/published-record/v{PUBLISHED_SCHEMA_VERSION}"
    return schema
