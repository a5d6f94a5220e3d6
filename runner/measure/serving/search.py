"""The search for the maximum sustainable rate: bisection over serving points, each a record.

`leaderboard run scenario=serving scenario.search.enabled=true ...` probes `low_rps`, then
`high_rps`, then the midpoint between the highest passing and the lowest not-passing rate,
until the two are at most `resolution_rps` apart or `max_probes` points were measured. A rate
*passes* only when its record's verdict says `passes` (steady, and its attainment conclusively
at or above the target with enough requests: `runner.records.serving_rules`); `fails`,
`overloaded` and `inconclusive` all count as not passing, so the answer never rests on a rate
that was not steady or not conclusive. Every probe is one serving point, written as its own
record with the search it belongs to (`search` block), so the site draws every probe.

The answer: the highest passing rate, with the lowest not-passing rate above it (`measured`,
within the resolution when `resolved`); `at least` `high_rps` when even that passes; `none`
when `low_rps` does not pass. Rates are the configured ones (the Poisson draw of each probe
offers a little more or less: the record keeps the offered rate).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runner.config import RunConfig
from runner.machine.device import resolve_device
from runner.measure.point import CalibrationLookup
from runner.measure.serving.point import run_serving_point
from runner.records.load import load_record
from runner.records.serving import SearchInfo, ServingRecord
from runner.records.store import new_run_id
from runner.workload.models import load_model

RATE_DIGITS = 6  # significant digits of a probed rate (keeps folder names short)


@dataclass
class SearchResult:
    """What a bisection found (rates in req/s, as configured).

    Attributes:
        probes: (rate, passed) in the order they were measured.
        highest_passing_rps: the highest rate that passed (None: `low_rps` did not).
        lowest_failing_rps: the lowest rate above it that did not pass (None: `high_rps`
            passed).
        bound: `measured` (both found), `at least` (`high_rps` passed) or `none`.
        resolved: the two are at most the resolution apart (False when `max_probes` ran out).
    """

    probes: list[tuple[float, bool]] = field(default_factory=list)
    highest_passing_rps: float | None = None
    lowest_failing_rps: float | None = None
    bound: Literal["measured", "at least", "none"] = "none"
    resolved: bool = False


def bisect_rates(
    passes: Callable[[float], bool],
    *,
    low_rps: float,
    high_rps: float,
    resolution_rps: float,
    max_probes: int,
) -> SearchResult:
    """Bisection for the highest passing rate in [low_rps, high_rps] (see the module doc).

    `passes(rate)` measures one point and says whether it passed; it is called at most
    `max_probes` times, each rate at most once.
    """
    result = SearchResult()

    def probe(rate: float) -> bool:
        rate = float(f"{rate:.{RATE_DIGITS}g}")
        verdict = passes(rate)
        result.probes.append((rate, verdict))
        return verdict

    if not probe(low_rps):
        result.lowest_failing_rps, result.bound, result.resolved = low_rps, "none", True
        return result
    if probe(high_rps):
        result.highest_passing_rps, result.bound, result.resolved = high_rps, "at least", True
        return result
    good, bad = low_rps, high_rps
    while bad - good > resolution_rps and len(result.probes) < max_probes:
        middle = float(f"{(good + bad) / 2:.{RATE_DIGITS}g}")
        if middle in (good, bad):
            break
        if probe(middle):
            good = middle
        else:
            bad = middle
    result.highest_passing_rps, result.lowest_failing_rps = good, bad
    result.bound = "measured"
    result.resolved = bad - good <= resolution_rps
    return result


def run_rate_search(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    progress: bool = True,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> tuple[list[Path], SearchResult]:
    """Search the maximum sustainable rate of `config` (with `scenario.search.enabled`): one
    serving point per probe, the model loaded once. Returns the records written and the result.

    Raises:
        UserError: as `run_serving_point` (a failed probe ends the search; the records already
            written stay).
    """
    settings = config.scenario.search
    search_id = new_run_id()
    loaded = load_model(config.model, resolve_device(config.backend.device))
    paths: list[Path] = []

    def passes(rate: float) -> bool:
        scenario = dataclasses.replace(config.scenario, request_rate=rate)
        info = SearchInfo(
            search_id=search_id,
            probe=len(paths) + 1,
            low_rps=settings.low_rps,
            high_rps=settings.high_rps,
            resolution_rps=settings.resolution_rps,
            max_probes=settings.max_probes,
        )
        path = run_serving_point(
            dataclasses.replace(config, scenario=scenario),
            calibration=calibration,
            progress=progress,
            loaded=loaded,
            search=info,
        )
        paths.append(path)
        record = load_record(path)
        assert isinstance(record, ServingRecord) and record.verdict is not None
        status = record.verdict.status
        report(
            f"search probe {info.probe}: {rate:g} req/s (offered "
            f"{record.arrival.offered_rate_rps:.4g}) {status} -> {path}"
        )
        return status == "passes"

    result = bisect_rates(
        passes,
        low_rps=settings.low_rps,
        high_rps=settings.high_rps,
        resolution_rps=settings.resolution_rps,
        max_probes=settings.max_probes,
    )
    report(describe(result, settings.resolution_rps))
    return paths, result


def describe(result: SearchResult, resolution_rps: float) -> str:
    """One line: what the search found."""
    count = len(result.probes)
    if result.bound == "none":
        return f"search: {result.lowest_failing_rps:g} req/s, the lowest rate, does not pass"
    if result.bound == "at least":
        return f"search: at least {result.highest_passing_rps:g} req/s (the highest rate passes)"
    within = (
        f"within {resolution_rps:g} req/s"
        if result.resolved
        else f"not resolved to {resolution_rps:g} req/s after {count} probes"
    )
    return (
        f"search: max sustainable rate {result.highest_passing_rps:g} req/s (passes), "
        f"{result.lowest_failing_rps:g} req/s does not, {within}; {count} probes"
    )
