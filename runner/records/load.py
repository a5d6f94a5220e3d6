"""Reading records of every kind: JSON parse, kind and schema-version check, schema validation.

A record kind is registered in `RECORD_TYPES` with the schema version this code writes. Older
versions with a written migration (`runner.records.migrate`) are upgraded in memory before
validation; the file is not changed. Anything else (another version, a foreign JSON file, a
truncated file) is refused with one line that names the file and the reason.

The record is a point's commit: the store links `<run_id>.json` last, after its raw data is
complete. So a run's files are a point when, and only when, its record exists. What a killed run
leaves before that (raw data whose `<run_id>.json` does not exist beside it, hidden `.partial`
temp files) is an uncommitted leftover: `scan_results` lists it apart, readers never show it and
never fail on it, and `remove_leftovers` (`leaderboard clean-interrupted`) deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from runner.errors import RecordError
from runner.records.accuracy import ACCURACY_SCHEMA_VERSION, AccuracyRecord
from runner.records.calibration import CALIBRATION_SCHEMA_VERSION, CalibrationRecord
from runner.records.layout import expected_parts
from runner.records.migrate import can_migrate, migrate, readable_versions
from runner.records.performance import SCHEMA_VERSION, PerformanceRecord
from runner.records.published import PUBLISHED_SCHEMA_VERSION, PublishedRecord
from runner.records.serving import SERVING_SCHEMA_VERSION, ServingRecord
from runner.records.steady import STEADY_SCHEMA_VERSION, SteadyRecord
from runner.records.store import is_temp_file, sha256_file

# kind -> (schema version this code reads, model class)
RECORD_TYPES: dict[str, tuple[int, type[BaseModel]]] = {
    "performance": (SCHEMA_VERSION, PerformanceRecord),
    "accuracy": (ACCURACY_SCHEMA_VERSION, AccuracyRecord),
    "calibration": (CALIBRATION_SCHEMA_VERSION, CalibrationRecord),
    "published": (PUBLISHED_SCHEMA_VERSION, PublishedRecord),
    "serving": (SERVING_SCHEMA_VERSION, ServingRecord),
    "steady": (STEADY_SCHEMA_VERSION, SteadyRecord),
}

# Files a results folder may hold beside records: git/DVC bookkeeping, and the licence and
# attribution a source's published records ship with (results/published/<source>/).
DOCUMENT_FILES = (".gitignore", ".gitkeep", "README.md", "LICENSE", "NOTICE", "SOURCE.md")
RAW_DATA_SUFFIX = ".requests.jsonl"
# Raw data beside a record: per-request rows (performance, serving, steady), per-sample rows
# (accuracy).
RAW_DATA_SUFFIXES = (RAW_DATA_SUFFIX, ".samples.jsonl")


def parse_record(path: Path, text: str) -> BaseModel:
    """Validate record text read from `path`.

    Raises:
        RecordError: one line: the file, and what is wrong with it.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or "kind" not in data or "schema_version" not in data:
        raise RecordError(f"{path}: not a leaderboard record (no 'kind' and 'schema_version')")
    kind, version = data["kind"], data["schema_version"]
    if kind not in RECORD_TYPES:
        known = ", ".join(sorted(RECORD_TYPES))
        raise RecordError(f"{path}: unknown record kind {kind!r} (expected one of {known})")
    expected_version, model = RECORD_TYPES[kind]
    if version != expected_version:
        if not can_migrate(kind, version, expected_version):
            readable = ", ".join(str(v) for v in readable_versions(kind, expected_version))
            raise RecordError(
                f"{path}: unknown schema_version {version!r} for kind {kind!r} "
                f"(this code reads version {readable})"
            )
        data = migrate(kind, data, expected_version)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(record)"
        extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise RecordError(f"{path}: field {location}: {first['msg']}{extra}") from None


