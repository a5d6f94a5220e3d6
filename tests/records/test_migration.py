"""Schema versions: v1 performance records load unchanged through the written migration; the
published kind holds only what its source published; measured records stay strict."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runner.errors import RecordError
from runner.records.load import load_record, parse_record, scan_results
from runner.records.migrate import migrate, performance_1_to_2, readable_versions
from runner.records.performance import SCHEMA_VERSION, PerformanceRecord
from runner.records.published import (
    PublishedIdentity,
    PublishedRecord,
    published_run_id,
    record_json,
)
from tests.support.site_support import GOLDEN, first_record

GOLDEN_PERFORMANCE = sorted((GOLDEN / "performance").rglob("*.json"))


def test_golden_fixtures_are_schema_1_on_disk() -> None:
    assert len(GOLDEN_PERFORMANCE) > 100
    versions = {json.loads(p.read_text())["schema_version"] for p in GOLDEN_PERFORMANCE}
    assert versions == {1}
    assert all("source" not in json.loads(p.read_text()) for p in GOLDEN_PERFORMANCE)


def test_every_schema_1_record_loads_unchanged_through_the_migration() -> None:
    for path in GOLDEN_PERFORMANCE:
        before = path.read_bytes()
        original = json.loads(before)
        record = load_record(path)
        assert isinstance(record, PerformanceRecord)
        assert record.schema_version == SCHEMA_VERSION == 2
        assert record.source.type == "measured"
        loaded = record.model_dump(mode="json")
        # Every v1 value is kept as it was; the migration only adds `source`.
        assert loaded.pop("source") == {"type": "measured"}
        assert loaded.pop("schema_version") == 2
        original.pop("schema_version")
        # Blocks added later as optional (energy windows, execution) read as null when absent.
        for key in ("energy_windows", "execution"):
            if key not in original:
                assert loaded.pop(key) is None
        assert loaded == original, path
        assert path.read_bytes() == before  # the file is never rewritten
    scan = scan_results(GOLDEN)
    assert scan.problems == [] and scan.warnings == []


def test_migration_is_pure_and_only_adds_the_source() -> None:
    data = json.loads(first_record(GOLDEN).read_text())
    frozen = copy.deepcopy(data)
    upgraded = migrate("performance", data, 2)
    assert data == frozen  # input untouched
    assert upgraded == performance_1_to_2(frozen)
    assert set(upgraded) - set(data) == {"source"}
    assert readable_versions("performance", 2) == [1, 2]
    assert readable_versions("published", 1) == [1]


@pytest.mark.parametrize("version", [0, 3, 99, "1", None, True])
def test_versions_without_a_migration_are_refused(tmp_path: Path, version: object) -> None:
    data = json.loads(first_record(GOLDEN).read_text())
    data["schema_version"] = version
    path = tmp_path / "x.json"
    with pytest.raises(RecordError, match=r"unknown schema_version .*reads version 1, 2"):
        parse_record(path, json.dumps(data))


def test_a_v2_record_must_say_its_source_and_keep_every_statistic(tmp_path: Path) -> None:
    v2 = migrate("performance", json.loads(first_record(GOLDEN).read_text()), 2)
    parse_record(tmp_path / "ok.json", json.dumps(v2))
    for broken, field in (
        ({k: v for k, v in v2.items() if k != "source"}, "source"),
        (dict(v2, source={"type": "published"}), "source.type"),
        (
            dict(v2, measurements={k: v for k, v in v2["measurements"].items() if k != "ttft_s"}),
            "measurements.ttft_s",
        ),
        (
            dict(v2, measurements=dict(v2["measurements"], latency_s={"mean": 1.0})),
            "measurements.latency_s",
        ),
    ):
        with pytest.raises(RecordError, match=f"field {field}"):
            parse_record(tmp_path / "bad.json", json.dumps(broken))


def published_data(**metrics: float) -> dict:
    identity = {
        "model_name": "org__m",
        "model_id": "org/m",
        "task": "chat",
        "hardware_slug": "nvidia-a100",
        "hardware_name": "A100",
        "batch_size": 1,
    }
    return {
        "schema_version": 1,
        "kind": "published",
        "run_id": published_run_id("src", PublishedIdentity(**identity)),
        "source": {
            "type": "published",
            "source_id": "src",
            "format": "csv",
            "citation": "Someone (2026)",
            "url": "https://example.org",
            "methodology": "batch 1, FP16",
            "imported_utc": "2026-11-28T00:00:00Z",
        },
        "identity": identity,
        "model": {"display_name": "M"},
        "metrics": metrics or {"latency_s": 2.0},
        "source_rows": [{"file": "t.csv", "line": 2, "values": {"m": "2.0"}}],
    }


def test_a_published_record_holds_only_what_was_published(tmp_path: Path) -> None:
    record = parse_record(tmp_path / "p.json", json.dumps(published_data(latency_s=2.0)))
    assert isinstance(record, PublishedRecord)
    written = record_json(record)
    assert written["metrics"] == {"latency_s": 2.0}  # nothing else: absent, not null or 0
    assert "license" not in written["source"] and "batch_size" in written["identity"]
    text = json.dumps(written)
    for invented in ("null", '"n"', "stdev", "p90", "ttft", "load_time", "prompt_tokens"):
        assert invented not in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["metrics"].update(latency_p90_s=3.0), "metrics.latency_p90_s"),
        (lambda d: d["metrics"].update(latency_s={"n": 1, "mean": 2.0}), "metrics.latency_s"),
        (lambda d: d.update(metrics={}), "at least one published figure"),
        (lambda d: d["metrics"].update(latency_s=float("nan")), "metrics.latency_s"),
        (lambda d: d["metrics"].update(energy_per_response_j=-1.0), "energy_per_response_j"),
        (lambda d: d.update(run_id="pub-0000000000000000"), "run_id"),
        (lambda d: d["identity"].update(model_name="../x"), "model_name"),
        (lambda d: d["source"].update(type="measured"), "source.type"),
        (lambda d: d["source"].pop("citation"), "source.citation"),
    ],
)
def test_published_records_are_validated(tmp_path: Path, change, message: str) -> None:
    data = published_data()
    change(data)
    with pytest.raises(RecordError, match=message):
        parse_record(tmp_path / "p.json", json.dumps(data))
