"""`leaderboard validate`: every config in conf/ and every record under a results folder.

Records are checked for schema, version, raw data and location (`runner.records.load`), and for
the agreement of their own figures (`runner.records.consistency`: throughput, tokens, time,
energy per response and per token, within the tolerance stated there). The hardware aliases
(`conf/hardware_aliases.yaml`) and the task mapping (`conf/task_mapping.yaml`: a mapped task must
be one of `conf/task/`) are checked with the configs. Serving records of one model, task,
hardware and arrival process that differ in configuration are named in a warning: they are
different sweeps (the site never pools them), which a reader of the folder would not guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runner.compose import compose_run_config, conf_dir, hydra_context
from runner.errors import RecordError, UserError
from runner.records.configuration import configuration_key
from runner.records.consistency import inconsistencies
from runner.records.load import leftovers_note, scan_results, scan_roots
from runner.records.serving import ServingRecord
from runner.records.serving_rules import config_differences

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
    warnings = list(scan.warnings) + mixed_sweeps(scan.records)
    return problems, warnings, notes, valid


def mixed_sweeps(records: list[tuple[Path, object]]) -> list[str]:
    """One warning per model, task, hardware and arrival process whose serving records hold
    more than one configuration (configuration key and sweep hash), naming how they differ."""
    groups: dict[tuple[str, ...], dict[tuple[object, ...], ServingRecord]] = {}
    folders: dict[tuple[str, ...], Path] = {}
    for path, record in records:
        if not isinstance(record, ServingRecord):
            continue
        ident = record.identity
        where = (ident.hardware_slug, ident.model_name, ident.task, ident.arrival)
        sweep = (configuration_key(ident.configuration), ident.sweep_hash)
        groups.setdefault(where, {}).setdefault(sweep, record)
        folders.setdefault(where, path.parent.parent)  # <task>/, above the point folders
    lines = []
    for (hardware, model, task, arrival), sweeps in sorted(groups.items()):
        if len(sweeps) < 2:
            continue
        chosen = list(sweeps.values())
        differences = config_differences([r.config for r in chosen])
        caps = {r.identity.configuration.max_num_seqs for r in chosen}
        shown = [f"{path} {' / '.join(_show(v) for v in values)}"
                 for path, values in differences.items()][:6]  # fmt: skip
        if len(caps) > 1 and not any(path.endswith("max_batch_requests") for path in differences):
            shown.insert(0, "batch cap " + " / ".join(str(c) for c in sorted(caps)))
        folder = folders[(hardware, model, task, arrival)]
        lines.append(
            f"{folder}: {arrival} serving records of {len(sweeps)} configurations "
            f"(differing in {'; '.join(shown) or 'schema version or configuration'}): "
            f"{len(sweeps)} separate sweeps, never pooled"
        )
    return lines


def _show(value: object) -> str:
    return "none" if value is None else str(value)
