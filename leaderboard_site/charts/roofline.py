"""The roofline views of a board (drawn by `runner.hardware.roofline`, restyled here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leaderboard_site.charts.spec import ChartSpec, _style, _table, _usable
from leaderboard_site.site_data import CalibrationInfo, Row
from leaderboard_site.style import HIGHLIGHT, axis, highlight_opacity, responsive, wrap_title


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
