"""Altair chart specs (Vega-Lite JSON) built from aggregated rows; rendered client-side.

Each chart's data is a named dataset inlined in the spec (`datasets`), so Altair validates a
small spec and the page needs no fetch. A point missing either axis value is dropped, and the
chart says how many points it dropped and why.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt

from leaderboard_site.aggregate import PARETO_VIEWS, CalibrationInfo, Row
from leaderboard_site.columns import Column

POINT_FIELDS = (
    "row_id",
    "model",
    "model_slug",
    "batch_size",
    "backend",
    "energy_source",
    "hardware_label",
    "task",
)
WIDTH = 420
HEIGHT = 300


@dataclass
class ChartSpec:
    """A chart for the page: its element id, title, Vega-Lite spec and what it dropped."""

    chart_id: str
    title: str
    spec: dict[str, Any] | None
    points: int
    dropped: int
    drop_reason: str
    description: str = ""


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _label(columns: dict[str, Column], key: str) -> str:
    column = columns[key]
    return f"{column.label} ({column.unit})" if column.unit else column.label


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


def _finish(template: dict[str, Any], values: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a validated template spec with its data inlined as the `points` dataset."""
    spec = copy.deepcopy(template)
    spec["datasets"] = {"points": values}
    return spec


def pareto_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    columns: dict[str, Column],
    x_key: str,
    y_key: str,
    front_flag: str,
    with_source: bool = False,
) -> ChartSpec:
    """A scatter of every configuration with the Pareto front drawn as a line.

    Frontier points are filled and larger; the legend (click) highlights one model. With
    `with_source` (a board holding published rows) each point's tooltip names its source.
    """
    usable = [r for r in rows if _usable(r.get(x_key)) and _usable(r.get(y_key))]
    dropped = len(rows) - len(usable)
    reason = _missing_reason(columns, (x_key, y_key), rows)
    if not usable:
        return ChartSpec(chart_id, title, None, 0, dropped, reason)
    values = [
        {
            **{f: r.get(f) for f in POINT_FIELDS},
            "x": r[x_key],
            "y": r[y_key],
            "frontier": "on the Pareto front" if r.get(front_flag) else "dominated",
            **({"source": _source_text(r)} if with_source else {}),
        }
        for r in usable
    ]
    template = _pareto_template(title, _label(columns, x_key), _label(columns, y_key), with_source)
    spec = _finish(template, values)
    return ChartSpec(chart_id, title, spec, len(values), dropped, reason)