def load_record(path: Path) -> BaseModel:
    """Read and validate one record file.

    Raises:
        RecordError: unreadable, not UTF-8, not JSON, unknown kind/version, or schema mismatch.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise RecordError(f"{path}: cannot read ({error.strerror})") from None
    return parse_record(path, text)


def check_raw_data(path: Path, record: BaseModel) -> None:
    """Check the raw-data file a record names: present, same sha256 and row count.

    Raises:
        RecordError: the file is missing, changed or truncated.
    """
    raw = getattr(record, "raw_data", None)
    if raw is None:
        return
    raw_path = path.parent / raw.file
    if Path(raw.file).name != raw.file or not raw_path.is_file():
        raise RecordError(f"{path}: raw data file {raw.file!r} is missing")
    if sha256_file(raw_path) != raw.sha256:
        raise RecordError(f"{raw_path}: sha256 differs from the record's; the file was changed")
    with raw_path.open("rb") as handle:
        rows = sum(1 for _ in handle)
    if rows != raw.rows:
        raise RecordError(f"{raw_path}: {rows} rows, the record says {raw.rows}")


def check_location(path: Path, record: BaseModel) -> None:
    """Check that a record sits where its own identity says it belongs.

    Raises:
        RecordError: the record was moved, copied or forged into another folder or file name
            (for example into another model's folder, where it would be shown as that model's).
    """
    expected = expected_parts(record)
    if expected is None:
        return
    actual = path.parts[-len(expected) :]
    if tuple(actual) != expected:
        raise RecordError(
            f"{path}: its identity places it at {'/'.join(expected)}, not here "
            f"(a moved or forged record)"
        )


@dataclass(frozen=True)
class ScanResult:
    """Every record found under a results root, one line per problem or warning, and leftovers.

    Attributes:
        records: (path, record) of every valid record.
        problems: invalid records, missing or changed raw data, duplicates, foreign files.
        warnings: things to look at that do not make a record invalid.
        leftovers: files an interrupted run left before committing its record (see the module
            docstring); never shown, never a problem or warning.
    """

    records: list[tuple[Path, BaseModel]]
    problems: list[str]
    warnings: list[str]
    leftovers: list[Path] = field(default_factory=list)


def iter_candidate_files(results_dir: Path) -> Iterator[Path]:
    """Every regular file under `results_dir`, sorted, skipping DVC and git bookkeeping."""
    for path in sorted(results_dir.rglob("*")):
        if path.is_file() and not any(part in (".dvc", ".git") for part in path.parts):
            yield path


def leftover_kind(path: Path) -> str | None:
    """Why `path` is an interrupted run's leftover, or None when it is not one.

    A leftover is a hidden `.partial` temp file of an interrupted write, or raw data
    (`<run_id>.requests.jsonl`, `<run_id>.samples.jsonl`) with no `<run_id>.json` beside it. Raw
    data beside a record file is never a leftover, whether or not that record is valid or of a
    schema version this code reads.
    """
    if is_temp_file(path):
        return "temp file of an interrupted write"
    for suffix in RAW_DATA_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            run_id = path.name[: -len(suffix)]
            if not (path.parent / f"{run_id}.json").exists():
                return "raw data whose record was never written"
    return None


def scan_results(results_dir: Path) -> ScanResult:
    """Load and check every record under `results_dir` (no file is changed).

    Problems: unreadable/invalid records, missing or changed raw data, duplicated run ids,
    foreign files. Leftovers of interrupted runs are listed apart (`ScanResult.leftovers`).
    """
    records: list[tuple[Path, BaseModel]] = []
    problems: list[str] = []
    warnings: list[str] = []
    leftovers: list[Path] = []
    seen_ids: dict[tuple[str, str], Path] = {}
    if not results_dir.is_dir():
        return ScanResult([], [f"{results_dir}: results folder not found"], [])
    for path in iter_candidate_files(results_dir):
        if leftover_kind(path) is not None:
            leftovers.append(path)
            continue
        if path.name.endswith(RAW_DATA_SUFFIXES):
            continue  # beside its record, which checks it
        if path.name in DOCUMENT_FILES or path.suffix == ".dvc":
            continue
        if path.suffix != ".json":
            problems.append(f"{path}: foreign file (records are .json)")
            continue
        try:
            record = load_record(path)
        except RecordError as error:
            problems.append(str(error))
            continue
        try:
            check_raw_data(path, record)
            check_location(path, record)
        except RecordError as error:
            problems.append(str(error))
            continue
        key = (getattr(record, "kind", ""), getattr(record, "run_id", path.stem))
        if key in seen_ids:
            problems.append(f"{path}: duplicate run_id {key[1]!r} (also in {seen_ids[key]})")
            continue
        seen_ids[key] = path
        records.append((path, record))
    return ScanResult(records, problems, warnings, leftovers)


def distinct_roots(roots: list[Path], flag: str = "--results") -> tuple[list[Path], list[str]]:
    """The results roots to read, each once, and a warning per root named more than once.

    Raises:
        RecordError: a root is missing, or lies inside another (its records would be read
            twice).
    """
    unique: list[Path] = []
    warnings: list[str] = []
    for root in roots:
        if not root.is_dir():
            raise RecordError(f"{flag} {root}: results folder not found")
        if any(root.resolve() == other.resolve() for other in unique):
            warnings.append(f"{flag} {root}: given more than once; read once")
            continue
        for other in unique:
            inner, outer = sorted((root, other), key=lambda p: len(p.resolve().parts))[::-1]
            if outer.resolve() in inner.resolve().parents:
                raise RecordError(
                    f"{flag} {inner}: inside {flag} {outer}, whose records include it; "
                    "give one of them"
                )
        unique.append(root)
    return unique, warnings


def scan_roots(roots: list[Path], flag: str = "--results") -> ScanResult:
    """`scan_results` over several results roots read as one tree (`distinct_roots` first):
    a record (kind and run id) found under two roots is a duplicate, as within one root."""
    unique, warnings = distinct_roots(roots, flag)
    records: list[tuple[Path, BaseModel]] = []
    problems: list[str] = []
    leftovers: list[Path] = []
    seen: dict[tuple[str, str], Path] = {}
    for root in unique:
        scan = scan_results(root)
        problems += scan.problems
        warnings += scan.warnings
        leftovers += scan.leftovers
        for path, record in scan.records:
            key = (getattr(record, "kind", ""), getattr(record, "run_id", path.stem))
            if key in seen:
                problems.append(f"{path}: duplicate run_id {key[1]!r} (also in {seen[key]})")
                continue
            seen[key] = path
            records.append((path, record))
    return ScanResult(records, problems, warnings, leftovers)


def leftovers_note(leftovers: list[Path], results_dir: Path | str) -> str:
    """The one line readers print about leftovers: how many, ignored, and the command."""
    return (
        f"{len(leftovers)} leftover file(s) of interrupted runs ignored (not records); "
        f"`leaderboard clean-interrupted --results {results_dir}` removes them"
    )


def remove_leftovers(results_dir: Path, *, dry_run: bool = False) -> list[tuple[Path, str]]:
    """Delete (or, with `dry_run`, only list) what interrupted runs left under `results_dir`.

    Only leftovers are touched (see `leftover_kind`): a record file, or raw data beside a record
    file, is never removed. Each path is checked again just before it is deleted. Do not run
    this while a run writes into the same folder: its raw data is a leftover until its record is
    linked.

    Returns:
        (path, reason) of every leftover, removed unless `dry_run`.

    Raises:
        RecordError: `results_dir` is not a folder.
    """
    if not results_dir.is_dir():
        raise RecordError(f"{results_dir}: results folder not found")
    found: list[tuple[Path, str]] = []
    for path in iter_candidate_files(results_dir):
        reason = leftover_kind(path)
        if reason is None or path.is_symlink():
            continue
        found.append((path, reason))
        if not dry_run and leftover_kind(path) is not None:
            path.unlink(missing_ok=True)
    return found
