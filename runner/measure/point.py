"""Orchestration of one benchmark point: load, idle, warm up, then energy windows, write.

Idle baseline: once per point, after the model is loaded and `idle_settle_s` has passed, before
warm-up (a baseline taken right after warm-up catches the power tail of the load). It labels the
record (`energy.idle_power_w`, energy above idle) and is never subtracted from a headline.

Energy windows: each of the `repeats` windows runs whole passes over the measured prompt sample,
batch after batch, until it has lasted at least the window rule (`min_window_s`, at least
`GPU_MIN_WINDOW_S` on a GPU; `runner.measure.window_rule`). The meter's counter is read once per
window, so the window, not the batch, is the unit of measured energy; a window shorter than the
meter's resolution is never stored as a number. The pooled summary divides the energy of all
windows by all requests (or tokens) run inside them.

Attribution to batches (raw data and per-batch statistics): where a power timeline was sampled
during the window (Zeus `PowerMonitor` on a GPU), a batch's energy is the step integral of that
timeline over the batch (each sample held until the next; null for a batch shorter than one
sampling period); elsewhere the window's energy is split over its batches by batch time. A
batch's energy is then split evenly over its requests (`energy_per_response_j`) and over its
output tokens (`energy_per_token_j`); per-batch statistics are over the batches that have one.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from runner.config import RunConfig, write_root
from runner.errors import PointFailed
from runner.machine.device import resolve_device
from runner.machine.distributed import RankMeter, Ranks
from runner.machine.energy import EnergyMeter, PowerTimeline, checked_energy, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
from runner.measure.backends import Backend, make_backend
from runner.measure.generation import BatchResult
from runner.measure.stats import summarize
from runner.measure.window_rule import window_rule
from runner.records.configuration import single_device
from runner.records.layout import performance_parts
from runner.records.load import RAW_DATA_SUFFIX
from runner.records.performance import (
    SCHEMA_VERSION,
    DeviceSummary,
    DeviceWindow,
    EnergyInfo,
    EnergyWindow,
    EnergyWindows,
    Execution,
    Identity,
    MeasuredSource,
    Measurements,
    ModelInfo,
    PerformanceRecord,
    PowerTimelineBlock,
    Summary,
    TaskInfo,
    WindowRule,
    relative_uncertainty,
)
from runner.records.store import (
    canonical_json,
    new_run_id,
    safe_subdir,
    sha256_bytes,
    write_record_with_raw_data,
)
from runner.workload.models import LoadedModel, load_model, tensor_parallel_kwargs
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


# Points kept per window in the record's power timeline (the raw samples are not stored).
MAX_TIMELINE_POINTS = 200


@dataclasses.dataclass
class MeasuredBatch:
    """A measured batch: where it ran, its timing, and the energy attributed to it (J).

    Attributes:
        window: index of the energy window it ran in.
        pass_index: which pass over the measured sample (within the window).
        index: position of the batch in the pass.
        wall_start / wall_end: `time.time()` around the batch, in seconds.
        energy_j: the batch's share of its window's energy (see the module docstring); None
            when not measured or not attributable.
    """

    window: int
    pass_index: int
    index: int
    prompts: list[Prompt]
    result: BatchResult
    wall_start: float = 0.0
    wall_end: float = 0.0
    energy_j: float | None = None


@dataclasses.dataclass
class MeasuredWindow:
    """One energy window and the batches it ran."""

    index: int
    duration_s: float
    energy_j: float | None
    reason: str | None
    passes: int
    batches: list[MeasuredBatch]
    idle_power_w: float | None
    idle_window_s: float | None
    wall_start: float
    wall_end: float
    timeline: PowerTimeline | None = None
    per_device_j: dict[str, float] | None = None
    idle_per_device_w: dict[str, float] | None = None

    @property
    def requests(self) -> int:
        """Requests run in the window."""
        return sum(len(batch.result.requests) for batch in self.batches)

    @property
    def output_tokens(self) -> int:
        """Tokens generated in the window."""
        return sum(batch.result.output_tokens for batch in self.batches)

    @property
    def busy_s(self) -> float:
        """Sum of the window's batch times (s)."""
        return sum(batch.result.batch_time_s for batch in self.batches)

    @property
    def energy_above_idle_j(self) -> float | None:
        """Window energy minus idle power x window time (J); None without either."""
        if self.energy_j is None or self.idle_power_w is None:
            return None
        return self.energy_j - self.idle_power_w * self.duration_s


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


