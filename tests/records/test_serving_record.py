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
    assert RECORD_TYPES["serving"][0] == 3
    assert main(["schema", "--kind", "serving"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == "energy-leaderboard/serving-record/v3"
    for block in ("slo", "timeline", "verdict", "search"):
        assert block in schema["properties"]


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
    paths = write_sweep(tmp_path, [(4.0, 1.0, 50.0), (8.0, 0.25, None)])
    assert [p.parent.name for p in paths] == ["poisson-4rps", "poisson-8rps"]
    assert paths[0].parent.parent.parent.parent.parent.name == "serving"
    problems, warnings, _, valid = validate_results(tmp_path)
    assert problems == [] and warnings == [] and valid == 2
    record = load_record(paths[1])
    assert record.summary.energy_j is None and record.energy.source == "unavailable"
    first = load_record(paths[0])
    rows = (paths[0].parent / first.raw_data.file).read_text().splitlines()
    assert len(rows) == first.arrival.dispatched == first.raw_data.rows
    # The offered rate, the window's bounds, the verdict and per-request TPOT are recorded.
    assert first.arrival.offered_rate_rps == pytest.approx(40 / 10.0)
    assert (first.window.opened_s, first.window.closed_s) == (1.0, 11.0)
    assert first.verdict is not None and first.verdict.status == "passes"
    assert first.verdict.steady_state.steady and first.verdict.sample.passes
    assert all("tpot_s" in json.loads(row) for row in rows)


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
    summary = record.summary.model_copy(
        update={"energy_per_finished_request_j": 1.0, "slo_met": 9, "window_output_tokens": 3}
    )
    lines = inconsistencies(record.model_copy(update={"summary": summary}))
    fields = " ".join(lines)
    assert "summary.energy_per_finished_request_j" in fields
    assert "summary.slo_attainment" in fields and "summary.goodput_rps" in fields
    assert "summary.window_output_tokens" in fields and "verdict.sample.met" in fields


def test_a_verdict_its_numbers_do_not_give_is_named() -> None:
    record = record_from_outcomes(drive_result(synthetic_outcomes(40, 40), 40.0))
    assert record.verdict is not None and record.verdict.status == "passes"
    forged = record.verdict.model_copy(update={"status": "fails"})
    lines = inconsistencies(record.model_copy(update={"verdict": forged}))
    assert lines == ["verdict.status: 'fails', but its judgements give 'passes'"]
    sample = record.verdict.sample.model_copy(update={"min_requests": 100})
    lines = inconsistencies(
        record.model_copy(update={"verdict": record.verdict.model_copy(update={"sample": sample})})
    )
    assert any(line.startswith("verdict.sample: passes=True") for line in lines)


def test_validate_names_a_sweep_that_mixes_configurations(tmp_path: Path) -> None:
    # The same model, task and hardware at 8 req/s, once with the default output cap and batch
    # cap, once with others: two configurations, two sweeps.
    write_sweep(tmp_path, [(4.0, 1.0, 10.0), (8.0, 1.0, 20.0)])
    write_sweep(
        tmp_path, [(8.0, 0.5, 30.0)], run_prefix="20261102T0000", max_new_tokens=8, max_num_seqs=8
    )
    problems, warnings, _, valid = validate_results(tmp_path)
    assert problems == [] and valid == 3
    assert len(warnings) == 1
    line = warnings[0]
    assert "serving/cpu-synthetic-x86-64/tiny-random/chat" in line
    assert "2 configurations" in line and "never pooled" in line
    assert "task.max_new_tokens 4 / 8" in line and "scenario.max_batch_requests 64 / 8" in line


def test_an_overloaded_point_says_why(tmp_path: Path) -> None:
    record = record_from_outcomes(drive_result(synthetic_outcomes(40, 30, timed_out=5), 40.0))
    assert record.verdict is not None and record.verdict.status == "overloaded"
    assert record.verdict.steady_state.unfinished_at_deadline == 5
    assert record.summary.window_unfinished == 5
    assert record.accounting.window.output_tokens == record.summary.window_output_tokens
    assert inconsistencies(record) == []


def test_accounting_must_add_up(tmp_path: Path) -> None:
    record = record_from_outcomes(drive_result(synthetic_outcomes(6, 6), 10.0))
    window = record.accounting.window.model_copy(update={"finished": 5})
    lost = record.model_copy(
        update={"accounting": record.accounting.model_copy(update={"window": window})}
    )
    assert any("accounting.window.dispatched" in line for line in inconsistencies(lost))
