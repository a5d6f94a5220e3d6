"""The charts of a task-and-hardware board: Pareto scatters and the batch-size sweep.

Each chart is a template over the board's shared rows (`spec.shared_rows`): the page carries
the rows once and every chart filters and reads them. An axis is logarithmic where its values
span decades (`spec.wants_log`); accuracy stays linear, and the accuracy of random-weight models
is drawn faded (it means nothing). Sweeps draw one line per model, backend and GPU count, the
backend told apart by the line's dash; every point keeps its model's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from leaderboard_site.aggregate import ENERGY_VIEWS, pareto_views
from leaderboard_site.charts.spec import (
    BATCH_CALCULATIONS,
    DOMINATED,
    FRONT,
    SCHEMA,
    SOURCE_TEXT,
    ChartSpec,
    _identity,
    _label,
    _missing_reason,
    _usable,
    highlight_and_fade,
    point_view,
    shared_rows,
    text_calculation,
    usable_filter,
    wants_log,
    whisker_calculations,
)
from leaderboard_site.columns import Column
from leaderboard_site.site_data import Row
from leaderboard_site.style import (
    DOMINATED_FILL_OPACITY,
    HIGHLIGHT,
    axis,
    backend_dashes,
    responsive,
    wrap_title,
)

ACCURACY = "accuracy_avg"
RANDOM_ACCURACY = "datum.random_weights"
# Text labels ("bs 8") beside sweep points only up to this many points (beyond, they overlap).
MAX_LABELLED_POINTS = 120
# Whiskers only up to this many points: beyond, they hide the points (and slow the drawing); the
# table of the chart's points still gives every spread. The same number of points switches the
# page to drawing the chart on a canvas (static/charts.js CANVAS_FROM).
MAX_WHISKERED_POINTS = 400


def _scale(log: bool, key: str, random_only: bool = False) -> dict[str, Any]:
    """Log where values span decades; accuracy on its whole 0–1 range where every point is a
    random-weight model's (chance-level scores, not worth zooming into); else fit the data."""
    if log:
        return {"type": "log"}
    if key == ACCURACY and random_only:
        return {"domain": [0, 1]}
    return {"zero": False}


def _channel(key: str, title: str, log: bool, random_only: bool = False) -> dict[str, Any]:
    return {
        "field": key,
        "type": "quantitative",
        "scale": _scale(log, key, random_only),
        "axis": axis(title, log=log),
    }


def _whisker_rules(
    key: str, other: dict[str, Any], channel: str, log: bool, opacity: dict[str, Any]
) -> dict[str, Any]:
    """Rules from `<key>_lo` to `<key>_hi` along `channel` (x or y), in the model's colour."""
    low = f"{key}_lo{'_log' if log else ''}"
    along = {**other[channel], "field": low}
    across = "y" if channel == "x" else "x"
    return {
        "mark": {"type": "rule", "strokeWidth": 1.5},
        "transform": [{"filter": f"isValid(datum.{low})"}],
        "encoding": {
            channel: along,
            f"{channel}2": {"field": f"{key}_hi"},
            across: other[across],
            "color": _identity("color"),
            "opacity": opacity,
        },
    }


def _tooltip(
    x_key: str, x_title: str, y_key: str, y_title: str, with_source: bool, front: str | None
) -> list[dict[str, Any]]:
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "configuration", "type": "nominal", "title": "Configuration"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": f"{x_key}_text", "type": "nominal", "title": x_title},
        {"field": f"{y_key}_text", "type": "nominal", "title": y_title},
    ]
    if front:
        tooltip.append({"field": f"frontier_{front}", "type": "nominal", "title": "Pareto"})
    if with_source:
        tooltip.append({"field": "source_text", "type": "nominal", "title": "Source"})
    return tooltip


