"""`leaderboard validate`: every config in conf/ and every record under a results folder."""

from __future__ import annotations

from pathlib import Path

from runner.compose import compose_run_config, conf_dir, hydra_context
from runner.errors import UserError
from runner.records.load import leftovers_note, scan_results

CHECKED_GROUPS = ("model", "task", "backend")


def validate_configs(config_dir: Path | None = None) -> list[str]:
    """Compose every `conf/<group>/*.yaml` with the root config; one line per problem."""
    root = config_dir or conf_dir()
    problems: list[str] = []
    with hydra_context(root):
        for group in CHECKED_GROUPS:
            for path in sorted((root / group).glob("*.yaml")):
                problem = check_config_file(group, path.stem)
                if problem:
                    problems.append(problem)
    from runner.accuracy.evaluate import validate_eval_configs

    problems += validate_eval_configs(root)
    return problems


def check_config_file(group: str, name: str) -> str | None:
    """Compose the root config with `<group>=<name>`; the problem as one line, or None.

    Must be called inside `hydra_context()`.
    """
    try:
        compose_run_config([f"{group}={name}"])
    except UserError as error:
        message = str(error)
        if not message.startswith("conf/"):
            message = f"conf/{group}/{name}.yaml: {message}"
        return message
    return None


def validate_results(results_dir: Path) -> tuple[list[str], list[str], list[str], int]:
    """(problems, warnings, notes, number of valid records) for a results folder.

    Notes are informational: the leftovers of interrupted runs, which no reader shows.
    """
    scan = scan_results(results_dir)
    notes = [leftovers_note(scan.leftovers, results_dir)] if scan.leftovers else []
    return scan.problems, scan.warnings, notes, len(scan.records)
