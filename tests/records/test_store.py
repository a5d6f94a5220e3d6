"""Atomic, never-overwriting writes: round trip, refusal, and a kill mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner.errors import ConfigError, RecordError
from runner.records.store import (
    is_temp_file,
    new_run_id,
    safe_subdir,
    write_json_new,
    write_new_file,
)
from tests.support.reliability_support import pytest_command, report

COMMAND = pytest_command("tests/records/test_store.py")


@pytest.mark.parametrize("mode", ["unnamed", "named"])
def test_write_then_refuse_second_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    import runner.records.store as store

    if mode == "named":
        monkeypatch.setattr(store, "_LIBC", None)
    path = tmp_path / "a" / "record.json"
    write_json_new(path, {"x": 1})
    before = path.read_bytes()
    with pytest.raises(RecordError, match="already exists"):
        write_json_new(path, {"x": 2})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]


def test_run_ids_are_unique_and_sortable() -> None:
    ids = [new_run_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(len(i) == len("20260101T000000Z-0123abcd") for i in ids)


@pytest.mark.parametrize(
    "component", ["../x", "/abs", "a/b", "..", "", "x\x00y", "C:\\x", ".hidden"]
)
def test_unsafe_path_components_are_refused(tmp_path: Path, component: str) -> None:
    with pytest.raises(ConfigError) as refused:
        safe_subdir(tmp_path, "performance", component)
    report(
        "bad-input",
        "unsafe path components (store.safe_subdir)",
        tried=1,
        tracebacks=int("\n" in str(refused.value)),
        command=COMMAND,
        note="../x, /abs, a/b, .., empty, NUL, C:\\x, .hidden",
        instance=repr(component),
    )


@pytest.mark.parametrize("mode", ["unnamed", "named"])
def test_kill_mid_write_leaves_no_record(tmp_path: Path, mode: str) -> None:
    """SIGKILL a writer while it streams a large record: the final name never appears.

    With an unnamed temp file (O_TMPFILE) nothing at all is left; on the fallback path only a
    hidden `.partial` temp file can be, which no reader treats as a record.
    """
    target = tmp_path / "big.json"
    script = textwrap.dedent(
        f"""
        import os, sys
        import runner.records.store as store
        if {mode!r} == "named":
            store._LIBC = None
        real_write = os.write
        def slow_write(fd, data):
            sys.stdout.write("writing\\n"); sys.stdout.flush()
            import time; time.sleep(0.05)
            return real_write(fd, bytes(data[:4096]))
        store.os.write = slow_write
        store.write_new_file(__import__("pathlib").Path({str(target)!r}), b"x" * 10_000_000)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not target.exists()
    leftovers = list(tmp_path.iterdir())
    if mode == "unnamed":
        assert leftovers == []
    else:
        assert len(leftovers) == 1 and is_temp_file(leftovers[0])
    report(
        "faults",
        "sigkill mid-write of a 10 MB record (store)",
        tried=1,
        lost=int(target.exists()) + sum(not is_temp_file(p) for p in leftovers),
        command=COMMAND,
        note="O_TMPFILE path and named-temp fallback; the record name never appears",
        instance=mode,
    )


def test_full_disk_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import runner.records.store as store
    from runner.errors import UserError

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "write", no_space)
    target = tmp_path / "r.json"
    with pytest.raises(UserError, match="no space left on device; nothing was written"):
        write_new_file(target, b"{}")
    assert list(tmp_path.iterdir()) == []
    report(
        "faults",
        "ENOSPC injected into the write (store)",
        tried=1,
        lost=len(list(tmp_path.iterdir())),
        tracebacks=0,  # a UserError (one line), asserted above
        command=COMMAND,
    )
