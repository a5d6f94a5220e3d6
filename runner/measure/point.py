"""Orchestration of one benchmark point: load, idle baseline, warm up, measure, write.

Energy attribution: every measured batch is one meter window around `generate`. The batch's
energy is split evenly over its requests for `energy_per_response_j` (a batch of 8 that used
80 J costs 10 J per response) and over its output tokens for `energy_per_token_j`. The pooled
summary divides the energy of all windows by all requests (or tokens).
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from runner.config import RunConfig, write_root
from runner.errors import PointFailed
from runner.machine.device import resolve_device
from runner.machine.energy import EnergyMeter, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
from runner.measure.generation import BatchResult, generate_batch, prompt_token_counts
from runner.measure.stats import summarize
from runner.records.layout import performance_parts
from runner.records.load import RAW_DATA_SUFFIX
from runner.records.performance import (
    SCHEMA_VERSION,
    EnergyInfo,
    Identity,
    MeasuredSource,
    Measurements,
    ModelInfo,
    PerformanceRecord,
    Summary,
    TaskInfo,
)
from runner.records.store import (
    canonical_json,
    new_run_id,
    safe_subdir,
    sha256_bytes,
    write_record_with_raw_data,
)
from runner.workload.models import LoadedModel, load_model
from runner.workload.prompts import Prompt, load_prompt_set, sample_prompts


class CalibrationLookup(Protocol):
    """Returns the run id of this machine's calibration for a dtype, measuring one if none.

    The CLI passes `runner.hardware.calibration.ensure_calibration`; `measure` does not import
    `hardware` (the import rules in pyproject.toml keep the two independent).
    """

    def __call__(
        self,
        results_root: Path,
        device: str,
        dtype: str,
        *,
        energy_meter: str,
        write_root: Path | None = None,
    ) -> str:
        """The calibration's run id (searched under `results_root`, new ones in `write_root`)."""
        ...


@dataclasses.dataclass
class MeasuredBatch:
    """A measured batch: where it ran in the loop, its timing, and its window's energy (J)."""

    repeat: int
    index: int
    prompts: list[Prompt]
    result: BatchResult
    energy_j: float | None


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The resolved config as plain JSON data."""
    return dataclasses.asdict(config)


def config_hash(config: RunConfig) -> str:
    """sha256 of the resolved config (canonical JSON), ignoring where results are written."""
    data = config_to_dict(config)
    data.pop("results_dir", None)
    data.pop("results_subdir", None)
    return sha256_bytes(canonical_json(data).encode("utf-8"))


def record_folder(results_root: Path, identity: Identity) -> Path:
    """`results/performance/<hardware>/<model>/<task>/bs<N>-<backend>/` (every part checked)."""
    return safe_subdir(results_root, *performance_parts(identity))


def batches_of(prompts: list[Prompt], size: int) -> list[list[Prompt]]:
    """Consecutive batches of `size` (the last may be smaller)."""
    return [prompts[start : start + size] for start in range(0, len(prompts), size)]


def measure_idle(meter: EnergyMeter, seconds: float) -> tuple[float | None, float | None]:
    """Mean power (W) over an idle window of `seconds` and its length (s); Nones if unmetered."""
    if not meter.available or seconds <= 0:
        return None, None
    meter.begin("idle")
    time.sleep(seconds)
    reading = meter.end("idle")
    if reading.energy_j is None or reading.duration_s <= 0:
        return None, reading.duration_s
    return reading.energy_j / reading.duration_s, reading.duration_s


def peak_memory(device: str) -> tuple[int | None, str | None]:
    """Peak CUDA memory allocated on the device, or the process's peak RSS on CPU, in bytes."""
    if device == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated()), "cuda_max_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss * (1 if sys.platform == "darwin" else 1024)), "process_max_rss"


def _generate(
    loaded: LoadedModel, config: RunConfig, prompts: list[Prompt], pad_to: int | None
) -> BatchResult:
    import torch

    try:
        return generate_batch(
            loaded.model,
            loaded.tokenizer,
            loaded.device,
            config.task,
            [prompt.text for prompt in prompts],
            config.max_prompt_tokens,
            backend=config.backend,
            pad_to=pad_to,
        )
    except torch.OutOfMemoryError:
        raise PointFailed(
            f"out of memory: model={config.model.name} task={config.task.name} "
            f"batch_size={config.batch_size} on {loaded.device}"
        ) from None


