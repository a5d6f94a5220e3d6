"""Published records as rows: only what their source published, placed on boards."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from leaderboard_site.columns import DERIVED_KEYS, REFERENCE_SHOTS, accuracy_key
from leaderboard_site.configurations import (
    configuration_fields,
    configuration_id,
    per_device_values,
)
from leaderboard_site.site_data import (
    PUBLISHED,
    LoadedRecord,
    Row,
    board_slug,
    site_data_path,
    slugify,
)
from leaderboard_site.spread import PERCENTILES, SPREAD_STATS
from runner.accuracy.join import accuracy_average
from runner.ingest.aliases import HardwareAliases
from runner.records.published import PublishedRecord

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
    "itl_median_s",
    "itl_p90_s",
    "itl_p95_s",
    "itl_p99_s",
)


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
    task: str,
) -> Row:
    """The row of one published record: its published figures, every other value None.

    `task` is the site task it is shown under: its source's own (`<source id>.<task>`), or
    this project's task that `conf/task_mapping.yaml` says is the same workload.
    """
    record: PublishedRecord = item.record  # type: ignore[assignment]
    ident = record.identity
    label = labels.get(ident.hardware_slug, ident.hardware_name)
    configuration = configuration_id(ident.configuration)
    row: Row = {
        "row_id": f"{task}|{ident.hardware_slug}|{ident.model_name}|{configuration}"
        f"|published:{record.source.source_id}:{record.run_id}",
        "task": task,
        "task_name": record.task.name,
        "task_description": record.task.description,
        "source_task": record.task.id,
        "hardware": ident.hardware_slug,
        "hardware_label": label,
        "board_slug": board_slug(task, ident.hardware_slug),
        "model": record.model.display_name,
        "model_name": ident.model_name,
        "model_slug": slugify(ident.model_name),
        "model_id": ident.model_id,
        "revision": None,
        "params_b": record.model.params_b,
        "batch_size": ident.batch_size,
        **configuration_fields(ident.configuration),
        "occurrence": ident.occurrence,
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
    row.update(per_device_values(row))
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
    published: Sequence[Row],
    measured_boards: set[tuple[str, str]],
    aliases: HardwareAliases | None,
) -> list[tuple[str, str, Row]]:
    """(task, board hardware, row copy) for every published row and every board it shows on.

    A row shows on the boards of its task on the measured hardware its alias lists (`boards`)
    that have results; where none has, on a board of its own hardware slug. Each board gets its
    own copy (its Pareto flags are the board's); the row's `board_slug` names its first board.
    """
    by_slug = aliases.by_slug() if aliases is not None else {}
    placed: list[tuple[str, str, Row]] = []
    for row in published:
        alias = by_slug.get(row["hardware"])
        targets = [
            b for b in (alias.boards if alias else ()) if (row["task"], b) in measured_boards
        ]
        if not targets:
            targets = [row["hardware"]]
        row["board_slug"] = board_slug(row["task"], targets[0])
        for target in targets:
            copy = dict(row)
            copy["board_slug"] = board_slug(row["task"], target)
            placed.append((row["task"], target, copy))
    return placed


def published_by_model(pub_items: Sequence[LoadedRecord]) -> dict[str, list[LoadedRecord]]:
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in pub_items:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    return by_model


def published_summary(items: Sequence[LoadedRecord]) -> list[dict[str, Any]]:
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