IDLE_NOTE = (
    "measured once, after loading the model and a settle period, before warm-up; a label, "
    "never subtracted from a headline figure"
)


def measure_idle(
    meter: EnergyMeter, seconds: float, settle_s: float = 0.0
) -> tuple[float | None, float | None]:
    """Mean power (W) over an idle window of `seconds` and its length (s); Nones if unmetered.

    Waits `settle_s` seconds first (only when a window is measured), so the power of whatever
    ran before has settled.
    """
    power, duration, _ = idle_window(meter, seconds, settle_s)
    return power, duration


def idle_window(
    meter: EnergyMeter, seconds: float, settle_s: float = 0.0
) -> tuple[float | None, float | None, dict[str, float] | None]:
    """`measure_idle`, plus each device's mean idle power (W) where the meter reads devices one
    by one (the same GPUs as the point's windows)."""
    if not meter.available or seconds <= 0:
        return None, None, None
    if settle_s > 0:
        time.sleep(settle_s)
    meter.begin("idle")
    time.sleep(seconds)
    reading = meter.end("idle")
    energy, _ = checked_energy(reading, meter.resolution_s)
    if energy is None or reading.duration_s <= 0:
        return None, reading.duration_s, None
    per_device = None
    if reading.per_device_j is not None:
        per_device = {name: e / reading.duration_s for name, e in reading.per_device_j.items()}
    return energy / reading.duration_s, reading.duration_s, per_device


def peak_memory(device: str) -> tuple[int | None, str | None]:
    """Peak CUDA memory allocated on the device, or the process's peak RSS on CPU, in bytes."""
    if device == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated()), "cuda_max_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss * (1 if sys.platform == "darwin" else 1024)), "process_max_rss"


def _generate(
    backend: Backend, config: RunConfig, device: str, prompts: list[Prompt]
) -> BatchResult:
    import torch

    try:
        return backend.generate([prompt.text for prompt in prompts])
    except torch.OutOfMemoryError:
        raise PointFailed(
            f"out of memory: model={config.model.name} task={config.task.name} "
            f"batch_size={config.batch_size} backend={config.backend.name} on {device}"
        ) from None


def model_info(config: RunConfig, loaded: LoadedModel) -> ModelInfo:
    """The record's `model` block: the config's facts and what loading found."""
    return ModelInfo(
        display_name=config.model.display_name,
        dtype=config.model.dtype,
        params=loaded.params,
        params_source=loaded.params_source,  # type: ignore[arg-type]
        url=config.model.url,
        license=config.model.license,
        trust_remote_code=config.model.trust_remote_code,
        random_weights=config.model.random_weights,
        base_model=config.model.base_model,
        architecture=loaded.architecture,
    )


def task_info(config: RunConfig, prompt_set_sha256: str, prompt_ids: list[str]) -> TaskInfo:
    """The record's `task` block: system prompt, prompt set, seed and the prompts used."""
    return TaskInfo(
        name=config.task.name,
        system_prompt=config.task.system_prompt,
        prompt_set=config.task.prompt_set,
        prompt_set_sha256=prompt_set_sha256,
        prompt_seed=config.seed,
        prompt_ids=prompt_ids,
        max_new_tokens=config.task.max_new_tokens,
        sampling=dataclasses.asdict(config.task.sampling),
    )


@dataclasses.dataclass
class PendingRecord:
    """A measured point whose record is not written yet (picklable: a rank hands it over).

    Attributes:
        folder: where the record goes.
        run_id: the record's run id.
        rows: the raw per-request rows (written beside the record).
        fields: every `PerformanceRecord` field but `raw_data`.
    """

    folder: Path
    run_id: str
    rows: list[dict[str, Any]]
    fields: dict[str, Any]


