"""`leaderboard pr-benchmark`: one benchmark workflow leg, on the machine it landed on.

The leg checks the machine against its runner entry (conf/runners.yaml) before anything else,
then benchmarks every task of each changed model with params.yaml's settings (the runner's own
settings override them), and on the accuracy leg scores the accuracy suite. A model that needs N
GPUs (its `min_gpus`, or its weights against one GPU's memory: `runner.config.gpus_needed`)
runs tensor-parallel on N of the runner's `gpus` (`parallel.tensor=N`); one that needs more than
the runner has is not benchmarked there, in one line. Everything it writes
goes into one new run folder (`results/runs/<hardware>/<run-id>/records`, see
runner.publish.pipeline), while earlier calibrations and accuracy records are looked up in the
whole results tree: a machine that already has a calibration on main reuses it, and a model
already scored is not scored again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runner.config import (
    ENGINE_SCENARIOS,
    check_safe_name,
    gpus_needed,
    serving_tensor_parallel_problem,
)
from runner.errors import UserError
from runner.publish.pipeline import load_params, run_folder
from runner.publish.runners import (
    RunnerEntry,
    check_machine,
    detected_device,
    entry_for,
    eval_overrides,
    run_overrides,
    visible_gpu_names,
)


def gpu_memory_bytes(device: str) -> int | None:
    """One GPU's memory (device 0), in bytes; None on a CPU runner."""
    if device != "cuda":
        return None
    import torch

    return int(torch.cuda.get_device_properties(0).total_memory)


def tensor_parallel_for(model: str, entry: RunnerEntry, memory: int | None) -> int:
    """The tensor-parallel degree a model runs with on this runner.

    Raises:
        UserError: the model needs more GPUs than the runner has (one line, both counts).
    """
    from runner.compose import compose_run_config, hydra_context

    with hydra_context():
        config = compose_run_config([f"model={model}"]).model
    needed = gpus_needed(config, memory)
    if needed > entry.gpus:
        why = (
            f"min_gpus: {config.min_gpus}"
            if config.min_gpus is not None
            else f"{config.params} params in {config.dtype} against "
            f"{(memory or 0) / 2**30:.0f} GiB per GPU"
        )
        raise UserError(
            f"{model} needs {needed} GPUs ({why}); runner {entry.label} has {entry.gpus} "
            f"(conf/runners.yaml gpus): not benchmarked here"
        )
    return needed


def scenario_for_tensor(overrides: list[str], tensor: int) -> tuple[list[str], str | None]:
    """A leg's run overrides for a model on `tensor` GPUs, and a line saying what changed.

    The engine scenarios (`steady`, `serving`) cannot run tensor-parallel yet
    (`runner.config.serving_tensor_parallel_problem`): a model that needs several GPUs is
    measured as static batches on them instead of not at all, and the leg says so.
    """
    chosen = [o.split("=", 1)[1] for o in overrides if o.startswith("scenario=")]
    if tensor <= 1 or not chosen or chosen[-1] not in ENGINE_SCENARIOS:
        return overrides, None
    kept = [o for o in overrides if not o.startswith("scenario")]
    note = (
        f"needs {tensor} GPUs and scenario={chosen[-1]} cannot run tensor-parallel yet "
        f"({serving_tensor_parallel_problem()}): measured as static batches on {tensor} GPUs"
    )
    return [*kept, "scenario=static"], note


def benchmark_leg(
    repo: Path, label: str, models: list[str], results: Path, hardware: str, run_id: str
) -> int:
    """Run one leg; return 0 when every point and eval succeeded, else 1.

    Raises:
        UserError: the machine is not what the label says, or a config is invalid.
    """
    from runner.accuracy.evaluate import run_eval
    from runner.hardware.calibration import ensure_calibration
    from runner.measure.sweep import run_sweep

    entry = entry_for(repo, label)
    device = check_machine(entry, detected_device(), visible_gpu_names())
    memory = gpu_memory_bytes(device)
    params = load_params(repo)
    for model in models:
        check_safe_name("--models", model)
    subdir = run_folder(results, hardware, run_id).relative_to(results).as_posix()
    where = [f"results_dir={results}", f"results_subdir={subdir}"]
    failures = 0
    for model in models:
        try:
            tensor = tensor_parallel_for(model, entry, memory)
        except UserError as error:
            failures += 1
            print(f"pr-benchmark: {error}", file=sys.stderr)
            continue
        settings, note = scenario_for_tensor(run_overrides(entry, params), tensor)
        if note:
            print(f"pr-benchmark: {model}: {note}", file=sys.stderr)
        overrides = [
            f"model={model}",
            f"task={','.join(params['tasks'])}",
            *where,
            *settings,
            *([f"parallel.tensor={tensor}"] if tensor > 1 else []),
        ]
        failures += run_sweep(overrides, multirun=True, calibration=ensure_calibration) != 0
        if entry.accuracy and tensor > 1:
            print(
                f"pr-benchmark: accuracy of {model} not scored: it needs {tensor} GPUs and "
                "leaderboard eval runs in one process",
                file=sys.stderr,
            )
        elif entry.accuracy:
            try:
                run_eval([f"model={model}", *where, *eval_overrides(entry, params)], multirun=False)
            except UserError as error:
                failures += 1
                print(f"pr-benchmark: accuracy of {model} failed: {error}", file=sys.stderr)
    if failures:
        print(f"pr-benchmark: {failures} model step(s) failed on {label}", file=sys.stderr)
        return 1
    return 0


def cmd_pr_benchmark(args: argparse.Namespace) -> int:
    """Benchmark the changed models on this runner into a new run folder."""
    if not args.models:
        print("pr-benchmark: no models to benchmark")
        return 0
    return benchmark_leg(
        args.repo, args.label, args.models, args.results, args.hardware, args.run_id
    )


def add_parser(commands: Any) -> None:
    """Register `pr-benchmark` on the CLI's subparsers."""
    parser = commands.add_parser(
        "pr-benchmark", help="one benchmark leg: check the machine, run every task, accuracy"
    )
    parser.add_argument("--label", required=True, help="this job's runner label")
    parser.add_argument("--models", nargs="*", default=[], help="model config names")
    parser.add_argument("--hardware", required=True, help="slug from `runner-check`")
    parser.add_argument("--run-id", required=True, help="the new run folder's name")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results root")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository root")
    parser.set_defaults(handler=cmd_pr_benchmark)
