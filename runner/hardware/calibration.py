"""Machine calibration: measure memory bandwidth, dense matmul throughput and idle power.

`run_calibration` measures the ceilings of one device (a CUDA GPU, or the CPU with torch) for one
dtype and writes an immutable `CalibrationRecord` under
`<results>/calibration/<hardware_slug>/<run_id>.json`. `ensure_calibration` returns the newest
calibration of this machine and dtype, measuring one first when there is none; `leaderboard run`
calls it once per point so that each performance record links to the ceilings it was judged
against (`calibration_id`).

Method (see docs/hardware-metrics.md):
- bandwidth: `dst.copy_(src)` of a large buffer, bytes moved = read + written = 2 x buffer;
  best of several timed repeats after warm-up.
- matmul: `a @ b` on square random-normal matrices in the run's dtype (never zeros, which some
  hardware multiplies faster); 2 n^3 FLOPs per matmul; best of several repeats after warm-up.
  The dimension n doubles while the next size is predicted (8x the time) to stay within the
  preset's budget and maximum, so a slow CPU dtype (bf16 on a CPU without AMX) stays cheap.
- idle power: one idle window through `runner.machine.energy.make_energy_meter`; null plus a reason
  where no meter is readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from runner.config import DTYPES
from runner.errors import RecordError, UserError
from runner.machine.energy import EnergyMeter, checked_energy, make_energy_meter
from runner.machine.provenance import (
    collect_provenance,
    cpu_name,
    gpu_facts,
    hardware_slug,
    utc_now,
)
from runner.records.calibration import (
    CALIBRATION_SCHEMA_VERSION,
    BandwidthCeiling,
    CalibrationRecord,
    IdlePower,
    MatmulCeiling,
)
from runner.records.layout import CALIBRATION_DIR, calibration_parts, matching_folders
from runner.records.store import new_run_id, safe_subdir, write_json_new

SIZES = ("small", "standard")


@dataclass(frozen=True)
class CalibrationSize:
    """How large (and so how long) a calibration is on one device kind.

    Attributes:
        copy_bytes: size of the copied buffer, in bytes (two such buffers are allocated).
        gemm_start_n: first matrix dimension tried in float32.
        gemm_start_n_half: first matrix dimension tried in float16 / bfloat16 (smaller on a CPU,
            where half-precision matmuls can be 100x slower than float32).
        gemm_max_n: largest matrix dimension tried.
        gemm_budget_s: n doubles while one matmul of the doubled size is predicted (8x the
            current time) to take at most this long, in seconds.
        warmup: untimed repeats before timing (copy and matmul).
        repeats: timed repeats; the best one is kept.
        inner: operations per timed repeat (amortises launch overhead on a GPU).
        idle_seconds: length of the idle-power window, in seconds (skipped without a meter).
    """

    copy_bytes: int
    gemm_start_n: int
    gemm_start_n_half: int
    gemm_max_n: int
    gemm_budget_s: float
    warmup: int
    repeats: int
    inner: int
    idle_seconds: float


MiB = 1 << 20
GiB = 1 << 30

# CPU presets are modest (a few seconds on 2 cores); GPU presets are sized for an 80 GB H100.
PRESETS: dict[tuple[str, str], CalibrationSize] = {
    ("cpu", "small"): CalibrationSize(64 * MiB, 512, 256, 1024, 0.5, 1, 3, 1, 1.0),
    ("cpu", "standard"): CalibrationSize(256 * MiB, 512, 256, 2048, 1.0, 1, 3, 1, 2.0),
    ("cuda", "small"): CalibrationSize(256 * MiB, 1024, 1024, 4096, 0.05, 3, 5, 10, 2.0),
    ("cuda", "standard"): CalibrationSize(2 * GiB, 1024, 1024, 8192, 0.05, 5, 10, 20, 5.0),
}

TORCH_DTYPE_NAMES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}


def calibration_folder(results_root: Path, slug: str) -> Path:
    """`<results>/calibration/<hardware_slug>/` (every part checked)."""
    return safe_subdir(results_root, *calibration_parts(slug))


def _synchronizer(device: str) -> Callable[[], None]:
    import torch

    if device == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def _time_repeats(
    operation: Callable[[], object], device: str, warmup: int, repeats: int, inner: int
) -> list[float]:
    """Seconds per operation for each timed repeat (each repeat = `inner` operations)."""
    sync = _synchronizer(device)
    for _ in range(warmup):
        operation()
    sync()
    times: list[float] = []
    for _ in range(repeats):
        sync()
        started = time.perf_counter()
        for _ in range(inner):
            operation()
        sync()
        times.append((time.perf_counter() - started) / inner)
    return times


def measure_bandwidth(device: str, size: CalibrationSize) -> BandwidthCeiling:
    """Best device-to-device copy bandwidth (bytes read + written per second).

    Raises:
        UserError: the buffers do not fit in device memory.
    """
    import torch

    elements = size.copy_bytes // 4
    try:
        source = torch.rand(elements, dtype=torch.float32, device=device)
        target = torch.empty_like(source)
    except torch.OutOfMemoryError:
        raise UserError(
            f"calibrate: out of memory allocating two {size.copy_bytes} byte buffers on {device}; "
            "try --size small"
        ) from None
    buffer_bytes = source.numel() * source.element_size()
    times = _time_repeats(
        lambda: target.copy_(source), device, size.warmup, size.repeats, size.inner
    )
    best = min(times)
    source = target = None  # free the buffers before emptying the CUDA cache
    _release(device)
    return BandwidthCeiling(
        bytes_s=2 * buffer_bytes / best,
        buffer_bytes=buffer_bytes,
        bytes_moved=2 * buffer_bytes,
        warmup=size.warmup,
        repeats=size.repeats,
        inner=size.inner,
        times_s=times,
        method="torch Tensor.copy_ of a float32 buffer on the device; bytes = read + written",
    )


def measure_matmul(device: str, dtype: str, size: CalibrationSize) -> MatmulCeiling:
    """Best dense matmul throughput (FLOP/s) in `dtype` on random-normal square matrices.

    The dimension starts at `gemm_start_n` (`gemm_start_n_half` for 16-bit dtypes) and doubles
    while a matmul of the doubled size is predicted (8x the current time) to take at most
    `gemm_budget_s` and is within `gemm_max_n`.

    Raises:
        UserError: the matrices do not fit in device memory.
    """
    import torch

    torch_dtype = getattr(torch, TORCH_DTYPE_NAMES[dtype])
    generator = torch.Generator(device=device).manual_seed(0)
    n = size.gemm_start_n if dtype == "float32" else size.gemm_start_n_half
    while True:
        try:
            a = torch.randn(n, n, dtype=torch_dtype, device=device, generator=generator)
            b = torch.randn(n, n, dtype=torch_dtype, device=device, generator=generator)
        except torch.OutOfMemoryError:
            raise UserError(
                f"calibrate: out of memory allocating {n}x{n} {dtype} matrices on {device}; "
                "try --size small"
            ) from None
        a @ b  # warm-up of this shape (kernel selection, thread pool start, first touch)
        one_call = min(_time_repeats(lambda a=a, b=b: a @ b, device, 0, 2, 1))
        # a matmul of twice the size costs 8x: stop before it would exceed the budget
        if one_call * 8 > size.gemm_budget_s or n * 2 > size.gemm_max_n:
            break
        a = b = None
        n *= 2
    times = _time_repeats(lambda: a @ b, device, size.warmup, size.repeats, size.inner)
    a = b = None  # free the matrices before emptying the CUDA cache
    _release(device)
    flops = 2 * n**3
    return MatmulCeiling(
        flop_s=flops / min(times),
        dtype=dtype,
        n=n,
        flops_per_matmul=flops,
        warmup=size.warmup,
        repeats=size.repeats,
        inner=size.inner,
        times_s=times,
        method="torch a @ b, square random-normal matrices (seeded), 2 n^3 FLOPs per matmul",
    )


def measure_idle_power(meter: EnergyMeter, seconds: float) -> IdlePower:
    """Mean power over an idle window; null with the meter's reason where none is readable."""
    if not meter.available:
        return IdlePower(
            power_w=None,
            window_s=None,
            source=meter.source,  # type: ignore[arg-type]
            reason=meter.reason or "no energy meter is readable",
            devices=list(meter.devices),
        )
    meter.begin("calibration-idle")
    time.sleep(seconds)
    reading = meter.end("calibration-idle")
    energy, too_short = checked_energy(reading, meter.resolution_s)
    if energy is None or reading.duration_s <= 0:
        return IdlePower(
            power_w=None,
            window_s=reading.duration_s,
            source=meter.source,  # type: ignore[arg-type]
            reason=too_short or "the meter returned no energy for the idle window",
            devices=list(meter.devices),
        )
    return IdlePower(
        power_w=energy / reading.duration_s,
        window_s=reading.duration_s,
        source=meter.source,  # type: ignore[arg-type]
        reason=None,
        devices=list(meter.devices),
    )


