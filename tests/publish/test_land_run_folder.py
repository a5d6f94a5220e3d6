"""scripts/land-run-folder.sh: a leg's pointer lands on the PR branch as it is, or is never lost.

A bare origin with a server-side hook stands in for GitHub refusing a push (the branch moved
again between the fetch and the push, or the token may not push).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "land-run-folder.sh"
FOLDER = "results/runs/cpu-x/20260101T000000Z-42.1"
MD5 = "3ecece5b497a4cc7b783d837c439dd95.dir"
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "LAND_RETRY_DELAY_S": "0",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """origin (bare) with main and a PR branch; the leg's PR clone; its run folder."""
    seed = tmp_path / "seed"
    (seed / "conf").mkdir(parents=True)
    (seed / "conf" / "x.yaml").write_text("x: 1\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "base")
    git(seed, "branch", "add-x")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    tree = tmp_path / "leg" / "pr"
    git(tmp_path, "clone", "-q", str(origin), str(tree))
    leg = tmp_path / "leg"
    (leg / FOLDER).mkdir(parents=True)
    (leg / FOLDER / "records.dvc").write_text(
        f"outs:\n- md5: {MD5}\n  size: 3\n  nfiles: 12\n  hash: md5\n  path: records\n"
    )
    (leg / FOLDER / ".gitignore").write_text("/records\n")
    message = tmp_path / "message.txt"
    message.write_text("benchmark: x\n\nBenchmarked-Runner: cpu\n")
    return {"origin": origin, "leg": leg, "tree": tree, "message": message, "root": tmp_path}


def hook(origin: Path, body: str) -> None:
    path = origin / "hooks" / "pre-receive"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def land(world: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "pr", FOLDER, "add-x", str(world["message"])],
        cwd=world["leg"],
        env={**ENV, "RUNNER_TEMP": str(world["root"])},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_push_refused_once_lands_on_the_next_attempt(world: dict[str, Path]) -> None:
    # Someone pushes to the branch between our fetch and our push, once.
    hook(world["origin"], f'[ -e "{world["root"]}/refused" ] && exit 0\n'
         f'touch "{world["root"]}/refused"; echo "moved meanwhile" >&2; exit 1\n')  # fmt: skip
    result = land(world)
    assert result.returncode == 0, result.stderr
    assert "landed on add-x" in result.stdout and "(attempt 2)" in result.stdout
    added = git(world["origin"], "show", "--name-only", "--format=%B", "add-x")
    assert f"{FOLDER}/records.dvc" in added and f"{FOLDER}/.gitignore" in added
    assert "Benchmarked-Runner: cpu" in added


def test_a_branch_that_never_takes_it_names_the_objects_and_the_one_command(
    world: dict[str, Path],
) -> None:
    # The PR branch refuses every push; any other branch is accepted.
    hook(world["origin"], 'while read old new ref; do\n'
         '  [ "$ref" = refs/heads/add-x ] && { echo "protected" >&2; exit 1; }\n'
         "done\nexit 0\n")  # fmt: skip
    result = land(world)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: the pointer of " + FOLDER + " was not committed to add-x")
    assert f"({MD5}, 12 files)" in line
    side = "benchmark-results/20260101T000000Z-42.1"
    command = re.search(r"finish with `([^`]+)`", line)
    assert command and command.group(1) == (
        f"git switch add-x && git pull --no-rebase origin {side} && git push"
    )
    # The one command, run by a maintainer (the hook lifted), lands the pointer.
    hook(world["origin"], "exit 0\n")
    maintainer = world["root"] / "maintainer"
    git(world["root"], "clone", "-q", str(world["origin"]), str(maintainer))
    subprocess.run(command.group(1), shell=True, cwd=maintainer, env=ENV, check=True,
                   capture_output=True)  # fmt: skip
    files = git(world["origin"], "ls-tree", "-r", "--name-only", "add-x").split()
    assert f"{FOLDER}/records.dvc" in files and f"{FOLDER}/.gitignore" in files


def test_nothing_to_land_is_one_line(world: dict[str, Path]) -> None:
    (world["leg"] / FOLDER / "records.dvc").unlink()
    result = land(world)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {FOLDER}/records.dvc is missing (run dvc add first)"
