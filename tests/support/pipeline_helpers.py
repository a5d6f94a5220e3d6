"""Helpers for the DVC and workflow tests: a small, git-initialised copy of this repository.

The copy holds the tracked and untracked-but-not-ignored files (what a clone of the PR would
hold), with params.yaml cut down to two tasks and two prompts, so a benchmark run of the tiny
model takes seconds. Commands run with the copy first on PYTHONPATH, so the copy's code and
configs are the ones used.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SMALL_TASKS = ("chat", "instruct")

_TRACKED: dict[str, Path] = {}


def env_for(repo: Path, **extra: str) -> dict[str, str]:
    """The environment a pipeline command runs in: offline, the copy's code, the venv's tools."""
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(repo),
            "DVC_NO_ANALYTICS": "1",
            "HF_HUB_OFFLINE": "1",
            "GIT_AUTHOR_NAME": "test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
        }
    )
    env.pop("LEADERBOARD_HARDWARE_SUFFIX", None)
    env.update(extra)
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with its output."""
    result = subprocess.run(
        args, cwd=cwd, env=env or env_for(cwd), capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout[-3000:]}"
            f"\n{result.stderr[-3000:]}"
        )
    return result


def shrink_params(repo: Path) -> None:
    """Cut params.yaml down to seconds of work (2 tasks, 2 prompts, 8 new tokens)."""
    path = repo / "params.yaml"
    text = path.read_text()
    replacements = {
        r"batch_sizes: .*": 'batch_sizes: "1"',
        r"num_prompts: .*": "num_prompts: 2",
        r"repeats: .*": "repeats: 1",
        r"warmup_batches: .*": "warmup_batches: 0",
        r"idle_seconds: .*": "idle_seconds: 0",
        r"(?m)^(  extra: )\"\"(.*)$": r'\1"task.max_new_tokens=8 min_window_s=0"\2',
    }
    for pattern, replacement in replacements.items():
        text = re.sub(pattern, replacement, text, count=1)
    text = re.sub(
        r"tasks:\n(  - .*\n)+", "tasks:\n" + "".join(f"  - {t}\n" for t in SMALL_TASKS), text
    )
    path.write_text(text)


def make_repo_copy(dest: Path) -> Path:
    """A git-initialised copy of this repository (one commit), with small params, DVC ready."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    dest.mkdir(parents=True)
    for raw in files:
        if not raw:
            continue
        relative = raw.decode()
        source = REPO_ROOT / relative
        if not source.is_file():
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    shrink_params(dest)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-q", "-m", "copy"], dest)
    return dest


def set_local_remote(repo: Path, url: Path) -> None:
    """Point the default remote at a folder, in the uncommitted .dvc/config.local."""
    run(["dvc", "remote", "modify", "--local", "localstore", "url", str(url)], repo)


def benchmark_run_folder(repo: Path, models: list[str], env: dict[str, str] | None = None) -> Path:
    """What a benchmark job does on this machine: run `models` on every params.yaml task into a
    new run folder, then `dvc add` it. Returns the folder (`results/runs/<hw>/<id>/records`)."""
    env = env or env_for(repo)
    slug = run(["leaderboard", "hardware-slug"], repo, env).stdout.strip()
    run_id = f"20260101T000000Z-{len(list((repo / 'results').glob('runs/*/*'))) + 1}.1"
    folder = repo / "results" / "runs" / slug / run_id / "records"
    tasks = ",".join(SMALL_TASKS)
    for model in models:
        run(
            ["leaderboard", "run", "-m", "--no-progress", f"model={model}", f"task={tasks}",
             "batch_size=1", "num_prompts=2", "repeats=1", "warmup_batches=0", "idle_seconds=0",
             "task.max_new_tokens=8", "min_window_s=0", "results_dir=results",
             f"results_subdir={folder.relative_to(repo / 'results').as_posix()}"],
            repo,
            env,
        )  # fmt: skip
    run(["dvc", "add", "-q", str(folder.relative_to(repo))], repo, env)
    return folder


def tracked_repo(factory: pytest.TempPathFactory) -> Path:
    """One repo copy per test session with one run folder of the tiny model, DVC-tracked and
    committed (its local remote beside it)."""
    if "repo" not in _TRACKED:
        base = factory.mktemp("pipeline")
        repo = make_repo_copy(base / "repo")
        set_local_remote(repo, base / "remote")
        benchmark_run_folder(repo, ["tiny-random"])
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-q", "-m", "benchmark tiny-random"], repo)
        _TRACKED["repo"] = repo
    return _TRACKED["repo"]


def file_digests(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root` (DVC's .gitignore files excluded)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".gitignore"
    }
