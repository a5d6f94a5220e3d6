"""The charts of a task-and-hardware board: Pareto scatters and the batch-size sweep."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from leaderboard_site.aggregate import ENERGY_VIEWS, PARETO_VIEWS
from leaderboard_site.charts.spec import (
    DOMINATED,
    FRONT,
    SCHEMA,
    ChartSpec,
    _finish,
    _has_whiskers,
    _identity,
    _label,
    _missing_reason,
    _point,
    _table,
    _tooltip,
    _usable,
    _validate,
    _whisker_layers,
)
from leaderboard_site.columns import Column
from leaderboard_site.site_data import Row
from leaderboard_site.style import (
    DOMINATED_FILL_OPACITY,
    HIGHLIGHT,
    axis,
    highlight_opacity,
    responsive,
    wrap_title,
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
    # A batch-size sweep is over static batches: steady-state rows have a batch cap instead.
    rows = [r for r in rows if r.get("batch_size") is not None or r.get("max_num_seqs") is None]
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
