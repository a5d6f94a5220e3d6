"""The serving record kind: registered, validated, placed, and its figures checked for agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.records.consistency import inconsistencies
from runner.records.layout import serving_point_label
from runner.records.load import RECORD_TYPES, load_record, scan_results
from runner.validate import validate_results
from tests.support.serving_records import (
    drive_result,
    record_from_outcomes,
    synthetic_outcomes,
    write_record,
    write_sweep,
)


def test_serving_is_a_registered_kind_with_a_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert RECORD_TYPES["serving"][0] == 2
    assert main(["schema", "--kind", "serving"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == "energy-leaderboard/serving-record/v2"
    assert "slo" in schema["properties"] and "timeline" in schema["properties"]


@pytest.mark.parametrize(
    ("arrival", "rate", "label"),
    [("poisson", 2.0, "poisson-2rps"), ("poisson", 0.5, "poisson-0.5rps"),
     ("gamma", 4.0, "gamma-cv2-4rps"), ("trace", None, "trace-x1")],
)  # fmt: skip
def test_point_labels(arrival: str, rate: float | None, label: str) -> None:
    record = record_from_outcomes(
        drive_result(synthetic_outcomes(4, 4), 10.0), arrival=arrival, rate=rate
    )
    assert serving_point_label(record.identity) == label


def test_written_records_validate_and_sit_where_their_identity_says(tmp_path: Path) -> None:
    paths = write_sweep(tmp_path, [(1.0, 20, 50.0), (4.0, 10, None)])
    assert [p.parent.name for p in paths] == ["poisson-1rps", "poisson-4rps"]
    assert paths[0].parent.parent.parent.parent.parent.name == "serving"
    problems, warnings, _, valid = validate_results(tmp_path)
    assert problems == [] and warnings == [] and valid == 2
    record = load_record(paths[1])
    assert record.summary.energy_j is None and record.energy.source == "unavailable"
    first = load_record(paths[0])
    rows = (paths[0].parent / first.raw_data.file).read_text().splitlines()
    assert len(rows) == first.arrival.dispatched == first.raw_data.rows


def test_a_moved_serving_record_is_refused(tmp_path: Path) -> None:
    path = write_record(tmp_path, drive_result(synthetic_outcomes(4, 4), 5.0), rate=2.0)
    other = path.parent.parent / "poisson-3rps"
    other.mkdir()
    for file in path.parent.iterdir():
        file.rename(other / file.name)
    problems = scan_results(tmp_path).problems
    assert len(problems) == 1 and "forged" in problems[0]


def test_edited_figures_are_named(tmp_path: Path) -> None:
    record = record_from_outcomes(drive_result(synthetic_outcomes(10, 7), 40.0))
    assert inconsistencies(record) == []
    summary = record.summary.model_copy(update={"energy_per_request_j": 1.0, "slo_met": 9})
    lines = inconsistencies(record.model_copy(update={"summary": summary}))
    fields = " ".join(lines)
    assert "summary.energy_per_request_j" in fields
    assert "summary.slo_attainment" in fields and "summary.goodput_rps" in fields


def test_accounting_must_add_up(tmp_path: Path) -> None:
    record = record_from_outcomes(drive_result(synthetic_outcomes(6, 6), 10.0))
    window = record.accounting.window.model_copy(update={"finished": 5})
    lost = record.model_copy(
        update={"accounting": record.accounting.model_copy(update={"window": window})}
    )
    assert any("accounting.window.dispatched" in line for line in inconsistencies(lost))
