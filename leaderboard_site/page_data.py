"""The rows a page carries, compact: one columnar table per page, decoded once in the browser.

A table is `{"n": rows, "cols": {key: column}}`. A column is the list of its `n` values, or, where
values repeat (model names, backends, true/false flags), `{"d": [distinct values], "i": [index of
each row's value]}`. A column that no row has a value for is left out (the browser reads it as
null), and floats keep 6 significant digits (the pages show 3 or 4). `site/static/data.js`
decodes it (`LBData.rows`); `decode_rows` here does the same for tests and tools.

A board's table goes into a script of its own, `data/boards/<slug>.js`, which the board page
loads and the compare page loads on demand (a `<script>` element: it works from file://, where
a fetch would not).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

Row = dict[str, Any]
SIGNIFICANT = 6
BOARD_DATA_DIR = "data/boards"


def compact(value: Any) -> Any:
    """A float to 6 significant digits (non-finite floats to None); anything else as is."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value != 0.0:
            return float(f"{value:.{SIGNIFICANT}g}")
    return value


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def encode_column(values: Sequence[Any]) -> Any:
    """One column: the plain list, or {"d": distinct, "i": indexes} where that is shorter."""
    numeric = all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    )
    if numeric:
        return [compact(v) for v in values]
    distinct: dict[Any, int] = {}
    for value in values:
        distinct.setdefault(_hashable(value), len(distinct))
    if len(distinct) * 2 > len(values) and len(distinct) > 2:
        return list(values)
    order = [list(v) if isinstance(v, tuple) else v for v in distinct]
    return {"d": order, "i": [distinct[_hashable(v)] for v in values]}


def encode_rows(rows: Sequence[Row], keys: Iterable[str]) -> dict[str, Any]:
    """The columnar table of `rows` over `keys` (a key no row has a value for is left out)."""
    cols: dict[str, Any] = {}
    for key in dict.fromkeys(keys):
        values = [row.get(key) for row in rows]
        if any(v is not None for v in values):
            cols[key] = encode_column(values)
    return {"n": len(rows), "cols": cols}


def decode_rows(table: dict[str, Any]) -> list[Row]:
    """The rows of a columnar table (every key of the table on every row; absent keys None)."""
    rows: list[Row] = [{} for _ in range(table["n"])]
    for key, column in table["cols"].items():
        values = [column["d"][i] for i in column["i"]] if isinstance(column, dict) else column
        for row, value in zip(rows, values, strict=True):
            row[key] = value
    return rows


def script_text(name: str, payload: dict[str, Any]) -> str:
    """A data script that hands `payload` to the page: `LBData.put(name, {...});`.

    JSON is valid JavaScript; `<`, `>` and `&` are escaped anyway, so the text is inert wherever
    it ends up.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"LBData.put({json.dumps(name)}, {text});\n"


def read_script(text: str) -> tuple[str, dict[str, Any]]:
    """(name, payload) of a data script written by `script_text` (tests and tools)."""
    head, _, rest = text.partition(", ")
    name = json.loads(head.removeprefix("LBData.put("))
    return name, json.loads(rest.rstrip().removesuffix(");"))