def run_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
) -> Path:
    """Benchmark one point and write its record; return the record's path.

    Args:
        config: the validated run config.
        calibration: finds (or measures) the calibration the record links to; required when
            `config.calibrate` is true.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        progress: show a progress bar over measured batches.

    Raises:
        UserError: bad input, model not loadable, out of memory, disk full. No record is written.
    """
    import torch

    started_utc = utc_now()
    device = resolve_device(config.backend.device)
    torch.manual_seed(config.seed)
    prompt_set = load_prompt_set(config.task.prompt_set, config.task.prompt_format)
    warmup_count = config.warmup_batches * config.batch_size
    sample = sample_prompts(prompt_set.prompts, config.num_prompts + warmup_count, config.seed)
    warmup_prompts, measured_prompts = sample[:warmup_count], sample[warmup_count:]
    calibration_id = None
    if config.calibrate:
        if calibration is None:
            raise ValueError("run_point: config.calibrate is true but no calibration was given")
        calibration_id = calibration(
            Path(config.results_dir),
            device,
            config.model.dtype,
            energy_meter=config.energy_meter,
            write_root=write_root(config),
        )

    loaded = load_model(config.model, device)
    if meter is None:
        meter = make_energy_meter(config.energy_meter, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    idle_power_w, idle_window_s = measure_idle(meter, config.idle_seconds)

    pad_to = None
    if config.backend.name == "compiled":
        texts = [prompt.text for prompt in sample]
        pad_to = max(
            prompt_token_counts(
                loaded.tokenizer, config.task.system_prompt, texts, config.max_prompt_tokens
            )
        )
    warmup_started = time.perf_counter()
    compile_time_s = None
    for number, batch in enumerate(batches_of(warmup_prompts, config.batch_size)):
        _generate(loaded, config, batch, pad_to)
        if number == 0 and config.backend.name == "compiled":
            compile_time_s = time.perf_counter() - warmup_started
    warmup_time_s = time.perf_counter() - warmup_started

    measured = _measure(loaded, config, meter, measured_prompts, progress, pad_to)
    ended_utc = utc_now()

    identity = Identity(
        model_name=config.model.name,
        model_id=config.model.hf_id,
        model_revision=config.model.revision,
        task=config.task.name,
        hardware_slug=hardware_slug(device),
        batch_size=config.batch_size,
        backend=config.backend.name,
        config_hash=config_hash(config),
    )
    run_id = new_run_id()
    folder = record_folder(write_root(config), identity)
    return write_record_with_raw_data(
        folder,
        run_id,
        RAW_DATA_SUFFIX,
        raw_data_rows(run_id, measured),
        lambda raw_data: PerformanceRecord(
            schema_version=SCHEMA_VERSION,
            kind="performance",
            run_id=run_id,
            source=MeasuredSource(),
            identity=identity,
            model=ModelInfo(
                display_name=config.model.display_name,
                dtype=config.model.dtype,
                params=loaded.params,
                params_source=loaded.params_source,
                url=config.model.url,
                license=config.model.license,
                trust_remote_code=config.model.trust_remote_code,
                random_weights=config.model.random_weights,
                base_model=config.model.base_model,
                architecture=loaded.architecture,
            ),
            task=TaskInfo(
                name=config.task.name,
                system_prompt=config.task.system_prompt,
                prompt_set=config.task.prompt_set,
                prompt_set_sha256=prompt_set.sha256,
                prompt_seed=config.seed,
                prompt_ids=[prompt.id for prompt in measured_prompts],
                max_new_tokens=config.task.max_new_tokens,
                sampling=dataclasses.asdict(config.task.sampling),
            ),
            energy=EnergyInfo(
                source=meter.source,  # type: ignore[arg-type]
                reason=meter.reason,
                devices=list(meter.devices),
                idle_power_w=idle_power_w,
                idle_window_s=idle_window_s,
            ),
            measurements=build_measurements(measured),
            summary=build_summary(
                measured, idle_power_w, device, loaded.load_time_s, warmup_time_s, compile_time_s
            ),
            provenance=collect_provenance(device, config.seed, started_utc, ended_utc),
            raw_data=raw_data,
            calibration_id=calibration_id,
            config=config_to_dict(config),
        ),
    )[0]


def _measure(
    loaded: LoadedModel,
    config: RunConfig,
    meter: EnergyMeter,
    prompts: list[Prompt],
    progress: bool,
    pad_to: int | None,
) -> list[MeasuredBatch]:
    from rich.progress import Progress

    batches = batches_of(prompts, config.batch_size)
    total = len(prompts) * config.repeats  # the bar counts requests
    measured: list[MeasuredBatch] = []
    label = f"{config.model.name} {config.task.name} bs={config.batch_size}"
    with Progress(disable=not progress, transient=True) as bar:
        bar_task = bar.add_task(label, total=total)
        for repeat in range(config.repeats):
            for index, batch in enumerate(batches):
                meter.begin("batch")
                result = _generate(loaded, config, batch, pad_to)
                reading = meter.end("batch")
                measured.append(MeasuredBatch(repeat, index, batch, result, reading.energy_j))
                bar.advance(bar_task, len(batch))
    return measured


def raw_data_rows(run_id: str, measured: list[MeasuredBatch]) -> list[dict[str, Any]]:
    """One row per measured request, for audit (units in the keys)."""
    rows = []
    for batch in measured:
        share = None if batch.energy_j is None else batch.energy_j / len(batch.result.requests)
        for position, (prompt, request) in enumerate(
            zip(batch.prompts, batch.result.requests, strict=True)
        ):
            rows.append(
                {
                    "run_id": run_id,
                    "repeat": batch.repeat,
                    "batch_index": batch.index,
                    "position": position,
                    "prompt_id": prompt.id,
                    "prompt_tokens": request.prompt_tokens,
                    "response_tokens": request.response_tokens,
                    "ttft_s": request.ttft_s,
                    "latency_s": request.latency_s,
                    "tpot_s": request.tpot_s,
                    "batch_time_s": batch.result.batch_time_s,
                    "batch_energy_j": batch.energy_j,
                    "energy_share_j": share,
                    "response_text": request.text,
                }
            )
    return rows


def build_measurements(measured: list[MeasuredBatch]) -> Measurements:
    """Per-request and per-batch statistics."""
    requests = [request for batch in measured for request in batch.result.requests]
    metered = [batch for batch in measured if batch.energy_j is not None]
    energy_complete = len(metered) == len(measured)
    tpots = [request.tpot_s for request in requests if request.tpot_s is not None]
    throughputs = [
        batch.result.output_tokens / batch.result.batch_time_s
        for batch in measured
        if batch.result.batch_time_s > 0
    ]
    return Measurements(
        latency_s=summarize([r.latency_s for r in requests]),
        ttft_s=summarize([r.ttft_s for r in requests]),
        tpot_s=summarize(tpots),
        prompt_tokens=summarize([r.prompt_tokens for r in requests]),
        response_tokens=summarize([r.response_tokens for r in requests]),
        batch_time_s=summarize([b.result.batch_time_s for b in measured]),
        throughput_tok_s=summarize(throughputs),
        energy_per_response_j=summarize(
            [b.energy_j / len(b.result.requests) for b in metered]  # type: ignore[operator]
        )
        if energy_complete
        else None,
        energy_per_token_j=summarize(
            [b.energy_j / b.result.output_tokens for b in metered if b.result.output_tokens]  # type: ignore[operator]
        )
        if energy_complete
        else None,
        avg_power_w=summarize(
            [b.energy_j / b.result.batch_time_s for b in metered if b.result.batch_time_s > 0]  # type: ignore[operator]
        )
        if energy_complete
        else None,
    )


def build_summary(
    measured: list[MeasuredBatch],
    idle_power_w: float | None,
    device: str,
    load_time_s: float,
    warmup_time_s: float,
    compile_time_s: float | None = None,
) -> Summary:
    """Pooled figures over all measured batches."""
    requests = sum(len(batch.result.requests) for batch in measured)
    tokens = sum(batch.result.output_tokens for batch in measured)
    measured_time = sum(batch.result.batch_time_s for batch in measured)
    energies = [batch.energy_j for batch in measured]
    energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]
    above_idle = None
    if energy is not None and idle_power_w is not None:
        above_idle = (energy - idle_power_w * measured_time) / requests
    memory, memory_kind = peak_memory(device)
    return Summary(
        requests=requests,
        batches=len(measured),
        output_tokens=tokens,
        measured_time_s=measured_time,
        throughput_tok_s=tokens / measured_time if measured_time > 0 else 0.0,
        energy_j=energy,
        energy_per_response_j=None if energy is None else energy / requests,
        energy_per_token_j=None if energy is None or tokens == 0 else energy / tokens,
        avg_power_w=None if energy is None or measured_time <= 0 else energy / measured_time,
        energy_above_idle_per_response_j=above_idle,
        peak_memory_bytes=memory,
        peak_memory_kind=memory_kind,  # type: ignore[arg-type]
        load_time_s=load_time_s,
        warmup_time_s=warmup_time_s,
        compile_time_s=compile_time_s,
    )