@functools.lru_cache(maxsize=128)
def _pareto_template(
    title: str,
    x: tuple[str, str, bool],
    y: tuple[str, str, bool],
    front: str,
    measured: bool,
    with_source: bool,
    whiskers: tuple[bool, bool],
    fade_random: bool,
    random_only: bool = False,
) -> dict[str, Any]:
    """The validated spec of a Pareto chart over the shared rows (x and y: key, title, log)."""
    (x_key, x_title, log_x), (y_key, y_title, log_y) = x, y
    channels = {
        "x": _channel(x_key, x_title, log_x, random_only),
        "y": _channel(y_key, y_title, log_y, random_only),
    }
    positive = [k for k, log in ((x_key, log_x), (y_key, log_y)) if log]
    calculations: list[dict[str, Any]] = [
        {"filter": usable_filter((x_key, y_key), positive, measured)},
        {"calculate": f"datum.{front} ? '{FRONT}' : '{DOMINATED}'", "as": f"frontier_{front}"},
        text_calculation(x_key),
        text_calculation(y_key),
    ]
    for key, log, wanted in ((x_key, log_x, whiskers[0]), (y_key, log_y, whiskers[1])):
        if wanted:
            calculations += whisker_calculations(key, log)
    if with_source:
        calculations.append(SOURCE_TEXT)
    fade = RANDOM_ACCURACY if fade_random else None
    opacity = highlight_and_fade(fade)
    rules = [
        _whisker_rules(key, channels, channel, log, opacity)
        for key, channel, log, wanted in (
            (x_key, "x", log_x, whiskers[0]),
            (y_key, "y", log_y, whiskers[1]),
        )
        if wanted
    ]
    description = f"{title}: one point per configuration; the dashed line is the Pareto front"
    if fade_random:
        description += "; random-weight models are faded (their accuracy means nothing)"
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": description,
        "params": [{"name": HIGHLIGHT, "value": None}],
        "transform": calculations,
        "layer": [
            {
                "mark": {
                    "type": "line",
                    "color": "#444",
                    "strokeDash": [4, 3],
                    "interpolate": "step-after",
                },
                "transform": [{"filter": f"datum.{front}"}],
                "encoding": {**channels, "order": {"field": x_key, "type": "quantitative"}},
            },
            *rules,
            {
                "mark": {"type": "point", "filled": True, "size": 120, "strokeWidth": 2},
                "encoding": {
                    **channels,
                    "shape": _identity("shape"),
                    "color": _identity("color"),
                    "stroke": _identity("color"),
                    "fillOpacity": {
                        "condition": {"test": f"datum.{front}", "value": 1},
                        "value": DOMINATED_FILL_OPACITY,
                    },
                    "opacity": opacity,
                    "tooltip": _tooltip(x_key, x_title, y_key, y_title, with_source, front),
                },
            },
        ],
    }
    return shared_rows(responsive(spec))


def _has_spread(rows: Sequence[Row], key: str) -> bool:
    if len(rows) > MAX_WHISKERED_POINTS:
        return False
    return any(_usable(r.get(f"{key}_sd")) and r[f"{key}_sd"] > 0 for r in rows)


def _axes(rows: Sequence[Row], x_key: str, y_key: str) -> tuple[bool, bool]:
    """Whether x and y go logarithmic (never accuracy)."""
    return tuple(  # type: ignore[return-value]
        key != ACCURACY and wants_log([r.get(key) for r in rows]) for key in (x_key, y_key)
    )


def _drop_reason(
    columns: dict[str, Column], keys: Sequence[str], rows: Sequence[Row], logs: Sequence[bool]
) -> str:
    reason = _missing_reason(columns, keys, rows)
    not_positive = sum(
        1
        for r in rows
        if all(_usable(r.get(k)) for k in keys)
        and any(log and r[k] <= 0 for k, log in zip(keys, logs, strict=True))
    )
    if not_positive:
        extra = f"{not_positive} not positive (log axis)"
        reason = f"{reason}, {extra}" if reason else extra
    return reason


def _drawable(rows: Sequence[Row], keys: Sequence[str], logs: Sequence[bool]) -> list[Row]:
    return [
        r
        for r in rows
        if all(
            _usable(r.get(k)) and (not log or r[k] > 0) for k, log in zip(keys, logs, strict=True)
        )
    ]


def pareto_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    columns: dict[str, Column],
    x_key: str,
    y_key: str,
    front_flag: str,
    with_source: bool = False,
    measured: bool = False,
) -> ChartSpec:
    """A scatter of every configuration with the Pareto front drawn as a dashed step line.

    Front points are filled, dominated ones hollow (lightly tinted, so hoverable); whiskers are
    ±1 stdev where the row has a spread. With `with_source` each tooltip names the point's
    source; with `measured` the chart draws the measured rows of the shared data only.
    """
    x_title, y_title = _label(columns, x_key), _label(columns, y_key)
    logs = _axes(rows, x_key, y_key)
    usable = _drawable(rows, (x_key, y_key), logs)
    dropped = len(rows) - len(usable)
    reason = _drop_reason(columns, (x_key, y_key), rows, logs)
    if not usable:
        return ChartSpec(chart_id, title, None, 0, dropped, reason)
    fade = ACCURACY in (x_key, y_key) and any(r.get("random_weights") for r in usable)
    template = _pareto_template(
        title,
        (x_key, x_title, logs[0]),
        (y_key, y_title, logs[1]),
        front_flag,
        measured,
        with_source,
        (_has_spread(usable, x_key), _has_spread(usable, y_key)),
        fade,
        fade and all(r.get("random_weights") for r in usable),
    )
    on_front = sum(1 for r in usable if r.get(front_flag))
    description = (
        f"{title}: {len(usable)} configurations; {on_front} on the Pareto front. "
        f"x: {x_title}{' (log scale)' if logs[0] else ''}, y: {y_title}"
        f"{' (log scale)' if logs[1] else ''}."
    )
    if fade:
        description += " Random-weight models are faded: their accuracy means nothing."
    view = point_view(
        ((x_key, x_title), (y_key, y_title)),
        positive=[k for k, log in zip((x_key, y_key), logs, strict=True) if log],
        measured=measured,
        front=front_flag,
    )
    return ChartSpec(
        chart_id, title, template, len(usable), dropped, reason, description, view=view
    )


