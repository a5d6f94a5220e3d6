"""Fault injection on the runner: kills at many points, concurrent writers, a full disk, an OOM.

Each test states what it tried and asserts that nothing was lost or left partial.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner.cli import main
from runner.records.load import scan_results
from runner.records.store import is_temp_file
from tests.support.reliability_support import pytest_command
from tests.support.reliability_support import report as reliability_report

REPO = Path(__file__).resolve().parents[2]
RUN_ARGS = [
    "experiment=demo",
    "num_prompts=2",
    "repeats=1",
    "warmup_batches=0",
    "idle_seconds=0",
    "task.max_new_tokens=8",
    "calibrate=false",  # calibration records: tests/hardware/test_calibration.py
]

# A driver that runs `leaderboard run` and SIGKILLs itself at one write point of the store.
KILL_DRIVER = textwrap.dedent(
    """
    import os, signal, sys, types
    import runner.records.store as store
    target, results = sys.argv[1], sys.argv[2]
    calls = {"write": 0, "link": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class OsProxy(types.ModuleType):
        def __getattr__(self, name):
            return getattr(os, name)

    proxy = OsProxy("os_proxy")

    def write(fd, data):
        calls["write"] += 1
        if target == f"write{calls['write']}:mid":
            os.write(fd, bytes(data[: max(1, len(data) // 2)]))
            die()
        return os.write(fd, data)

    proxy.write = write
    store.os = proxy
    real_libc = store._LIBC

    class LibcProxy:
        def linkat(self, *args):
            calls["link"] += 1
            if target == f"link{calls['link']}:before":
                die()
            result = real_libc.linkat(*args)
            if target == f"link{calls['link']}:after":
                die()
            return result

    if real_libc is not None:
        store._LIBC = LibcProxy()
    from runner.cli import main
    sys.exit(main(sys.argv[3:]))
    """
)


def run_driver(
    target: str,
    results: Path,
    extra: list[str],
    command: tuple[str, ...] = ("run", "--no-progress"),
) -> subprocess.CompletedProcess:
    """Run `leaderboard <command> results_dir=<results> <extra>` and kill it at `target`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    arguments = [*command, f"results_dir={results}", *extra]
    return subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, target, str(results), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_nothing_partial(results: Path) -> int:
    """No temp files, every record valid with intact raw data; returns the record count."""
    scan = scan_results(results) if results.exists() else None
    if scan is None:
        return 0
    assert scan.problems == [], scan.problems
    assert not [p for p in results.rglob("*") if is_temp_file(p)]
    return len(scan.records)


def assert_strict_build_succeeds(results: Path, out: Path) -> bool:
    """`leaderboard build --strict`, the Pages workflow's command, accepts the tree as it is."""
    if not results.exists():
        return True
    return main(["build", "--results", str(results), "--out", str(out), "--strict"]) == 0


@pytest.mark.slow
def test_sigkill_at_every_write_point_loses_nothing(tmp_path: Path) -> None:
    """Kill mid-write and around the link of the raw data (1st file) and the record (2nd)."""
    targets = [
        "write1:mid",
        "link1:before",
        "link1:after",
        "write2:mid",
        "link2:before",
        "link2:after",
    ]
    results = tmp_path / "results"
    # An earlier complete record must survive every later crash untouched.
    assert main(["run", "--no-progress", f"results_dir={results}", *RUN_ARGS]) == 0
    survivor = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    report = []
    expected = 1
    refused_builds = 0
    for target in targets:
        completed = run_driver(target, results, RUN_ARGS)
        assert completed.returncode == -signal.SIGKILL, completed.stderr[-2000:]
        count = assert_nothing_partial(results)
        # After every kill the published build still goes through, with no clean-up first.
        refused_builds += not assert_strict_build_succeeds(results, tmp_path / "_site")
        report.append((target, count))
        # Killed once its record was linked, the run's record is complete and counts;
        # killed at any earlier point, it wrote no record. The first record is intact.
        expected += target == "link2:after"
        assert count == expected
        assert all(path.read_bytes() == data for path, data in survivor.items())
    # A kill after the raw data was linked but before the record leaves, at most, raw data
    # without a record: a leftover, never read as a result, never a warning.
    scan = scan_results(results)
    # (link1:after, write2:mid and link2:before: three such files, each complete.)
    assert len(scan.leftovers) == 3 and scan.warnings == []
    assert all(p.name.endswith(".requests.jsonl") for p in scan.leftovers)
    assert refused_builds == 0
    print("kill points tried:", report, "records lost: 0")
    changed = sum(not p.is_file() or p.read_bytes() != d for p, d in survivor.items())
    report_counts(
        "sigkill at each write point",
        tried=len(targets),
        lost=changed + len(scan_results(results).problems),
        note=(
            "mid-write, before and after the link, of the raw data and of the record; "
            f"`build --strict` refused after {refused_builds} of {len(targets)} kills"
        ),
    )


@pytest.mark.slow
def test_sigkill_at_random_times_loses_nothing(tmp_path: Path) -> None:
    results = tmp_path / "results"
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "runner.cli",
        "run",
        "--no-progress",
        f"results_dir={results}",
        *RUN_ARGS,
    ]
    started = time.perf_counter()
    assert subprocess.run(command, env=env, capture_output=True, timeout=300).returncode == 0
    full_run = time.perf_counter() - started
    finished = 1
    for _ in range(5):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, full_run * 1.1))
        process.send_signal(signal.SIGKILL)
        if process.wait(timeout=300) == 0:
            finished += 1
        assert assert_nothing_partial(results) >= 1
    assert assert_nothing_partial(results) >= finished
    scan = scan_results(results)
    report_counts(
        "sigkill at random times",
        tried=5,
        lost=len(scan.problems) + max(0, finished - len(scan.records)),
        note="5 runs killed after a random 0.3 s..1.1x run time; finished runs all kept",
    )


@pytest.mark.slow
def test_eight_concurrent_runs_into_one_folder(tmp_path: Path) -> None:
    """4 runs of the same point and 4 of different points, all at once."""
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    points = [["task=chat"]] * 4 + [
        ["task=chat-concise"],
        ["task=instruct"],
        ["task=instruct-concise"],
        ["task=chat", "batch_size=1"],
    ]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "run",
                "--no-progress",
                f"results_dir={results}",
                *RUN_ARGS,
                *point,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for point in points
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [p.returncode for p in processes] == [0] * 8, [o[1][-500:] for o in outputs]
    scan = scan_results(results)
    assert scan.problems == [] and scan.warnings == []
    assert len(scan.records) == 8
    assert len({record.run_id for _, record in scan.records}) == 8
    same_point = [
        r for p, r in scan.records if r.identity.task == "chat" and r.identity.batch_size == 2
    ]
    assert len(same_point) == 4
    report_counts(
        "8 concurrent runs, one folder",
        tried=8,
        lost=8 - len(scan.records) + len(scan.problems),
        note="4 of the same point, 4 of different points, at once",
    )


def _can_mount_tmpfs(path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True
    )
    if probe.returncode != 0:
        return False
    subprocess.run(["umount", str(path)], check=True)
    return True


@pytest.mark.slow
def test_disk_filling_up_during_the_write(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A real 64 KiB tmpfs, pre-filled to leave less and less room: clear error, no partial file."""
    mount_point = tmp_path / "small"
    if not _can_mount_tmpfs(mount_point):
        pytest.skip("cannot mount a tmpfs here (needs root); ENOSPC is injected in test_store")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], check=True
    )
    try:
        outcomes = []
        for free_kib in (0, 4, 8, 12, 16, 24, 60):
            results = mount_point / "results"
            shutil.rmtree(results, ignore_errors=True)
            for filler in mount_point.glob("fill*"):
                filler.unlink()
            filler = mount_point / "fill"
            fill_fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
            try:
                os.write(fill_fd, b"\0" * ((64 - free_kib) * 1024))
            except OSError:
                pass  # the filler itself may hit the limit: then nothing is free
            finally:
                os.close(fill_fd)
            code = main(["run", "--no-progress", f"results_dir={results}", *RUN_ARGS])
            err = capsys.readouterr().err
            if code == 0:
                assert assert_nothing_partial(results) == 1
                outcomes.append((free_kib, "written"))
            else:
                assert "no space left on device; nothing was written" in err
                assert "Traceback" not in err
                leftovers = (
                    [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
                )
                assert leftovers == []
                outcomes.append((free_kib, "refused"))
        assert ("refused" in {o for _, o in outcomes}) and outcomes[-1][1] == "written"
        print("disk-full outcomes (KiB free -> result):", outcomes)
        report_counts(
            "disk full during the write (real tmpfs)",
            tried=len(outcomes),
            lost=0,  # each refused run left no file; each written one validated (asserted above)
            tracebacks=0,  # "Traceback" not in stderr (asserted above)
            note=f"64 KiB tmpfs with 0..60 KiB free; outcomes {outcomes}",
        )
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_out_of_memory_in_one_sweep_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """batch_size=4 runs out of memory; 1 and 2 still write records; the sweep exits 1."""
    import torch

    import runner.measure.backends as benchmark

    real = benchmark.generate_batch

    def generate_or_oom(model, tokenizer, device, task, texts, max_prompt_tokens, **kwargs):
        if len(texts) == 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(model, tokenizer, device, task, texts, max_prompt_tokens, **kwargs)

    monkeypatch.setattr(benchmark, "generate_batch", generate_or_oom)
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            f"results_dir={tmp_path}",
            *RUN_ARGS,
            "num_prompts=4",
            "batch_size=1,4,2",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "out of memory" in err and "batch_size=4" in err
    assert "1 of 3 point(s) failed" in err and "Traceback" not in err
    sizes = sorted(r.identity.batch_size for _, r in scan_results(tmp_path).records)
    assert sizes == [1, 2]
    report_counts(
        "GPU OOM in one sweep point",
        tried=1,
        lost=2 - len(sizes),
        tracebacks=int("Traceback" in err),
        note="batch_size=4 of a 1,4,2 sweep raises torch.OutOfMemoryError",
    )


def report_counts(check: str, **counts) -> None:
    """This file's entry in the reliability figures (category `faults`)."""
    reliability_report(
        "faults", check, command=pytest_command("tests/reliability/test_runner.py"), **counts
    )
