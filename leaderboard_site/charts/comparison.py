"""Comparison charts: one model across hardware, one task across hardware, the compare page."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from leaderboard_site.charts.spec import (
    SCHEMA,
    ChartSpec,
    _finish,
    _identity,
    _label,
    _missing_reason,
    _usable,
    _validate,
    value_text,
)
from leaderboard_site.columns import Column
from leaderboard_site.site_data import Row
from leaderboard_site.style import (
    HIGHLIGHT,
    axis,
    highlight_opacity,
    responsive,
    wrap_title,
)

# What a model page's hardware comparison draws: the first of these its rows have, with the
# direction that is better (so a model measured without energy still gets a chart).
GPU_COMPARISON_KEYS = (
    ("energy_per_response_j", "lower", "lowest energy per response"),
    ("latency_s", "lower", "lowest mean latency"),
    ("throughput_tok_s", "higher", "highest throughput"),
)


def gpu_comparison_chart(rows: Sequence[Row], columns: Sequence[Column]) -> ChartSpec:
    """For one model: per task and hardware, its best configuration on the first metric of
    `GPU_COMPARISON_KEYS` that its rows have (energy per response where measured)."""
    by_key = {c.key: c for c in columns}
    key, better, what = next(
        (entry for entry in GPU_COMPARISON_KEYS if any(_usable(r.get(entry[0])) for r in rows)),
        GPU_COMPARISON_KEYS[0],
    )
    title = f"Hardware comparison: {what} per task"
    best: dict[tuple[str, str], Row] = {}
    for row in rows:
        if not _usable(row.get(key)):
            continue
        slot = (row["task"], row["hardware"])
        current = best.get(slot)
        if current is None or (
            row[key] > current[key] if better == "higher" else row[key] < current[key]
        ):
            best[slot] = row
    dropped = len(rows) - sum(1 for r in rows if _usable(r.get(key)))
    reason = _missing_reason(by_key, (key,), rows)
    if not best:
        return ChartSpec("chart-gpu", title, None, 0, dropped, reason)

    def configuration(row: Row) -> str:
        return row.get("configuration") or f"batch {row.get('batch_size') or 'not published'}"

    values = [
        {
            "task": r.get("task_name") or r["task"],
            "hardware": r["hardware_label"],
            "y": r[key],
            "configuration": configuration(r),
        }
        for r in best.values()
    ]
    template = _gpu_template(title, _label(by_key, key))
    table = {
        "columns": ["Task", "Hardware", f"Configuration ({what})", _label(by_key, key)],
        "rows": [
            [
                r.get("task_name") or r["task"],
                r["hardware_label"],
                configuration(r),
                value_text(r, key),
            ]
            for r in best.values()
        ],
    }
    return ChartSpec(
        "chart-gpu",
        title,
        _finish(template, values),
        len(values),
        dropped,
        reason,
        f"{title}, per task and hardware.",
        table=table,
    )


@functools.lru_cache(maxsize=16)
def _gpu_template(title: str, y_title: str) -> dict[str, Any]:
    """The validated spec of the hardware comparison bar chart, without data."""
    spec = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "data": {"name": "points"},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "task", "type": "nominal", "title": "Task", "axis": {"labelAngle": 0}},
            "xOffset": {"field": "hardware", "type": "nominal"},
            "y": {"field": "y", "type": "quantitative", "axis": axis(y_title)},
            "color": {
                "field": "hardware",
                "type": "nominal",
                "title": "Hardware",
                "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320},
            },
            "tooltip": [
                {"field": "task", "type": "nominal", "title": "Task"},
                {"field": "hardware", "type": "nominal", "title": "Hardware"},
                {"field": "configuration", "type": "nominal", "title": "Configuration"},
                {"field": "y", "type": "quantitative", "title": y_title, "format": ".4~g"},
            ],
        },
    }
    return _validate(responsive(spec))


# ----------------------------------------------------------------------------------------------
# Cross-hardware view: one task, every hardware on one chart (its rows: `pages.task_page`).

CROSS_METRICS: tuple[str, ...] = (
    "energy_per_response_j",
    "energy_per_token_j",
    "throughput_tok_s",
    "tokens_per_j",
)


@functools.cache
def cross_hardware_template() -> dict[str, Any]:
    """The spec of the chart of every hardware; the browser fills in fields, titles and data.

    x = a latency statistic, y = the chosen metric; colour and shape = the model (as on every
    chart); the hardware is named beside each point (`hw_text`, empty where there are too many
    points to label) and in the tooltip; a line joins one model's points on several hardware
    (in order of x).
    """
    x = {"field": "x", "type": "quantitative", "scale": {"zero": False}, "axis": axis("x")}
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "axis": axis("y")}
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "hardware_label", "type": "nominal", "title": "Hardware"},
        {"field": "configuration", "type": "nominal", "title": "Configuration"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": "x", "type": "quantitative", "title": "x", "format": ".4~g"},
        {"field": "y", "type": "quantitative", "title": "y", "format": ".4~g"},
    ]
    common = {"x": x, "y": y, "color": _identity("color"), "opacity": highlight_opacity()}
    spec = {
        "$schema": SCHEMA,
        "title": "Every hardware on one chart",
        "data": {"name": "points"},
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1.5},
                "encoding": {
                    **common,
                    "detail": {"field": "model_name", "type": "nominal"},
                    "order": {"field": "x", "type": "quantitative"},
                },
            },
            {
                "mark": {"type": "text", "dx": 8, "dy": -8, "fontSize": 10, "align": "left"},
                "encoding": {**common, "text": {"field": "hw_text", "type": "nominal"}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 130, "strokeWidth": 2},
                "encoding": {**common, "shape": _identity("shape"), "tooltip": tooltip},
            },
        ],
    }
    return _validate(responsive(spec, height=340))


@functools.cache
def compare_template() -> dict[str, Any]:
    """The spec of a compare-page chart: one metric against batch size (or batch cap), one line
    per model, backend and GPU count; the backend by line dash, the model by colour and shape.

    The browser sets the y title and the data (one point per selected model, backend, GPU count
    and batch size).
    """
    x = {
        "field": "batch_size",
        "type": "quantitative",
        "scale": {"type": "log", "base": 2},
        "axis": {**axis("Batch size or batch cap (requests)"), "tickCount": 4},
    }
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "axis": axis("y")}
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "configuration", "type": "nominal", "title": "Configuration"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": "y", "type": "quantitative", "title": "y", "format": ".4~g"},
    ]
    spec = {
        "$schema": SCHEMA,
        "title": "compare",
        "data": {"name": "points"},
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": y,
                    "detail": [
                        {"field": "model_name", "type": "nominal"},
                        {"field": "num_devices", "type": "nominal"},
                    ],
                    "strokeDash": {
                        "field": "backend",
                        "type": "nominal",
                        "title": "Backend (line style)",
                        "legend": {"orient": "bottom", "direction": "horizontal"},
                    },
                    "order": {"field": "batch_size", "type": "quantitative"},
                    "color": _identity("color"),
                    "opacity": highlight_opacity(),
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 110},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": _identity("color"),
                    "shape": _identity("shape"),
                    "opacity": highlight_opacity(),
                    "tooltip": tooltip,
                },
            },
        ],
    }
    return _validate(responsive(spec, height=240))
