"""Schema versions: v1 and v2 performance records, v1 and v2 serving and v1 published records
load unchanged through the written migrations; the published kind holds only what its source
published; measured records stay strict."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runner.errors import RecordError
from runner.records.consistency import inconsistencies
from runner.records.load import load_record, parse_record, scan_results
from runner.records.migrate import (
    migrate,
    performance_1_to_2,
    performance_2_to_3,
    readable_versions,
)
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
        assert record.schema_version == SCHEMA_VERSION == 3
        assert record.source.type == "measured"
        loaded = record.model_dump(mode="json")
        # Every v1 value is kept as it was; the migrations only add `source` and the
        # configuration every earlier record ran: static batches on one device.
        assert loaded.pop("source") == {"type": "measured"}
        assert loaded["identity"].pop("configuration") == {
            "num_devices": 1,
            "tensor_parallel": 1,
            "pipeline_parallel": 1,
            "expert_parallel": 1,
            "data_parallel": 1,
            "batching": "static",
            "batch_size": original["identity"]["batch_size"],
            "max_num_seqs": None,
            "mean_running_batch": None,
            "precision": original["model"]["dtype"],
        }
        assert loaded.pop("schema_version") == 3
        original.pop("schema_version")
        # Blocks added later as optional (energy windows, execution) read as null when absent.
        for key in ("energy_windows", "execution"):
            if key not in original:
                assert loaded.pop(key) is None
        # ... and so do the per-device blocks of multi-device points (issue 25).
        assert loaded["summary"].pop("per_device") is None
        for window in (loaded.get("energy_windows") or {}).get("windows", []):
            assert window.pop("per_device") is None
        # ... and so do the optional fields added to the energy block by issue 21.
        for key in ("idle_settle_s", "idle_note"):
            if key not in original["energy"]:
                assert loaded["energy"].pop(key) is None
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
    third = migrate("performance", data, 3)
    assert third == performance_2_to_3(upgraded)
    assert set(third["identity"]) - set(data["identity"]) == {"configuration"}
    assert {k: v for k, v in third["identity"].items() if k != "configuration"} == data["identity"]
    assert readable_versions("performance", 3) == [1, 2, 3]
    assert readable_versions("published", 2) == [1, 2]
    assert readable_versions("serving", 3) == [1, 2, 3]


@pytest.mark.parametrize("version", [0, 4, 99, "1", None, True])
def test_versions_without_a_migration_are_refused(tmp_path: Path, version: object) -> None:
    data = json.loads(first_record(GOLDEN).read_text())
    data["schema_version"] = version
    path = tmp_path / "x.json"
    with pytest.raises(RecordError, match=r"unknown schema_version .*reads version 1, 2, 3"):
        parse_record(path, json.dumps(data))


def test_a_measured_record_states_its_whole_configuration(tmp_path: Path) -> None:
    v3 = migrate("performance", json.loads(first_record(GOLDEN).read_text()), 3)
    parse_record(tmp_path / "ok.json", json.dumps(v3))
    for change, message in (
        (lambda d: d["identity"]["configuration"].pop("num_devices"), "states num_devices"),
        (lambda d: d["identity"]["configuration"].update(batch_size=99), "batch_size"),
        (lambda d: d["identity"]["configuration"].update(precision="fp8"), "precision"),
        (lambda d: d["identity"]["configuration"].update(tensor_parallel=2), "num_devices"),
        (
            lambda d: d["identity"]["configuration"].update(max_num_seqs=8),
            "continuous batching only",
        ),
    ):
        broken = copy.deepcopy(v3)
        change(broken)
        with pytest.raises(RecordError, match=message):
            parse_record(tmp_path / "bad.json", json.dumps(broken))


SERVING_V2 = sorted((GOLDEN.parent / "serving_v2").rglob("*.json"))


def test_a_serving_record_of_version_2_loads_unchanged_on_disk() -> None:
    from runner.records.serving import ServingRecord
    from runner.records.serving_rules import sweep_hash

    (path,) = SERVING_V2
    before = path.read_bytes()
    v2 = json.loads(before)
    assert v2["schema_version"] == 2
    record = load_record(path)
    assert isinstance(record, ServingRecord) and record.schema_version == 3
    assert path.read_bytes() == before  # never rewritten
    s, old = record.summary, v2["summary"]
    # Moved and renamed, values unchanged.
    assert s.window_requests == old["requests_in_window"] == 7
    assert s.any_phase_completions_in_window == old["completed_in_window"]
    assert s.any_phase_tokens_in_window == old["output_tokens_in_window"]
    assert (s.slo_met, s.goodput_rps, s.energy_j) == (
        old["slo_met"], old["goodput_rps"], old["energy_j"]
    )  # fmt: skip
    # Determined exactly by the v2 JSON: the window requests that finished, over the window.
    assert (s.window_finished, s.window_unfinished) == (6, 1)
    assert s.finished_rps == pytest.approx(6 / v2["window"]["measured_duration_s"])
    assert s.energy_per_finished_request_j == pytest.approx(old["energy_j"] / 6)
    # Not kept by v2: null, never guessed.
    assert s.window_output_tokens is s.output_tok_s is s.energy_per_token_j is None
    assert record.accounting.window.output_tokens is None
    assert record.accounting.drain.cancelled is None  # v2 counted it in timed_out
    assert record.accounting.drain.timed_out == v2["accounting"]["drain"]["timed_out"] == 1
    assert record.window.opened_s is record.window.closed_s is None
    assert record.slo.tpot_s is record.slo.reference is None
    m = record.measurements
    assert m.ttft_s is m.e2e_latency_s is m.tpot_s is m.queueing_delay_s is None
    assert m.finished_only_v2 is not None
    assert m.finished_only_v2.ttft_s.model_dump(mode="json") == v2["measurements"]["ttft_s"]
    assert m.send_lag_s.model_dump(mode="json") == v2["measurements"]["dispatch_lag_s"]
    assert record.verdict is None and record.search is None  # not assessed
    assert record.identity.sweep_hash == sweep_hash(v2["config"])
    assert inconsistencies(record) == []


def test_a_serving_record_of_version_1_loads_with_its_configuration(tmp_path: Path) -> None:
    (path,) = SERVING_V2
    data = json.loads(path.read_text())
    configuration = data["identity"].pop("configuration")
    data["schema_version"] = 1
    loaded = parse_record(tmp_path / "s.json", json.dumps(data))
    assert loaded.identity.configuration.model_dump(mode="json") == configuration
    assert configuration["max_num_seqs"] == data["engine"]["max_batch_requests"]
    assert configuration["batching"] == "continuous" and configuration["num_devices"] == 1
    assert loaded.summary.window_requests == data["summary"]["requests_in_window"]


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
        "configuration": {"batching": "static", "batch_size": 1},
    }
    return {
        "schema_version": 2,
        "kind": "published",
        "run_id": published_run_id("src", PublishedIdentity(**identity)),
        "task": {"id": "chat", "name": "Chat (someone's)"},
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


def test_a_published_record_of_version_1_keeps_its_id_and_invents_nothing(
    tmp_path: Path,
) -> None:
    import hashlib

    identity = {
        "model_name": "org__m",
        "model_id": "org/m",
        "task": "chat",
        "hardware_slug": "nvidia-a100",
        "hardware_name": "A100",
        "batch_size": 1,
    }
    # The version-1 id: the sha256 of the source id and the version-1 identity (written out
    # here as version 1 computed it, not through today's code).
    key = json.dumps({"source_id": "src", **identity}, sort_keys=True, separators=(",", ":"))
    v1_id = "pub-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    data = published_data()
    data.update(schema_version=1, run_id=v1_id, identity=identity)
    data.pop("task")
    data["model"]["precision"] = "float16"
    record = parse_record(tmp_path / f"{v1_id}.json", json.dumps(data))
    assert record.run_id == v1_id
    configuration = record.identity.configuration.model_dump(mode="json", exclude_none=True)
    # What version 1 held, and nothing more: no GPU count, no layout.
    assert configuration == {"batching": "static", "batch_size": 1, "precision": "float16"}
    assert (record.task.id, record.task.name, record.task.description) == ("chat", "chat", None)
    data["run_id"] = published_run_id("src", record.identity)  # today's id is valid too
    parse_record(tmp_path / "x.json", json.dumps(data))
    data["run_id"] = "pub-" + "0" * 16
    with pytest.raises(RecordError, match="run_id"):
        parse_record(tmp_path / "y.json", json.dumps(data))


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
