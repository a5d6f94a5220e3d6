"""Immutable files under a results root: safe paths, atomic no-overwrite writes, run ids.

Every record kind (performance, accuracy, ...) is written through `write_new_file`:
the bytes go to a hidden temp file in the target folder, are flushed and fsync'ed, and are then
hard-linked to the final name. `os.link` fails if the name exists, so a record is never replaced,
even by a concurrent writer, and a reader never sees a partial file under a record's name. A crash
can leave only a hidden `.*.partial` temp file, which no reader treats as a record.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.config import check_safe_name
from runner.errors import ConfigError, RecordError, UserError

TEMP_SUFFIX = ".partial"


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

    Raises:
        RecordError: `path` exists (records are never overwritten).
        UserError: the disk is full or the folder is not writable; no partial file is left.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            raise RecordError(f"{path}: already exists; records are never overwritten") from None
        _fsync_dir(path.parent)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(f"{path}: no space left on device; nothing was written") from None
        if error.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise UserError(
                f"{path}: cannot write ({error.strerror}); nothing was written"
            ) from None
        raise
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


def write_jsonl_new(path: Path, rows: list[dict[str, Any]]) -> bytes:
    """Write rows as JSON Lines to a new file atomically; returns the bytes written."""
    data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    encoded = data.encode("utf-8")
    write_new_file(path, encoded)
    return encoded
