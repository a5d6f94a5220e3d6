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
        if key not in SOURCE_KEYS:
            problems.add(
                path,
                f"source.{key}: unknown key (expected {', '.join(SOURCE_KEYS)})",
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
