"""The model page's charts: the energy-per-response distribution and the power timeline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from leaderboard_site.charts.spec import SCHEMA, ChartSpec, _finish, _usable, _validate
from leaderboard_site.render import format_number
from leaderboard_site.style import axis, responsive, wrap_title


def energy_distribution_chart(
    chart_id: str, series: Sequence[dict[str, Any]], color: str
) -> ChartSpec:
    """Box plots (min to max, box at the quartiles) of the energy of each response, one per
    configuration, from the records' raw per-request data.

    Args:
        series: [{"label": "chat · bs 4 · eager", "values": [J, ...]}, ...] of one hardware.
        color: the model's colour.
    """
    title = "Energy per response, every measured response"
    values = [{"config": s["label"], "energy_j": v} for s in series for v in s["values"]]
    if not values:
        return ChartSpec(chart_id, title, None, 0, 0, "no raw per-request energy")
    spec = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": "Distribution of the energy attributed to each response (J), per task, "
        "batch size and backend",
        "data": {"name": "points"},
        "mark": {"type": "boxplot", "extent": "min-max", "size": 14, "color": color},
        "encoding": {
            "y": {
                "field": "config",
                "type": "nominal",
                "title": "Task · batch · backend",
                "sort": None,
                "axis": {"labelLimit": 180},
            },
            "x": {
                "field": "energy_j",
                "type": "quantitative",
                "scale": {"zero": False},
                "axis": axis("Energy per response (J)"),
            },
        },
    }
    spec = _finish(_validate(responsive(spec)), values)
    spec["height"] = max(120, 26 * len(series))
    table = {
        "columns": ["Configuration", "Responses", "Min (J)", "Median (J)", "Max (J)"],
        "rows": [
            [
                s["label"],
                str(len(s["values"])),
                format_number(min(s["values"]), 4),
                format_number(_median(s["values"]), 4),
                format_number(max(s["values"]), 4),
            ]
            for s in series
            if s["values"]
        ],
    }
    return ChartSpec(
        chart_id,
        title,
        spec,
        len(values),
        0,
        "",
        f"{title}: {len(values)} responses in {len(series)} configurations.",
        table=table,
    )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def power_timeline_chart(chart_id: str, series: Sequence[dict[str, Any]]) -> ChartSpec:
    """Power over time (W vs s) of the records that carry a power timeline; one line each.

    Args:
        series: [{"label": ..., "t_s": [...], "power_w": [...]}, ...].
    """
    title = "Power during the measured window"
    values = [
        {"label": s["label"], "t_s": t, "power_w": p}
        for s in series
        for t, p in zip(s["t_s"], s["power_w"], strict=False)
        if _usable(t) and _usable(p) and math.isfinite(p)
    ]
    if not values:
        return ChartSpec(chart_id, title, None, 0, 0, "no power timeline in the records")
    spec = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": "Power sampled during each measured energy window (W) against time (s)",
        "data": {"name": "points"},
        "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "t_s", "type": "quantitative", "axis": axis("Time in window (s)")},
            "y": {"field": "power_w", "type": "quantitative", "axis": axis("Power (W)")},
            "color": {
                "field": "label",
                "type": "nominal",
                "title": "Record",
                "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320},
            },
            "tooltip": [
                {"field": "label", "type": "nominal", "title": "Record"},
                {"field": "t_s", "type": "quantitative", "title": "Time (s)", "format": ".3~g"},
                {
                    "field": "power_w",
                    "type": "quantitative",
                    "title": "Power (W)",
                    "format": ".4~g",
                },
            ],
        },
    }
    spec = _finish(_validate(responsive(spec)), values)
    table = {
        "columns": ["Record", "Samples", "Mean power (W)", "Peak power (W)"],
        "rows": [
            [
                s["label"],
                str(len(s["power_w"])),
                format_number(sum(s["power_w"]) / len(s["power_w"]), 4),
                format_number(max(s["power_w"]), 4),
            ]
            for s in series
            if s["power_w"]
        ],
    }
    return ChartSpec(chart_id, title, spec, len(values), 0, "", title + ".", table=table)


MAX_LENGTH_SERIES = 8


def output_length_chart(chart_id: str, series: Sequence[dict[str, Any]]) -> ChartSpec:
    """The output-length distributions a source published for a model: the share of requests
    per output-length bin, one line per configuration (the first `MAX_LENGTH_SERIES`; every one
    is in the table).

    Args:
        series: [{"label", "bins": [edges], "counts": [per bin]}, ...].
    """
    title = "Output length per request, as published"
    values = []
    table_rows = []
    for entry in series:
        total = sum(entry["counts"]) or 1
        edges = entry["bins"]
        mean = (
            sum(c * (a + b) / 2 for c, a, b in zip(entry["counts"], edges, edges[1:], strict=False))
            / total
        )
        table_rows.append(
            [
                entry["label"],
                format_number(sum(entry["counts"]), 4),
                format_number(edges[0], 4) + " – " + format_number(edges[-1], 4),
                format_number(mean, 4),
            ]
        )
        if len(values) >= MAX_LENGTH_SERIES * len(entry["counts"]):
            continue
        values.extend(
            {
                "config": entry["label"],
                "tokens": (a + b) / 2,
                "share": count / total,
            }
            for count, a, b in zip(entry["counts"], edges, edges[1:], strict=False)
        )
    if not values:
        return ChartSpec(chart_id, title, None, 0, 0, "no output-length distribution published")
    drawn = min(len(series), MAX_LENGTH_SERIES)
    spec = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": "Share of requests per output-length bin (tokens), per configuration",
        "data": {"name": "points"},
        "mark": {"type": "line", "interpolate": "step-after", "point": False},
        "encoding": {
            "x": {"field": "tokens", "type": "quantitative", "axis": axis("Output tokens")},
            "y": {"field": "share", "type": "quantitative", "axis": axis("Share of requests")},
            "color": {"field": "config", "type": "nominal", "title": "Configuration"},
            "tooltip": [
                {"field": "config", "type": "nominal", "title": "Configuration"},
                {"field": "tokens", "type": "quantitative", "title": "Bin centre (tokens)"},
                {"field": "share", "type": "quantitative", "title": "Share", "format": ".3f"},
            ],
        },
    }
    spec = _finish(_validate(responsive(spec)), values)
    return ChartSpec(
        chart_id,
        title,
        spec,
        len(values),
        0,
        "",
        f"{title}: {drawn} of {len(series)} configurations drawn.",
        table={
            "columns": ["Configuration", "Requests", "Range (tokens)", "Mean of bin centres"],
            "rows": table_rows,
        },
    )