@functools.lru_cache(maxsize=32)
def _sweep_template(
    title: str,
    x: tuple[str, str, bool],
    y: tuple[str, str, bool],
    measured: bool,
    with_source: bool,
    whiskers: tuple[bool, bool],
    backends: tuple[str, ...],
    labels: bool,
    several_counts: bool = False,
) -> dict[str, Any]:
    """The validated spec of a batch sweep: one line per model, backend and GPU count, in batch
    order; the backend by line dash (a legend under the chart when there are several)."""
    (x_key, x_title, log_x), (y_key, y_title, log_y) = x, y
    channels = {"x": _channel(x_key, x_title, log_x), "y": _channel(y_key, y_title, log_y)}
    positive = [k for k, log in ((x_key, log_x), (y_key, log_y)) if log]
    calculations: list[dict[str, Any]] = [
        {"filter": usable_filter((x_key, y_key), positive, measured)},
        *BATCH_CALCULATIONS,
        text_calculation(x_key),
        text_calculation(y_key),
    ]
    for key, log, wanted in ((x_key, log_x, whiskers[0]), (y_key, log_y, whiskers[1])):
        if wanted:
            calculations += whisker_calculations(key, log)
    if with_source:
        calculations.append(SOURCE_TEXT)
    opacity = highlight_and_fade()
    common = {**channels, "color": _identity("color"), "opacity": opacity}
    dash: dict[str, Any] = {
        "field": "backend",
        "type": "nominal",
        "scale": {"domain": list(backends), "range": backend_dashes(len(backends))},
        "legend": {"title": "Backend (line style)", "orient": "bottom", "direction": "horizontal"}
        if len(backends) > 1
        else None,
    }
    rules = [
        _whisker_rules(key, channels, channel, log, opacity)
        for key, channel, log, wanted in (
            (x_key, "x", log_x, whiskers[0]),
            (y_key, "y", log_y, whiskers[1]),
        )
        if wanted
    ]
    # Group only by what varies: each grouping field multiplies the work of drawing the lines.
    detail: list[dict[str, Any]] = [{"field": "model_name", "type": "nominal"}]
    if several_counts:
        detail.append({"field": "num_devices", "type": "nominal"})
    line: dict[str, Any] = {
        **common,
        "detail": detail,
        "order": {"field": "batch_order", "type": "quantitative"},
    }
    if len(backends) > 1:
        line["strokeDash"] = dash
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "strokeWidth": 1.5}, "encoding": line},
        *rules,
    ]
    if labels:
        layers.append(
            {
                "mark": {"type": "text", "dx": 9, "dy": -9, "fontSize": 10},
                "encoding": {**common, "text": {"field": "batch_label", "type": "nominal"}},
            }
        )
    layers.append(
        {
            "mark": {"type": "point", "filled": True, "size": 90, "strokeWidth": 2},
            "encoding": {
                **common,
                "shape": _identity("shape"),
                "tooltip": _tooltip(x_key, x_title, y_key, y_title, with_source, None),
            },
        }
    )
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": wrap_title(title),
        "description": f"{title}: one line per model and backend through its batch sizes",
        "params": [{"name": HIGHLIGHT, "value": None}],
        "transform": calculations,
        "layer": layers,
    }
    return shared_rows(responsive(spec))


