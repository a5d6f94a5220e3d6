"""Reading records of every kind: JSON parse, kind and schema-version check, schema validation.

A record kind is registered in `RECORD_TYPES` with the schema version this code writes. Older
versions with a written migration (`runner.records.migrate`) are upgraded in memory before
validation; the file is not changed. Anything else (another version, a foreign JSON file, a
truncated file) is refused with one line that names the file and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from runner.errors import RecordError
from runner.records.accuracy import ACCURACY_SCHEMA_VERSION, AccuracyRecord
from runner.records.calibration import CALIBRATION_SCHEMA_VERSION, CalibrationRecord
from runner.records.layout import expected_parts
from runner.records.migrate import can_migrate, migrate, readable_versions
from runner.records.performance import SCHEMA_VERSION, PerformanceRecord
from runner.records.published import PUBLISHED_SCHEMA_VERSION, PublishedRecord
from runner.records.store import is_temp_file, sha256_file

# kind -> (schema version this code reads, model class)
RECORD_TYPES: dict[str, tuple[int, type[BaseModel]]] = {
    "performance": (SCHEMA_VERSION, PerformanceRecord),
    "accuracy": (ACCURACY_SCHEMA_VERSION, AccuracyRecord),
    "calibration": (CALIBRATION_SCHEMA_VERSION, CalibrationRecord),
    "published": (PUBLISHED_SCHEMA_VERSION, PublishedRecord),
}

RAW_DATA_SUFFIX = ".requests.jsonl"
# Raw data beside a record: per-request rows (performance), per-sample rows (accuracy).
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
    """Every record found under a results root, and one line per problem or warning."""

    records: list[tuple[Path, BaseModel]]
    problems: list[str]
    warnings: list[str]


def iter_candidate_files(results_dir: Path) -> Iterator[Path]:
    """Every regular file under `results_dir`, sorted, skipping DVC and git bookkeeping."""
    for path in sorted(results_dir.rglob("*")):
        if path.is_file() and not any(part in (".dvc", ".git") for part in path.parts):
            yield path


def scan_results(results_dir: Path) -> ScanResult:
    """Load and check every record under `results_dir` (no file is changed).

    Problems: unreadable/invalid records, missing or changed raw data, duplicated run ids,
    foreign files. Warnings: temp files and raw data left by interrupted runs.
    """
    records: list[tuple[Path, BaseModel]] = []
    problems: list[str] = []
    warnings: list[str] = []
    referenced: set[Path] = set()
    raw_files: list[Path] = []
    seen_ids: dict[tuple[str, str], Path] = {}
    if not results_dir.is_dir():
        return ScanResult([], [f"{results_dir}: results folder not found"], [])
    for path in iter_candidate_files(results_dir):
        if is_temp_file(path):
            warnings.append(f"{path}: temp file of an interrupted write (not a record)")
            continue
        if path.name.endswith(RAW_DATA_SUFFIXES):
            raw_files.append(path)
            continue
        if path.name in (".gitignore", ".gitkeep", "README.md") or path.suffix == ".dvc":
            continue
        if path.suffix != ".json":
            problems.append(f"{path}: foreign file (records are .json)")
            continue
        try:
            record = load_record(path)
        except RecordError as error:
            problems.append(str(error))
            continue
        raw = getattr(record, "raw_data", None)
        if raw is not None:
            # Named by a record: reported with that record, never again as an orphan.
            referenced.add(path.parent / raw.file)
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
    for raw_path in raw_files:
        if raw_path not in referenced:
            warnings.append(f"{raw_path}: raw data without a record (an interrupted run)")
    return ScanResult(records, problems, warnings)
