"""Energy meters: a thin adapter over Zeus, a null meter, and a fake for tests.

Zeus returns 0 J for every window on a machine with neither NVML nor RAPL (see FACTS.md), so a
zero from Zeus does not mean "no energy". We therefore check availability first and, where no
meter can be read, report energy as unavailable (`None` plus a reason), never 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EnergyReading:
    """One measurement window.

    Attributes:
        energy_j: energy over the window in joules, or None when no meter is readable.
        duration_s: wall time of the window in seconds.
    """

    energy_j: float | None
    duration_s: float


class EnergyMeter(Protocol):
    """What the runner needs from a meter: named windows that return an `EnergyReading`."""

    source: str
    reason: str | None
    devices: list[str]

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

    def __init__(self, reason: str) -> None:
        self.reason: str | None = reason
        self.devices: list[str] = []
        self._timer = _Timer()

    @property
    def available(self) -> bool:
        return False

    def begin(self, name: str) -> None:
        self._timer.begin(name)

    def end(self, name: str) -> EnergyReading:
        return EnergyReading(energy_j=None, duration_s=self._timer.end(name))


class FakeEnergyMeter:
    """A meter for tests: constant power, so energy = power_w x window time. Source `fake`."""

    source = "fake"

    def __init__(self, power_w: float = 100.0) -> None:
        self.power_w = power_w
        self.reason: str | None = None
        self.devices = ["fake:0"]
        self._timer = _Timer()

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        self._timer.begin(name)

    def end(self, name: str) -> EnergyReading:
        duration = self._timer.end(name)
        return EnergyReading(energy_j=self.power_w * duration, duration_s=duration)


class ZeusEnergyMeter:
    """Zeus `ZeusMonitor` windows: GPU energy through NVML, or CPU energy through RAPL."""

    def __init__(self, *, gpu_indices: list[int], cpu: bool) -> None:
        from zeus.monitor import ZeusMonitor

        if gpu_indices:
            self.source = "zeus-nvml"
            self.devices = [f"gpu:{index}" for index in gpu_indices]
            self._monitor = ZeusMonitor(gpu_indices=gpu_indices, cpu_indices=[])
        elif cpu:
            self.source = "zeus-rapl"
            self._monitor = ZeusMonitor(gpu_indices=[], cpu_indices=None)
            self.devices = ["cpu:package"]
        else:
            raise ValueError("ZeusEnergyMeter needs a GPU index or cpu=True")
        self._gpu = bool(gpu_indices)
        self.reason: str | None = None

    @property
    def available(self) -> bool:
        return True

    def begin(self, name: str) -> None:
        self._monitor.begin_window(name, sync_execution=self._gpu)

    def end(self, name: str) -> EnergyReading:
        measurement = self._monitor.end_window(name, sync_execution=self._gpu)
        if self._gpu:
            energy = float(sum(measurement.gpu_energy.values()))
        else:
            energy = float(sum((measurement.cpu_energy or {}).values()))
            energy += float(sum((measurement.dram_energy or {}).values()))
        return EnergyReading(energy_j=energy, duration_s=float(measurement.time))


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


def make_energy_meter(choice: str, device: str, gpu_index: int = 0) -> EnergyMeter:
    """Pick the meter for a run.

    Args:
        choice: `auto` or `zeus` (use Zeus where it can read a meter), or `none`.
        device: `cuda` or `cpu`, the device generation runs on.
        gpu_index: CUDA device index to meter when `device == "cuda"`.
    """
    if choice == "none":
        return NullEnergyMeter("energy_meter=none in the run config")
    if device == "cuda":
        if nvml_available():
            return ZeusEnergyMeter(gpu_indices=[gpu_index], cpu=False)
        return NullEnergyMeter("NVML is not readable on this machine (no NVIDIA driver?)")
    if rapl_available():
        return ZeusEnergyMeter(gpu_indices=[], cpu=True)
    return NullEnergyMeter(
        "CPU run and RAPL is not readable (no /sys/class/powercap/intel-rapl); "
        "Zeus would report 0 J, which is not a measurement"
    )