def sweep_chart(
    chart_id: str,
    rows: Sequence[Row],
    columns: dict[str, Column],
    with_source: bool = False,
    measured: bool = False,
) -> ChartSpec:
    """Batch sweep, one line per model, backend and GPU count in batch order, points labelled
    "bs N" (static batches) or "cap N" (a serving engine's batch cap).

    With energy: energy per token vs throughput. Without energy on the board: throughput vs
    batch size. Where no line has two points, a sentence instead of a chart.
    """
    has_energy = any(_usable(r.get("energy_per_token_j")) for r in rows)
    if has_energy:
        x_key, y_key = "throughput_tok_s", "energy_per_token_j"
        title = "Batch sweep: energy per token vs throughput"
    else:
        x_key, y_key = "batch_size", "throughput_tok_s"
        title = "Batch-size sweep: throughput vs batch size"
    capped = 0
    if x_key == "batch_size":
        # A batch cap is not a batch size: such rows (steady state) are not on this axis, and
        # are not "missing" one either.
        capped = sum(1 for r in rows if r.get("batch_size") is None and r.get("max_num_seqs"))
        rows = [r for r in rows if not (r.get("batch_size") is None and r.get("max_num_seqs"))]
    logs = _axes(rows, x_key, y_key)
    usable = _drawable(rows, (x_key, y_key), logs)
    sizes: dict[tuple[Any, ...], set[Any]] = {}
    for row in usable:
        line = (row["model_name"], row.get("backend"), row.get("num_devices"))
        sizes.setdefault(line, set()).add(row.get("batch_size") or row.get("max_num_seqs"))
    if not any(len(s) > 1 for s in sizes.values()):
        found = sorted({b for s in sizes.values() for b in s if b is not None})
        which = ", ".join(str(b) for b in found) or "no"
        if not rows:
            note = f"No sweep to draw: no {'measured ' if measured else ''}rows on this board."
        elif not sizes:
            note = "No sweep to draw: no row has both axes' values."
        elif all(r.get("source") == "published" for r in usable):
            note = (
                f"No sweep to draw: the source published one batch size per model here "
                f"(batch size {which})."
            )
        else:
            note = (
                f"No sweep to draw: every model here was measured at one batch size only "
                f"(batch size {which}). Measure more with `leaderboard run -m batch_size=1,4,8 …`."
            )
        return ChartSpec(chart_id, title, None, 0, 0, "", note=note)
    dropped = len(rows) - len(usable) + capped
    reason = _drop_reason(columns, (x_key, y_key), rows, logs)
    if capped:
        capped_text = f"{capped} with a batch cap, not a batch size (continuous batching)"
        reason = f"{reason}; {capped_text}" if reason else capped_text
    x_title, y_title = _label(columns, x_key), _label(columns, y_key)
    if x_key == "batch_size":
        x_title = "Batch size (requests)"
    backends = tuple(sorted({str(r.get("backend")) for r in usable if r.get("backend")}))
    template = _sweep_template(
        title,
        (x_key, x_title, logs[0]),
        (y_key, y_title, logs[1]),
        measured,
        with_source,
        (_has_spread(usable, x_key), _has_spread(usable, y_key)),
        backends,
        len(usable) <= MAX_LABELLED_POINTS,
        len({r.get("num_devices") for r in usable}) > 1,
    )
    view = point_view(
        ((x_key, x_title), (y_key, y_title)),
        positive=[k for k, log in zip((x_key, y_key), logs, strict=True) if log],
        measured=measured,
    )
    description = (
        f"{title}: one line per model and backend through its batch sizes"
        f"{'; log scales' if any(logs) else ''}."
    )
    return ChartSpec(
        chart_id, title, template, len(usable), dropped, reason, description, view=view
    )


def board_charts(
    rows: Sequence[Row],
    columns: Sequence[Column],
    id_prefix: str = "chart-",
    front_prefix: str = "front_",
    *,
    with_source: bool = False,
    measured: bool = False,
) -> list[ChartSpec]:
    """The charts of one task-and-hardware board.

    A board where no row has energy gets no energy chart (the page says once why), and keeps the
    latency–accuracy and throughput views. Where no row has a mean request latency, the time axis
    is the time per token the rows have (`aggregate.pareto_views`).

    Args:
        rows: the rows to draw (all of the board's, or its measured ones only).
        id_prefix: prefix of the chart element ids.
        front_prefix: the row flags that mark the Pareto front of these rows.
        with_source: name each point's source in its tooltip (boards holding published rows).
        measured: the charts draw the measured rows of the page's data only.
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
            measured,
        )
        for name, x_key, _, y_key, _, title in pareto_views(rows)
        if has_energy or name not in ENERGY_VIEWS
    ]
    charts.append(sweep_chart(f"{id_prefix}sweep", rows, by_key, with_source, measured))
    return charts
