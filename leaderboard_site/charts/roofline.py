"""The roofline views of a board (drawn by `runner.hardware.roofline`, restyled here)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leaderboard_site.charts.spec import (
    BATCH_CALCULATIONS,
    ROWS,
    SCHEMA,
    ChartSpec,
    _identity,
    _usable,
    _validate,
    highlight_and_fade,
    point_view,
    usable_filter,
)
from leaderboard_site.site_data import CalibrationInfo, Row
from leaderboard_site.style import HIGHLIGHT, axis, backend_dashes, responsive, wrap_title
from runner.hardware.roofline import roof_lines


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
        if _usable(r.get("gflops_per_token")) and not _usable(r.get("achieved_gflop_s"))
    )
    parts = []
    if no_architecture:
        parts.append(f"{no_architecture} without model architecture (no FLOPs estimate)")
    if no_time:
        parts.append(f"{no_time} without time per output token")
    return ", ".join(parts)


X_KEY = "arithmetic_intensity_flop_per_byte"
Y_KEY = "achieved_gflop_s"
X_TITLE = "Arithmetic intensity of a decode step (FLOP/byte)"
Y_TITLE = "Achieved compute (GFLOP/s)"


def _decades(values: Sequence[float]) -> list[float]:
    """The powers of ten around `values` (a log axis's domain)."""
    return [
        10 ** math.floor(math.log10(min(values))),
        10 ** math.ceil(math.log10(max(values))),
    ]


def roofline_spec(
    rows: Sequence[Row], info: CalibrationInfo, title: str, backends: Sequence[str]
) -> dict[str, Any]:
    """The roofline over the page's shared rows: the measured roof (inline, four points), and
    the rows judged against `info` as points in their model's colour and shape, each model's
    batch sizes joined by a line whose dash says the backend. Both axes logarithmic."""
    points = [r for r in rows if _usable(r.get(X_KEY)) and _usable(r.get(Y_KEY))]
    points = [r for r in points if r[X_KEY] > 0 and r[Y_KEY] > 0]
    xs = [r[X_KEY] for r in points] or [1.0]
    roof = roof_lines(info.record, min(xs) / 2, max(xs) * 2)
    for end in roof:
        end["gflop_s"] = end.pop("flop_s") / 1e9
    x_domain = _decades([r["intensity"] for r in roof])
    y_domain = _decades([r["gflop_s"] for r in roof] + [r[Y_KEY] for r in points])
    x = {
        "field": X_KEY,
        "type": "quantitative",
        "scale": {"type": "log", "domain": x_domain},
        "axis": axis(X_TITLE, log=True),
    }
    y = {
        "field": Y_KEY,
        "type": "quantitative",
        "scale": {"type": "log", "domain": y_domain},
        "axis": axis(Y_TITLE, log=True),
    }
    opacity = highlight_and_fade()
    tooltip = [
        {"field": "model", "type": "nominal", "title": "Model"},
        {"field": "configuration", "type": "nominal", "title": "Configuration"},
        {"field": "backend", "type": "nominal", "title": "Backend"},
        {"field": X_KEY, "type": "quantitative", "title": "FLOP/byte", "format": ".3g"},
        {"field": Y_KEY, "type": "quantitative", "title": "Achieved GFLOP/s", "format": ".3s"},
        {
            "field": "achieved_flop_share",
            "type": "quantitative",
            "title": "Share of matmul ceiling",
            "format": ".2%",
        },
        {
            "field": "achieved_bandwidth_share",
            "type": "quantitative",
            "title": "Share of bandwidth",
            "format": ".2%",
        },
        {"field": "x_floor", "type": "quantitative", "title": "× floor", "format": ".3g"},
    ]
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": {
            "text": wrap_title(title),
            "subtitle": ["ceilings measured by calibration", info.run_id],
        },
        "params": [{"name": HIGHLIGHT, "value": None}],
        "layer": [
            {
                "data": {"values": roof},
                "mark": {"type": "line", "color": "#444", "strokeWidth": 2},
                "encoding": {
                    "x": {**x, "field": "intensity"},
                    "y": {**y, "field": "gflop_s"},
                    "detail": {"field": "ceiling", "type": "nominal"},
                    "order": {"field": "order", "type": "ordinal"},
                    "strokeDash": {
                        "field": "ceiling",
                        "type": "nominal",
                        "title": "Measured ceiling",
                    },
                    "tooltip": [
                        {"field": "ceiling", "type": "nominal", "title": "Ceiling"},
                        {
                            "field": "intensity",
                            "type": "quantitative",
                            "title": "FLOP/byte",
                            "format": ".3g",
                        },
                        {
                            "field": "gflop_s",
                            "type": "quantitative",
                            "title": "GFLOP/s",
                            "format": ".3s",
                        },
                    ],
                },
            },
            {
                "data": {"name": ROWS},
                "transform": [
                    {
                        "filter": usable_filter((X_KEY, Y_KEY), (X_KEY, Y_KEY), measured=True)
                        + f" && datum.calibration_id == {json.dumps(info.run_id)}"
                    },
                    *BATCH_CALCULATIONS,
                ],
                "layer": [
                    {
                        "mark": {"type": "line", "strokeWidth": 1},
                        "encoding": {
                            "x": x,
                            "y": y,
                            "color": _identity("color"),
                            "opacity": opacity,
                            "detail": [
                                {"field": "model_name", "type": "nominal"},
                                {"field": "num_devices", "type": "nominal"},
                            ],
                            "strokeDash": {
                                "field": "backend",
                                "type": "nominal",
                                "title": "Backend (line style)",
                                "scale": {
                                    "domain": list(backends),
                                    "range": backend_dashes(len(backends)),
                                },
                                "legend": None if len(backends) < 2 else {},
                            },
                            "order": {"field": "batch_order", "type": "quantitative"},
                        },
                    },
                    {
                        "mark": {"type": "point", "filled": True, "size": 70},
                        "encoding": {
                            "x": x,
                            "y": y,
                            "color": _identity("color"),
                            "shape": _identity("shape"),
                            "opacity": opacity,
                            "tooltip": tooltip,
                        },
                    },
                ],
            },
        ],
        "resolve": {"scale": {"strokeDash": "independent"}},
        "config": {
            "legend": {
                "orient": "bottom",
                "direction": "vertical",
                "labelLimit": 300,
                "titleLimit": 300,
            }
        },
    }
    spec = _validate(responsive(spec, height=320))
    # Legends under the plot, stacked (Vega's legend layout, which Vega-Lite passes through but
    # its schema does not name).
    spec["config"]["legend"]["layout"] = {
        "bottom": {"direction": "vertical", "anchor": "start", "margin": 6}
    }
    return spec


