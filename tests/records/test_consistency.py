"""`leaderboard validate` checks that a record's own figures agree, and names those that differ."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.records.consistency import MEASURED_RTOL, PUBLISHED_FACTOR, inconsistencies
from runner.records.load import load_record, parse_record, scan_results
from runner.validate import validate_results
from tests.records.test_migration import published_data
from tests.support.site_support import GOLDEN, first_record


def test_golden_records_agree_with_themselves() -> None:
    scan = scan_results(GOLDEN)
    assert scan.records
    assert [line for _, r in scan.records for line in inconsistencies(r)] == []
    problems, _, _, valid = validate_results(GOLDEN)
    assert problems == [] and valid == len(scan.records)


def one_record_results(tmp_path: Path) -> tuple[Path, Path]:
    """(results root, record path): a copy of one golden record and its raw data."""
    source = first_record(GOLDEN)
    target = tmp_path / "results" / source.parent.relative_to(GOLDEN)
    shutil.copytree(source.parent, target)
    return tmp_path / "results", target / source.name


@pytest.mark.parametrize(
    ("field", "factor", "named"),
    [
        ("throughput_tok_s", 1.05, "summary.output_tokens / summary.measured_time_s"),
        ("energy_per_response_j", 0.9, "summary.energy_j / summary.requests"),
        ("energy_per_token_j", 1.001, "summary.energy_j / summary.output_tokens"),
        ("avg_power_w", 2.0, "summary.energy_j / summary.measured_time_s"),
        ("output_tokens", 2, "measurements.response_tokens.mean"),
        ("measured_time_s", 1.5, "measurements.batch_time_s.mean"),
    ],
)
def test_a_measured_record_whose_fields_disagree_is_named(
    tmp_path: Path, field: str, factor: float, named: str
) -> None:
    results, path = one_record_results(tmp_path)
    data = json.loads(path.read_text())
    value = data["summary"][field] * factor
    data["summary"][field] = int(value) if isinstance(data["summary"][field], int) else value
    path.write_text(json.dumps(data))
    problems, _, _, valid = validate_results(results)
    assert valid == 0 and problems
    assert all(line.startswith(f"{path}: fields disagree: ") for line in problems)
    assert any(f"summary.{field} = " in line and named in line for line in problems), problems
    assert f"relative {MEASURED_RTOL:g}" in problems[0]


def test_validate_cli_fails_naming_the_record_and_fields(tmp_path: Path, capsys) -> None:
    results, path = one_record_results(tmp_path)
    data = json.loads(path.read_text())
    data["summary"]["throughput_tok_s"] *= 1.1  # as a site recomputing tokens / time would hide
    path.write_text(json.dumps(data))
    assert main(["validate", "--results", str(results)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}: fields disagree: summary.throughput_tok_s = ")
    assert err[-1] == "validate: 1 problem(s)"


def test_rounding_is_within_the_measured_tolerance(tmp_path: Path) -> None:
    record = load_record(first_record(GOLDEN))
    summary = record.summary
    nudged = summary.model_copy(update={"throughput_tok_s": summary.throughput_tok_s * 1.0000001})
    assert inconsistencies(record.model_copy(update={"summary": nudged})) == []


def published(tmp_path: Path, **metrics: float):
    return parse_record(tmp_path / "p.json", json.dumps(published_data(**metrics)))


def test_published_figures_may_differ_like_means_of_ratios(tmp_path: Path) -> None:
    # 280 tokens in 9 s is 31.1 tok/s; a source's mean of per-request throughputs may say 40.
    record = published(tmp_path, throughput_tok_s=40.0, response_tokens=280.0, latency_s=9.0)
    assert inconsistencies(record) == []
    record = published(
        tmp_path, energy_per_response_j=2800.0, energy_per_token_j=13.0, response_tokens=280.0
    )
    assert inconsistencies(record) == []  # 10 J/token by the ratio of means, within 2x


def test_published_figures_in_the_wrong_unit_are_named(tmp_path: Path) -> None:
    # latency given in ms but read as s: throughput and tokens / latency are 1000x apart.
    record = published(tmp_path, throughput_tok_s=31.0, response_tokens=280.0, latency_s=9000.0)
    (line,) = inconsistencies(record)
    assert "metrics.throughput_tok_s = 31" in line
    assert "metrics.response_tokens / metrics.latency_s" in line
    assert f"a factor of {PUBLISHED_FACTOR:g}" in line
    record = published(
        tmp_path, energy_per_response_j=2.8, energy_per_token_j=10.0, response_tokens=280.0
    )  # kJ read as J
    (line,) = inconsistencies(record)
    assert "metrics.energy_per_token_j" in line and "metrics.energy_per_response_j" in line


def test_published_throughput_is_not_related_to_latency_at_larger_batches(tmp_path: Path) -> None:
    data = published_data(throughput_tok_s=250.0, response_tokens=280.0, latency_s=9.0)
    data["identity"]["batch_size"] = 8
    data["identity"]["configuration"]["batch_size"] = 8
    from runner.records.published import PublishedIdentity, published_run_id

    data["run_id"] = published_run_id("src", PublishedIdentity(**data["identity"]))
    assert inconsistencies(parse_record(tmp_path / "p.json", json.dumps(data))) == []


def test_validate_names_a_published_record_that_disagrees(tmp_path: Path) -> None:
    from runner.records.layout import published_parts
    from runner.records.published import PublishedIdentity

    data = published_data(throughput_tok_s=31.0, response_tokens=280.0, latency_s=0.009)
    folder = tmp_path.joinpath(
        "results", *published_parts("src", PublishedIdentity(**data["identity"]))
    )
    folder.mkdir(parents=True)
    path = folder / f"{data['run_id']}.json"
    path.write_text(json.dumps(data))
    problems, _, _, valid = validate_results(tmp_path / "results")
    assert valid == 0
    assert [p.split(" = ")[0] for p in problems] == [
        f"{path}: fields disagree: metrics.throughput_tok_s"
    ]
