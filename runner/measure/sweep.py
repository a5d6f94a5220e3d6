"""`leaderboard run`: expand a sweep, compose each job, run each point, report failures.

Each point runs in its scenario: `static` batches (`runner.measure.point`), `serving` under
arriving load (`runner.measure.serving`; a serving job with `scenario.search.enabled` runs the
search for the maximum sustainable rate, `runner.measure.serving.search`, one record per probe)
or `steady`, N requests at once at a batch cap (`runner.measure.steady`).

A failed point (bad config, out of memory, model not loadable) is reported in one line and the
sweep goes on; the command exits non-zero at the end if any point failed.
"""

from __future__ import annotations

import sys

from runner.compose import compose_run_config, expand_sweep, hydra_context
from runner.errors import UserError
from runner.measure.point import CalibrationLookup, run_point
from runner.measure.serving import run_serving_point
from runner.measure.serving.search import run_rate_search
from runner.measure.steady import run_steady_point

SCENARIO_RUNNERS = {"static": run_point, "serving": run_serving_point, "steady": run_steady_point}


def run_sweep(
    overrides: list[str],
    *,
    multirun: bool,
    calibration: CalibrationLookup,
    progress: bool = True,
) -> int:
    """Run every job; return 0 if all points wrote a record, else 1.

    Args:
        overrides: Hydra overrides (comma lists are sweeps when `multirun`).
        multirun: expand sweeps into one job per point.
        calibration: finds or measures the calibration each record links to.
        progress: show progress bars when stderr is a terminal.
    """
    jobs = expand_sweep(overrides) if multirun else [overrides]
    if not multirun and any(_is_sweep(o) for o in overrides):
        raise UserError(f"overrides {' '.join(overrides)}: a sweep needs -m / --multirun")
    failures: list[str] = []
    with hydra_context():
        for number, job in enumerate(jobs, start=1):
            label = " ".join(job) or "(defaults)"
            try:
                config = compose_run_config(job)
                show = progress and sys.stderr.isatty()
                scenario = config.scenario
                if scenario.name == "serving" and scenario.search.enabled:
                    paths, _ = run_rate_search(config, calibration=calibration, progress=show)
                else:
                    run = SCENARIO_RUNNERS[scenario.name]
                    paths = [run(config, calibration=calibration, progress=show)]
            except UserError as error:
                failures.append(f"{label}: {error}")
                print(f"[{number}/{len(jobs)}] failed: {label}: {error}", file=sys.stderr)
                continue
            for path in paths:
                print(f"[{number}/{len(jobs)}] {label} -> {path}")
    if failures:
        print(f"run: {len(failures)} of {len(jobs)} point(s) failed", file=sys.stderr)
        return 1
    return 0


def _is_sweep(override: str) -> bool:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides([override])
    except Exception:  # an unparsable override is reported by compose with its own message
        return False
    return any(item.is_sweep_override() for item in parsed)
