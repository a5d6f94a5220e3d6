"""`leaderboard pr-intake`: what a pull request may give a benchmark job, read as data.

The benchmark workflow runs the base branch's code and settings (trusted) on a machine that
holds secrets, and takes from the PR's tree (checked out beside it, never executed) only:

- its new or changed model configs `conf/model/<name>.yaml`, each checked here as data before
  anything composes it (`check_model_data`), and
- the run-folder pointers that earlier benchmark jobs committed to the PR
  (`results/runs/<hardware>/<run-id>/records.dvc` and the `.gitignore` beside it), each checked
  for the one shape `dvc add` writes (`check_pointer`).

Every other file the PR changes (runner code, `params.yaml`, workflows, scripts, the Makefile)
is listed as "other changes": none of it runs in the benchmark job, and the comment says so
(the PR's own code takes effect for benchmarks once it is merged).

A model config is refused (not benchmarked; the reason goes into the comment) when it is not a
YAML mapping of model fields (a `defaults:` list would pull other config files into the
composition), when any key or string holds an interpolation `${...}` (a resolver such as
`${oc.env:HF_TOKEN}` would copy a secret into a record), when `name` is not the file name, when
the typed validation fails, when it sets `trust_remote_code: true` (the model repository's own
Python would run next to the secrets) without a maintainer's `trust-remote-code` label, or when
a random-init config's revision is not the hash of its init config.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from runner.config import ModelConfig, init_config_revision
from runner.errors import ConfigError, UserError
from runner.publish.changed_models import MODEL_DIR, SAFE_REF
from runner.publish.pipeline import RUN_DATA_DIR, RUN_ID, RUNS_DIR
from runner.records.layout import SAFE_NAME

MAX_CONFIG_BYTES = 64 * 1024
REMOTE_CODE_LABEL = "trust-remote-code"
POINTER_FILES = ("records.dvc", ".gitignore")
POINTER_OUT_KEYS = {"md5", "size", "nfiles", "hash", "path"}
DIR_HASH = re.compile(r"^[0-9a-f]{32}\.dir$")
MODEL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}


@dataclass
class Intake:
    """What a PR gives a benchmark job.

    Attributes:
        head: the PR's commit that was read (40 hex).
        models: accepted model config names, sorted.
        blobs: model config name -> git blob id of its file at `head` (what was benchmarked).
        refused: `conf/model/<name>.yaml` -> why it is not benchmarked (one line).
        pointers: run-folder pointer files the PR holds (paths relative to the repository).
        other_changes: every other path the PR adds, changes or deletes (none of it runs).
    """

    head: str
    models: list[str] = field(default_factory=list)
    blobs: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    pointers: list[str] = field(default_factory=list)
    other_changes: list[str] = field(default_factory=list)


def git(tree: Path, *args: str) -> str:
    """Run git in `tree` and return its stdout.

    Raises:
        UserError: git cannot run or fails (its first error line).
    """
    try:
        result = subprocess.run(
            ["git", "-C", str(tree), *args], capture_output=True, text=True, timeout=120
        )
    except OSError as error:
        raise UserError(f"git: cannot run ({error.strerror})") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[0]
        raise UserError(f"git {args[0]} in {tree}: {detail}")
    return result.stdout


def _interpolations(value: Any, where: str) -> list[str]:
    """Field paths whose key or string value holds `${`."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "${" in str(key):
                found.append(path)
            found += _interpolations(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _interpolations(item, f"{where}[{index}]")
    elif isinstance(value, str) and "${" in value:
        found.append(where)
    return found


def check_model_data(text: str, name: str, *, allow_remote_code: bool = False) -> dict[str, Any]:
    """A PR's model config file, checked as data; the parsed mapping.

    Raises:
        ConfigError: one line (without the file name) saying what is refused and why.
    """
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"larger than {MAX_CONFIG_BYTES // 1024} KiB; a model config is small")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of model fields")
    if "defaults" in data:
        raise ConfigError(
            "defaults: not allowed in a PR's model config (it would pull other config files in)"
        )
    unknown = sorted(str(key) for key in data if key not in MODEL_FIELDS)
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: unknown key (expected model fields: {', '.join(sorted(MODEL_FIELDS))})"
        )
    interpolated = _interpolations(data, "")
    if interpolated:
        raise ConfigError(
            f"{interpolated[0]}: interpolation (${{...}}) is not allowed in a PR's model config "
            "(a resolver could read the runner's environment); write the value itself"
        )
    if data.get("name") != name:
        raise ConfigError(f"name: expected {name!r} (the file name), got {data.get('name')!r}")
    if data.get("trust_remote_code") is True and not allow_remote_code:
        raise ConfigError(
            "trust_remote_code: true runs the model repository's own Python on the runner; a "
            f"maintainer reviews {data.get('hf_id')}@{data.get('revision')} and adds the "
            f"`{REMOTE_CODE_LABEL}` label first"
        )
    init_config = data.get("init_config")
    if data.get("source") == "random-init" and isinstance(init_config, dict):
        expected = init_config_revision(init_config)
        if data.get("revision") != expected:
            raise ConfigError(
                f"revision: expected {expected!r} (the hash of init_config and the seed: a "
                f"changed shape is a new revision), got {data.get('revision')!r}"
            )
    try:
        ModelConfig(**data)
    except TypeError as error:
        raise ConfigError(f"not a model config ({error})") from None
    return data


