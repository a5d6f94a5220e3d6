"""`leaderboard verify-results`: refuse to publish unless every pointed-to record was pulled.

`dvc pull` is the first guard (without `--allow-missing` it fails on an unreachable remote or a
missing object). This is the second, run before the Pages build: for every DVC pointer
(`*.dvc`) under the results folder, DVC's own `dvc status` must report the workspace equal to
what the pointer declares (same files, same content hash), and the tree must hold at least one
record. A tree with no pointer yet and records committed to git (e.g. imported published
records under results/published/) passes: those are what is published. Anything else is named,
one line per pointer, and nothing is published.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from runner.errors import UserError


def pointer_files(results: Path) -> list[Path]:
    """Every DVC pointer file under `results`, sorted."""
    return sorted(path for path in results.rglob("*.dvc") if path.is_file())


def declared_outputs(pointer: Path) -> list[tuple[Path, int | None]]:
    """(output path, declared file count or None) of each `outs:` entry of a pointer.

    Raises:
        UserError: the pointer is not a DVC pointer file.
    """
    try:
        data = yaml.safe_load(pointer.read_text(encoding="utf-8"))
        outs = data["outs"]
        return [(pointer.parent / out["path"], out.get("nfiles")) for out in outs]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise UserError(f"{pointer}: not a DVC pointer file ({error})") from None


def dvc_status(repo: Path, pointers: list[Path], dvc: str) -> dict[str, Any]:
    """`dvc status --json` of the pointers (an empty dict: all in sync).

    Raises:
        UserError: dvc cannot run or fails.
    """
    try:
        result = subprocess.run(
            [dvc, "status", "--json", *(str(p.relative_to(repo)) for p in pointers)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except OSError as error:
        raise UserError(f"dvc: cannot run {dvc!r} ({error.strerror})") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"dvc status failed: {detail}")
    text = result.stdout.strip()
    return json.loads(text) if text else {}


def _count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


def verify_results(repo: Path, results: Path, *, dvc: str = "dvc") -> tuple[list[str], int]:
    """(one line per problem, number of pointers) for the results under `repo`.

    Problems: no pointer and no record at all (an empty site), a pointed-to folder missing,
    fewer files than declared, or `dvc status` reporting a difference.
    """
    from runner.records.load import scan_results

    if not results.is_dir():
        return [f"{results}: results folder not found"], 0
    pointers = pointer_files(results)
    problems: list[str] = []
    for pointer in pointers:
        for out, nfiles in declared_outputs(pointer):
            if not out.exists():
                problems.append(f"{pointer}: {out} is missing (not pulled)")
            elif nfiles is not None and out.is_dir() and _count_files(out) < nfiles:
                problems.append(
                    f"{pointer}: {out} has {_count_files(out)} of its {nfiles} files (not pulled)"
                )
    if pointers and not problems:
        for name, changes in sorted(dvc_status(repo, pointers, dvc).items()):
            problems.append(f"{name}: not what the pointer declares ({json.dumps(changes)})")
    if not problems and not scan_results(results).records:
        problems.append(f"{results}: no records at all; refusing to publish an empty site")
    return problems, len(pointers)


def cmd_verify_results(args: argparse.Namespace) -> int:
    """Print one line per problem; exit 1 if any."""
    problems, count = verify_results(args.repo, args.results, dvc=args.dvc)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        raise UserError(
            f"verify-results: {len(problems)} problem(s); nothing may be published. Fix: run "
            f"`dvc pull` against a remote that holds every object (`dvc push` from the runner "
            f"that made them), then `leaderboard verify-results --results {args.results}`"
        )
    if count:
        print(f"verify-results: {count} pointer(s), every declared record is present")
    else:
        print("verify-results: no DVC pointer yet; the records committed to git are published")
    return 0


def add_parser(commands: Any) -> None:
    """Register `verify-results` on the CLI's subparsers."""
    parser = commands.add_parser(
        "verify-results", help="fail unless every record a DVC pointer declares was pulled"
    )
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    beside = Path(sys.executable).parent / "dvc"
    parser.add_argument(
        "--dvc",
        default=str(beside) if beside.exists() else "dvc",
        help="the dvc executable (default: the one beside this Python)",
    )
    parser.set_defaults(handler=cmd_verify_results)
