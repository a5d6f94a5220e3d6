"""`leaderboard import FORMAT PATH…`: read published tables, write published records.

Formats: `mlenergy-v1` (`runner.ingest.mlenergy`) and `csv` with a YAML mapping
(`runner.ingest.table`). Every file is read and checked before anything is written; a bad file
refuses the whole import with one line per problem (file, line, column). Records are written at
their canonical paths under the results folder through the atomic, never-overwriting store, and
a row imported before is refused as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import UserError
from runner.ingest import mlenergy, table
from runner.ingest.aliases import load_aliases
from runner.ingest.write import ImportReport, now_utc, write_records

FORMATS = (mlenergy.FORMAT, table.FORMAT)


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote, and what it could not say about its source."""

    report: ImportReport
    warnings: list[str] = field(default_factory=list)


def import_files(
    fmt: str,
    paths: list[Path],
    results: Path,
    *,
    source_card: Path | None = None,
    mapping: Path | None = None,
    aliases_path: Path | None = None,
) -> ImportResult:
    """Import published results in format `fmt` from `paths` into `results`.

    Args:
        fmt: `mlenergy-v1` or `csv`.
        paths: folders or files of the format (csv: CSV files).
        results: the results root; records go to `published/<source>/...` under it.
        source_card: mlenergy-v1: a YAML with any of id, citation, url, license, version, date,
            methodology, refining the format's defaults.
        mapping: csv: the YAML mapping (source, columns, constants); required.
        aliases_path: the hardware aliases (default `conf/hardware_aliases.yaml`).

    Raises:
        ImportRefused: bad input or duplicates; one line per problem, nothing written.
        UserError: an unknown format, a missing mapping, a bad aliases file, a failed write.
    """
    if fmt not in FORMATS:
        raise UserError(f"import: unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    aliases = load_aliases(aliases_path)
    imported = now_utc()
    if fmt == mlenergy.FORMAT:
        if mapping is not None:
            raise UserError("import: --mapping is for the csv format (mlenergy-v1 has its own)")
        records = mlenergy.parse(paths, aliases, imported, source_card)
    else:
        if mapping is None:
            raise UserError("import csv: --mapping FILE is required (source, columns, constants)")
        if source_card is not None:
            raise UserError("import csv: the source goes in the mapping's `source:` block")
        records = table.parse(paths, mapping, aliases, imported)
    warnings: list[str] = []
    if records:
        source = records[0].source
        for key, flag in (("license", "license"), ("date", "date"), ("version", "version")):
            if getattr(source, key) is None:
                where = "--source FILE" if fmt == mlenergy.FORMAT else "the mapping's source"
                warnings.append(
                    f"source {source.source_id!r}: no {flag} given ({where}); "
                    f"the records leave it absent"
                )
    return ImportResult(write_records(results, records), warnings)