def write_pending(pending: PendingRecord) -> Path:
    """Write a measured point's raw data, then its record (atomically); return the record's path."""
    return write_record_with_raw_data(
        pending.folder,
        pending.run_id,
        RAW_DATA_SUFFIX,
        pending.rows,
        lambda raw_data: PerformanceRecord(**pending.fields, raw_data=raw_data),
    )[0]


def calibration_for(
    config: RunConfig, calibration: CalibrationLookup | None, device: str
) -> str | None:
    """The run id of the calibration the record links to (None when `calibrate` is false)."""
    if not config.calibrate:
        return None
    if calibration is None:
        raise ValueError("config.calibrate is true but no calibration lookup was given")
    return calibration(
        Path(config.results_dir),
        device,
        config.model.dtype,
        energy_meter=config.energy_meter,
        write_root=write_root(config),
    )


def run_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
) -> Path:
    """Benchmark one point and write its record; return the record's path.

    A point with `parallel.tensor` above 1 runs as that many ranks
    (`runner.measure.tensor_parallel`); its record is written only after every rank succeeded.

    Args:
        config: the validated run config.
        calibration: finds (or measures) the calibration the record links to; required when
            `config.calibrate` is true.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        progress: show a progress bar over measured batches.

    Raises:
        UserError: bad input, model not loadable, out of memory, disk full, a rank failed. No
            record is written.
    """
    if config.parallel.tensor > 1:
        from runner.measure.tensor_parallel import run_tensor_parallel_point

        return run_tensor_parallel_point(
            config, calibration=calibration, meter=meter, progress=progress
        )
    started_utc = utc_now()
    device = resolve_device(config.backend.device)
    calibration_id = calibration_for(config, calibration, device)
    pending = measure_point(
        config,
        device=device,
        calibration_id=calibration_id,
        started_utc=started_utc,
        meter=meter,
        progress=progress,
    )
    return write_pending(pending)


