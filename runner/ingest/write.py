"""Building published records and writing them: all or nothing, never over an existing one.

Every record of an import is built and validated first. Then every target path is checked: a
record whose path exists (the same source, model, hardware, task and batch size was imported
before) is a duplicate, and the import is refused with one line per duplicate and nothing
written. Otherwise each record goes through the same atomic, never-overwriting store as measured
records (`runner.records.store.write_new_file`); if a write fails part-way (a full disk, or a
concurrent import of the same rows), the records this import already wrote are removed again.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.ingest.common import ImportRefused
from runner.records.layout import published_parts
from runner.records.load import parse_record
from runner.records.published import (
    PUBLISHED_SCHEMA_VERSION,
    PublishedIdentity,
    PublishedMetrics,
    PublishedModel,
    PublishedRecord,
    PublishedScore,
    PublishedSource,
    PublishedTask,
    SourceRow,
    published_run_id,
    record_json,
)
from runner.records.store import safe_subdir, write_new_file


def now_utc() -> str:
    """The current UTC time, to the second, ISO 8601."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_source(card: dict[str, str | None], fmt: str, imported_utc: str) -> PublishedSource:
    """The `source` block from a checked source card (`common.check_source`)."""
    return PublishedSource(
        type="published",
        source_id=card["id"],  # type: ignore[arg-type]
        format=fmt,
        citation=card["citation"],  # type: ignore[arg-type]
        url=card["url"],  # type: ignore[arg-type]
        license=card.get("license"),
        version=card.get("version"),
        date=card.get("date"),
        methodology=card["methodology"],  # type: ignore[arg-type]
        imported_utc=imported_utc,
    )


def make_record(
    source: PublishedSource,
    identity: dict[str, Any],
    task: dict[str, Any],
    model: dict[str, Any],
    metrics: dict[str, float | None],
    accuracy: list[dict[str, Any]],
    rows: list[SourceRow],
    output_length_distribution: dict[str, Any] | None = None,
) -> PublishedRecord:
    """A validated published record; absent (None) values stay absent.

    `identity` holds the configuration as published (`configuration`: only the fields the
    source gives) and, for a configuration listed more than once, its `occurrence`.
    """
    ident = PublishedIdentity(**identity)
    return PublishedRecord(
        schema_version=PUBLISHED_SCHEMA_VERSION,
        kind="published",
        run_id=published_run_id(source.source_id, ident),
        source=source,
        identity=ident,
        task=PublishedTask(**task),
        model=PublishedModel(**model),
        metrics=PublishedMetrics(**metrics),
        accuracy=[PublishedScore(**score) for score in accuracy],
        output_length_distribution=output_length_distribution,
        source_rows=rows,
    )


def with_occurrence(record: PublishedRecord, occurrence: int) -> PublishedRecord:
    """`record` as the `occurrence`-th listing of its configuration (its run id follows)."""
    identity = record.identity.model_copy(update={"occurrence": occurrence})
    return record.model_copy(
        update={
            "identity": identity,
            "run_id": published_run_id(record.source.source_id, identity),
        }
    )


def number_repeats(records: list[PublishedRecord]) -> list[PublishedRecord]:
    """Every record, with `identity.occurrence` set (1, 2, ... in input order) on those whose
    source, identity and configuration are listed more than once (repeat runs): none is
    dropped, none refused."""
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(record.run_id, []).append(index)
    out = list(records)
    for indices in groups.values():
        if len(indices) < 2:
            continue
        for occurrence, index in enumerate(indices, start=1):
            out[index] = with_occurrence(records[index], occurrence)
    return out


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: the record files (under the results root)."""

    written: list[Path]
    source_ids: list[str]


def record_path(results: Path, record: PublishedRecord) -> Path:
    """The canonical path of a published record under `results`."""
    folder = safe_subdir(results, *published_parts(record.source.source_id, record.identity))
    return folder / f"{record.run_id}.json"


def write_records(results: Path, records: list[PublishedRecord]) -> ImportReport:
    """Write every record at its canonical path, or none.

    Raises:
        ImportRefused: a record of the same source and identity exists already (one line each).
        UserError: a write failed (disk full, not writable); what this import wrote is removed.
    """
    targets = [(record_path(results, record), record) for record in records]
    seen: set[Path] = set()
    twice = []
    for path, record in targets:
        if path in seen:
            twice.append(
                f"{path}: the same source, model, hardware, task and configuration twice in this "
                f"import ({record.source_rows[0].file} line {record.source_rows[0].line})"
            )
        seen.add(path)
    if twice:
        raise ImportRefused(twice)
    duplicates = [
        f"{path}: already imported (source {record.source.source_id!r}, model "
        f"{record.identity.model_id!r}, hardware {record.identity.hardware_name!r}, task "
        f"{record.identity.task!r}); records are never overwritten"
        for path, record in targets
        if path.exists()
    ]
    if duplicates:
        raise ImportRefused(duplicates)
    payloads = []
    for path, record in targets:
        text = json.dumps(record_json(record), indent=2, ensure_ascii=False) + "\n"
        parse_record(path, text)  # the file as written must load (a bug otherwise)
        payloads.append((path, text.encode("utf-8")))
    written: list[Path] = []
    try:
        for path, data in payloads:
            write_new_file(path, data)
            written.append(path)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return ImportReport(written, sorted({r.source.source_id for r in records}))