@functools.lru_cache(maxsize=64)
def _pareto_template(
    title: str, x_title: str, y_title: str, with_source: bool = False
) -> dict[str, Any]:
    """The validated Vega-Lite spec of a Pareto chart, without data (built once per titles)."""
    pick = alt.selection_point(fields=["model"], bind="legend", name="pick")
    base = alt.Chart(alt.Data(name="points"))
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("batch_size:Q", title="Batch"),
        alt.Tooltip("x:Q", title=x_title, format=".4~g"),
        alt.Tooltip("y:Q", title=y_title, format=".4~g"),
        alt.Tooltip("frontier:N", title="Pareto"),
        alt.Tooltip("energy_source:N", title="Energy source"),
    ]
    if with_source:
        tooltip.append(alt.Tooltip("source:N", title="Source"))
    points = (
        base.mark_point(size=70, strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g")),
            y=alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g")),
            color=alt.Color("model:N", title="Model (click to highlight)"),
            shape=alt.Shape(
                "frontier:N",
                title="Pareto",
                scale=alt.Scale(
                    domain=["on the Pareto front", "dominated"], range=["diamond", "circle"]
                ),
            ),
            fill=alt.condition(
                "datum.frontier == 'on the Pareto front'", "model:N", alt.value(None)
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    front = (
        base.mark_line(color="#444", strokeDash=[4, 3], interpolate="step-after")
        .encode(x="x:Q", y="y:Q", order="x:Q")
        .transform_filter("datum.frontier == 'on the Pareto front'")
    )
    chart = alt.layer(front, points).properties(title=title, width=WIDTH, height=HEIGHT)
    return chart.to_dict()


def sweep_chart(
    chart_id: str, rows: Sequence[Row], columns: dict[str, Column], with_source: bool = False
) -> ChartSpec:
    """Batch-size sweep: energy per token vs throughput, one line per model, ordered by batch."""
    x_key, y_key = "throughput_tok_s", "energy_per_token_j"
    title = "Batch-size sweep: energy per token vs throughput"
    usable = [r for r in rows if _usable(r.get(x_key)) and _usable(r.get(y_key))]
    dropped = len(rows) - len(usable)
    reason = _missing_reason(columns, (x_key, y_key), rows)
    if not usable:
        return ChartSpec(chart_id, title, None, 0, dropped, reason)
    values = [
        {
            **{f: r.get(f) for f in POINT_FIELDS},
            "x": r[x_key],
            "y": r[y_key],
            **({"source": _source_text(r)} if with_source else {}),
        }
        for r in usable
    ]
    template = _sweep_template(title, _label(columns, x_key), _label(columns, y_key))
    return ChartSpec(chart_id, title, _finish(template, values), len(values), dropped, reason)


@functools.lru_cache(maxsize=16)
def _sweep_template(title: str, x_title: str, y_title: str) -> dict[str, Any]:
    """The validated spec of the batch-size sweep chart, without data."""
    pick = alt.selection_point(fields=["model"], bind="legend", name="pick")
    chart = (
        alt.Chart(alt.Data(name="points"))
        .mark_line(point=True)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g")),
            y=alt.Y("y:Q", title=y_title, scale=alt.Scale(type="log")),
            color=alt.Color("model:N", title="Model (click to highlight)"),
            order=alt.Order("batch_size:Q"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("batch_size:Q", title="Batch"),
                alt.Tooltip("x:Q", title=x_title, format=".4~g"),
                alt.Tooltip("y:Q", title=y_title, format=".4~g"),
            ],
        )
        .add_params(pick)
        .properties(title=title, width=WIDTH, height=HEIGHT)
    )
    return chart.to_dict()


def board_charts(
    rows: Sequence[Row],
    columns: Sequence[Column],
    id_prefix: str = "chart-",
    front_prefix: str = "front_",
    *,
    with_source: bool = False,
) -> list[ChartSpec]:
    """The charts of one task-and-hardware board.

    Args:
        rows: the rows to draw (all of the board's, or its measured ones only).
        id_prefix: prefix of the chart element ids.
        front_prefix: the row flags that mark the Pareto front of these rows.
        with_source: name each point's source in its data (boards holding published rows).
    """
    by_key = {c.key: c for c in columns}
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
        )
        for name, x_key, _, y_key, _, title in PARETO_VIEWS
    ]
    charts.append(sweep_chart(f"{id_prefix}sweep", rows, by_key, with_source))
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
    return ChartSpec("chart-gpu", title, _finish(template, values), len(values), dropped, reason)


@functools.lru_cache(maxsize=16)
def _gpu_template(title: str, y_title: str) -> dict[str, Any]:
    """The validated spec of the hardware comparison bar chart, without data."""
    chart = (
        alt.Chart(alt.Data(name="points"))
        .mark_bar()
        .encode(
            x=alt.X("task:N", title="Task"),
            xOffset=alt.XOffset("hardware:N"),
            y=alt.Y("y:Q", title=y_title),
            color=alt.Color("hardware:N", title="Hardware"),
            tooltip=[
                alt.Tooltip("task:N"),
                alt.Tooltip("hardware:N"),
                alt.Tooltip("batch_size:Q", title="Batch (lowest energy)"),
                alt.Tooltip("y:Q", title=y_title, format=".4~g"),
            ],
        )
        .properties(title=title, width=WIDTH, height=HEIGHT)
    )
    return chart.to_dict()


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


def roofline_views(
    rows: Sequence[Row], calibrations: dict[str, CalibrationInfo]
) -> list[RooflineView]:
    """One roofline per calibration the board's rows were judged against (usually one).

    The chart is `runner.hardware.roofline.roofline_chart` (x = arithmetic intensity, y = achieved
    FLOP/s, log-log; measured bandwidth slope and matmul ceiling; one point per row, i.e. per
    model, batch size and backend; batch sweeps joined). Rows judged against no calibration are
    counted in the message; with no calibration at all the view says so and draws nothing.
    """
    from runner.hardware.roofline import roofline_chart, roofline_points

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
        spec = roofline_chart(group, info.record).to_dict()
        chart = ChartSpec(
            f"chart-roofline-{index}",
            f"Roofline of {info.hardware} ({info.dtype})",
            spec,
            len(points),
            len(group) - len(points),
            _roofline_drop_reason(group),
        )
        views.append(RooflineView(chart, info, left_out if index == 0 else ""))
    return views
