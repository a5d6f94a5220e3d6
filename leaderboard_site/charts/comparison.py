"""Comparison charts: one model across hardware, one task across hardware, the compare page."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from leaderboard_site.charts.spec import (
    POINT_FIELDS,
    SCHEMA,
    ChartSpec,
    _finish,
    _identity,
    _label,
    _missing_reason,
    _style,
    _usable,
    _validate,
    value_text,
)
from leaderboard_site.columns import Column
from leaderboard_site.site_data import Row
from leaderboard_site.style import (
    HIGHLIGHT,
    SHAPES,
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
# Cross-hardware view: one task, every hardware on one chart.

CROSS_METRICS: tuple[str, ...] = (
    "energy_per_response_j",
    "energy_per_token_j",
    "throughput_tok_s",
    "tokens_per_j",
)


def cross_hardware_points(
    rows: Sequence[Row], styles: dict[str, dict[str, Any]], hardware_shapes: dict[str, str]
) -> list[dict[str, Any]]:
    """Every row of one task as a point of the cross-hardware view (filtered in the browser).

    Each point carries the metrics the view can plot and the latency statistics; the browser
    picks, per (model, hardware), the configuration the batch-size control asks for.
    """
    out = []
    for row in rows:
        style = _style(styles, row["model_name"])
        point = {
            **{f: row.get(f) for f in POINT_FIELDS},
            "hardware": row["hardware"],
            "hardware_label": row["hardware_label"],
            "source": row.get("source"),
            "configuration": row.get("configuration"),
            "color": style["color"],
            "shape": hardware_shapes.get(row["hardware"], SHAPES[0]),
        }
        for key in (*CROSS_METRICS, "latency_s", "latency_p50_s", "latency_p90_s"):
            point[key] = row.get(key) if _usable(row.get(key)) else None
        point["latency_p99_s"] = (
            row.get("latency_p99_s") if _usable(row.get("latency_p99_s")) else None
        )
        out.append(point)
    return out


@functools.cache
def cross_hardware_template() -> dict[str, Any]:
    """The spec of the cross-hardware chart; the browser fills in fields, titles and data.

    x = a latency statistic, y = the chosen metric; colour = model, shape = hardware; a line
    joins one model's points on several hardware (in order of x).
    """
    x = {"field": "x", "type": "quantitative", "scale": {"zero": False}, "axis": axis("x")}
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "axis": axis("y")}
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "hardware_label", "type": "nominal", "title": "Hardware"},
        {"field": "batch_size", "type": "quantitative", "title": "Batch"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": "x", "type": "quantitative", "title": "x", "format": ".4~g"},
        {"field": "y", "type": "quantitative", "title": "y", "format": ".4~g"},
    ]
    spec = {
        "$schema": SCHEMA,
        "title": "Every hardware on one chart",
        "data": {"name": "points"},
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1.5},
                "encoding": {
                    "x": x,
                    "y": y,
                    "detail": {"field": "model_name", "type": "nominal"},
                    "order": {"field": "x", "type": "quantitative"},
                    "color": _identity("color"),
                    "opacity": highlight_opacity(),
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 130, "strokeWidth": 2},
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
    return _validate(responsive(spec, height=340))


@functools.cache
def compare_template() -> dict[str, Any]:
    """The spec of a compare-page chart: one metric against batch size, one line per model.

    The browser sets the y title and the data (one point per selected model and batch size, the
    backend the page picks).
    """
    x = {
        "field": "batch_size",
        "type": "quantitative",
        "scale": {"type": "log", "base": 2},
        "axis": {**axis("Batch size (requests)"), "tickCount": 4},
    }
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "axis": axis("y")}
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "batch_size", "type": "quantitative", "title": "Batch"},
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
                    "detail": {"field": "model_name", "type": "nominal"},
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
