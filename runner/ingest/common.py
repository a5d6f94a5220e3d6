"""Shared pieces of the importers: problem lines, CSV and YAML reading, numbers, source cards.

Every problem an importer finds is one line `FILE:LINE:COLUMN: what was expected, got what`
(`FILE:LINE:` or `FILE:` where a column or line does not apply). An importer collects every
problem of every file before it writes anything; if there is one, it raises `ImportRefused`
with all the lines and nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import UserError
from runner.records.layout import SAFE_NAME

# The source-card keys: what a published record says about its source.
SOURCE_KEYS = ("id", "citation", "url", "license", "version", "date", "methodology")
REQUIRED_SOURCE_KEYS = ("id", "citation", "url", "methodology")
# A source card may also describe the source's own tasks: `tasks: {<task id>: {name,
# description}}` (which prompts and settings its rows used).
TASKS_KEY = "tasks"
TASK_KEYS = ("name", "description")


class ImportRefused(UserError):
    """Input files were refused; `lines` holds one line per problem (the message: a summary)."""

    def __init__(self, lines: list[str]) -> None:
        files = len({line.split(":", 1)[0] for line in lines})
        super().__init__(f"import: {len(lines)} problem(s) in {files} file(s); nothing was written")
        self.lines = lines


@dataclass
class Problems:
    """The problems found so far, one line each."""

    lines: list[str] = field(default_factory=list)

    def add(
        self, path: Path | str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        """Record one problem at `path` (and line, column when known; both 1-based)."""
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        """Raise `ImportRefused` with every line, if there is any."""
        if self.lines:
            raise ImportRefused(self.lines)


def read_text(path: Path, problems: Problems) -> str | None:
    """The file's UTF-8 text (a byte-order mark is dropped); None (and a problem) if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add(path, f"cannot read ({error.strerror})")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.add(path, f"not UTF-8 text (byte {error.start})")
        return None


@dataclass(frozen=True)
class CsvRow:
    """One data row of a CSV file: its line number and its cells by column name."""

    line: int
    cells: dict[str, str]

    def column(self, header: list[str], name: str) -> int:
        """The 1-based column number of `name`."""
        return header.index(name) + 1


def read_csv(path: Path, problems: Problems) -> tuple[list[str], list[CsvRow]] | None:
    """(header, rows) of a CSV file; None (and problems) when it cannot be read as a table.

    Blank lines are skipped. A row with more or fewer cells than the header is a problem of that
    row (and the row is dropped).
    """
    text = read_text(path, problems)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            problems.add(path, "empty file (expected a header line)")
            return None
        header = [name.strip() for name in header]
        rows: list[CsvRow] = []
        start = reader.line_num + 1
        for cells in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                problems.add(
                    path,
                    f"expected {len(header)} cells (as in the header), got {len(cells)}",
                    line,
                    min(len(cells), len(header)) + 1,
                )
                continue
            rows.append(CsvRow(line, dict(zip(header, (c.strip() for c in cells), strict=True))))
    except csv.Error as error:
        problems.add(path, f"not a readable CSV table ({error})", reader.line_num)
        return None
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        problems.add(path, f"column(s) named twice in the header: {', '.join(duplicates)}", 1)
        return None
    return header, rows


def parse_number(
    text: str, problems: Problems, path: Path, line: int, column: int, what: str
) -> float | None:
    """A positive, finite number from a cell; None for an empty cell (not published).

    A cell that is not a positive finite number is a problem (and None is returned).
    """
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        problems.add(path, f"{what}: expected a positive number, got {text!r}", line, column)
        return None
    return value


def model_name_for(model_id: str) -> str | None:
    """The safe config-style name of a published model id (`org/name` -> `org__name`).

    None when the id cannot become one safe path name.
    """
    name = model_id.strip().replace("/", "__")
    if not name or not SAFE_NAME.match(name) or ".." in name:
        return None
    return name


def source_value(value: Any) -> str | None:
    """A source-card value as text (YAML dates become ISO dates); None when absent or empty."""
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bool | list | dict):
        return None
    text = str(value).strip()
    return text or None


def check_source(
    card: dict[str, Any], path: Path | str, problems: Problems, line_of: dict[str, int]
) -> dict[str, str | None]:
    """Validate a source card (`SOURCE_KEYS`); returns it with every value as text or None."""
    out: dict[str, str | None] = {}
    for key in card:
        if key not in SOURCE_KEYS and key != TASKS_KEY:
            problems.add(
                path,
                f"source.{key}: unknown key (expected {', '.join((*SOURCE_KEYS, TASKS_KEY))})",
                line_of.get(key),
            )
    for key in SOURCE_KEYS:
        raw = card.get(key)
        value = source_value(raw)
        if raw is not None and value is None:
            problems.add(path, f"source.{key}: expected text, got {raw!r}", line_of.get(key))
        out[key] = value
    for key in REQUIRED_SOURCE_KEYS:
        if out[key] is None and key in card:
            continue  # reported above
        if out[key] is None:
            problems.add(path, f"source.{key}: missing (required)")
    if out["id"] is not None and (not SAFE_NAME.match(out["id"]) or ".." in out["id"]):
        problems.add(
            path,
            f"source.id: expected a name of letters, digits, '.', '_' or '-', got {out['id']!r}",
            line_of.get("id"),
        )
    url = out["url"]
    if url is not None and not re.match(r"^https?://\S+$", url):
        problems.add(path, f"source.url: expected an http(s) URL, got {url!r}", line_of.get("url"))
    return out


