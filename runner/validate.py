"""`leaderboard validate`: every config in conf/ and every record under a results folder.

Records are checked for schema, version, raw data and location (`runner.records.load`), and for
the agreement of their own figures (`runner.records.consistency`: throughput, tokens, time,
energy per response and per token, within the tolerance stated there). The hardware aliases
(`conf/hardware_aliases.yaml`) and the task mapping (`conf/task_mapping.yaml`: a mapped task must
be one of `conf/task/`) are checked with the configs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.compose import compose_run_config, conf_dir, hydra_context
from runner.errors import RecordError, UserError
from runner.records.consistency import inconsistencies
from runner.records.load import leftovers_note, scan_results, scan_roots

CHECKED_GROUPS = ("model", "task", "backend", "scenario")


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
    from runner.ingest.aliases import ALIASES_FILE, load_aliases

    try:
        load_aliases(root / ALIASES_FILE)
    except UserError as error:
        problems.append(str(error))
    from runner.ingest.task_mapping import MAPPING_FILE, load_task_mapping

    if (root / MAPPING_FILE).is_file():
        tasks = {path.stem for path in (root / "task").glob("*.yaml")}
        try:
            load_task_mapping(root / MAPPING_FILE, known_tasks=tasks)
        except UserError as error:
            problems.append(str(error))
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


def validate_results(
    results_dir: Path | Sequence[Path],
) -> tuple[list[str], list[str], list[str], int]:
    """(problems, warnings, notes, number of valid records) for a results folder, or several
    read as one tree (`runner.records.load.scan_roots`).

    A record whose figures disagree is a problem, one line per relation, naming the record file
    and the fields; it is not counted as valid. Notes are informational: the leftovers of
    interrupted runs, which no reader shows.
    """
    roots = [results_dir] if isinstance(results_dir, Path) else list(results_dir)
    if len(roots) == 1:
        scan = scan_results(roots[0])
    else:
        try:
            scan = scan_roots(roots)
        except RecordError as error:
            return [str(error)], [], [], 0
    problems = list(scan.problems)
    valid = 0
    for path, record in scan.records:
        lines = inconsistencies(record)
        problems.extend(f"{path}: {line}" for line in lines)
        valid += not lines
    where = " --results ".join(str(root) for root in roots)
    notes = [leftovers_note(scan.leftovers, where)] if scan.leftovers else []
    return problems, scan.warnings, notes, valid