def check_pointer(path: PurePosixPath, text: str) -> None:
    """A run folder's pointer file, as `dvc add` writes it.

    Raises:
        ConfigError: one line naming what is wrong.
    """
    if path.name == ".gitignore":
        if text != f"/{RUN_DATA_DIR}\n":
            raise ConfigError(f"expected exactly '/{RUN_DATA_DIR}' (what dvc add writes)")
        return
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError("not valid YAML") from None
    outs = data.get("outs") if isinstance(data, dict) and set(data) == {"outs"} else None
    if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict):
        raise ConfigError("expected `outs:` with exactly one output (what dvc add writes)")
    out = outs[0]
    if set(out) - POINTER_OUT_KEYS or out.get("path") != RUN_DATA_DIR:
        raise ConfigError(f"expected one output `path: {RUN_DATA_DIR}` with md5, size, nfiles")
    if not isinstance(out.get("md5"), str) or not DIR_HASH.match(out["md5"]):
        raise ConfigError("md5: expected a directory hash (32 hex digits and .dir)")
    for key in ("size", "nfiles"):
        value = out.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{key}: expected an integer")


def pointer_path(path: str) -> PurePosixPath | None:
    """`results/runs/<hardware>/<run-id>/(records.dvc|.gitignore)` as a path, else None."""
    pure = PurePosixPath(path)
    parts = pure.parts
    if len(parts) != 5 or parts[:2] != ("results", RUNS_DIR) or parts[4] not in POINTER_FILES:
        return None
    if not SAFE_NAME.match(parts[2]) or ".." in parts[2] or not RUN_ID.match(parts[3]):
        return None
    return pure


def read_intake(tree: Path, base: str, *, allow_remote_code: bool = False) -> Intake:
    """Classify and check what the PR checked out at `tree` changed since `base`.

    Raises:
        UserError: `base` is not a usable ref, or git fails.
    """
    if not SAFE_REF.match(base) or ".." in base:
        raise UserError(f"--base: expected a git ref or commit, got {base!r}")
    head = git(tree, "rev-parse", "HEAD").strip()
    intake = Intake(head=head)
    listing = git(tree, "diff", "--name-status", "--no-renames", "-z", f"{base}...HEAD")
    fields = listing.split("\0")
    changes = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    for status, path in changes:
        pure = PurePosixPath(path)
        if pure.parent == MODEL_DIR and pure.suffix == ".yaml":
            if status.startswith("D"):
                continue  # nothing to benchmark
            name = pure.stem
            try:
                if not SAFE_NAME.match(name) or ".." in name:
                    raise ConfigError("the file name is not a safe config name")
                text = git(tree, "show", f"HEAD:{path}")
                check_model_data(text, name, allow_remote_code=allow_remote_code)
            except ConfigError as error:
                intake.refused[path] = str(error)
                continue
            intake.models.append(name)
            intake.blobs[name] = git(tree, "rev-parse", f"HEAD:{path}").strip()
        elif pointer_path(path) is not None and not status.startswith("D"):
            try:
                check_pointer(PurePosixPath(path), git(tree, "show", f"HEAD:{path}"))
            except ConfigError as error:
                intake.other_changes.append(path)
                print(f"pr-intake: {path}: not a run-folder pointer ({error})", file=sys.stderr)
                continue
            intake.pointers.append(path)
        else:
            intake.other_changes.append(path)
    intake.models.sort()
    intake.pointers.sort()
    # A pointer whose partner file is missing or refused is not a run folder.
    folders = {str(PurePosixPath(p).parent) for p in intake.pointers}
    for folder in sorted(folders):
        pair = [f"{folder}/{name}" for name in POINTER_FILES]
        if not all(p in intake.pointers for p in pair):
            for p in pair:
                if p in intake.pointers:
                    intake.pointers.remove(p)
                    intake.other_changes.append(p)
    intake.other_changes.sort()
    return intake


