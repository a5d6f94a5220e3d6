"""`leaderboard changed-models --base REF`: the model configs a branch adds or changes.

Uses `git diff --name-only --diff-filter=d <base>...HEAD` (three dots: changes since the merge
base, so commits that landed on the base branch meanwhile are not counted). It reads commits, so
commit the config first. A deleted config has nothing to benchmark and is left out.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from runner.config import check_safe_name
from runner.errors import UserError

MODEL_DIR = PurePosixPath("conf/model")
# A git revision argument we pass on: refs, SHAs, `origin/main`, `HEAD~1`; never an option.
SAFE_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/~^@{}-]{0,254}$")


def changed_files(repo: Path, base: str) -> list[str]:
    """Paths (POSIX, relative to the repo) added, copied, modified or renamed since `base`.

    Raises:
        UserError: `base` is not a usable ref, or git fails.
    """
    if not SAFE_REF.match(base) or ".." in base:
        raise UserError(f"--base: expected a git ref or commit, got {base!r}")
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), "diff", "--name-only", "--diff-filter=d", f"{base}...HEAD"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as error:
        raise UserError(f"git: cannot run ({error.strerror})") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[0]
        raise UserError(f"--base {base}: git diff failed ({detail})")
    return [line for line in result.stdout.splitlines() if line]


def models_in(paths: list[str]) -> list[str]:
    """Config names of the `conf/model/<name>.yaml` files among `paths`, sorted, unique.

    Files in subfolders of conf/model/ or with another suffix are not model configs.
    """
    names: set[str] = set()
    for path in paths:
        pure = PurePosixPath(path)
        if pure.parent == MODEL_DIR and pure.suffix == ".yaml":
            check_safe_name(f"{path}: file name", pure.stem)
            names.add(pure.stem)
    return sorted(names)


def changed_models(repo: Path, base: str) -> list[str]:
    """The model config names changed since `base` (committed changes only).

    Raises:
        UserError: `base` is not usable, or git fails.
    """
    return models_in(changed_files(repo, base))


def uncommitted_models(repo: Path) -> list[str]:
    """Model configs changed in the working tree but not committed (changed-models skips them)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", str(MODEL_DIR)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return []
    paths = [line[3:].strip() for line in result.stdout.splitlines() if len(line) > 3]
    return models_in(paths) if result.returncode == 0 else []


def cmd_changed_models(args: argparse.Namespace) -> int:
    """Print the changed model names (one per line, or a JSON list)."""
    names = changed_models(args.repo, args.base)
    for name in uncommitted_models(args.repo):
        print(
            f"note: conf/model/{name}.yaml is not committed; changed-models reads commits "
            "(commit it first)",
            file=sys.stderr,
        )
    if args.format == "json":
        print(json.dumps(names))
    else:
        for name in names:
            print(name)
    return 0


def add_parser(commands: Any) -> None:
    """Register `changed-models` on the CLI's subparsers."""
    parser = commands.add_parser(
        "changed-models", help="model configs changed since a base ref (git diff base...HEAD)"
    )
    parser.add_argument("--base", required=True, help="base ref, e.g. origin/main")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--format", choices=("lines", "json"), default="lines")
    parser.set_defaults(handler=cmd_changed_models)