def load_yaml(path: Path, problems: Problems) -> tuple[Any, dict[tuple[str, ...], int]] | None:
    """A YAML file (safe loader) and the 1-based line of every mapping key, by key path.

    None (and a problem naming the line) when the file is unreadable or not plain YAML (object
    tags are refused).
    """
    import yaml

    text = read_text(path, problems)
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        problems.add(path, f"not valid YAML ({problem})", line)
        return None
    lines: dict[tuple[str, ...], int] = {}

    def walk(current: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = (*prefix, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)

    walk(node, ())
    return data, lines


def check_tasks(
    card: dict[str, Any], path: Path | str, problems: Problems, line_of: dict[tuple[str, ...], int]
) -> dict[str, dict[str, str | None]]:
    """The source card's `tasks` (task id -> {name, description}), every entry checked.

    `line_of` maps key paths (`("tasks", "chat", "name")`) to their 1-based lines.
    """
    raw = card.get(TASKS_KEY)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(
            path,
            f"source.{TASKS_KEY}: expected a mapping of task id -> {{name, description}}",
            line_of.get((TASKS_KEY,)),
        )
        return {}
    tasks: dict[str, dict[str, str | None]] = {}
    for task, entry in raw.items():
        where = line_of.get((TASKS_KEY, str(task)))
        if not isinstance(entry, dict):
            problems.add(
                path, f"source.tasks.{task}: expected {{name, description}}, got {entry!r}", where
            )
            continue
        for key in entry:
            if key not in TASK_KEYS:
                problems.add(
                    path,
                    f"source.tasks.{task}.{key}: unknown key (expected {', '.join(TASK_KEYS)})",
                    line_of.get((TASKS_KEY, str(task), str(key)), where),
                )
        values = {key: source_value(entry.get(key)) for key in TASK_KEYS}
        if values["name"] is None:
            problems.add(path, f"source.tasks.{task}.name: expected text (required)", where)
            continue
        tasks[str(task)] = values
    return tasks


def task_block(tasks: dict[str, dict[str, str | None]], task: str) -> dict[str, str | None]:
    """A published record's `task` block: the source's name and description of `task` from
    its card, or only its id as its name where the card does not describe it."""
    entry = tasks.get(task, {})
    return {"id": task, "name": entry.get("name") or task, "description": entry.get("description")}


@dataclass(frozen=True)
class SourceCard:
    """A checked source card: the `source` block's values and the source's own tasks."""

    values: dict[str, str | None]
    tasks: dict[str, dict[str, str | None]]


SOURCES_DIR = "sources"


def default_card_path(fmt: str) -> Path:
    """`conf/sources/<format>.yaml`: the pinned source card an importer uses by default."""
    from runner.compose import conf_dir

    return conf_dir() / SOURCES_DIR / f"{fmt}.yaml"


def _read_card(path: Path, problems: Problems) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    loaded = load_yaml(path, problems)
    if loaded is None:
        return {}, {}
    data, lines = loaded
    if not isinstance(data, dict):
        problems.add(path, f"expected a mapping of {', '.join((*SOURCE_KEYS, TASKS_KEY))}", 1)
        return {}, {}
    return data, lines


def load_source_card(
    path: Path | None, fmt: str, problems: Problems, overrides: dict[str, Any] | None = None
) -> SourceCard:
    """The source card of an import: the format's pinned card (`default_card_path`), then
    `overrides` (what the data themselves say, e.g. a version and date), then the card the user
    gives (`--source`), each key replacing the one before (a `tasks` entry replaces the entry
    of the same task)."""
    merged: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    where: Path | str = f"{fmt} defaults"
    layers: list[tuple[dict[str, Any], dict[tuple[str, ...], int], Path | str]] = []
    default = default_card_path(fmt)
    if default.is_file():
        layers.append((*_read_card(default, problems), default))
    if overrides:
        layers.append((overrides, {}, f"{fmt} data"))
    if path is not None:
        layers.append((*_read_card(path, problems), path))
    for data, data_lines, origin in layers:
        if isinstance(data.get(TASKS_KEY), dict):
            tasks.update(data[TASKS_KEY])
        elif TASKS_KEY in data:
            problems.add(
                origin,
                f"source.{TASKS_KEY}: expected a mapping of task id -> {{name, description}}",
                data_lines.get((TASKS_KEY,)),
            )
        merged.update({k: v for k, v in data.items() if k != TASKS_KEY})
        lines, where = data_lines, origin
    values = check_source(
        merged, where, problems, {key[0]: line for key, line in lines.items() if len(key) == 1}
    )
    return SourceCard(values, check_tasks({TASKS_KEY: tasks}, where, problems, lines))