def _release(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def _resolve_device(requested: str) -> str:
    from runner.machine.device import resolve_device

    if requested not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device: expected one of auto, cpu, cuda, got {requested!r}")
    return resolve_device(requested)


def run_calibration(
    results_root: Path,
    *,
    device: str = "auto",
    dtype: str = "bfloat16",
    size: str = "standard",
    meter: EnergyMeter | None = None,
    energy_meter: str = "auto",
) -> tuple[Path, CalibrationRecord]:
    """Measure this machine's ceilings and write a new calibration record.

    Args:
        results_root: the results folder; the record goes under `calibration/<slug>/`.
        device: `auto`, `cpu` or `cuda`.
        dtype: dtype of the matmul ceiling (`float32`, `float16`, `bfloat16`).
        size: preset, `small` or `standard`.
        meter: an energy meter to use for idle power instead of the one `energy_meter` selects.
        energy_meter: `auto`, `zeus` or `none` (as in the run config).

    Returns:
        The record's path and the record.

    Raises:
        UserError: bad argument, out of memory, or the record cannot be written.
    """
    import torch

    if dtype not in DTYPES:
        raise UserError(f"--dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    if size not in SIZES:
        raise UserError(f"--size: expected one of {', '.join(SIZES)}, got {size!r}")
    resolved = _resolve_device(device)
    preset = PRESETS[(resolved, size)]
    started_utc = utc_now()
    started = time.perf_counter()
    if meter is None:
        meter = make_energy_meter(energy_meter, resolved)
    # Idle first, before this process has warmed the device up.
    idle = measure_idle_power(meter, preset.idle_seconds)
    bandwidth = measure_bandwidth(resolved, preset)
    matmul = measure_matmul(resolved, dtype, preset)
    duration = time.perf_counter() - started
    ended_utc = utc_now()
    slug = hardware_slug(resolved)
    if resolved == "cuda":
        device_name = gpu_facts()[0] or "cuda-gpu"
        threads = None
    else:
        device_name = cpu_name()
        threads = torch.get_num_threads()
    run_id = new_run_id()
    record = CalibrationRecord(
        schema_version=CALIBRATION_SCHEMA_VERSION,
        kind="calibration",
        run_id=run_id,
        hardware_slug=slug,
        device=resolved,  # type: ignore[arg-type]
        device_name=device_name,
        dtype=dtype,  # type: ignore[arg-type]
        size=size,
        threads=threads,
        memory_bandwidth=bandwidth,
        matmul=matmul,
        idle_power=idle,
        duration_s=duration,
        provenance=collect_provenance(resolved, 0, started_utc, ended_utc),
        config={"device": resolved, "dtype": dtype, "size": size, "preset": asdict(preset)},
    )
    path = calibration_folder(results_root, slug) / f"{run_id}.json"
    write_json_new(path, record.model_dump(mode="json"))
    return path, record


def load_calibrations(results_root: Path, slug: str | None = None) -> list[CalibrationRecord]:
    """Every calibration record under `results_root` (of one hardware slug when given).

    Searched anywhere under the root: at its top and inside benchmark jobs' run folders.

    Raises:
        RecordError: a file in the calibration folder is not a valid calibration record.
    """
    from runner.records.load import load_record
    from runner.records.store import is_temp_file

    if slug is not None:
        calibration_folder(results_root, slug)  # checks the slug as a path name
        folders = matching_folders(results_root, calibration_parts(slug))
    else:
        folders = matching_folders(results_root, (CALIBRATION_DIR,))
    paths = sorted({path for folder in folders for path in folder.rglob("*.json")})
    records: list[CalibrationRecord] = []
    for path in paths:
        if is_temp_file(path):
            continue
        record = load_record(path)
        if not isinstance(record, CalibrationRecord):
            raise RecordError(
                f"{path}: a {getattr(record, 'kind', '?')!r} record in the calibration folder"
            )
        records.append(record)
    return records


def newest_calibration(results_root: Path, slug: str, dtype: str) -> CalibrationRecord | None:
    """The newest calibration of `slug` for `dtype` (by end time, then run id), or None."""
    matching = [r for r in load_calibrations(results_root, slug) if r.dtype == dtype]
    if not matching:
        return None
    return max(matching, key=lambda r: (r.provenance.ended_utc, r.run_id))


def ensure_calibration(
    results_root: Path,
    device: str,
    dtype: str,
    *,
    size: str | None = None,
    energy_meter: str = "auto",
    write_root: Path | None = None,
) -> str:
    """The run id of the newest calibration of this machine and dtype; measure one if none.

    Args:
        results_root: the results root, searched for an existing calibration.
        write_root: where a new calibration is written (default `results_root`), e.g. a
            benchmark job's run folder.
        device: the resolved device of the run (`cpu` or `cuda`).
        dtype: the run's model dtype.
        size: preset used when a calibration has to be measured; default `small` on a CPU
            (about a second, so a CPU run or test is not slowed down) and `standard` on a GPU.
            `leaderboard calibrate` measures `standard` on both; the newest calibration wins.
        energy_meter: meter choice for the idle window of a new calibration.
    """
    existing = newest_calibration(results_root, hardware_slug(device), dtype)
    if existing is not None:
        return existing.run_id
    if size is None:
        size = "small" if device == "cpu" else "standard"
    _, record = run_calibration(
        write_root or results_root, device=device, dtype=dtype, size=size, energy_meter=energy_meter
    )
    return record.run_id


def describe(record: CalibrationRecord) -> str:
    """One human line: where, which dtype, and the measured ceilings."""
    idle = (
        f"{record.idle_power.power_w:.1f} W"
        if record.idle_power.power_w is not None
        else f"not measured ({record.idle_power.reason})"
    )
    return (
        f"{record.hardware_slug} {record.dtype}: copy bandwidth "
        f"{record.memory_bandwidth.bytes_s / 1e9:.2f} GB/s, matmul "
        f"{record.matmul.flop_s / 1e12:.4g} TFLOP/s (n={record.matmul.n}), idle power {idle}"
    )


def calibrate(
    results_root: Path,
    *,
    device: str,
    dtypes: list[str] | None,
    size: str,
    missing_only: bool,
    write_root: Path | None = None,
) -> list[str]:
    """`leaderboard calibrate`: measure each dtype on `device` (skip those that have one, with
    `missing_only`); new records go to `write_root` (default `results_root`).

    Returns:
        One human line per dtype: the calibration measured, or the one reused.

    Raises:
        UserError: bad argument, out of memory, or a record cannot be written.
    """
    resolved = _resolve_device(device)
    lines: list[str] = []
    for dtype in dict.fromkeys(dtypes or ["bfloat16"]):
        if missing_only:
            existing = newest_calibration(results_root, hardware_slug(resolved), dtype)
            if existing is not None:
                lines.append(f"calibrate: reusing {existing.run_id} ({describe(existing)})")
                continue
        path, record = run_calibration(
            write_root or results_root, device=resolved, dtype=dtype, size=size
        )
        lines.append(f"calibrate: {describe(record)} -> {path}")
    return lines