def measure_point(
    config: RunConfig,
    *,
    device: str,
    calibration_id: str | None,
    started_utc: str,
    meter: EnergyMeter | None = None,
    progress: bool = True,
    ranks: Ranks | None = None,
) -> PendingRecord:
    """Load, warm up and measure one point; return its record, not yet written.

    With `ranks` (one rank of a tensor-parallel point) every rank runs exactly these steps on
    its shard of the model; rank 0's meter covers every GPU of the point, rank 0's clock decides
    when a window has lasted long enough, and only rank 0's result is written.
    """
    import torch

    torch.manual_seed(config.seed)
    prompt_set = load_prompt_set(config.task.prompt_set, config.task.prompt_format)
    warmup_count = config.warmup_batches * config.batch_size
    sample = sample_prompts(prompt_set.prompts, config.num_prompts + warmup_count, config.seed)
    warmup_prompts, measured_prompts = sample[:warmup_count], sample[warmup_count:]

    tensor = config.parallel.tensor
    loaded = load_model(config.model, device, tensor_parallel=tensor)
    if ranks is not None:
        point_meter = None
        if ranks.leader:
            point_meter = meter or make_energy_meter(
                config.energy_meter,
                device,
                power_sample_period_s=config.power_sample_period_s,
                gpu_indices=list(range(ranks.world_size)),
                sync_execution=False,
            )
        meter = RankMeter(ranks, point_meter)
    elif meter is None:
        meter = make_energy_meter(
            config.energy_meter, device, power_sample_period_s=config.power_sample_period_s
        )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # The idle baseline before warm-up, after the load has settled (see the module docstring);
    # on a tensor-parallel point every rank idles together and rank 0 reads every GPU.
    idle_power_w, idle_window_s, idle_per_device_w = idle_window(
        meter, config.idle_seconds, config.idle_settle_s
    )
    rule = window_rule(meter, config.min_window_s, extends_without_meter=True)

    # A fresh backend per point: Dynamo is reset, so nothing compiled for another point is reused.
    backend = make_backend(
        loaded,
        config.task,
        config.backend,
        max_prompt_tokens=config.max_prompt_tokens,
        batch_size=config.batch_size,
        sample_texts=[prompt.text for prompt in sample],
        seed=config.seed,
    )
    warmup_started = time.perf_counter()
    compile_time_s = None
    for number, batch in enumerate(batches_of(warmup_prompts, config.batch_size)):
        _generate(backend, config, device, batch)
        if number == 0 and backend.name != "eager":
            compile_time_s = time.perf_counter() - warmup_started
    warmup_time_s = time.perf_counter() - warmup_started
    if ranks is not None:
        # One write per line: the ranks share the parent's stderr.
        sys.stderr.write(
            f"parallel.tensor={tensor}: rank {ranks.rank} of {ranks.world_size} "
            f"(pid {os.getpid()}, {device}) loaded and warmed up; measuring\n"
        )
        sys.stderr.flush()

    backend.begin_measurement()
    windows = measure_windows(
        lambda batch: _generate(backend, config, device, batch),
        meter,
        measured_prompts,
        batch_size=config.batch_size,
        repeats=config.repeats,
        min_window_s=rule.min_window_s,
        idle_power_w=idle_power_w,
        idle_window_s=idle_window_s,
        idle_per_device_w=idle_per_device_w,
        progress=progress,
        label=f"{config.model.name} {config.task.name} bs={config.batch_size}",
        decide=None if ranks is None else ranks.share,
    )
    backend.end_measurement()
    measured = [batch for window in windows for batch in window.batches]
    per_rank_memory = None
    if ranks is not None:
        check_ranks_agree(ranks, measured)
        per_rank_memory = ranks.gather(peak_memory(device)[0])
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
        configuration=single_device(
            batching="static",
            precision=config.model.dtype,
            batch_size=config.batch_size,
            tensor_parallel=tensor,
        ),
    )
    run_id = new_run_id()
    summary = build_summary(windows, device, loaded.load_time_s, warmup_time_s, compile_time_s)
    if per_rank_memory is not None:
        summary = summary.model_copy(
            update={
                "peak_memory_bytes": sum(m for m in per_rank_memory if m is not None),
                "per_device": device_summaries(windows, meter, device, per_rank_memory),
            }
        )
    return PendingRecord(
        folder=record_folder(write_root(config), identity),
        run_id=run_id,
        rows=raw_data_rows(run_id, measured),
        fields={
            "schema_version": SCHEMA_VERSION,
            "kind": "performance",
            "run_id": run_id,
            "source": MeasuredSource(),
            "identity": identity,
            "model": model_info(config, loaded),
            "task": task_info(config, prompt_set.sha256, [p.id for p in measured_prompts]),
            "energy": EnergyInfo(
                source=meter.source,  # type: ignore[arg-type]
                reason=meter.reason or _first_reason(windows),
                devices=list(meter.devices),
                idle_power_w=idle_power_w,
                idle_window_s=idle_window_s,
                idle_settle_s=config.idle_settle_s if idle_window_s is not None else None,
                idle_note=IDLE_NOTE if idle_window_s is not None else None,
            ),
            "measurements": build_measurements(measured),
            "summary": summary,
            "provenance": collect_provenance(device, config.seed, started_utc, ended_utc),
            "calibration_id": calibration_id,
            "config": config_to_dict(config),
            "energy_windows": energy_windows_block(windows, meter, config.min_window_s, rule),
            "execution": execution_block(backend, config, loaded.tokenizer, ranks, measured),
        },
    )


def check_ranks_agree(ranks: Ranks, measured: list[MeasuredBatch]) -> None:
    """Refuse a tensor-parallel point whose ranks generated different tokens (they must not:
    every rank decodes the same all-gathered logits).

    Raises:
        PointFailed: naming the first rank whose responses differ from rank 0's.
    """
    mine = sha256_bytes(
        canonical_json(
            [[r.response_tokens, r.text] for b in measured for r in b.result.requests]
        ).encode("utf-8")
    )
    digests = ranks.gather(mine)
    for rank, digest in enumerate(digests):
        if digest != digests[0]:
            raise PointFailed(
                f"parallel.tensor={ranks.world_size}: rank {rank} generated other responses "
                "than rank 0; the point is not written"
            )


