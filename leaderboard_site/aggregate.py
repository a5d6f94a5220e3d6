"""Pure aggregation: validated records in, JSON-ready rows, boards, models and Pareto marks out.

Nothing here writes files; the only file read is the derived-metric settings
(conf/derived/default.yaml) when `aggregate` is not given them. One row is one (task, hardware,
model, configuration, backend); where several records share that key they are pooled
(`leaderboard_site.pooling`: sums of energy, requests, tokens and time; request-weighted means of
latency figures; the stored throughput). Accuracy is joined per `runner.accuracy.join`: same
model id and same revision only; a missing score stays None ("not measured"), never 0. The
hardware-aware metrics are derived by `runner.hardware.derived.derive` from the pooled inputs
and the calibration the row's newest record links to: derived, never stored; None when an
input is missing.

Published records become rows of their own (`leaderboard_site.published_rows`), never pooled
with measured ones, on the boards of their source's own task. Steady records (the reference's
steady-state method) become rows of their own too (`leaderboard_site.steady_rows`), headlined
on the same boards; the static-batch rows are labelled "HF static batches". The model pages'
views are built by `leaderboard_site.model_pages`; the data model is `leaderboard_site.site_data`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from leaderboard_site.columns import (
    REFERENCE_SHOTS,
    Column,
    average_tasks,
    columns_for,
    ordered_eval_tasks,
)
from leaderboard_site.configurations import (
    configuration_fields,
    configuration_id,
    device_noun,
    per_device_values,
)
from leaderboard_site.content import TASK_ABOUT
from leaderboard_site.model_pages import model_summaries
from leaderboard_site.pareto import Direction, pareto_front
from leaderboard_site.pooling import derived_values, energy_source, hardware_label, pool_records
from leaderboard_site.published_rows import place_published, published_row, source_summaries
from leaderboard_site.site_data import (
    MEASURED,
    PUBLISHED,
    Board,
    LoadedRecord,
    Row,
    SiteData,
    board_slug,
    calibration_info,
    measured_row_cells,
    site_data_path,
    slugify,
)
from leaderboard_site.spread import SPREAD_STATS, row_spread
from leaderboard_site.steady_rows import (
    label_static_rows,
    steady_model_summaries,
    steady_rows,
    with_steady_columns,
)
from leaderboard_site.style import model_styles
from runner.accuracy.join import best_accuracy_by_task, scores_of
from runner.hardware.derived import DerivedSettings, load_settings
from runner.ingest.aliases import HardwareAliases, load_aliases
from runner.ingest.task_mapping import TaskMapping, load_task_mapping, published_task_key
from runner.records.accuracy import AccuracyRecord
from runner.records.calibration import CalibrationRecord
from runner.records.configuration import configuration_key
from runner.records.performance import PerformanceRecord
from runner.records.published import PublishedRecord

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


# Where no row of a board has a mean request latency (a source that publishes inter-token
# latency only), the Pareto views put the first of these its rows have on the time axis.
TIME_KEYS = ("latency_s", "itl_median_s", "tpot_s", "ttft_s")


def time_key(rows: Sequence[Row]) -> str:
    """The time axis of a board's Pareto views: `latency_s`, else the first of `TIME_KEYS`
    that some row has (else `latency_s`: the views then say what is missing)."""
    for key in TIME_KEYS:
        if any(isinstance(row.get(key), int | float) for row in rows):
            return key
    return TIME_KEYS[0]


def pareto_views(
    rows: Sequence[Row],
) -> list[tuple[str, str, Direction, str, Direction, str]]:
    """`PARETO_VIEWS` for these rows: latency replaced by the board's time axis (`time_key`)."""
    time = time_key(rows)
    if time == "latency_s":
        return list(PARETO_VIEWS)
    return [
        (
            name,
            time if x == "latency_s" else x,
            xb,
            time if y == "latency_s" else y,
            yb,
            title.replace("latency", TIME_WORDS[time]).replace("Latency", TIME_WORDS[time]),
        )
        for name, x, xb, y, yb, title in PARETO_VIEWS
    ]


