"""Energy meters: a thin adapter over Zeus, a null meter, and a fake for tests.

Zeus returns 0 J for every window on a machine with neither NVML nor RAPL (see FACTS.md), so a
zero from Zeus does not mean "no energy". We therefore check availability first and, where no
meter can be read, report energy as unavailable (`None` plus a reason), never 0.

Two kinds of reading:

- **Counter windows** (`begin` / `end`): the energy counter (NVML on a GPU, RAPL on a CPU)
  read at both ends of a window. The counter updates only every `resolution_s` (about 0.1 s on
  NVML), so a window shorter than that is never returned as a number.
- **Power timelines** (`power_timeline`): power sampled every `timeline_period_s` by Zeus'
  `PowerMonitor` (GPUs only) in a background process, used to attribute a window's energy to
  the batches inside it. Absent (None, with `timeline_reason`) where no sampler exists. Zeus
  keeps a sample only when the reading changed (it drops repeats), so a sample's power holds
  until the next sample: timelines are integrated as steps (zero-order hold), never as linear
  ramps between samples, which would turn a flat stretch followed by a change into a false ramp.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# The NVML energy counter updates about every 100 ms (FACTS.md, seen on the H100). RAPL counters
# update faster (Intel documents ~1 ms); we take the same 0.1 s bound for both, which only ever
# stores fewer numbers, never a wrong one.
NVML_RESOLUTION_S = 0.1
RAPL_RESOLUTION_S = 0.1


@dataclass(frozen=True)
class EnergyReading:
    """One measurement window.

    Attributes:
        energy_j: energy over the window in joules, or None when no meter is readable; on a
            point with several GPUs, the sum over all of them.
        duration_s: wall time of the window in seconds.
        per_device_j: each metered device's energy (J) by name (`gpu:1`), where the meter
            reads devices one by one; None otherwise.
    """

    energy_j: float | None
    duration_s: float
    per_device_j: dict[str, float] | None = None


@dataclass(frozen=True)
class PowerTimeline:
    """Power samples of one interval.

    Attributes:
        source: what sampled the power, e.g. `zeus-power-monitor:device_instant`.
        period_s: the sampling period in seconds (the timeline's resolution).
        samples: `(time.time() seconds, watts)` pairs in time order.
    """

    source: str
    period_s: float
    samples: list[tuple[float, float]]

    def energy_j(self, start: float, end: float) -> float | None:
        """Energy between two `time.time()` instants (J): the step integral of the samples.

        Each sample's power holds until the next sample (the last one until `end`). None (not a
        number) when the interval is shorter than one sampling period, or when no sample is
        known at its start (the first sample is more than one period after `start`).
        """
        return integrate_power(self.samples, start, end, self.period_s)


def integrate_power(
    samples: list[tuple[float, float]], start: float, end: float, period_s: float
) -> float | None:
    """Step integral (J) of `(time s, W)` samples over `[start, end]`; see `PowerTimeline`.

    A sample's power holds from its time until the next sample's (zero-order hold), and the last
    sample's until `end`; the first sample's power is taken back to `start` when it is at most one
    period late (the sampler's own jitter).
    """
    if not samples or end - start < period_s:
        return None
    if samples[0][0] > start + period_s:
        return None
    energy = 0.0
    for (t0, p0), (t1, _) in itertools.pairwise([*samples, (math.inf, 0.0)]):
        left = start if t0 <= start or t0 == samples[0][0] else t0
        right = min(t1, end)
        if right > left:
            energy += p0 * (right - left)
        if t1 >= end:
            break
    return float(energy)


def held_samples(
    samples: list[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    """The samples a step integral over `[start, end]` needs: the last one at or before `start`
    (its power holds into the interval), then those inside."""
    before = [sample for sample in samples if sample[0] <= start]
    inside = [sample for sample in samples if start < sample[0] <= end]
    return before[-1:] + inside


def checked_energy(reading: EnergyReading, resolution_s: float) -> tuple[float | None, str | None]:
    """A window's energy if it may be stored as a number, else (None, why).

    A window shorter than the counter's update period reads 0 J or one update too few, so it is
    never a number (FACTS.md: NVML updates about every 0.1 s).
    """
    if reading.energy_j is None:
        return None, None
    if reading.duration_s < resolution_s:
        return None, (
            f"window of {reading.duration_s:.3f} s is shorter than the meter's resolution "
            f"({resolution_s:g} s)"
        )
    return reading.energy_j, None


class EnergyMeter(Protocol):
    """What the runner needs from a meter: named windows, and a power timeline where one exists.

    Attributes:
        source: `zeus-nvml`, `zeus-rapl`, `unavailable` or `fake`.
        reason: why energy is unavailable; None when measured.
        devices: metered devices, e.g. `['gpu:0']`.
        resolution_s: the counter's update period (s); a shorter window is never a number.
        timeline_period_s: power sampling period (s), None when no timeline is sampled.
        timeline_reason: why there is no power timeline; None when there is one.
    """

    source: str
    reason: str | None
    devices: list[str]
    resolution_s: float
    timeline_period_s: float | None
    timeline_reason: str | None

    @property
    def available(self) -> bool:
        """True when windows return measured energy."""
        ...

    def begin(self, name: str) -> None:
        """Open window `name` (synchronizes the device first)."""
        ...

    def end(self, name: str) -> EnergyReading:
        """Close window `name` and return its reading."""
        ...

    def power_timeline(self, start: float, end: float) -> PowerTimeline | None:
        """Power samples between two `time.time()` instants; None without a sampler."""
        ...


class _Timer:
    """Named wall-clock windows, shared by the meters below."""

    def __init__(self) -> None:
        self._starts: dict[str, float] = {}

    def begin(self, name: str) -> None:
        self._starts[name] = time.perf_counter()

    def end(self, name: str) -> float:
        return time.perf_counter() - self._starts.pop(name)


class NullEnergyMeter:
    """No readable meter: windows measure time only, energy is None with a reason."""

    source = "unavailable"
    resolution_s = 0.0
    timeline_period_s: float | None = None

    def __init__(self, reason: str) -> None:
        self.reason: str | None = reason
        self.timeline_reason: str | None = reason
        self.devices: list[str] = []
        self._timer = _Timer()

    @property
    def available(self) -> bool:
        return False

    def begin(self, name: str) -> None:
        self._timer.begin(name)

    def end(self, name: str) -> EnergyReading:
        return EnergyReading(energy_j=None, duration_s=self._timer.end(name))

    def power_timeline(self, start: float, end: float) -> PowerTimeline | None:
        return None


class FakeEnergyMeter:
    """A meter for tests. Source `fake`.

    Energy of a window is the integral of `power(t)` (default: constant `power_w`) over it. With
    `timeline_period_s`, `power_timeline` returns samples of the same power every period. With
    `devices` above 1 it pretends to meter that many devices (`fake:0`, `fake:1`, ...) drawing
    the power in equal shares, and reports each one's energy.

    Args:
        power_w: constant power in watts (used when `power` is None), all devices together.
        resolution_s: the counter resolution to pretend (windows below it read None).
        timeline_period_s: sampling period of the fake timeline; None: no timeline.
        power: watts as a function of `time.time()`, instead of a constant.
        devices: how many devices to pretend to meter.
    """

    source = "fake"

    def __init__(
        self,
        power_w: float = 100.0,
        *,
        resolution_s: float = 0.0,
        timeline_period_s: float | None = None,
        power: Callable[[float], float] | None = None,
        devices: int = 1,
    ) -> None:
        self.power_w = power_w
        self.reason: str | None = None
        self.devices = [f"fake:{index}" for index in range(devices)]
        self.resolution_s = resolution_s
        self.timeline_period_s = timeline_period_s
        self.timeline_reason: str | None = (
            None if timeline_period_s else "the fake meter was made without a timeline"
        )
        self._power_function = power  # None: constant power_w (keeps the meter picklable)
        self._starts: dict[str, tuple[float, float]] = {}

    def _power(self, moment: float) -> float:
        return self.power_w if self._power_function is None else self._power_function(moment)

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        self._starts[name] = (time.perf_counter(), time.time())

    def end(self, name: str) -> EnergyReading:
        started, wall_started = self._starts.pop(name)
        duration = time.perf_counter() - started
        steps = max(1, int(duration / 0.001))
        width = duration / steps
        energy = sum(self._power(wall_started + (k + 0.5) * width) * width for k in range(steps))
        per_device = None
        if len(self.devices) > 1:
            per_device = {name: energy / len(self.devices) for name in self.devices}
        return EnergyReading(energy_j=energy, duration_s=duration, per_device_j=per_device)

    def power_timeline(self, start: float, end: float) -> PowerTimeline | None:
        if not self.timeline_period_s:
            return None
        period = self.timeline_period_s
        count = int((end - start) / period) + 2
        samples = [(start + k * period, self._power(start + k * period)) for k in range(count)]
        return PowerTimeline(source="fake", period_s=period, samples=samples)


_POWER_MONITORS: dict[tuple[tuple[int, ...], float], Any] = {}


def _power_monitor(gpu_indices: list[int], period_s: float) -> Any:
    """One Zeus `PowerMonitor` per (GPUs, period) and process: it starts sampler processes."""
    key = (tuple(gpu_indices), period_s)
    if key not in _POWER_MONITORS:
        from zeus.monitor import PowerMonitor

        _POWER_MONITORS[key] = PowerMonitor(gpu_indices=list(gpu_indices), update_period=period_s)
    return _POWER_MONITORS[key]


def sum_timelines(timelines: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The total power of several GPUs over time (W), with each GPU's power held from one of
    its samples to the next (as the attribution integrates it, `held_samples`).

    Each GPU is sampled by its own process at its own instants (Zeus keeps a sample only when
    the power changed). The sum is given at every instant any GPU was sampled, from the first
    instant at which every GPU has a sample; a GPU without any sample makes the sum unknown (an
    empty list).
    """
    if not timelines or any(not samples for samples in timelines):
        return []
    instants = sorted({t for samples in timelines for t, _ in samples})
    start = max(samples[0][0] for samples in timelines)
    positions = [0] * len(timelines)
    out: list[tuple[float, float]] = []
    for t in instants:
        total = 0.0
        for k, samples in enumerate(timelines):
            while positions[k] + 1 < len(samples) and samples[positions[k] + 1][0] <= t:
                positions[k] += 1
            total += samples[positions[k]][1]
        if t >= start:
            out.append((t, total))
    return out


class ZeusEnergyMeter:
    """Zeus `ZeusMonitor` windows: GPU energy through NVML, or CPU energy through RAPL.

    On a GPU with `power_sample_period_s > 0`, Zeus' `PowerMonitor` also samples power in the
    background for per-batch attribution; if it cannot start, windows still work and
    `timeline_reason` says why there is no timeline. With several GPUs (one tensor-parallel
    point), one window reads every GPU's counter, the energy is their sum and each GPU's share
    is kept (`EnergyReading.per_device_j`); the timeline is their summed power.

    Args:
        gpu_indices: CUDA device indices to meter (as the run's processes number them).
        cpu: meter the CPU packages through RAPL instead (no GPU index given).
        power_sample_period_s: power timeline sampling period, in s (0: none).
        sync_execution: let Zeus synchronize the metered GPUs at each window edge from this
            process. False where every rank synchronizes its own GPU before the window opens
            (`runner.machine.distributed`), so this process makes no context on other GPUs.
    """

    def __init__(
        self,
        *,
        gpu_indices: list[int],
        cpu: bool,
        power_sample_period_s: float = 0.0,
        sync_execution: bool = True,
    ) -> None:
        from zeus.monitor import ZeusMonitor

        self.timeline_period_s: float | None = None
        self.timeline_reason: str | None = None
        self._power_monitor: Any = None
        if gpu_indices:
            self.source = "zeus-nvml"
            self.devices = [f"gpu:{index}" for index in gpu_indices]
            self.resolution_s = NVML_RESOLUTION_S
            self._monitor = ZeusMonitor(gpu_indices=gpu_indices, cpu_indices=[])
            if power_sample_period_s > 0:
                try:
                    self._power_monitor = _power_monitor(gpu_indices, power_sample_period_s)
                    self.timeline_period_s = power_sample_period_s
                except Exception as error:  # the sampler is optional; say why it is missing
                    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    self.timeline_reason = (
                        f"Zeus PowerMonitor did not start: {type(error).__name__} {first}".strip()
                    )
            else:
                self.timeline_reason = "power_sample_period_s=0 in the run config"
        elif cpu:
            self.source = "zeus-rapl"
            self._monitor = ZeusMonitor(gpu_indices=[], cpu_indices=None)
            self.devices = ["cpu:package"]
            self.resolution_s = RAPL_RESOLUTION_S
            self.timeline_reason = "Zeus samples power timelines of GPUs only (RAPL run)"
        else:
            raise ValueError("ZeusEnergyMeter needs a GPU index or cpu=True")
        self._gpu = bool(gpu_indices)
        self._sync = self._gpu and sync_execution
        self._gpu_indices = list(gpu_indices)
        self.reason: str | None = None

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        self._monitor.begin_window(name, sync_execution=self._sync)

    def end(self, name: str) -> EnergyReading:
        measurement = self._monitor.end_window(name, sync_execution=self._sync)
        if self._gpu:
            per_device = {f"gpu:{i}": float(e) for i, e in sorted(measurement.gpu_energy.items())}
            return EnergyReading(
                energy_j=float(sum(per_device.values())),
                duration_s=float(measurement.time),
                per_device_j=per_device if len(per_device) > 1 else None,
            )
        energy = float(sum((measurement.cpu_energy or {}).values()))
        energy += float(sum((measurement.dram_energy or {}).values()))
        return EnergyReading(energy_j=energy, duration_s=float(measurement.time))

    def power_timeline(self, start: float, end: float) -> PowerTimeline | None:
        if self._power_monitor is None or self.timeline_period_s is None:
            return None
        monitor = self._power_monitor
        domains = [getattr(d, "value", d) for d in monitor.measurement_domains]
        domain = "device_instant" if "device_instant" in domains else "device_average"
        if domain not in domains:
            return None
        # Zeus keeps a sample only when the power changed, so the sample in force at `start` may
        # be long before it: read the whole timeline and keep that one plus those inside.
        period = self.timeline_period_s
        per_gpu = []
        for index in self._gpu_indices:
            timelines = monitor.get_power_timeline(domain, gpu_index=index, end_time=end)
            per_gpu.append([(float(t), float(w)) for t, w in timelines.get(index, [])])
        samples = sum_timelines(per_gpu)
        return PowerTimeline(
            source=f"zeus-power-monitor:{domain}",
            period_s=period,
            samples=held_samples(samples, start, end),
        )


def zeus_import_problem() -> str | None:
    """Why `zeus.monitor` cannot be imported (one line), or None when it can."""
    try:
        import zeus.monitor  # noqa: F401
    except ImportError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def nvml_available() -> bool:
    """True when Zeus can read NVML (an NVIDIA GPU and driver are present)."""
    try:
        from zeus.device.gpu.nvidia import nvml_is_available
    except ImportError:
        return False
    return bool(nvml_is_available())


def rapl_available() -> bool:
    """True when Zeus can read RAPL counters under /sys/class/powercap."""
    try:
        from zeus.device.cpu.rapl import rapl_is_available
    except ImportError:
        return False
    return bool(rapl_is_available())


def make_energy_meter(
    choice: str,
    device: str,
    gpu_index: int = 0,
    power_sample_period_s: float = 0.0,
    *,
    gpu_indices: list[int] | None = None,
    sync_execution: bool = True,
) -> EnergyMeter:
    """Pick the meter for a run.

    Args:
        choice: `auto` or `zeus` (use Zeus where it can read a meter), or `none`.
        device: `cuda` or `cpu`, the device generation runs on.
        gpu_index: CUDA device index to meter when `device == "cuda"`.
        power_sample_period_s: on a GPU, sample a power timeline every this many seconds with
            Zeus' `PowerMonitor` (0: no timeline).
        gpu_indices: every GPU of the point (a tensor-parallel point), instead of `gpu_index`.
        sync_execution: see `ZeusEnergyMeter`.
    """
    if choice == "none":
        return NullEnergyMeter("energy_meter=none in the run config")
    problem = zeus_import_problem()
    if problem is not None:
        return NullEnergyMeter(
            f"the zeus package cannot be imported ({problem}); install it "
            "(pip install zeus, or scripts/install-offline.sh from a wheelhouse)"
        )
    if device == "cuda":
        if nvml_available():
            return ZeusEnergyMeter(
                gpu_indices=list(gpu_indices) if gpu_indices else [gpu_index],
                cpu=False,
                power_sample_period_s=power_sample_period_s,
                sync_execution=sync_execution,
            )
        return NullEnergyMeter("NVML is not readable on this machine (no NVIDIA driver?)")
    if rapl_available():
        return ZeusEnergyMeter(gpu_indices=[], cpu=True)
    return NullEnergyMeter(
        "CPU run and RAPL is not readable (no /sys/class/powercap/intel-rapl); "
        "Zeus would report 0 J, which is not a measurement"
    )
