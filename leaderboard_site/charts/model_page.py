"""The model page's charts: the time–energy trade-off per hardware, the energy-per-response
distribution, the power timeline and the published output-length distribution."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from leaderboard_site.charts.spec import SCHEMA, ChartSpec, _finish, _usable, _validate, wants_log
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


# What a model's trade-off chart draws: time on x (the first of these its rows have: a source
# may publish inter-token latency only), energy (or, without energy, throughput) on y.
TRADEOFF_X = (
    ("latency_s", "Latency, mean per request (s)"),
    ("itl_median_s", "Inter-token latency, p50 (s)"),
    ("tpot_s", "Time per output token, mean (s)"),
    ("ttft_s", "Time to first token, mean (s)"),
)
TRADEOFF_Y = ("energy_per_response_j", "throughput_tok_s")
MAX_LABELLED = 40


def tradeoff_charts(
    rows: Sequence[dict[str, Any]], style: dict[str, Any], task_name: Any = None
) -> list[ChartSpec]:
    """For one model, per hardware: its time–energy trade-off over every configuration it ran
    (batch sizes or caps, GPU counts, backends), one line per task, GPU count and backend in
    batch order (colour: the task; line dash: the backend; the model's own shape), labelled
    "bs 8" / "cap 64". Without energy on a hardware: throughput against latency instead. Log
    axes where a range spans decades.

    Args:
        rows: the model's rows (every task and hardware).
        style: the model's colour and shape (`SiteData.styles`).
        task_name: task key -> how the site names it (default: the key).
    """
    name_of = task_name or (lambda task: task)
    by_hardware: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_hardware.setdefault(row["hardware_label"], []).append(row)
    charts = []
    for index, (label, group) in enumerate(sorted(by_hardware.items())):
        y_key = next(
            (k for k in TRADEOFF_Y if any(_usable(r.get(k)) for r in group)), TRADEOFF_Y[0]
        )
        x_key, x_title = next(
            (kt for kt in TRADEOFF_X if any(_usable(r.get(kt[0])) for r in group)), TRADEOFF_X[0]
        )
        usable = [r for r in group if _usable(r.get(x_key)) and _usable(r.get(y_key))]
        what = "energy per response" if y_key == TRADEOFF_Y[0] else "throughput"
        title = f"{label}: {what} against time, every configuration"
        chart_id = f"chart-tradeoff-{index}"
        if not usable:
            charts.append(ChartSpec(chart_id, title, None, 0, len(group), f"no {what} or time"))
            continue
        log_x = wants_log([r[x_key] for r in usable])
        log_y = wants_log([r[y_key] for r in usable])
        values = [
            {
                "task": name_of(r["task"]),
                "configuration": r.get("configuration") or "not published",
                "backend": r.get("backend") or "not published",
                "devices": "not published" if r.get("num_devices") is None else r["num_devices"],
                "order": r.get("batch_size") or r.get("max_num_seqs") or 0,
                "label": _batch_label(r) if len(usable) <= MAX_LABELLED else "",
                "x": r[x_key],
                "y": r[y_key],
                "throughput": r.get("throughput_tok_s"),
                "source": "published" if r.get("source") == "published" else "measured",
            }
            for r in usable
        ]
        x_title, y_title = (
            "Latency, mean per request (s)",
            ("Energy / response (J)" if y_key == TRADEOFF_Y[0] else "Throughput (tok/s)"),
        )
        spec = _tradeoff_template(
            title, x_title, y_title, log_x, log_y, style.get("shape", "circle")
        )
        spec = _finish(spec, values)
        table = {
            "columns": ["Task", "Configuration", "Backend", x_title, y_title, "Source"],
            "rows": [
                [
                    v["task"],
                    v["configuration"],
                    v["backend"],
                    format_number(v["x"], 4),
                    format_number(v["y"], 4),
                    v["source"],
                ]
                for v in values
            ],
        }
        charts.append(
            ChartSpec(
                chart_id,
                title,
                spec,
                len(values),
                len(group) - len(values),
                f"{len(group) - len(values)} without {what} or {x_title.split(',')[0].lower()}",
                f"{title}: {len(values)} configurations, one line per task, GPU count and "
                f"backend in batch order{'; log scales' if log_x or log_y else ''}.",
                table=table,
            )
        )
    return charts


def _batch_label(row: dict[str, Any]) -> str:
    if row.get("batch_size"):
        return f"bs {row['batch_size']}"
    if row.get("max_num_seqs"):
        return f"cap {row['max_num_seqs']}"
    return ""


def _tradeoff_template(
    title: str, x_title: str, y_title: str, log_x: bool, log_y: bool, shape: str
) -> dict[str, Any]:
    """The validated spec of a model's trade-off chart (data inlined by `_finish`)."""
    x = {
        "field": "x",
        "type": "quantitative",
        "scale": {"type": "log"} if log_x else {"zero": False},
        "axis": axis(x_title, log=log_x),
    }
    y = {
        "field": "y",
        "type": "quantitative",
        "scale": {"type": "log"} if log_y else {"zero": False},
        "axis": axis(y_title, log=log_y),
    }
    color = {
        "field": "task",
        "type": "nominal",
        "title": "Task",
        "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320},
    }
    spec = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": f"{y_title} against {x_title} per configuration",
        "data": {"name": "points"},
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1.5},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": color,
                    "detail": {"field": "devices", "type": "nominal"},
                    "strokeDash": {
                        "field": "backend",
                        "type": "nominal",
                        "title": "Backend (line style)",
                        "legend": {"orient": "bottom", "direction": "horizontal"},
                    },
                    "order": {"field": "order", "type": "quantitative"},
                },
            },
            {
                "mark": {"type": "text", "dx": 8, "dy": -8, "fontSize": 10, "align": "left"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": color,
                    "text": {"field": "label", "type": "nominal"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90, "shape": shape},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": color,
                    "tooltip": [
                        {"field": "task", "type": "nominal", "title": "Task"},
                        {"field": "configuration", "type": "nominal", "title": "Configuration"},
                        {"field": "backend", "type": "nominal", "title": "Backend"},
                        {"field": "x", "type": "quantitative", "title": x_title, "format": ".4~g"},
                        {"field": "y", "type": "quantitative", "title": y_title, "format": ".4~g"},
                        {
                            "field": "throughput",
                            "type": "quantitative",
                            "title": "Throughput (tok/s)",
                            "format": ".4~g",
                        },
                        {"field": "source", "type": "nominal", "title": "Source"},
                    ],
                },
            },
        ],
    }
    return _validate(responsive(spec, height=280))
