"""The DVC pipeline's `calibrate` stage: calibrate once per (device, dtype) the models need.

Each `pipelines/<hardware>/dvc.yaml` has a `calibrate` stage that owns
`results/calibration/<hardware>/` (a `persist: true` output), and every benchmark stage of that
hardware depends on the folder. The stage runs

    leaderboard calibrate --results results --params params.yaml --missing-only --size <size>

which composes every model listed in `params.yaml` `models` (with the benchmark stages' extra
overrides) to find the (device, dtype) pairs the benchmark runs will use, and measures a
calibration only for the pairs that have none under `results/calibration/<hardware>/` yet. So
when a benchmark stage's `leaderboard run` calls `ensure_calibration`, it finds the newest
calibration there and reuses it: no benchmark stage writes into the calibration folder, whose
files are therefore all tracked (and pushed) by the calibrate stage's output. See
docs/pipeline.md, "Calibration".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.errors import UserError


@dataclass(frozen=True)
class CalibrationNeed:
    """One calibration a set of runs needs: the resolved device and the model dtype."""

    device: str
    dtype: str


def needed_calibrations(repo: Path, overrides: list[str]) -> list[CalibrationNeed]:
    """The (device, dtype) pairs the benchmark runs of every `params.yaml` model will use.

    Each model is composed as a benchmark stage composes it (`model=<name>` plus `overrides`,
    sweeps expanded); the device is resolved on this machine (`auto` becomes `cuda` or `cpu`).

    Raises:
        ConfigError: params.yaml or a model config is invalid.
    """
    from runner.compose import compose_run_config, expand_sweep, hydra_context
    from runner.machine.device import resolve_device
    from runner.publish.pipeline import load_params

    params = load_params(repo)
    needs: set[CalibrationNeed] = set()
    with hydra_context():
        for model in params["models"]:
            for job in expand_sweep([f"model={model}", *overrides]):
                config = compose_run_config(job)
                needs.add(
                    CalibrationNeed(resolve_device(config.backend.device), config.model.dtype)
                )
    return sorted(needs, key=lambda need: (need.device, need.dtype))


def calibrate_needs(
    results_root: Path, needs: list[CalibrationNeed], *, size: str, missing_only: bool
) -> list[str]:
    """Measure a calibration for each need (only those with none yet, with `missing_only`).

    Returns:
        One human line per need: the calibration measured, or the one reused.

    Raises:
        UserError: bad argument, out of memory, or a record cannot be written.
    """
    from runner.hardware.calibration import describe, newest_calibration, run_calibration
    from runner.machine.provenance import hardware_slug

    lines: list[str] = []
    for need in needs:
        if missing_only:
            existing = newest_calibration(results_root, hardware_slug(need.device), need.dtype)
            if existing is not None:
                lines.append(f"calibrate: reusing {existing.run_id} ({describe(existing)})")
                continue
        path, record = run_calibration(
            results_root, device=need.device, dtype=need.dtype, size=size
        )
        lines.append(f"calibrate: {describe(record)} -> {path}")
    return lines


def plan(
    *,
    dtypes: list[str] | None,
    device: str,
    params: Path | None,
    overrides: list[str],
) -> list[CalibrationNeed]:
    """What `leaderboard calibrate` measures: `--dtype`s on `--device`, or the models' needs.

    Raises:
        UserError: `--params` combined with `--dtype`, or overrides without `--params`.
    """
    if params is None:
        if overrides:
            raise UserError(
                f"calibrate: overrides ({' '.join(overrides)}) need --params (they apply to "
                "the models listed there)"
            )
        from runner.machine.device import resolve_device

        if device not in ("auto", "cpu", "cuda"):
            raise UserError(f"--device: expected one of auto, cpu, cuda, got {device!r}")
        resolved = resolve_device(device)
        return [CalibrationNeed(resolved, dtype) for dtype in dict.fromkeys(dtypes or ["bfloat16"])]
    if dtypes:
        raise UserError("calibrate: give --dtype or --params, not both")
    if params.name != "params.yaml":
        raise UserError(f"--params: expected a path to params.yaml, got {str(params)!r}")
    return needed_calibrations(params.parent, overrides)
