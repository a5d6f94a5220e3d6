"""The search for the maximum sustainable rate: bisection on a known threshold, and
`leaderboard run scenario=serving` with the search against a hand-made engine of known capacity
(`tests/support/simulated_engine.py`: 200 slots of 2 s each, 100 req/s, on a simulated clock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.measure.serving.search import bisect_rates


def threshold(limit: float, seen: list[float]):  # type: ignore[no-untyped-def]
    def passes(rate: float) -> bool:
        seen.append(rate)
        return rate <= limit

    return passes


def test_bisection_brackets_the_threshold_to_the_resolution() -> None:
    seen: list[float] = []
    result = bisect_rates(
        threshold(37.3, seen), low_rps=1, high_rps=64, resolution_rps=1, max_probes=12
    )
    assert seen[:3] == [1, 64, 32.5]
    assert result.bound == "measured" and result.resolved
    assert result.highest_passing_rps is not None and result.lowest_failing_rps is not None
    assert result.highest_passing_rps <= 37.3 < result.lowest_failing_rps
    assert result.lowest_failing_rps - result.highest_passing_rps <= 1
    assert len(set(seen)) == len(seen) == len(result.probes)  # each rate measured once


def test_bisection_edges_and_the_probe_budget() -> None:
    none = bisect_rates(threshold(0.5, []), low_rps=1, high_rps=8, resolution_rps=1, max_probes=5)
    assert (none.bound, none.highest_passing_rps, none.lowest_failing_rps) == ("none", None, 1)
    assert len(none.probes) == 1
    above = bisect_rates(threshold(99, []), low_rps=1, high_rps=8, resolution_rps=1, max_probes=5)
    assert (above.bound, above.highest_passing_rps) == ("at least", 8)
    short = bisect_rates(
        threshold(50, []), low_rps=1, high_rps=1000, resolution_rps=1, max_probes=4
    )
    assert len(short.probes) == 4 and not short.resolved and short.bound == "measured"


@pytest.mark.slow
def test_the_cli_search_finds_the_simulated_engines_capacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.cli import main
    from runner.measure.serving import point
    from runner.records.load import scan_results
    from runner.records.serving import ServingRecord
    from runner.validate import validate_results
    from tests.support.simulated_engine import SimClock, SimMeter, SimulatedEngine

    clock = SimClock()
    engines: list[SimulatedEngine] = []

    def make_engine(loaded, config, max_prompt_tokens):  # type: ignore[no-untyped-def]
        engines.append(SimulatedEngine(clock, slots=200, service_s=2.0, tokens=4))
        return engines[-1]

    monkeypatch.setattr(point, "make_engine", make_engine)
    monkeypatch.setattr(point, "make_energy_meter", lambda kind, device: SimMeter(clock))
    capacity, resolution = 100.0, 5.0
    root = tmp_path / "results"
    code = main(
        [
            "run",
            "--no-progress",
            "scenario=serving",
            "model=tiny-random",
            "task=chat",
            "backend.device=cpu",
            f"results_dir={root}",
            "calibrate=false",
            "idle_seconds=0",
            "task.max_new_tokens=4",
            "task.slo.ttft_s=0.75",  # the first token comes 0.5 s after the start: 0.25 s of queue
            "task.slo.tpot_s=null",
            "scenario.warmup_s=10",
            "scenario.duration_s=60",
            "scenario.drain_timeout_s=10",
            "scenario.search.enabled=true",
            "scenario.search.low_rps=10",
            "scenario.search.high_rps=200",
            f"scenario.search.resolution_rps={resolution:g}",
        ]
    )
    assert code == 0
    assert engines and engines[0].capacity_rps == capacity
    records = sorted(
        (r for _, r in scan_results(root).records if isinstance(r, ServingRecord)),
        key=lambda r: r.search.probe if r.search else 0,
    )
    assert len(records) == len(engines) >= 4  # every probe is a record
    assert len({r.search.search_id for r in records if r.search}) == 1
    assert [r.search.probe for r in records if r.search] == list(range(1, len(records) + 1))
    rates = [(r.identity.request_rate_rps, r.verdict.status) for r in records if r.verdict]
    passing = [rate for rate, status in rates if status == "passes"]
    failing = [rate for rate, status in rates if status != "passes"]
    best = max(passing)
    above = min(rate for rate in failing if rate > best)
    # The search ends with the passing and failing rates within the resolution, and the
    # engine's capacity within the resolution of both (just below it, queueing near the
    # capacity makes the TTFT target miss).
    assert above - best <= resolution
    assert capacity - resolution <= best <= capacity <= above + resolution
    assert all(r.arrival.offered_rate_rps > 0 for r in records)
    problems, warnings, _, valid = validate_results(root)
    assert (problems, warnings, valid) == ([], [], len(records))
