"""Path safety end to end: hostile names through `leaderboard run` and `leaderboard new-model`.

Each payload (parent-directory walks, absolute paths, a NUL byte, Windows drives and UNC
paths) is tried as model.name, model.hf_id, model.base_model, task.name and as the hardware
suffix; and as the hub id given to `new-model`. The whole temp folder is snapshotted before and
after: nothing may appear outside the results folder (nothing at all, in fact: every one is
refused), and each refusal is one `error:` line with exit code 1, never a traceback.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.machine.provenance import HARDWARE_SUFFIX_ENV, hardware_slug
from tests.support.reliability_support import pytest_command, report

COMMAND = pytest_command("tests/reliability/test_paths.py")
SHA = "0123456789abcdef0123456789abcdef01234567"
PAYLOADS = [
    "../../escaped",
    "../../../../../../tmp/escaped",
    "..",
    "x/../../escaped",
    "/tmp/escaped-abs",
    "/etc/passwd",
    "a\x00b",
    "escaped\x00.json",
    "C:\\escaped",
    "C:/escaped",
    "c:escaped",
    "\\\\server\\share\\escaped",
    "./.hidden",
    ".escaped",
    "~/escaped",
    "escaped/",
]
RUN_FIELDS = ["model.name", "model.hf_id", "model.base_model", "task.name"]
BASE = ["experiment=demo", "num_prompts=1", "batch_size=1", "warmup_batches=0", "idle_seconds=0",
        "task.max_new_tokens=2"]  # fmt: skip


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def one_clear_line(err: str) -> bool:
    lines = [line for line in err.strip().splitlines() if line]
    return (
        "Traceback" not in err
        and bool(lines)
        and all(line.startswith(("error:", "[1/1] failed:", "run: 1 of 1")) for line in lines)
    )


def quoted(value: str) -> str:
    """A Hydra override value: single-quoted, with quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path) -> Path:
    """A working folder with a copy of conf/ and params.yaml (for new-model), as the cwd."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(repo_root / "conf", work / "conf")
    shutil.copy(repo_root / "params.yaml", work / "params.yaml")
    monkeypatch.chdir(work)
    return tmp_path


def test_hostile_names_never_write_outside_results(
    sandbox: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = sandbox / "work" / "results"
    before = tree(sandbox)
    tried = tracebacks = escaped = accepted = 0
    unclear: list[str] = []
    for field in RUN_FIELDS:
        for payload in PAYLOADS:
            tried += 1
            code = main(["run", "--no-progress", *BASE, f"results_dir={results}",
                         f"{field}={quoted(payload)}"])  # fmt: skip
            err = capsys.readouterr().err
            tracebacks += "Traceback" in err
            accepted += code == 0
            if code != 1 or not one_clear_line(err) or field not in err:
                unclear.append(f"run {field}={payload!r}: exit {code}: {err.strip()[:200]}")
    for payload in PAYLOADS:
        tried += 1
        code = main(["new-model", payload, "--revision", SHA, "--repo", "."])
        err = capsys.readouterr().err
        tracebacks += "Traceback" in err
        accepted += code == 0
        if code != 1 or not one_clear_line(err) or "hf-id" not in err:
            unclear.append(f"new-model {payload!r}: exit {code}: {err.strip()[:200]}")
    # The hardware suffix is not refused but made into one safe name (an environment variable
    # cannot hold a NUL byte).
    for payload in (p for p in PAYLOADS if "\x00" not in p):
        tried += 1
        monkeypatch.setenv(HARDWARE_SUFFIX_ENV, payload)
        slug = hardware_slug("cpu")
        if not slug or "/" in slug or "\\" in slug or "\x00" in slug or ".." in slug:
            unclear.append(f"hardware suffix {payload!r} -> slug {slug!r}")
    monkeypatch.delenv(HARDWARE_SUFFIX_ENV)
    after = tree(sandbox)
    new = sorted(after - before)
    outside = [p for p in new if not p.startswith("work/results")]
    escaped = len(outside) + sum(Path(p).exists() for p in ("/tmp/escaped-abs", "/tmp/escaped"))
    report(
        "bad-input",
        "hostile path names through run / new-model / hardware suffix",
        tried=tried,
        lost=escaped,
        tracebacks=tracebacks + len(unclear),
        command=COMMAND,
        note=f"{len(PAYLOADS)} payloads x ({', '.join(RUN_FIELDS)}, new-model hf-id, "
        f"hardware suffix); files written outside results/: {len(outside)}",
    )
    assert unclear == []
    assert accepted == 0
    assert outside == [] and escaped == 0
    assert new == []  # refused before anything was written, even inside results/
    assert not os.path.exists(sandbox / "escaped")
