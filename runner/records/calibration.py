"""The calibration record: the measured ceilings of one machine, for one dtype.

A calibration is measured once per machine (hardware slug) and dtype by `leaderboard calibrate`
(or by `leaderboard run` when none exists yet) and written once, never replaced, under
`<results>/calibration/<hardware_slug>/<run_id>.json`. Performance records link to the
calibration they were judged against through `calibration_id` (the calibration's `run_id`).

Units are in the field names: `_bytes`, `_s`, `_bytes_s` (bytes per second), `_flop_s`
(floating-point operations per second), `_w`. A ceiling that was not measured is `null` with a
reason, never 0.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runner.records.performance import Provenance, Strict

CALIBRATION_SCHEMA_VERSION = 1
CALIBRATION_KIND = "calibration"


class BandwidthCeiling(Strict):
    """Memory bandwidth from a large device-to-device copy (`dst.copy_(src)`).

    Each copy reads `buffer_bytes` and writes `buffer_bytes`, so `bytes_moved = 2 * buffer_bytes`
    per copy. `bytes_s` is `bytes_moved / min(times_s)`: the best of `repeats` timed copies, after
    `warmup` untimed ones. Each timed repeat runs `inner` copies back to back; its time is the
    mean time of one copy.
    """

    bytes_s: float = Field(gt=0, description="best measured bandwidth, bytes read + written / s")
    buffer_bytes: int = Field(ge=1, description="size of the source (and destination) buffer")
    bytes_moved: int = Field(ge=1, description="bytes read + written by one copy")
    warmup: int = Field(ge=0)
    repeats: int = Field(ge=1)
    inner: int = Field(ge=1, description="copies per timed repeat")
    times_s: list[float] = Field(description="seconds per copy, one per timed repeat")
    method: str


class MatmulCeiling(Strict):
    """Dense matmul throughput: `a @ b` with `a`, `b` square `n x n` random (never zero) matrices.

    One matmul is `2 * n**3` floating-point operations. `flop_s` is `flops_per_matmul /
    min(times_s)`: the best of `repeats` timed repeats after `warmup` untimed ones, each repeat
    being `inner` matmuls back to back (time per matmul).
    """

    flop_s: float = Field(gt=0, description="best measured throughput, FLOP/s")
    dtype: str
    n: int = Field(ge=1, description="matrix dimension (m = n = k)")
    flops_per_matmul: int = Field(ge=1, description="2 * n**3")
    warmup: int = Field(ge=0)
    repeats: int = Field(ge=1)
    inner: int = Field(ge=1, description="matmuls per timed repeat")
    times_s: list[float] = Field(description="seconds per matmul, one per timed repeat")
    method: str


class IdlePower(Strict):
    """Mean power over an idle window, through `runner.machine.energy.make_energy_meter`.

    `power_w` is null when no meter is readable (then `reason` says why) and is never 0 for that.
    """

    power_w: float | None = Field(description="mean power over the idle window, in W")
    window_s: float | None = Field(description="length of the idle window, in s")
    source: Literal["zeus-nvml", "zeus-rapl", "unavailable", "fake"]
    reason: str | None = Field(description="why idle power is null; null when measured")
    devices: list[str]


class CalibrationRecord(Strict):
    """The measured ceilings of one machine for one dtype. Written once, never replaced."""

    schema_version: Literal[1]
    kind: Literal["calibration"]
    run_id: str
    hardware_slug: str = Field(description="runner.machine.provenance.hardware_slug of the device")
    device: Literal["cuda", "cpu"]
    device_name: str = Field(description="GPU name, or CPU model name")
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        description="dtype of the matmul ceiling (the runs judged against it use this dtype)"
    )
    size: str = Field(description="size preset used: 'small' or 'standard'")
    threads: int | None = Field(description="torch CPU threads (CPU calibrations), else null")
    memory_bandwidth: BandwidthCeiling
    matmul: MatmulCeiling
    idle_power: IdlePower
    duration_s: float = Field(ge=0, description="wall time of the whole calibration")
    provenance: Provenance
    config: dict[str, Any] = Field(description="the calibration settings as run")
