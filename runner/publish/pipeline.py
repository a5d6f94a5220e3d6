"""The PR loop's results layout: run folders, `params.yaml`, and the hardware slug.

Every benchmark job writes its records into a new folder of its own,
`results/runs/<hardware_slug>/<run-id>/records/`, tracked by the DVC pointer
`results/runs/<hardware_slug>/<run-id>/records.dvc` (with a `.gitignore` beside it). A job
therefore only ever *adds* files: two PRs benchmarked on the same hardware, merged in either
order, never edit the same file, and nothing is lost. Inside a run folder the usual layout holds
(`performance/<hardware>/<model>/<task>/bs<N>-<backend>/<run_id>.json`, `accuracy/...`,
`calibration/<hardware>/...`), and readers find records anywhere under `results/`.

`params.yaml` holds the run settings every runner uses (`benchmark:`, `eval:`, `tasks:`);
runner-side settings come from `conf/runners.yaml` (runner.publish.runners), never from a PR.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import yaml

from runner.config import check_safe_name
from runner.errors import ConfigError, UserError

PARAMS_FILE = "params.yaml"
RUNS_DIR = "runs"
RUN_DATA_DIR = "records"
# A run folder's name: UTC time, then the CI run id and attempt (or random hex by hand).
RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9.-]{1,64}$")


def detect_hardware_slug(device: str = "auto") -> str:
    """The slug this machine's records are filed under.

    See `runner.machine.provenance.hardware_slug`.
    """
    from runner.machine.device import resolve_device
    from runner.machine.provenance import hardware_slug

    return hardware_slug(resolve_device(device))


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file of the PR loop, read with the safe loader.

    Raises:
        ConfigError: one line: the file is missing (saying what it is) or not valid YAML.
    """
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found ({what})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None


def load_params(repo: Path) -> dict[str, Any]:
    """params.yaml as a dict, with `tasks` checked (a list of safe names).

    Raises:
        ConfigError: the file is missing, not YAML, or a field is malformed.
    """
    path = repo / PARAMS_FILE
    data = read_yaml(path, "the run settings of the benchmark jobs")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{path}: tasks: expected a non-empty list of task config names")
    for task in tasks:
        check_safe_name(f"{path}: tasks[]", task)
    if len(set(tasks)) != len(tasks):
        raise ConfigError(f"{path}: tasks: expected each name once, got duplicates")
    for key in ("benchmark", "eval"):
        if not isinstance(data.get(key, {}), dict):
            raise ConfigError(f"{path}: {key}: expected a mapping")
    return data


def run_folder(results: Path, hardware: str, run_id: str) -> Path:
    """`<results>/runs/<hardware>/<run-id>/records`: where one benchmark job writes.

    Raises:
        ConfigError: the slug or run id is not a safe name of the expected shape.
    """
    check_safe_name("--hardware", hardware)
    if not RUN_ID.match(run_id):
        raise ConfigError(
            f"--run-id: expected <UTC yyyymmddThhmmssZ>-<id> (letters, digits, '.', '-'), "
            f"got {run_id!r}"
        )
    return results / RUNS_DIR / hardware / run_id / RUN_DATA_DIR


def cmd_hardware_slug(args: argparse.Namespace) -> int:
    """Print this machine's hardware slug; with --expect, fail unless it matches."""
    slug = detect_hardware_slug(args.device)
    if args.expect is not None and slug != args.expect:
        raise UserError(f"hardware slug: this machine is {slug!r}, expected {args.expect!r}")
    print(slug)
    return 0


def add_parsers(commands: Any) -> None:
    """Register `hardware-slug` on the CLI's subparsers."""
    slug = commands.add_parser("hardware-slug", help="print this machine's hardware slug")
    slug.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    slug.add_argument("--expect", default=None, help="fail unless the slug is this")
    slug.set_defaults(handler=cmd_hardware_slug)
