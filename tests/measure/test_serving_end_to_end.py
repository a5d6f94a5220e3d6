"""`leaderboard run -m scenario=serving ...` on the tiny model on CPU: a short real rate sweep
through the CLI (two rates the engine keeps up with, one it cannot: requests cancelled mid-way
keep their tokens), then validate and build --strict on what it wrote (about 45 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.measure.arrivals import poisson_arrivals
from runner.records.load import scan_results
from runner.validate import validate_results

pytestmark = pytest.mark.slow

WARMUP_S, DURATION_S, DRAIN_S = 1.0, 3.0, 4.0
RATES = (4.0, 16.0, 512.0)
OVERLOAD = 512.0


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serving-e2e") / "results"
    code = main(
        [
            "run",
            "-m",
            "--no-progress",
            "scenario=serving",
            "model=tiny-random",
            "task=chat",
            "backend.device=cpu",
            f"results_dir={root}",
            "calibrate=false",
            "idle_seconds=0",
            "task.max_new_tokens=16",
            f"scenario.warmup_s={WARMUP_S}",
            f"scenario.duration_s={DURATION_S}",
            f"scenario.drain_timeout_s={DRAIN_S}",
            "scenario.timeline_step_s=0.5",
            "scenario.request_rate=" + ",".join(f"{r:g}" for r in RATES),
        ]
    )
    assert code == 0
    return root


def test_the_sweep_writes_valid_serving_records(results: Path) -> None:
    problems, warnings, notes, valid = validate_results(results)
    assert (problems, warnings, notes, valid) == ([], [], [], len(RATES))
    records = sorted(
        (record for _, record in scan_results(results).records),
        key=lambda r: r.identity.request_rate_rps,
    )
    assert [r.identity.request_rate_rps for r in records] == list(RATES)
    assert len({r.identity.sweep_hash for r in records}) == 1  # one sweep
    for record in records:
        assert record.kind == "serving" and record.identity.engine == "transformers-cb"
        assert record.window.duration_s == DURATION_S
        assert record.window.measured_duration_s == pytest.approx(DURATION_S, abs=0.2)
        opened, closed = record.window.opened_s, record.window.closed_s
        assert opened is not None and closed is not None
        assert opened == pytest.approx(WARMUP_S, abs=0.3)  # late only by the loop's own lag
        assert closed - opened == pytest.approx(record.window.measured_duration_s, abs=0.05)
        assert len(record.timeline) == int(DURATION_S / 0.5)
        assert record.engine.transformers_version.startswith("5.")
        assert record.summary.window_requests > 0
        assert record.summary.window_output_tokens is not None
        phases = record.accounting
        assert sum(getattr(phases, p).output_tokens or 0 for p in ("warmup", "window", "drain"))
        assert record.arrival.offered_rate_rps > 0
        assert record.verdict is not None
        assert record.slo.ttft_s == 2.0 and record.slo.tpot_s == 0.2  # conf/task/chat.yaml
        assert record.slo.reference and "DistServe" in record.slo.reference
    # 3 s windows of 12 and 48 requests are too small to pass (at least 100 are required).
    assert records[0].verdict.status in ("inconclusive", "fails")


def test_no_request_is_lost_or_counted_twice(results: Path) -> None:
    for path, record in scan_results(results).records:
        rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
        # One row per dispatched request, in arrival order, each index once.
        assert [row["index"] for row in rows] == list(range(len(rows)))
        assert len(rows) == record.arrival.dispatched
        # The scheduled times are the seeded Poisson process of the config.
        horizon = WARMUP_S + DURATION_S + DRAIN_S
        expected = poisson_arrivals(record.identity.request_rate_rps, horizon, seed=0)
        assert [row["scheduled_s"] for row in rows] == [round(t, 6) for t in expected[: len(rows)]]
        for phase in ("warmup", "window", "drain"):
            mine = [row for row in rows if row["phase"] == phase]
            counted = getattr(record.accounting, phase)
            assert counted.dispatched == len(mine)
            assert counted.finished == sum(row["status"] == "finished" for row in mine)
            assert counted.cancelled == sum(row["status"] == "cancelled" for row in mine)
        window = [row for row in rows if row["phase"] == "window"]
        assert all(WARMUP_S <= row["scheduled_s"] < WARMUP_S + DURATION_S for row in window)
        assert record.summary.window_requests == len(window)
        assert record.summary.slo_met == sum(bool(row["meets_slo"]) for row in window)
        assert record.accounting.duplicate_results == 0
        assert all(len(row["token_times_s"]) == row["output_tokens"] for row in rows)
        finished = [row for row in window if row["status"] == "finished"]
        assert all(row["ttft_s"] <= row["e2e_latency_s"] for row in finished)
        assert all(row["tpot_s"] is not None for row in finished if row["output_tokens"] > 1)
        assert all(row["send_lag_s"] >= 0 for row in rows)
        # Every token of the window's requests is counted, cancelled requests' included.
        assert record.summary.window_output_tokens == sum(row["output_tokens"] for row in window)
        for phase in ("warmup", "window", "drain"):
            counted = getattr(record.accounting, phase).output_tokens
            assert counted == sum(row["output_tokens"] for row in rows if row["phase"] == phase)


def test_an_overloaded_rate_keeps_the_tokens_of_cancelled_requests(results: Path) -> None:
    (path, record), *_ = [
        (p, r) for p, r in scan_results(results).records if r.identity.request_rate_rps == OVERLOAD
    ]
    rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
    timed_out = [r for r in rows if r["phase"] == "window" and r["status"] == "timed_out"]
    assert timed_out, "512 req/s on the tiny CPU model should leave window requests unfinished"
    # The requests running at the deadline (the engine's batch was full) were cancelled
    # mid-generation: their tokens were read from the engine at cancel. (Which phase they
    # belong to depends on how far the engine got on a shared CPU.)
    stopped = [r for r in rows if r["status"] in ("timed_out", "cancelled")]
    partial = [r for r in stopped if r["output_tokens"] > 0]
    assert partial and all(r["started_s"] is not None for r in partial)
    assert all(r["e2e_latency_s"] is None and r["censored_e2e_latency_s"] for r in timed_out)
    assert record.verdict is not None and record.verdict.status == "overloaded"
    assert record.verdict.steady_state.unfinished_at_deadline == len(timed_out)
    e2e = record.measurements.e2e_latency_s
    assert e2e is not None and e2e.censored == len(timed_out) and e2e.p99_censored


def test_cpu_without_a_meter_has_null_energy_and_a_reason(results: Path) -> None:
    from runner.machine.energy import rapl_available

    if rapl_available():
        pytest.skip("this machine exposes RAPL")
    for _, record in scan_results(results).records:
        assert record.energy.source == "unavailable" and record.energy.reason
        assert record.summary.energy_j is None
        assert record.summary.energy_per_finished_request_j is None
        assert all(point.energy_j is None for point in record.timeline)


def test_build_strict_shows_the_sweep(results: Path, tmp_path: Path) -> None:
    from leaderboard_site.build import build_site

    out = tmp_path / "_site"
    build_site(results, out, strict=True, bundle="/* test */")
    pages = list((out / "serving").glob("chat--*.html"))
    assert len(pages) == 1
    assert "Max sustainable rate at the target" in pages[0].read_text()
    rows = json.loads((out / "data" / "serving.json").read_text())
    assert len(rows) == 1 and rows[0]["rates_measured"] == len(RATES)
    # a CPU machine is named by its CPU, as on the other boards, not by its slug
    assert "CPU" in rows[0]["hardware_label"] and rows[0]["hardware_label"] != rows[0]["hardware"]
