"""`leaderboard benchmark-status`: were the PR's model configs benchmarked as they are now?

Every benchmark job's pointer commit carries git trailers (written by
scripts/land-run-folder.sh):

    Benchmarked-Head: <the PR commit whose model configs were read>
    Benchmarked-Code: <the base commit whose code and settings ran>
    Benchmarked-Runner: <the runner label>
    Benchmarked-Config: conf/model/<name>.yaml <git blob id of the file that was benchmarked>

The `benchmark-status` workflow (a required status check, run on every push to a PR) reads the
PR's commits since its base and, for every model config the PR adds or changes and every
enabled runner of the registry (the base branch's `conf/runners.yaml`), looks for a pointer
commit that benchmarked exactly the file's current content on that runner. None: "not
benchmarked yet"; one for an older content only: "stale" (a push after benchmarking changed
it). Either fails the check until a maintainer labels the PR `benchmark` again. The trailers
guard against honest mistakes; reviewers see who made each commit.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import UserError
from runner.publish.changed_models import MODEL_DIR, changed_models
from runner.publish.intake import git
from runner.publish.runners import load_registry

TRAILER = re.compile(r"^Benchmarked-(Head|Code|Runner|Config): *(\S+)(?: +(\S+))? *$")


@dataclass
class Benchmarked:
    """One pointer commit's trailers."""

    commit: str
    head: str = ""
    code: str = ""
    runner: str = ""
    configs: dict[str, str] = field(default_factory=dict)  # config path -> blob id


def benchmarked_commits(tree: Path, base: str) -> list[Benchmarked]:
    """The commits since `base` that carry benchmark trailers, newest first."""
    log = git(tree, "log", "--format=%x1e%H%x1f%B", f"{base}..HEAD")
    found: list[Benchmarked] = []
    for entry in log.split("\x1e"):
        if "\x1f" not in entry:
            continue
        commit, body = entry.split("\x1f", 1)
        record = Benchmarked(commit=commit.strip())
        for line in body.splitlines():
            match = TRAILER.match(line.strip())
            if not match:
                continue
            key, value, extra = match.groups()
            if key == "Config" and extra:
                record.configs[value] = extra
            elif key == "Head":
                record.head = value
            elif key == "Code":
                record.code = value
            elif key == "Runner":
                record.runner = value
        if record.runner and record.configs:
            found.append(record)
    return found


def check_freshness(repo: Path, tree: Path, base: str) -> tuple[list[str], list[str]]:
    """(one line per current config and runner, one line per stale or missing one).

    Raises:
        UserError: git fails, or the registry is invalid.
    """
    runners = sorted(label for label, entry in load_registry(repo).items() if entry.enabled)
    commits = benchmarked_commits(tree, base)
    current: list[str] = []
    problems: list[str] = []
    for model in changed_models(tree, base):
        path = f"{MODEL_DIR}/{model}.yaml"
        blob = git(tree, "rev-parse", f"HEAD:{path}").strip()
        for runner in runners:
            mine = [c for c in commits if c.runner == runner and path in c.configs]
            fresh = next((c for c in mine if c.configs[path] == blob), None)
            if fresh is not None:
                current.append(
                    f"{path} on {runner}: benchmarked as it is now (PR head {fresh.head[:12]}, "
                    f"code {fresh.code[:12]}, commit {fresh.commit[:12]})"
                )
            elif mine:
                problems.append(
                    f"{path} on {runner}: stale: benchmarked at PR head {mine[0].head[:12]}, "
                    "changed since"
                )
            else:
                problems.append(f"{path} on {runner}: not benchmarked yet")
    return current, problems


def cmd_benchmark_status(args: argparse.Namespace) -> int:
    """Print each config's state; fail unless every changed config was benchmarked as it is."""
    current, problems = check_freshness(args.repo, args.pr_tree, args.base)
    for line in current:
        print(f"benchmark-status: {line}")
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        raise UserError(
            f"benchmark-status: {len(problems)} model config(s) are not benchmarked as they are "
            "now; a maintainer labels the PR `benchmark` to benchmark them"
        )
    if not current:
        print("benchmark-status: no model config changed: nothing to benchmark")
    return 0


def add_parser(commands: Any) -> None:
    """Register `benchmark-status` on the CLI's subparsers."""
    parser = commands.add_parser(
        "benchmark-status", help="fail unless the PR's model configs were benchmarked as they are"
    )
    parser.add_argument("--pr-tree", type=Path, required=True, help="the PR's checkout (data)")
    parser.add_argument("--base", required=True, help="base ref in that checkout, origin/main")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the trusted repository")
    parser.set_defaults(handler=cmd_benchmark_status)
