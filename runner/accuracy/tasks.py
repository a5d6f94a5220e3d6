"""Project task folders for lm-eval: make relative dataset paths absolute, build a TaskManager.

lm-eval's `dataset_path: json` tasks read `dataset_kwargs.data_files`, which the `datasets`
library resolves against the current directory. Our task YAMLs (the quick suite in
`conf/eval/tasks/`, the test fixtures) name their JSONL files relative to the YAML's own folder,
so that they work from any checkout; `materialize_task_dirs` writes a copy of each YAML with
those paths made absolute into a temp folder, which is then lm-eval's `include_path`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from runner.errors import ConfigError

DataFiles = str | list[str] | dict[str, str | list[str]]


def _absolute(value: Any, base: Path, source: Path) -> Any:
    """`value` (a path, a list of paths, or split -> path(s)) with relative paths made absolute."""
    if isinstance(value, str):
        path = Path(value)
        resolved = path if path.is_absolute() else (base / path).resolve()
        if not resolved.is_file():
            raise ConfigError(
                f"{source}: dataset_kwargs.data_files: expected an existing file, got {value!r}"
            )
        return str(resolved)
    if isinstance(value, list):
        return [_absolute(item, base, source) for item in value]
    if isinstance(value, dict):
        return {split: _absolute(item, base, source) for split, item in value.items()}
    raise ConfigError(
        f"{source}: dataset_kwargs.data_files: expected a path, a list or a mapping, got {value!r}"
    )


def resolve_task_dir(folder: str, config_root: Path) -> Path:
    """A `task_dirs` entry as an absolute folder (relative entries are under `config_root`).

    Raises:
        ConfigError: the folder does not exist.
    """
    path = Path(folder)
    resolved = path if path.is_absolute() else config_root / path
    if not resolved.is_dir():
        raise ConfigError(f"eval.task_dirs: expected an existing folder, got {folder!r}")
    return resolved.resolve()


def materialize_task_dirs(folders: list[Path], dest: Path) -> list[Path]:
    """Copy every task YAML under `folders` into `dest`, with absolute `data_files`.

    Args:
        folders: absolute folders holding lm-eval task YAMLs (searched recursively).
        dest: an empty folder to write the copies into.

    Returns:
        The task YAMLs written (one per source YAML).

    Raises:
        ConfigError: a YAML does not parse (plain YAML only: no `!function` tags) or names a
            data file that does not exist.
    """
    written: list[Path] = []
    for index, folder in enumerate(folders):
        for source in sorted(folder.rglob("*.yaml")):
            try:
                data = yaml.safe_load(source.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as error:
                first = str(error).strip().splitlines()[0]
                raise ConfigError(f"{source}: not a plain lm-eval task YAML ({first})") from None
            if not isinstance(data, dict):
                raise ConfigError(f"{source}: expected an lm-eval task mapping")
            kwargs = data.get("dataset_kwargs")
            if isinstance(kwargs, dict) and "data_files" in kwargs:
                kwargs["data_files"] = _absolute(kwargs["data_files"], source.parent, source)
            target = dest / str(index) / source.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            written.append(target)
    return written


def make_task_manager(include_dir: Path | None, task_names: list[str]) -> Any:
    """An lm-eval `TaskManager` that knows `task_names`.

    Indexing lm-eval's built-in tasks takes seconds, so they are indexed only when some task is
    not among the project's own (`include_dir`).

    Raises:
        ConfigError: a task is neither a project task nor an lm-eval task.
    """
    from lm_eval.tasks import TaskManager

    include = str(include_dir) if include_dir is not None else None
    if include is not None:
        manager = TaskManager(include_path=include, include_defaults=False)
        if all(name in manager.all_tasks for name in task_names):
            return manager
    manager = TaskManager(include_path=include)
    for name in task_names:
        if name not in manager.all_tasks:
            raise ConfigError(f"eval.tasks.{name}: expected an lm-eval task name, got {name!r}")
    return manager