def device_summaries(
    windows: list[MeasuredWindow], meter: EnergyMeter, device: str, memory: list[int | None]
) -> list[DeviceSummary]:
    """Per-device figures of a multi-device point, by rank: energy over every window (J), idle
    power (W, duration-weighted over the idle windows) and peak memory (bytes).

    A rank's device is the meter's device of the same position where the meter reads one per
    rank (`gpu:<rank>`), else `gpu:<rank>` on CUDA and `cpu` on a CPU; energy is null where the
    meter does not read devices one by one (a CPU package, no meter).
    """
    names = list(meter.devices)
    if len(names) != len(memory):
        names = [f"gpu:{rank}" if device == "cuda" else "cpu" for rank in range(len(memory))]
    out = []
    for rank, name in enumerate(names):
        energies = [(w.per_device_j or {}).get(name) for w in windows]
        energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]
        idle = [
            ((w.idle_per_device_w or {}).get(name), w.idle_window_s)
            for w in windows
            if w.idle_window_s
        ]
        idle_power = None
        if idle and all(power is not None for power, _ in idle):
            total = sum(length for _, length in idle)  # type: ignore[misc]
            idle_power = sum(power * length for power, length in idle) / total  # type: ignore[operator]
        out.append(
            DeviceSummary(
                rank=rank,
                device=name,
                energy_j=energy,
                idle_power_w=idle_power,
                peak_memory_bytes=memory[rank],
            )
        )
    return out


def execution_block(
    backend: Backend,
    config: RunConfig,
    tokenizer: Any,
    ranks: Ranks | None = None,
    measured: list[MeasuredBatch] | None = None,
) -> Execution:
    """The backend's `execution` block, with the facts of the workload a reader should know
    (and, for static backends, the decode steps and wasted steps of the measured batches)."""
    execution = backend.execution()
    if execution.eos_check_every is not None and measured:
        execution = execution.model_copy(
            update={
                "decode_steps": sum(b.result.decode_steps or 0 for b in measured),
                "wasted_steps": sum(b.result.wasted_steps or 0 for b in measured),
            }
        )
    notes = list(execution.notes)
    if ranks is not None:
        _, form = tensor_parallel_kwargs(ranks.world_size)
        notes.append(
            f"tensor parallel: {ranks.world_size} torch.distributed ranks ({ranks.backend}), one "
            f"per device, the model loaded with from_pretrained({form}); rank 0 timed the "
            "batches and read the meter over every device of the point"
        )
    if config.model.source == "random-init":
        notes.append(
            f"random-init model: prompts were tokenized with the embedded tiny model's tokenizer "
            f"({len(tokenizer)} tokens), not {config.model.hf_id}'s, so prompt lengths in tokens "
            "differ from the real model's; EOS is the real model's id from init_config"
        )
    if notes == execution.notes:
        return execution
    return execution.model_copy(update={"notes": notes})