def roofline_views(
    rows: Sequence[Row], calibrations: dict[str, CalibrationInfo]
) -> list[RooflineView]:
    """One roofline per calibration the board's measured rows were judged against (usually one).

    x = arithmetic intensity, y = achieved compute, log-log; the measured bandwidth slope and
    matmul ceiling; one point per row (model, configuration and backend), each model's batch
    sizes joined (`roofline_spec`). Rows judged against no calibration are counted in the
    message; with no calibration at all the view says so and draws nothing.
    """
    # The roofline's ceilings are one device's: configurations on several devices are judged
    # against N x those (their × floor and shares say so) but not drawn against one.
    several = [r for r in rows if (r.get("num_devices") or 1) > 1]
    rows = [r for r in rows if (r.get("num_devices") or 1) <= 1]
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
    if several:
        left_out += ("; " if left_out else "") + (
            f"{len(several)} row(s) on several GPUs are not drawn against one GPU's ceilings"
        )
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
    backends = sorted({str(r.get("backend")) for r in rows if r.get("backend")})
    for index, key in enumerate(ordered):
        info = calibrations[key]
        group = by_calibration[key]
        drawn = [
            r
            for r in group
            if _usable(r.get(X_KEY)) and _usable(r.get(Y_KEY)) and r[X_KEY] > 0 and r[Y_KEY] > 0
        ]
        title = f"Roofline of {info.device_name} ({info.dtype})"
        view = point_view(
            (
                (X_KEY, "Arithmetic intensity (FLOP/byte)"),
                (Y_KEY, Y_TITLE),
                ("x_floor", "× floor"),
            ),
            positive=(X_KEY, Y_KEY),
            measured=True,
            match={"calibration_id": key},
        )
        view["numbers"] = [X_KEY, Y_KEY]
        chart = ChartSpec(
            f"chart-roofline-{index}",
            title,
            roofline_spec(group, info, title, backends) if drawn else None,
            len(drawn),
            len(group) - len(drawn),
            _roofline_drop_reason(group),
            f"{title}: achieved compute against arithmetic intensity, under the measured "
            "bandwidth slope and matmul ceiling; log scales.",
            view=view,
        )
        views.append(RooflineView(chart, info, left_out if index == 0 else ""))
    return views
