"""Which published tasks are the same workload as one of this project's tasks, and why.

A source's task is its own workload: the site shows a published record under its source's task
(`<source id>.<task>`, named and described as the source does), never under this project's task
of the same name. `conf/task_mapping.yaml` is the one place that says otherwise: an entry

    mappings:
      <source id>:
        <source task>: {same_as: <this project's task>, reason: "why it is the same workload"}

puts that source task's rows on this project's task boards, where the board still says which
prompts and settings each source's rows used. Checked by `leaderboard validate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runner.compose import conf_dir
from runner.errors import ConfigError
from runner.ingest.aliases import load_conf_file
from runner.records.layout import SAFE_NAME

MAPPING_FILE = "task_mapping.yaml"


def _safe(value: str) -> str:
    if not SAFE_NAME.match(value) or ".." in value:
        raise ValueError(f"expected a task name (letters, digits, '.', '_', '-'), got {value!r}")
    return value


class SameWorkload(BaseModel):
    """One source task that is the same workload as one of this project's tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    same_as: str = Field(description="this project's task (a conf/task/*.yaml name)")
    reason: str = Field(min_length=10, description="why it is the same workload")

    @field_validator("same_as")
    @classmethod
    def _task(cls, value: str) -> str:
        return _safe(value)


class MappingFile(BaseModel):
    """The whole file: `mappings: {source id: {source task: entry}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mappings: dict[str, dict[str, SameWorkload]] = Field(default_factory=dict)


@dataclass(frozen=True)
class TaskMapping:
    """The loaded mapping."""

    path: Path | None
    mappings: dict[str, dict[str, SameWorkload]]

    def same_as(self, source_id: str, task: str) -> SameWorkload | None:
        """The entry that maps a source's task onto one of ours; None when it is its own."""
        return self.mappings.get(source_id, {}).get(task)


def published_task_key(source_id: str, task: str) -> str:
    """The site's name of a source's own task: `<source id>.<task>` (e.g. `mlenergy-v1.chat`)."""
    return f"{source_id}.{task}"


def default_path() -> Path:
    """`conf/task_mapping.yaml` of the config folder in use ($LEADERBOARD_CONF or conf/)."""
    return conf_dir() / MAPPING_FILE


def load_task_mapping(path: Path | None = None, known_tasks: set[str] | None = None) -> TaskMapping:
    """Read and validate the mapping (default `conf/task_mapping.yaml`; a missing default file
    maps nothing).

    Args:
        path: the file; default `default_path()`.
        known_tasks: this project's task names; when given, `same_as` must be one of them.

    Raises:
        ConfigError: one line naming the file and the field.
    """
    explicit = path is not None
    path = path or default_path()
    if not explicit and not path.is_file():
        return TaskMapping(None, {})
    parsed = load_conf_file(path, MappingFile)
    for source_id, tasks in parsed.mappings.items():
        for task, entry in tasks.items():
            where = f"{path}: mappings.{source_id}.{task}"
            try:
                _safe(source_id)
                _safe(task)
            except ValueError as error:
                raise ConfigError(f"{where}: {error}") from None
            if known_tasks is not None and entry.same_as not in known_tasks:
                raise ConfigError(
                    f"{where}.same_as: expected one of this project's tasks "
                    f"({', '.join(sorted(known_tasks))}), got {entry.same_as!r}"
                )
    return TaskMapping(path, parsed.mappings)