def measure_windows(
    generate: Callable[[list[Prompt]], BatchResult],
    meter: EnergyMeter,
    prompts: list[Prompt],
    *,
    batch_size: int,
    repeats: int,
    min_window_s: float,
    idle_power_w: float | None = None,
    idle_window_s: float | None = None,
    idle_per_device_w: dict[str, float] | None = None,
    progress: bool = False,
    label: str = "",
    decide: Callable[[bool], bool] | None = None,
) -> list[MeasuredWindow]:
    """Run `repeats` steady-state energy windows and attribute their energy to batches.

    Each window runs whole passes over `prompts` (in batches of `batch_size`) until it has
    lasted at least `min_window_s` (the window rule).

    Args:
        generate: runs one batch of prompts and returns its timing.
        meter: the energy meter; its counter is read once per window.
        idle_power_w, idle_window_s, idle_per_device_w: the point's idle baseline (W, s; per
            device where metered one by one), measured before warm-up; each window carries it
            (None without one).
        decide: turns this process's "the window is long enough" into the decision every
            process of the point takes (a tensor-parallel point: rank 0's); None: this one's.
    """
    from rich.progress import Progress

    batches = batches_of(prompts, batch_size)
    windows: list[MeasuredWindow] = []
    with Progress(disable=not progress, transient=True) as bar:
        bar_task = bar.add_task(label, total=None)
        for number in range(repeats):
            name = f"window-{number}"
            meter.begin(name)
            wall_start = time.time()
            started = time.perf_counter()
            done: list[MeasuredBatch] = []
            passes = 0
            while True:
                for index, batch in enumerate(batches):
                    batch_start = time.time()
                    result = generate(batch)
                    done.append(
                        MeasuredBatch(
                            number, passes, index, batch, result, batch_start, time.time()
                        )
                    )
                    bar.advance(bar_task, len(batch))
                passes += 1
                finished = time.perf_counter() - started >= min_window_s
                if decide is not None:
                    finished = decide(finished)
                if finished:
                    break
            wall_end = time.time()
            reading = meter.end(name)
            energy, reason = checked_energy(reading, meter.resolution_s)
            if reading.energy_j is None:
                reason = meter.reason
            timeline = meter.power_timeline(wall_start, wall_end) if energy is not None else None
            windows.append(
                MeasuredWindow(
                    index=number,
                    duration_s=reading.duration_s,
                    energy_j=energy,
                    reason=reason,
                    passes=passes,
                    batches=done,
                    idle_power_w=idle_power_w,
                    idle_window_s=idle_window_s,
                    wall_start=wall_start,
                    wall_end=wall_end,
                    timeline=timeline,
                    per_device_j=reading.per_device_j if energy is not None else None,
                    idle_per_device_w=idle_per_device_w,
                )
            )
    for window in windows:
        attribute_window_energy(window)
    return windows


def attribute_window_energy(window: MeasuredWindow) -> None:
    """Set each batch's `energy_j` from its window (see the module docstring)."""
    if window.energy_j is None:
        return
    if window.timeline is not None:
        for batch in window.batches:
            batch.energy_j = window.timeline.energy_j(batch.wall_start, batch.wall_end)
        return
    busy = window.busy_s
    for batch in window.batches:
        batch.energy_j = window.energy_j * batch.result.batch_time_s / busy if busy > 0 else None


def pooled_idle(windows: list[MeasuredWindow]) -> tuple[float | None, float | None]:
    """Idle power over all windows' idle baselines (duration-weighted, W) and their total (s)."""
    lengths = [w.idle_window_s for w in windows if w.idle_window_s is not None]
    total = sum(lengths) if lengths else None
    if any(w.idle_power_w is None or not w.idle_window_s for w in windows):
        return None, total
    energy = sum(w.idle_power_w * w.idle_window_s for w in windows)  # type: ignore[operator]
    return energy / total if total else None, total


def _first_reason(windows: list[MeasuredWindow]) -> str | None:
    return next((w.reason for w in windows if w.reason), None)


