"""The roofline chart spec: roof layers, one point per row, sweeps joined in batch order."""

from __future__ import annotations

import pytest

from runner.hardware.roofline import roofline_chart, roofline_points
from tests.support.hwmetrics_records import make_calibration


def row(model: str, batch: int, intensity: float | None, flop_s: float | None) -> dict:
    return {
        "model": model,
        "batch_size": batch,
        "backend": "eager",
        "task": "chat",
        "arithmetic_intensity_flop_per_byte": intensity,
        "achieved_flop_s": flop_s,
        "x_floor": 20.0,
        "tpot_s": 0.02,
        "achieved_bandwidth_share": 0.05,
        "achieved_flop_share": 0.001,
    }


ROWS = [
    row("A", 4, 4.0, 4e11),
    row("A", 1, 1.0, 1e11),
    row("A", 16, 16.0, 1.6e12),
    row("B", 1, 0.9, 5e10),
    row("B", 8, 7.0, 3e11),
    row("C", 1, None, 1e11),  # no intensity: not plotted
]


@pytest.fixture
def spec() -> dict:
    calibration = make_calibration(bandwidth=3e12, flop_s=7e14, dtype="bfloat16")
    return roofline_chart(ROWS, calibration).to_dict()


def test_points_drop_rows_without_coordinates() -> None:
    points = roofline_points(ROWS)
    assert len(points) == 5
    assert [p["batch_size"] for p in points if p["model"] == "A"] == [1, 4, 16]


def test_spec_has_roof_sweep_and_point_layers(spec: dict) -> None:
    roof, sweep, points = spec["layer"]
    assert roof["mark"]["type"] == "line"
    assert sweep["mark"]["type"] == "line"
    assert points["mark"]["type"] == "point"
    # the roof: bandwidth slope up to the ridge (7e14 / 3e12 = 233 FLOP/byte), then flat
    roof_values = roof["data"]["values"]
    ceilings = {value["ceiling"] for value in roof_values}
    assert len(ceilings) == 2
    ridge = [v for v in roof_values if v["flop_s"] == 7e14 and v["order"] == 1]
    assert any(v["intensity"] == pytest.approx(7e14 / 3e12) for v in ridge)
    slope = [v for v in roof_values if "bandwidth" in v["ceiling"]]
    for value in slope:
        assert value["flop_s"] == pytest.approx(3e12 * value["intensity"])
    for layer in (roof, sweep, points):
        assert layer["encoding"]["x"]["scale"]["type"] == "log"
        assert layer["encoding"]["y"]["scale"]["type"] == "log"


def test_one_point_per_model_batch_backend_with_tooltips(spec: dict) -> None:
    points = spec["layer"][2]
    values = points["data"]["values"]
    assert len(values) == 5
    assert {(v["model"], v["batch_size"], v["backend"]) for v in values} == {
        ("A", 1, "eager"),
        ("A", 4, "eager"),
        ("A", 16, "eager"),
        ("B", 1, "eager"),
        ("B", 8, "eager"),
    }
    tooltip_fields = {t["field"] for t in points["encoding"]["tooltip"]}
    assert {"model", "batch_size", "backend", "achieved_flop_s", "x_floor"} <= tooltip_fields


def test_sweeps_are_joined_in_batch_order(spec: dict) -> None:
    sweep = spec["layer"][1]
    assert sweep["encoding"]["detail"]["field"] == "series"
    assert sweep["encoding"]["order"]["field"] == "batch_size"
    assert len({v["series"] for v in sweep["data"]["values"]}) == 2


def test_chart_renders_without_points() -> None:
    calibration = make_calibration(bandwidth=2e10, flop_s=1e11, dtype="float32")
    spec = roofline_chart([], calibration).to_dict()
    assert spec["layer"][2]["data"]["values"] == []
    assert len(spec["layer"][0]["data"]["values"]) == 4