def install(intake: Intake, tree: Path, repo: Path, *, configs: bool, results: bool) -> list[str]:
    """Copy the accepted configs and/or the pointers from `tree` into the trusted `repo`.

    Configs replace the base's file of the same name (the PR changed it); a pointer is copied
    only where the base has none. Returns the repository-relative paths written.
    """
    written: list[str] = []
    paths = [f"{MODEL_DIR}/{name}.yaml" for name in intake.models] if configs else []
    for relative in paths + (intake.pointers if results else []):
        target = repo / relative
        if relative in intake.pointers and target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(git(tree, "show", f"{intake.head}:{relative}"), encoding="utf-8")
        written.append(relative)
    return written


def shorten(paths: list[str], limit: int = 10) -> str:
    """`a, b, c and 7 more`: the first `limit` paths."""
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def intake_json(intake: Intake, code: str | None) -> dict[str, Any]:
    """The intake as the JSON the comment job reads (`code`: the commit whose code ran)."""
    return {**dataclasses.asdict(intake), "code": code}


def cmd_pr_intake(args: argparse.Namespace) -> int:
    """Check the PR's configs and pointers; print `models=` and `head=` for $GITHUB_OUTPUT."""
    allow = args.allow_remote_code == "true"
    intake = read_intake(args.pr_tree, args.base, allow_remote_code=allow)
    for path, why in sorted(intake.refused.items()):
        print(f"pr-intake: refused {path}: {why}", file=sys.stderr)
    if intake.other_changes:
        print(
            f"pr-intake: {len(intake.other_changes)} other changed file(s) do not run here: "
            f"{shorten(intake.other_changes)}",
            file=sys.stderr,
        )
    written = install(
        intake, args.pr_tree, args.repo, configs=args.install_configs, results=args.install_results
    )
    for relative in written:
        print(f"pr-intake: took {relative}", file=sys.stderr)
    if args.json is not None:
        code = git(args.repo, "rev-parse", "HEAD").strip()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(intake_json(intake, code), indent=1), encoding="utf-8")
    print(f"models={' '.join(intake.models)}")
    print(f"head={intake.head}")
    return 0


def add_parser(commands: Any) -> None:
    """Register `pr-intake` on the CLI's subparsers."""
    parser = commands.add_parser(
        "pr-intake", help="a PR's model configs and run pointers, checked as data"
    )
    parser.add_argument("--pr-tree", type=Path, required=True, help="the PR's checkout (data)")
    parser.add_argument("--base", required=True, help="base ref in that checkout, origin/main")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the trusted repository")
    parser.add_argument(
        "--allow-remote-code",
        choices=("true", "false"),
        default="false",
        help=f"the PR carries the maintainer's `{REMOTE_CODE_LABEL}` label",
    )
    parser.add_argument(
        "--install-configs", action="store_true", help="copy the accepted configs into conf/model"
    )
    parser.add_argument(
        "--install-results", action="store_true", help="copy the PR's run pointers into results/"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the intake as JSON here")
    parser.set_defaults(handler=cmd_pr_intake)