def _timeline_block(window: MeasuredWindow) -> PowerTimelineBlock | None:
    """The window's timeline, clipped to the window and averaged into at most 200 bins."""
    timeline = window.timeline
    if timeline is None:
        return None
    inside = [(t, p) for t, p in timeline.samples if window.wall_start <= t <= window.wall_end]
    size = max(1, -(-len(inside) // MAX_TIMELINE_POINTS))
    bins = [inside[k : k + size] for k in range(0, len(inside), size)]
    return PowerTimelineBlock(
        source=timeline.source,
        sample_period_s=timeline.period_s,
        samples=len(inside),
        t_s=[round(sum(t for t, _ in b) / len(b) - window.wall_start, 4) for b in bins],
        power_w=[round(sum(p for _, p in b) / len(b), 3) for b in bins],
    )


def energy_windows_block(
    windows: list[MeasuredWindow],
    meter: EnergyMeter,
    min_window_s: float,
    rule: WindowRule | None = None,
) -> EnergyWindows:
    """The record's `energy_windows` block (`min_window_s`: the configured minimum; `rule`: the
    rule the run enforced)."""
    measured = any(w.energy_j is not None for w in windows)
    with_timeline = any(w.timeline is not None for w in windows)
    attribution = None
    note = None
    if measured and with_timeline:
        attribution = "power-timeline"
        batches = [b for w in windows if w.timeline is not None for b in w.batches]
        missing = sum(1 for b in batches if b.energy_j is None)
        if missing:
            note = (
                f"{missing} of {len(batches)} batches are shorter than one power sample "
                "(or outside the sampled span): their energy is null and the per-batch energy "
                "statistics are over the other batches; the windows' totals are measured"
            )
    elif measured:
        attribution = "window-time-share"
        note = meter.timeline_reason
    return EnergyWindows(
        min_window_s=min_window_s,
        meter_resolution_s=meter.resolution_s if meter.available else None,
        attribution=attribution,  # type: ignore[arg-type]
        attribution_note=note,
        windows=[
            EnergyWindow(
                index=w.index,
                duration_s=w.duration_s,
                energy_j=w.energy_j,
                reason=w.reason,
                passes=w.passes,
                batches=len(w.batches),
                requests=w.requests,
                output_tokens=w.output_tokens,
                busy_s=w.busy_s,
                idle_power_w=w.idle_power_w,
                idle_window_s=w.idle_window_s,
                energy_above_idle_j=w.energy_above_idle_j,
                timeline=_timeline_block(w),
                relative_uncertainty=relative_uncertainty(meter.resolution_s, w.duration_s)
                if w.energy_j is not None
                else None,
                per_device=_device_windows(w),
            )
            for w in windows
        ],
        rule=rule,
    )


def _device_windows(window: MeasuredWindow) -> list[DeviceWindow] | None:
    """Each device's energy (J) and idle power (W) of a window metered device by device."""
    if window.per_device_j is None:
        return None
    idle = window.idle_per_device_w or {}
    return [
        DeviceWindow(device=name, energy_j=energy, idle_power_w=idle.get(name))
        for name, energy in window.per_device_j.items()
    ]


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
                    "repeat": batch.window,
                    "window": batch.window,
                    "pass": batch.pass_index,
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
    # Per-batch energy statistics are over the batches that have an energy: one batch too short
    # for the power timeline leaves the others' figures intact (`n` says how many).
    metered = [batch for batch in measured if batch.energy_j is not None]
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
        ),
        energy_per_token_j=summarize(
            [b.energy_j / b.result.output_tokens for b in metered if b.result.output_tokens]  # type: ignore[operator]
        ),
        avg_power_w=summarize(
            [b.energy_j / b.result.batch_time_s for b in metered if b.result.batch_time_s > 0]  # type: ignore[operator]
        ),
    )


def build_summary(
    windows: list[MeasuredWindow],
    device: str,
    load_time_s: float,
    warmup_time_s: float,
    compile_time_s: float | None = None,
) -> Summary:
    """Pooled figures over all energy windows (time is window time, host gaps included)."""
    measured = [batch for window in windows for batch in window.batches]
    requests = sum(len(batch.result.requests) for batch in measured)
    tokens = sum(batch.result.output_tokens for batch in measured)
    measured_time = sum(window.duration_s for window in windows)
    energies = [window.energy_j for window in windows]
    energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]
    above = [window.energy_above_idle_j for window in windows]
    above_idle = None
    if energy is not None and all(a is not None for a in above):
        above_idle = float(sum(above)) / requests  # type: ignore[arg-type]
    memory, memory_kind = peak_memory(device)
    return Summary(
        requests=requests,
        batches=len(measured),
        output_tokens=tokens,
        measured_time_s=measured_time,
        throughput_tok_s=tokens / measured_time if measured_time > 0 else None,
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
