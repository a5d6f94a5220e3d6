"""Vega-Lite chart specs built from aggregated rows; rendered client-side by vega-embed.

Each chart's data is a named dataset inlined in the spec (`datasets`), so the page needs no
fetch. The conventions every chart shares (`leaderboard_site.style`):

- as wide as its box and never wider (`width: "container"`); two boxes per row on a wide
  screen, one on a phone (CSS grid);
- one colour and shape per model across the whole site (the build's `styles`), drawn through
  identity scales, so no chart can reassign them; the models' legend is one HTML legend per page,
  and hovering a mark or a legend entry highlights that model in every chart of the page (the
  `hl` signal, set by static/charts.js);
- SI tick labels (200, 1k, 2.5k) and the unit in every axis title;
- on the Pareto charts front points are filled and dominated ones hollow with a light tint, so
  their whole area answers the mouse; whiskers are ±1 standard deviation (over measured batches
  for energy and throughput, over measured requests for latency);
- every chart comes with a table of its points (the text alternative under it), and says how
  many points it dropped and why. A chart that makes no sense for the data (a sweep with one
  batch size) is replaced by a sentence.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt

from leaderboard_site.aggregate import ENERGY_VIEWS, PARETO_VIEWS, CalibrationInfo, Row
from leaderboard_site.columns import Column
from leaderboard_site.render import format_number
from leaderboard_site.style import (
    DOMINATED_FILL_OPACITY,
    HIGHLIGHT,
    PALETTE,
    SHAPES,
    axis,
    highlight_opacity,
    responsive,
    wrap_title,
)

POINT_FIELDS = ("row_id", "model", "model_name", "batch_size", "backend")
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
FRONT = "on the Pareto front"
DOMINATED = "dominated"
WHISKERS = "±1 standard deviation"
# What each spread counts (the n in "± stdev (n)").
SPREAD_UNIT = {
    "energy_per_response_j": "batches",
    "energy_per_token_j": "batches",
    "throughput_tok_s": "batches",
    "latency_s": "requests",
    "ttft_s": "requests",
    "tpot_s": "requests",
    "response_tokens": "requests",
}


@dataclass
class ChartSpec:
    """A chart for the page.

    Attributes:
        chart_id: the element id.
        title: the chart's title (also its accessible name).
        spec: the Vega-Lite spec; None when there is nothing to draw.
        points: points drawn; dropped: rows left out, and drop_reason why.
        description: one sentence on what the chart shows (the accessible description).
        note: the sentence shown instead of a chart that makes no sense for the data.
        table: the text alternative: {"columns": [...], "rows": [[...], ...]} of strings.
    """

    chart_id: str
    title: str
    spec: dict[str, Any] | None
    points: int
    dropped: int
    drop_reason: str
    description: str = ""
    note: str = ""
    table: dict[str, list[Any]] = field(default_factory=lambda: {"columns": [], "rows": []})


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _label(columns: dict[str, Column], key: str) -> str:
    return columns[key].title


def _missing_reason(columns: dict[str, Column], keys: Sequence[str], rows: Sequence[Row]) -> str:
    parts = []
    published = measured = False
    for key in keys:
        missing = [row for row in rows if not _usable(row.get(key))]
        if missing:
            parts.append(f"{len(missing)} without {columns[key].label.lower()}")
            published |= any(row.get("source") == "published" for row in missing)
            measured |= any(row.get("source") != "published" for row in missing)
    why = " / ".join(
        word for word, flag in (("not measured", measured), ("not published", published)) if flag
    )
    return ", ".join(parts) + f" ({why})" if parts else ""


def _source_text(row: Row) -> str:
    """A point's source for tooltips: 'measured', or 'published: <citation>'."""
    if row.get("source") == "published":
        return f"published: {row.get('citation')}"
    return "measured"


