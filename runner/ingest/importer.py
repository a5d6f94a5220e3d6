"""`leaderboard import FORMAT PATH…`: read published tables, write published records.

Formats: `mlenergy-v1` (`runner.ingest.mlenergy`), `mlenergy-v3` (`runner.ingest.mlenergy_v3`)
and `csv` with a YAML mapping (`runner.ingest.table`). Every file is read and checked before
anything is written; a bad file refuses the whole import with one line per problem (file, line,
column or field). Records are written at their canonical paths under the results folder through
the atomic, never-overwriting store, and a row imported before is refused as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import UserError
from runner.ingest import mlenergy, mlenergy_v3, table
from runner.ingest.aliases import load_aliases
from runner.ingest.write import ImportReport, now_utc, write_records

FORMATS = (mlenergy.FORMAT, mlenergy_v3.FORMAT, table.FORMAT)
PINNED_FORMATS = (mlenergy.FORMAT, mlenergy_v3.FORMAT)  # a pinned card; --source refines it


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote, what it could not say about its source (`warnings`) and what it
    left out on purpose (`notes`: e.g. mlenergy-v3's diffusion tasks, one line each)."""

    report: ImportReport
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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
        fmt: `mlenergy-v1`, `mlenergy-v3` or `csv`.
        paths: folders or files of the format (mlenergy-v3: the one folder holding index.json,
            tasks/ and models/; csv: CSV files).
        results: the results root; records go to `published/<source>/...` under it.
        source_card: mlenergy-v1 and -v3: a YAML with any of id, citation, url, license,
            version, date, methodology, tasks, refining the format's pinned card.
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
    notes: list[str] = []
    if fmt in PINNED_FORMATS and mapping is not None:
        raise UserError(f"import: --mapping is for the csv format ({fmt} has its own)")
    if fmt == mlenergy.FORMAT:
        records = mlenergy.parse(paths, aliases, imported, source_card)
    elif fmt == mlenergy_v3.FORMAT:
        parsed = mlenergy_v3.parse(paths, aliases, imported, source_card)
        records, notes = parsed.records, parsed.notes
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
                where = "--source FILE" if fmt in PINNED_FORMATS else "the mapping's source"
                warnings.append(
                    f"source {source.source_id!r}: no {flag} given ({where}); "
                    f"the records leave it absent"
                )
    return ImportResult(write_records(results, records), warnings, notes)