TIME_WORDS = {
    "itl_median_s": "inter-token latency (p50)",
    "tpot_s": "time per output token",
    "ttft_s": "time to first token",
}


def mark_fronts(rows: list[Row], flag: str = "front_") -> dict[str, list[str]]:
    """Per Pareto view, the row ids on the front; sets `<flag><view>` on every row."""
    fronts: dict[str, list[str]] = {}
    for name, x_key, x_better, y_key, y_better, _ in pareto_views(rows):
        front = pareto_front(
            ((row["row_id"], row.get(x_key), row.get(y_key)) for row in rows), x_better, y_better
        )
        for row in rows:
            row[f"{flag}{name}"] = row["row_id"] in front
        fronts[name] = sorted(str(key) for key in front)
    return fronts


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


def aggregate(
    items: Sequence[LoadedRecord],
    warnings: Sequence[str] = (),
    settings: DerivedSettings | None = None,
    aliases: HardwareAliases | None = None,
    task_mapping: TaskMapping | None = None,
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
        task_mapping: which sources' tasks are the same workload as one of ours; default:
            read conf/task_mapping.yaml when there are published records.
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
    system_prompts_of = system_prompts(perf)

    measured_eval = {r.identity.eval_task for r in acc_records}
    published_eval: set[str] = set()
    for item in pub_items:
        published_eval |= {s.eval_task for s in item.record.accuracy}  # type: ignore[union-attr]
    eval_tasks = ordered_eval_tasks(measured_eval | published_eval)
    # The accuracy average is over the reference tasks where a kind of record has them, else
    # over its own eval tasks: published scores never change what a measured row averages
    # (the offline demo's quick suite keeps its average beside a source's reference scores).
    average_over = average_tasks(measured_eval)
    published_average_over = average_tasks(measured_eval | published_eval)
    columns = with_steady_columns(columns_for(eval_tasks))  # steady rows (issue 21)

    groups: dict[tuple[Any, ...], list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        ident = item.record.identity  # type: ignore[union-attr]
        key = (
            ident.task,
            ident.hardware_slug,
            ident.model_name,
            configuration_key(ident.configuration),
            ident.backend,
        )
        groups[key].append(item)

    accuracy_cache: dict[tuple[str, str], dict[str, AccuracyRecord]] = {}
    rows: list[Row] = []
    for key in sorted(groups):
        task, hardware, model_name, _, backend = key
        group = sorted(groups[key], key=lambda i: i.record.run_id)
        records: list[PerformanceRecord] = [i.record for i in group]  # type: ignore[misc]
        newest = records[-1]
        ident = newest.identity
        configuration = ident.configuration
        cache_key = (ident.model_id, ident.model_revision)
        if cache_key not in accuracy_cache:
            accuracy_cache[cache_key] = best_accuracy_by_task(
                ident.model_id, ident.model_revision, acc_records, shots=REFERENCE_SHOTS
            )
        chosen = accuracy_cache[cache_key]
        scores = scores_of(chosen, eval_tasks)
        source, reason = energy_source(records)
        row: Row = {
            "row_id": f"{task}|{hardware}|{model_name}|{configuration_id(configuration)}|{backend}",
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
            "batch_size": ident.batch_size,
            **configuration_fields(configuration, device_noun(hardware)),
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
        row.update(per_device_values(row))
        row.update(row_spread(records, [i.requests for i in group]))
        row.update(derived_values(records, pooled, calibrations, settings))
        reason = accuracy_reason(
            ident.model_id, ident.model_revision, model_name, scores, average_over, acc_records
        )
        row.update(measured_row_cells(eval_tasks, scores, average_over, reason))
        rows.append(row)

    label_static_rows(rows)  # steady rows (issue 21): static rows say so, steady rows join
    rows.extend(
        steady_rows(items, eval_tasks, average_over, acc_records, settings, accuracy_reason)
    )

    labels = {a.slug: a.label for a in aliases.by_name.values()} if aliases else {}
    if pub_items and task_mapping is None:
        task_mapping = load_task_mapping()
    published = []
    for item in pub_items:
        record: PublishedRecord = item.record  # type: ignore[assignment]
        same = task_mapping.same_as(record.source.source_id, record.task.id)  # type: ignore[union-attr]
        task = same.same_as if same else published_task_key(record.source.source_id, record.task.id)
        row = published_row(item, eval_tasks, published_average_over, labels, task)
        row["mapping_reason"] = same.reason if same else None
        published.append(row)

    by_board: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_board[(row["task"], row["hardware"])].append(row)
    measured_boards = set(by_board)
    for task, target, copy in place_published(published, measured_boards, aliases):
        by_board[(task, target)].append(copy)
    boards: list[Board] = []
    for (task, hardware), board_rows in sorted(by_board.items()):
        own = [r for r in board_rows if r.get("source") != PUBLISHED] or board_rows
        labels_found = {row["hardware_label"] for row in own}
        label = labels_found.pop() if len(labels_found) == 1 else hardware
        board = Board(task, hardware, label, board_slug(task, hardware), board_rows)
        board.workloads = board_workloads(board_rows, task, system_prompts_of)
        board.fronts = mark_fronts(board_rows)
        if board.published_count:
            board.fronts_measured = mark_fronts(board.measured_rows, "front_measured_")
            board.published_labels = sorted(
                {r["hardware_label"] for r in board_rows if r.get("source") == PUBLISHED} - {label}
            )
        boards.append(board)
    rows.extend(published)

    models = model_summaries(perf, acc_items, rows, pub_items)
    models.extend(steady_model_summaries(items, models, rows))  # steady-only models (issue 21)
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
        system_prompts=system_prompts_of,
        task_info=task_descriptions(tasks, rows, system_prompts_of),
    )


def board_workloads(
    rows: Sequence[Row], task: str, prompts: dict[str, str]
) -> list[dict[str, Any]]:
    """Which prompts and settings each source's rows on a board used: this project's task (its
    system prompt) and, per published source, the source's own task name and description."""
    out: list[dict[str, Any]] = []
    if any(row.get("source") != PUBLISHED for row in rows):
        out.append(
            {
                "source": MEASURED,
                "task_name": task,
                "description": (TASK_ABOUT.get(task) or {}).get("summary"),
                "system_prompt": prompts.get(task),
            }
        )
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if row.get("source") != PUBLISHED:
            continue
        key = (row["source_id"], row["source_task"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "source": row["citation"],
                "source_id": row["source_id"],
                "task_name": row["task_name"],
                "description": row.get("task_description"),
                "mapped": row["task"] != published_task_key(*key),
                "mapping_reason": row.get("mapping_reason"),
            }
        )
    return out


def task_descriptions(
    tasks: Sequence[str], rows: Sequence[Row], prompts: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Per site task: its name, whose it is and what it is (this project's tasks: the "about"
    text; a source's own task: its name and description as the source gives them)."""
    info: dict[str, dict[str, Any]] = {}
    for task in tasks:
        mine = any(row["task"] == task and row.get("source") != PUBLISHED for row in rows)
        theirs = next((r for r in rows if r["task"] == task and r.get("source") == PUBLISHED), None)
        if (
            mine
            or theirs is None
            or theirs["task"] != published_task_key(theirs["source_id"], theirs["source_task"])
        ):
            info[task] = {
                "name": task,
                "source_id": None,
                "citation": None,
                "about": TASK_ABOUT.get(task),
                "description": (TASK_ABOUT.get(task) or {}).get("summary"),
                "system_prompt": prompts.get(task),
            }
        else:
            info[task] = {
                "name": theirs["task_name"],
                "source_id": theirs["source_id"],
                "citation": theirs["citation"],
                "about": None,
                "description": theirs.get("task_description"),
                "system_prompt": None,
            }
    return info


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


TABLE_KEYS_EXTRA = (
    "row_id",
    "source",
    "source_id",
    "citation",
    "source_url",
    "task",
    "task_name",
    "source_task",
    "configuration",
    "num_devices",
    "tensor_parallel",
    "pipeline_parallel",
    "expert_parallel",
    "data_parallel",
    "batching",
    "precision",
    "occurrence",
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