def _style(styles: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return styles.get(name) or {"color": PALETTE[0], "shape": SHAPES[0], "index": 0}


def value_text(row: Row, key: str, unit: str = "") -> str:
    """'12.3 ± 0.4 J (n = 8 batches)' where the row has a spread, else '12.3 J'."""
    value = row.get(key)
    if not _usable(value):
        return "not measured"
    text = format_number(float(value), 4)
    sd = row.get(f"{key}_sd")
    suffix = f" {unit}" if unit else ""
    if _usable(sd):
        count = row.get(f"{key}_n")
        text += f" ± {format_number(float(sd), 2)}{suffix} (n = {count} {SPREAD_UNIT[key]})"
    else:
        text += suffix
    return text


def _short(value: float | None) -> float | None:
    """A plotted coordinate to 6 significant digits (the page carries less, the chart the same)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.6g}")


def _whisker(row: Row, key: str) -> tuple[float | None, float | None]:
    value, sd = row.get(key), row.get(f"{key}_sd")
    if not (_usable(value) and _usable(sd)) or sd <= 0:
        return None, None
    return value - sd, value + sd


def _point(
    row: Row, x_key: str, y_key: str, styles: dict[str, dict[str, Any]], with_source: bool
) -> dict[str, Any]:
    style = _style(styles, row["model_name"])
    x_lo, x_hi = _whisker(row, x_key)
    y_lo, y_hi = _whisker(row, y_key)
    point = {
        **{f: row.get(f) for f in POINT_FIELDS},
        "x": _short(row[x_key]),
        "y": _short(row[y_key]),
        "x_lo": _short(x_lo),
        "x_hi": _short(x_hi),
        "y_lo": _short(y_lo),
        "y_hi": _short(y_hi),
        "x_text": value_text(row, x_key),
        "y_text": value_text(row, y_key),
        "color": style["color"],
        "shape": style["shape"],
    }
    if with_source:
        point["source"] = _source_text(row)
    return point


def _finish(template: dict[str, Any], values: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a validated template spec with its data inlined as the `points` dataset."""
    spec = copy.deepcopy(template)
    spec["datasets"] = {"points": values}
    return spec


def _validate(spec: dict[str, Any]) -> dict[str, Any]:
    """Check a hand-written Vega-Lite spec (a template, without its data) against Altair's
    schema; return it. Each distinct template is checked once per process (checking is slow)."""
    _check_once(json.dumps(spec, sort_keys=True))
    return spec


@functools.lru_cache(maxsize=256)
def _check_once(text: str) -> None:
    spec = json.loads(text)
    if "layer" in spec:
        alt.LayerChart.from_dict(spec, validate=True)
    else:
        alt.Chart.from_dict(spec, validate=True)


def _identity(field_name: str) -> dict[str, Any]:
    return {"field": field_name, "type": "nominal", "scale": None, "legend": None}


def _whisker_layers(
    x: dict[str, Any], y: dict[str, Any], whiskers: tuple[bool, bool]
) -> list[dict[str, Any]]:
    """Rules from x_lo to x_hi and from y_lo to y_hi, in the model's colour; only along the
    axes `whiskers` names (x, y), so no layer is ever empty."""
    layers = []
    axes = (("x", "y", "x_lo", "x_hi", x, y), ("y", "x", "y_lo", "y_hi", y, x))
    for (channel, other, lo, hi, along, across), wanted in zip(axes, whiskers, strict=True):
        if not wanted:
            continue
        layers.append(
            {
                "mark": {"type": "rule", "strokeWidth": 1.5},
                "transform": [{"filter": f"isValid(datum.{lo})"}],
                "encoding": {
                    channel: {**along, "field": lo},
                    f"{channel}2": {"field": hi},
                    other: across,
                    "color": _identity("color"),
                    "opacity": highlight_opacity(),
                },
            }
        )
    return layers


def _tooltip(x_title: str, y_title: str, with_source: bool, front: bool = True) -> list[dict]:
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "batch_size", "type": "quantitative", "title": "Batch"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": "x_text", "type": "nominal", "title": x_title},
        {"field": "y_text", "type": "nominal", "title": y_title},
    ]
    if front:
        tooltip.append({"field": "frontier", "type": "nominal", "title": "Pareto"})
    if with_source:
        tooltip.append({"field": "source", "type": "nominal", "title": "Source"})
    return tooltip


def _has_whiskers(values: Sequence[dict[str, Any]]) -> tuple[bool, bool]:
    return (
        any(v.get("x_lo") is not None for v in values),
        any(v.get("y_lo") is not None for v in values),
    )


