"""`leaderboard changed-models --base REF`: the model configs a branch adds or changes.

Uses `git diff --name-only --diff-filter=d <base>...HEAD` (three dots: changes since the merge
base, so commits that landed on the base branch meanwhile are not counted). A deleted config has
nothing to benchmark and is left out. Every changed config must be listed in params.yaml, or it
would have no DVC stage: that is an error naming the file.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from runner.config import check_safe_name
from runner.errors import ConfigError, UserError
from runner.publish.pipeline import PARAMS_FILE, load_params

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


def changed_models(repo: Path, base: str, *, require_listed: bool = True) -> list[str]:
    """The model config names changed since `base`.

    Raises:
        ConfigError: a changed model is not listed in params.yaml `models`.
    """
    names = models_in(changed_files(repo, base))
    if require_listed and names:
        listed = load_params(repo)["models"]
        for name in names:
            if name not in listed:
                raise ConfigError(
                    f"conf/model/{name}.yaml: not listed in {PARAMS_FILE} `models`, so the "
                    "pipeline has no stage for it (add it; `leaderboard new-model` does)"
                )
    return names


def cmd_changed_models(args: argparse.Namespace) -> int:
    """Print the changed model names (one per line, or a JSON list)."""
    names = changed_models(args.repo, args.base, require_listed=not args.allow_unlisted)
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
    parser.add_argument(
        "--allow-unlisted", action="store_true", help="do not require params.yaml to list them"
    )
    parser.set_defaults(handler=cmd_changed_models)
