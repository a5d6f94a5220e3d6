"""What each model page shows: rows, records, accuracy, sources, energy and power views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from leaderboard_site.columns import REFERENCE_SHOTS
from leaderboard_site.configurations import device_noun
from leaderboard_site.pooling import hardware_label
from leaderboard_site.published_rows import published_by_model, published_summary
from leaderboard_site.site_data import LoadedRecord, ModelSummary, Row, site_data_path, slugify
from leaderboard_site.spread import energy_samples
from runner.accuracy.join import best_accuracy_by_task
from runner.records.accuracy import AccuracyRecord
from runner.records.configuration import configuration_label
from runner.records.performance import PerformanceRecord
from runner.records.published import PublishedRecord
from runner.records.steady import SteadyRecord


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


def model_summaries(
    perf: Sequence[LoadedRecord],
    acc_items: Sequence[LoadedRecord],
    rows: Sequence[Row],
    pub_items: Sequence[LoadedRecord] = (),
) -> list[ModelSummary]:
    by_model: dict[str, list[LoadedRecord]] = defaultdict(list)
    for item in perf:
        by_model[item.record.identity.model_name].append(item)  # type: ignore[union-attr]
    published_of_model = published_by_model(pub_items)
    rows_by_model: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        rows_by_model[row["model_name"]].append(row)
    acc_by_model: dict[tuple[str, str], list[LoadedRecord]] = defaultdict(list)
    for item in acc_items:
        ident = item.record.identity  # type: ignore[union-attr]
        acc_by_model[(ident.model_id, ident.model_revision)].append(item)
    models: list[ModelSummary] = []
    for name in sorted(set(by_model) | set(published_of_model)):
        published = published_summary(published_of_model.get(name, []))
        published_files = [
            {
                "run_id": i.record.run_id,
                "source_id": i.record.source.source_id,  # type: ignore[union-attr]
                "task": i.record.identity.task,  # type: ignore[union-attr]
                "hardware": i.record.identity.hardware_name,  # type: ignore[union-attr]
                "file": site_data_path(i.relpath),
            }
            for i in published_of_model.get(name, [])
        ]
        model_rows = sorted(
            rows_by_model[name],
            key=lambda r: (
                r["task"],
                r["hardware"],
                r.get("num_devices") or 0,
                r["batch_size"] or 0,
                r.get("max_num_seqs") or 0,
                r["backend"] or "",
                r.get("source_id") or "",
                r.get("occurrence") or 0,
            ),
        )
        output_lengths = output_length_series(published_of_model.get(name, []))
        if name not in by_model:
            candidates: list[PublishedRecord] = [i.record for i in published_of_model[name]]  # type: ignore[misc]
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
                    output_lengths=output_lengths,
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
        files = [record_file(i) for i in items]
        series, timelines = _raw_views(items)
        models.append(
            ModelSummary(
                model_name=name,
                slug=slugify(name),
                **measured_model_facts(newest),
                rows=model_rows,
                performance_files=files,
                accuracy=accuracy,
                published=published,
                published_files=published_files,
                energy_series=series,
                timelines=timelines,
                output_lengths=output_lengths,
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
        labels[ident.hardware_slug] = hardware_label([record], ident.hardware_slug)
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


def output_length_series(items: Sequence[LoadedRecord]) -> list[dict[str, Any]]:
    """The output-length distributions a model's published records carry, one series per
    record: {"label": "GPQA Diamond · H100 · 8 GPUs · EP8 · cap 256", "bins", "counts"}."""
    out = []
    for item in sorted(items, key=lambda i: i.relpath):
        record: PublishedRecord = item.record  # type: ignore[assignment]
        histogram = record.output_length_distribution
        if histogram is None:
            continue
        configuration = configuration_label(record.identity.configuration)
        parts = [record.task.name, record.identity.hardware_name, configuration]
        if record.identity.occurrence:
            parts.append(f"run {record.identity.occurrence}")
        out.append(
            {
                "label": " · ".join(p for p in parts if p),
                "bins": list(histogram.bins),
                "counts": list(histogram.counts),
            }
        )
    return out


def measured_model_facts(newest: PerformanceRecord | SteadyRecord) -> dict[str, Any]:
    """The model page's facts taken from a model's newest measured record."""
    return {
        "display_name": newest.model.display_name,
        "model_id": newest.identity.model_id,
        "revision": newest.identity.model_revision,
        "params": newest.model.params,
        "dtype": newest.model.dtype,
        "license": newest.model.license,
        "url": newest.model.url,
        "trust_remote_code": newest.model.trust_remote_code,
        "random_weights": newest.model.random_weights,
        "base_model": newest.model.base_model,
        "config": newest.config,
        "provenance": newest.provenance.model_dump(mode="json"),
    }


def record_file(item: LoadedRecord) -> dict[str, Any]:
    """A measured record (performance or steady) as the model page's "raw records" table lists
    it: its run id, task, hardware, configuration and files."""
    record: Any = item.record
    ident = record.identity
    configuration = ident.configuration
    batch = ident.batch_size if hasattr(ident, "batch_size") else None
    if batch is None and configuration.max_num_seqs is not None:
        batch = f"cap {configuration.max_num_seqs}"
    return {
        "run_id": record.run_id,
        "task": ident.task,
        "hardware": ident.hardware_slug,
        "hardware_label": hardware_label([record], ident.hardware_slug),
        "configuration": configuration_label(configuration, device_noun(ident.hardware_slug)),
        "batch_size": batch,
        "backend": getattr(ident, "backend", None) or getattr(ident, "engine", None),
        "energy_source": record.energy.source,
        "file": site_data_path(item.relpath),
        "raw_file": site_data_path(str(PurePosixPath(item.relpath).parent / record.raw_data.file)),
    }