@functools.lru_cache(maxsize=64)
def _pareto_template(
    title: str, x_title: str, y_title: str, with_source: bool, whiskers: tuple[bool, bool]
) -> dict[str, Any]:
    """The validated Vega-Lite spec of a Pareto chart, without data (built once per titles)."""
    x = {"field": "x", "type": "quantitative", "scale": {"zero": False}, "axis": axis(x_title)}
    y = {"field": "y", "type": "quantitative", "scale": {"zero": False}, "axis": axis(y_title)}
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": f"{title}: one point per configuration; the dashed line is the Pareto front",
        "data": {"name": "points"},
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "mark": {
                    "type": "line",
                    "color": "#444",
                    "strokeDash": [4, 3],
                    "interpolate": "step-after",
                },
                "transform": [{"filter": f"datum.frontier == '{FRONT}'"}],
                "encoding": {"x": x, "y": y, "order": {"field": "x", "type": "quantitative"}},
            },
            *_whisker_layers(x, y, whiskers),
            {
                "mark": {"type": "point", "filled": True, "size": 120, "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": y,
                    "shape": _identity("shape"),
                    "color": _identity("color"),
                    "stroke": _identity("color"),
                    "fillOpacity": {
                        "condition": {"test": f"datum.frontier == '{FRONT}'", "value": 1},
                        "value": DOMINATED_FILL_OPACITY,
                    },
                    "opacity": highlight_opacity(),
                    "tooltip": _tooltip(x_title, y_title, with_source),
                },
            },
        ],
    }
    return _validate(responsive(spec))


def _table(
    rows: Sequence[Row], keys: Sequence[tuple[str, str]], extra: Sequence[tuple[str, Any]] = ()
) -> dict[str, list[Any]]:
    """A text-alternative table: Model, Batch, Backend, then `keys` (column key, header)."""
    columns = ["Model", "Batch", "Backend", *(header for _, header in keys)]
    columns += [header for header, _ in extra]
    body = []
    for row in rows:
        cells = [
            str(row.get("model")),
            "" if row.get("batch_size") is None else str(row.get("batch_size")),
            row.get("backend") or "",
        ]
        cells += [value_text(row, key) for key, _ in keys]
        cells += [str(getter(row)) for _, getter in extra]
        body.append(cells)
    return {"columns": columns, "rows": body}


def pareto_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    columns: dict[str, Column],
    x_key: str,
    y_key: str,
    front_flag: str,
    with_source: bool = False,
    styles: dict[str, dict[str, Any]] | None = None,
) -> ChartSpec:
    """A scatter of every configuration with the Pareto front drawn as a dashed step line.

    Front points are filled, dominated ones hollow (lightly tinted, so hoverable); whiskers are
    ±1 stdev where the row has a spread. With `with_source` each tooltip names the point's source.
    """
    styles = styles or {}
    usable = [r for r in rows if _usable(r.get(x_key)) and _usable(r.get(y_key))]
    dropped = len(rows) - len(usable)
    reason = _missing_reason(columns, (x_key, y_key), rows)
    x_title, y_title = _label(columns, x_key), _label(columns, y_key)
    if not usable:
        return ChartSpec(chart_id, title, None, 0, dropped, reason)
    values = []
    for r in usable:
        point = _point(r, x_key, y_key, styles, with_source)
        point["frontier"] = FRONT if r.get(front_flag) else DOMINATED
        values.append(point)
    template = _pareto_template(title, x_title, y_title, with_source, _has_whiskers(values))
    spec = _finish(template, values)
    table = _table(
        usable,
        ((x_key, x_title), (y_key, y_title)),
        (("Pareto", lambda r: FRONT if r.get(front_flag) else DOMINATED),),
    )
    description = (
        f"{title}: {len(values)} configurations; {sum(1 for v in values if v['frontier'] == FRONT)}"
        f" on the Pareto front. x: {x_title}, y: {y_title}."
    )
    return ChartSpec(chart_id, title, spec, len(values), dropped, reason, description, table=table)


