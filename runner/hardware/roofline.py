"""The roofline chart of one machine: where each (model, batch size, backend) sits under its
measured ceilings.

x = arithmetic intensity of a decode step (FLOP/byte), y = achieved FLOP/s, both log scales.
The roof is min(measured bandwidth x intensity, measured matmul FLOP/s): a slope (memory-bound)
up to the ridge point (matmul FLOP/s / bandwidth), then flat (compute-bound). Points of one model
and backend are joined in batch-size order, tracing how batching climbs the slope.

Rows are the JSON-ready dicts of `runner.hardware.derived.derive_rows` (or any dicts with the
keys in `REQUIRED_KEYS`); pass rows of one machine and one task for one point per
(model, batch size, backend). Rows without an intensity or achieved FLOP/s are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from runner.records.calibration import CalibrationRecord

REQUIRED_KEYS = (
    "model",
    "batch_size",
    "backend",
    "arithmetic_intensity_flop_per_byte",
    "achieved_flop_s",
)
TOOLTIP_KEYS = (
    "task",
    "x_floor",
    "tpot_s",
    "achieved_bandwidth_share",
    "achieved_flop_share",
)


def roofline_points(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plottable rows: both coordinates present and positive, sorted by model and batch."""
    points = []
    for row in rows:
        x = row.get("arithmetic_intensity_flop_per_byte")
        y = row.get("achieved_flop_s")
        if x is None or y is None or x <= 0 or y <= 0:
            continue
        point = {key: row.get(key) for key in REQUIRED_KEYS + TOOLTIP_KEYS}
        point["series"] = f"{row['model']} · {row['backend']}" + (
            f" · {row['task']}" if row.get("task") else ""
        )
        points.append(point)
    return sorted(points, key=lambda p: (p["series"], p["batch_size"]))


def si(value: float, unit: str) -> str:
    """`value` with an SI prefix, 3 significant digits: si(3.02e12, "B/s") == '3.02 TB/s'."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def roof_lines(calibration: CalibrationRecord, x_min: float, x_max: float) -> list[dict[str, Any]]:
    """Endpoints of the two ceiling segments: bandwidth slope and compute ceiling."""
    bandwidth = calibration.memory_bandwidth.bytes_s
    peak = calibration.matmul.flop_s
    ridge = peak / bandwidth
    left = min(x_min, ridge / 10)
    right = max(x_max, ridge * 10)
    slope_label = f"memory bandwidth {si(bandwidth, 'B/s')}"
    peak_label = f"{calibration.dtype} matmul {si(peak, 'FLOP/s')}"
    return [
        {"ceiling": slope_label, "intensity": left, "flop_s": bandwidth * left, "order": 0},
        {"ceiling": slope_label, "intensity": ridge, "flop_s": peak, "order": 1},
        {"ceiling": peak_label, "intensity": ridge, "flop_s": peak, "order": 0},
        {"ceiling": peak_label, "intensity": right, "flop_s": peak, "order": 1},
    ]


def roofline_chart(rows: Iterable[dict[str, Any]], calibration: CalibrationRecord) -> Any:
    """An Altair layered chart: the measured roof plus one point per row, sweeps joined.

    Args:
        rows: derived rows (see module docstring) of the machine `calibration` measured.
        calibration: the machine's ceilings (its bandwidth and matmul FLOP/s draw the roof).

    Returns:
        `altair.LayerChart` with layers: roof (line), sweep paths (line), points (point).
    """
    import altair as alt

    points = roofline_points(rows)
    xs = [p["arithmetic_intensity_flop_per_byte"] for p in points]
    x_min = min(xs) / 2 if xs else 0.1
    x_max = max(xs) * 2 if xs else 10.0
    roof = roof_lines(calibration, x_min, x_max)
    ys = [r["flop_s"] for r in roof] + [p["achieved_flop_s"] for p in points]
    x_domain = [
        10 ** math.floor(math.log10(min(r["intensity"] for r in roof))),
        10 ** math.ceil(math.log10(max(r["intensity"] for r in roof))),
    ]
    y_domain = [10 ** math.floor(math.log10(min(ys))), 10 ** math.ceil(math.log10(max(ys)))]
    x_scale = alt.Scale(type="log", domain=x_domain)
    y_scale = alt.Scale(type="log", domain=y_domain)
    x_title = "Arithmetic intensity of a decode step (FLOP/byte)"
    y_title = "Achieved FLOP/s"

    roof_layer = (
        alt.Chart(alt.Data(values=roof))
        .mark_line(color="#444", strokeWidth=2)
        .encode(
            x=alt.X("intensity:Q", scale=x_scale, title=x_title),
            y=alt.Y("flop_s:Q", scale=y_scale, title=y_title, axis=alt.Axis(format="~s")),
            detail="ceiling:N",
            order="order:O",
            strokeDash=alt.StrokeDash("ceiling:N", title="Measured ceiling"),
            tooltip=[
                alt.Tooltip("ceiling:N", title="Ceiling"),
                alt.Tooltip("intensity:Q", title="FLOP/byte", format=".3g"),
                alt.Tooltip("flop_s:Q", title="FLOP/s", format=".3s"),
            ],
        )
    )
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("backend:N", title="Backend"),
        alt.Tooltip("batch_size:Q", title="Batch size"),
        alt.Tooltip("task:N", title="Task"),
        alt.Tooltip("arithmetic_intensity_flop_per_byte:Q", title="FLOP/byte", format=".3g"),
        alt.Tooltip("achieved_flop_s:Q", title="Achieved FLOP/s", format=".3s"),
        alt.Tooltip("achieved_flop_share:Q", title="Share of matmul ceiling", format=".2%"),
        alt.Tooltip("achieved_bandwidth_share:Q", title="Share of bandwidth", format=".2%"),
        alt.Tooltip("x_floor:Q", title="× floor", format=".3g"),
        alt.Tooltip("tpot_s:Q", title="Time per output token (s)", format=".3g"),
    ]
    base = alt.Chart(alt.Data(values=points)).encode(
        x=alt.X("arithmetic_intensity_flop_per_byte:Q", scale=x_scale, title=x_title),
        y=alt.Y("achieved_flop_s:Q", scale=y_scale, title=y_title, axis=alt.Axis(format="~s")),
        color=alt.Color("series:N", title="Model · backend"),
    )
    sweep_layer = base.mark_line(strokeWidth=1, opacity=0.6).encode(
        detail="series:N", order=alt.Order("batch_size:Q")
    )
    point_layer = base.mark_point(filled=True, size=70).encode(
        shape=alt.Shape("backend:N", title="Backend"), tooltip=tooltip
    )
    title = (
        f"Roofline of {calibration.hardware_slug} ({calibration.dtype}); "
        f"ceilings measured by calibration {calibration.run_id}"
    )
    return (
        alt.layer(roof_layer, sweep_layer, point_layer)
        .resolve_scale(strokeDash="independent")
        .properties(title=title, width=560, height=380)
    )
