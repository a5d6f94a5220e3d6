"""Immutable files under a results root: safe paths, atomic no-overwrite writes, run ids.

Every record kind (performance, accuracy, ...) is written through `write_new_file`: the bytes
go to an unnamed temp file in the target folder, are fsync'ed, and only then linked to the final
name. Linking fails if the name exists, so a record is never replaced, even by a concurrent
writer, and a reader never sees a partial file under a record's name.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from runner.errors import ConfigError, RecordError, UserError
from runner.records.layout import check_safe_name
from runner.records.performance import RawData

TEMP_SUFFIX = ".partial"
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()


def new_run_id(now: datetime | None = None) -> str:
    """A unique, sortable id: UTC time to the second plus 8 random hex digits."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def safe_subdir(root: Path, *components: str) -> Path:
    """`root/c1/c2/...`, refusing any component that is not one safe path name.

    Raises:
        ConfigError: a component is empty, absolute, contains a separator, `..` or NUL.
    """
    path = root
    for component in components:
        check_safe_name("path component", component)
        path = path / component
    resolved_root = root.resolve()
    if resolved_root not in path.resolve().parents and path.resolve() != resolved_root:
        raise ConfigError(f"path component: {path} would leave {root}")
    return path


def canonical_json(data: Any) -> str:
    """Deterministic JSON (sorted keys, no extra spaces): the basis of every hash we store."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_new_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; refuse if `path` already exists.

    The bytes go to an unnamed file (`O_TMPFILE`) in the target folder that is linked to
    `path` only once complete, so a crash at any point leaves nothing behind. Where the
    filesystem or kernel does not allow that, a hidden named temp file is used instead, and a
    crash can leave only that (`.*.partial`, never read as a record).

    Raises:
        RecordError: `path` exists (records are never overwritten).
        UserError: the disk is full or the folder is not writable; no partial file is left.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if not _write_unnamed_then_link(path, data):
            _write_named_then_link(path, data)
        _fsync_dir(path.parent)
    except FileExistsError:
        raise RecordError(f"{path}: already exists; records are never overwritten") from None
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(f"{path}: no space left on device; nothing was written") from None
        if error.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise UserError(
                f"{path}: cannot write ({error.strerror}); nothing was written"
            ) from None
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _write_unnamed_then_link(path: Path, data: bytes) -> bool:
    """O_TMPFILE + linkat(AT_EMPTY_PATH); False where unsupported (nothing written then)."""
    if not hasattr(os, "O_TMPFILE") or _LIBC is None:
        return False
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return False
        raise
    try:
        _write_all(fd, data)
        result = _LIBC.linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH)
        if result != 0:
            code = ctypes.get_errno()
            if code == errno.EEXIST:
                raise FileExistsError(code, os.strerror(code), str(path))
            if code in (errno.ENOENT, errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                return False  # no privilege for AT_EMPTY_PATH: fall back
            raise OSError(code, os.strerror(code), str(path))
        return True
    finally:
        os.close(fd)


def _write_named_then_link(path: Path, data: bytes) -> None:
    """A hidden temp file in the same folder, hard-linked to `path`, then removed."""
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (best effort on filesystems that refuse it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_temp_file(path: Path) -> bool:
    """True for a hidden temp file left by an interrupted write (never a record)."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def write_json_new(path: Path, data: Any) -> None:
    """Write pretty JSON to a new file atomically (see `write_new_file`)."""
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    write_new_file(path, text.encode("utf-8"))


def write_record_with_raw_data(
    folder: Path,
    run_id: str,
    raw_suffix: str,
    rows: list[dict[str, Any]],
    make_record: Callable[[RawData], BaseModel],
) -> tuple[Path, BaseModel]:
    """Write `<run_id><raw_suffix>` (JSON Lines), then the record `<run_id>.json` naming it.

    The record is the commit: it is linked last, after the raw data is complete and fsync'ed, so
    a record never names a missing file, and a point exists exactly when its record does. If
    the record cannot be written, the raw data is removed again; if the process is killed in
    between, the raw data is a leftover that readers ignore (`runner.records.load`) and
    `leaderboard clean-interrupted` removes.

    Args:
        make_record: builds the record from the written raw data's `RawData` (name, sha256, rows).
    """
    raw_name = f"{run_id}{raw_suffix}"
    raw_bytes = write_jsonl_new(folder / raw_name, rows)
    record = make_record(RawData(file=raw_name, sha256=sha256_bytes(raw_bytes), rows=len(rows)))
    path = folder / f"{run_id}.json"
    try:
        write_json_new(path, record.model_dump(mode="json"))
    except BaseException:
        (folder / raw_name).unlink(missing_ok=True)
        raise
    return path, record


def write_jsonl_new(path: Path, rows: list[dict[str, Any]]) -> bytes:
    """Write rows as JSON Lines to a new file atomically; returns the bytes written."""
    data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    encoded = data.encode("utf-8")
    write_new_file(path, encoded)
    return encoded