@functools.lru_cache(maxsize=16)
def _sweep_template(
    title: str,
    x_title: str,
    y_title: str,
    log_y: bool,
    with_source: bool,
    whiskers: tuple[bool, bool],
) -> dict[str, Any]:
    """The validated spec of a batch-size sweep: one line per model in batch order."""
    x = {"field": "x", "type": "quantitative", "scale": {"zero": False}, "axis": axis(x_title)}
    y_scale = {"type": "log"} if log_y else {"zero": False}
    y = {"field": "y", "type": "quantitative", "scale": y_scale, "axis": axis(y_title, log=log_y)}
    common = {"x": x, "y": y, "color": _identity("color"), "opacity": highlight_opacity()}
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "data": {"name": "points"},
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1.5},
                "encoding": {
                    **common,
                    "detail": {"field": "model_name", "type": "nominal"},
                    "order": {"field": "batch_size", "type": "quantitative"},
                },
            },
            *_whisker_layers(x, y, whiskers),
            {
                "mark": {"type": "text", "dx": 9, "dy": -9, "fontSize": 10},
                "encoding": {
                    **common,
                    "text": {"field": "batch_label", "type": "nominal"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90, "strokeWidth": 2},
                "encoding": {
                    **common,
                    "shape": _identity("shape"),
                    "tooltip": _tooltip(x_title, y_title, with_source, front=False),
                },
            },
        ],
    }
    return _validate(responsive(spec))


def sweep_chart(
    chart_id: str,
    rows: Sequence[Row],
    columns: dict[str, Column],
    with_source: bool = False,
    styles: dict[str, dict[str, Any]] | None = None,
) -> ChartSpec:
    """Batch-size sweep, one line per model in batch-size order, points labelled "bs N".

    With energy: energy per token (log) vs throughput. Without energy on the board: throughput
    vs batch size. Where no model has two batch sizes, a sentence instead of a chart.
    """
    styles = styles or {}
    has_energy = any(_usable(r.get("energy_per_token_j")) for r in rows)
    if has_energy:
        x_key, y_key, log_y = "throughput_tok_s", "energy_per_token_j", True
        title = "Batch-size sweep: energy per token vs throughput"
    else:
        x_key, y_key, log_y = "batch_size", "throughput_tok_s", False
        title = "Batch-size sweep: throughput vs batch size"
    sizes: dict[str, set[int]] = {}
    for row in rows:
        if _usable(row.get(x_key)) and _usable(row.get(y_key)):
            sizes.setdefault(row["model_name"], set()).add(row.get("batch_size"))
    if not any(len(s) > 1 for s in sizes.values()):
        found = sorted({b for s in sizes.values() for b in s if b is not None})
        which = ", ".join(str(b) for b in found) or "no"
        note = (
            f"No sweep to draw: every model here was measured at one batch size only "
            f"(batch size {which}). Measure more with `leaderboard run -m batch_size=1,4,8 …`."
        )
        return ChartSpec(chart_id, title, None, 0, 0, "", note=note)
    usable = [r for r in rows if _usable(r.get(x_key)) and _usable(r.get(y_key))]
    dropped = len(rows) - len(usable)
    reason = _missing_reason(columns, (x_key, y_key), rows)
    x_title, y_title = _label(columns, x_key), _label(columns, y_key)
    if x_key == "batch_size":
        x_title = "Batch size (requests)"
    values = []
    for r in usable:
        point = _point(r, x_key, y_key, styles, with_source)
        point["batch_label"] = f"bs {r.get('batch_size')}"
        values.append(point)
    template = _sweep_template(title, x_title, y_title, log_y, with_source, _has_whiskers(values))
    spec = _finish(template, values)
    table = _table(usable, ((x_key, x_title), (y_key, y_title)))
    description = f"{title}: one line per model through its batch sizes."
    return ChartSpec(chart_id, title, spec, len(values), dropped, reason, description, table=table)


def board_charts(
    rows: Sequence[Row],
    columns: Sequence[Column],
    id_prefix: str = "chart-",
    front_prefix: str = "front_",
    *,
    with_source: bool = False,
    styles: dict[str, dict[str, Any]] | None = None,
) -> list[ChartSpec]:
    """The charts of one task-and-hardware board.

    A board where no row has energy gets no energy chart (the page says once why), and keeps the
    latency–accuracy and throughput views.

    Args:
        rows: the rows to draw (all of the board's, or its measured ones only).
        id_prefix: prefix of the chart element ids.
        front_prefix: the row flags that mark the Pareto front of these rows.
        with_source: name each point's source in its data (boards holding published rows).
        styles: model name -> its colour and shape (`SiteData.styles`).
    """
    by_key = {c.key: c for c in columns}
    has_energy = any(_usable(r.get("energy_per_response_j")) for r in rows)
    charts = [
        pareto_chart(
            f"{id_prefix}{name}",
            title,
            rows,
            by_key,
            x_key,
            y_key,
            f"{front_prefix}{name}",
            with_source,
            styles,
        )
        for name, x_key, _, y_key, _, title in PARETO_VIEWS
        if has_energy or name not in ENERGY_VIEWS
    ]
    charts.append(sweep_chart(f"{id_prefix}sweep", rows, by_key, with_source, styles))
    return charts


def gpu_comparison_chart(rows: Sequence[Row], columns: Sequence[Column]) -> ChartSpec:
    """For one model: per task and hardware, the lowest energy per response over its configs."""
    by_key = {c.key: c for c in columns}
    key = "energy_per_response_j"
    title = "Hardware comparison: lowest energy per response per task"
    best: dict[tuple[str, str], Row] = {}
    for row in rows:
        if not _usable(row.get(key)):
            continue
        slot = (row["task"], row["hardware"])
        if slot not in best or row[key] < best[slot][key]:
            best[slot] = row
    dropped = len(rows) - sum(1 for r in rows if _usable(r.get(key)))
    reason = _missing_reason(by_key, (key,), rows)
    if not best:
        return ChartSpec("chart-gpu", title, None, 0, dropped, reason)
    values = [
        {
            "task": r["task"],
            "hardware": r["hardware_label"],
            "y": r[key],
            "batch_size": r["batch_size"],
        }
        for r in best.values()
    ]
    template = _gpu_template(title, _label(by_key, key))
    table = {
        "columns": ["Task", "Hardware", "Batch (lowest energy)", _label(by_key, key)],
        "rows": [
            [r["task"], r["hardware_label"], str(r["batch_size"]), value_text(r, key)]
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
                {"field": "batch_size", "type": "quantitative", "title": "Batch (lowest energy)"},
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


# ----------------------------------------------------------------------------------------------
# Model page: the energy-per-response distribution and the power timeline.


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


# ----------------------------------------------------------------------------------------------
# Roofline (drawn by runner.hardware.roofline; made responsive and styled here).


@dataclass
class RooflineView:
    """The roofline of one board against one calibration, or why none is drawn.

    Attributes:
        chart: the chart (spec None when nothing can be drawn).
        calibration: the calibration whose ceilings are drawn (None: no calibration).
        message: why there is no chart, or what was left out; '' when nothing to say.
    """

    chart: ChartSpec
    calibration: CalibrationInfo | None
    message: str = ""


def _roofline_drop_reason(rows: Sequence[Row]) -> str:
    no_architecture = sum(1 for r in rows if not _usable(r.get("gflops_per_token")))
    no_time = sum(
        1
        for r in rows
        if _usable(r.get("gflops_per_token")) and not _usable(r.get("achieved_flop_s"))
    )
    parts = []
    if no_architecture:
        parts.append(f"{no_architecture} without model architecture (no FLOPs estimate)")
    if no_time:
        parts.append(f"{no_time} without time per output token")
    return ", ".join(parts)


def _restyle_roofline(
    spec: dict[str, Any],
    rows: Sequence[Row],
    styles: dict[str, dict[str, Any]],
    title: str,
    calibration: str,
) -> dict[str, Any]:
    """The roofline spec, as wide as its box, with SI ticks, the models' own colours and the
    legends under the chart (so a phone never scrolls sideways)."""
    spec = responsive(spec, height=320)
    spec["title"] = {
        "text": wrap_title(title),
        "subtitle": ["ceilings measured by calibration", calibration],
    }
    series_color = {}
    for row in rows:
        series = f"{row['model']} · {row['backend']}" + (
            f" · {row['task']}" if row.get("task") else ""
        )
        series_color[series] = _style(styles, row["model_name"])["color"]
    for layer in spec.get("layer", []):
        encoding = layer.get("encoding", {})
        for channel in ("x", "y"):
            if channel in encoding:
                log = encoding[channel].get("scale", {}).get("type") == "log"
                if encoding[channel].get("title") == "Achieved FLOP/s":
                    encoding[channel]["title"] = "Achieved compute (FLOP/s)"
                encoding[channel]["axis"] = {
                    **encoding[channel].get("axis", {}),
                    **axis(encoding[channel].get("title", ""), log=log),
                }
                encoding[channel]["axis"].pop("format", None)
        color = encoding.get("color")
        if color and color.get("field") == "series":
            domain = sorted(series_color)
            color["scale"] = {"domain": domain, "range": [series_color[s] for s in domain]}
            encoding["opacity"] = highlight_opacity()  # hovering a model highlights it here too
    # Each point names its model, so the page's highlighting reaches the roofline.
    names = {row["model"]: row["model_name"] for row in rows}
    inline = [layer.get("data", {}).get("values") or [] for layer in spec.get("layer", [])]
    for values in [*spec.get("datasets", {}).values(), *inline]:
        for point in values:
            if isinstance(point, dict) and "model" in point:
                point["model_name"] = names.get(point["model"])
    spec["params"] = [*spec.get("params", []), {"name": HIGHLIGHT, "value": None}]
    # Legends under the plot, stacked (Vega's legend layout; Vega-Lite passes it through).
    spec.setdefault("config", {})["legend"] = {
        "orient": "bottom",
        "direction": "vertical",
        "labelLimit": 300,
        "titleLimit": 300,
        "layout": {"bottom": {"direction": "vertical", "anchor": "start", "margin": 6}},
    }
    return spec


def roofline_views(
    rows: Sequence[Row],
    calibrations: dict[str, CalibrationInfo],
    styles: dict[str, dict[str, Any]] | None = None,
) -> list[RooflineView]:
    """One roofline per calibration the board's rows were judged against (usually one).

    The chart is `runner.hardware.roofline.roofline_chart` (x = arithmetic intensity, y = achieved
    FLOP/s, log-log; measured bandwidth slope and matmul ceiling; one point per row, i.e. per
    model, batch size and backend; batch sweeps joined). Rows judged against no calibration are
    counted in the message; with no calibration at all the view says so and draws nothing.
    """
    from runner.hardware.roofline import roofline_chart, roofline_points

    styles = styles or {}
    by_calibration: dict[str, list[Row]] = {}
    for row in rows:
        key = row.get("calibration_id")
        if key in calibrations:
            by_calibration.setdefault(key, []).append(row)
    without = [r for r in rows if r.get("calibration_id") not in calibrations]
    missing_links = sorted(
        {str(r["linked_calibration_id"]) for r in without if r.get("linked_calibration_id")}
    )
    left_out = ""
    if without:
        left_out = f"{len(without)} row(s) judged against no calibration are not drawn"
        if missing_links:
            left_out += " (they link " + ", ".join(missing_links) + ", not in the results)"
    if not by_calibration:
        title = "Roofline"
        empty = ChartSpec("chart-roofline-0", title, None, 0, len(rows), "no calibration")
        message = "No calibration for this hardware: no roofline is drawn, and × floor and "
        message += "the shares of the measured ceilings are not available."
        if missing_links:
            message += " The records link " + ", ".join(missing_links) + ", not in the results."
        return [RooflineView(empty, None, message)]
    views = []
    ordered = sorted(by_calibration, key=lambda k: calibrations[k].measured_utc, reverse=True)
    for index, key in enumerate(ordered):
        info = calibrations[key]
        group = by_calibration[key]
        points = roofline_points(group)
        title = f"Roofline of {info.hardware} ({info.dtype})"
        spec = _restyle_roofline(
            roofline_chart(group, info.record).to_dict(), group, styles, title, info.run_id
        )
        drawn = [r for r in group if _usable(r.get("arithmetic_intensity_flop_per_byte"))]
        table = _table(
            drawn,
            (
                ("arithmetic_intensity_flop_per_byte", "Arithmetic intensity (FLOP/byte)"),
                ("achieved_gflop_s", "Achieved compute (GFLOP/s)"),
                ("x_floor", "× floor"),
            ),
        )
        chart = ChartSpec(
            f"chart-roofline-{index}",
            title,
            spec,
            len(points),
            len(group) - len(points),
            _roofline_drop_reason(group),
            f"{title}: achieved FLOP/s against arithmetic intensity, under the measured "
            "bandwidth slope and matmul ceiling.",
            table=table,
        )
        views.append(RooflineView(chart, info, left_out if index == 0 else ""))
    return views
