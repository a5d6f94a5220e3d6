"""The rule a run picks for its energy windows (runner.measure.window_rule)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from runner.machine.energy import FakeEnergyMeter
from runner.measure.window_rule import CONFIG_BASIS, window_rule
from runner.records.performance import GPU_ENERGY_SOURCE, GPU_MIN_WINDOW_S


def meter(source: str, *, available: bool = True, reason: str | None = None) -> Any:
    """A stand-in with the three attributes the rule reads."""
    return SimpleNamespace(source=source, available=available, reason=reason)


def test_a_gpu_meter_raises_a_short_configured_window_to_the_floor() -> None:
    rule = window_rule(meter(GPU_ENERGY_SOURCE), 0.5, extends_without_meter=False)
    assert rule.min_window_s == GPU_MIN_WINDOW_S == 10.0
    assert rule.enforced and rule.note is None
    assert "raised" in rule.basis and "0.5 s" in rule.basis


def test_a_gpu_meter_keeps_a_longer_configured_window() -> None:
    rule = window_rule(meter(GPU_ENERGY_SOURCE), 60.0, extends_without_meter=False)
    assert (rule.min_window_s, rule.basis, rule.enforced) == (60.0, CONFIG_BASIS, True)


def test_another_meter_keeps_the_configured_window_even_below_the_gpu_floor() -> None:
    rule = window_rule(FakeEnergyMeter(), 0.5, extends_without_meter=False)
    assert (rule.min_window_s, rule.basis, rule.enforced) == (0.5, CONFIG_BASIS, True)


def test_without_a_meter_only_scenarios_that_extend_anyway_enforce_the_rule() -> None:
    unmetered = meter("unavailable", available=False, reason="RAPL not readable")
    extended = window_rule(unmetered, 2.0, extends_without_meter=True)
    assert extended.enforced and extended.min_window_s == 2.0
    assert "RAPL not readable" in (extended.note or "")
    kept = window_rule(unmetered, 2.0, extends_without_meter=False)
    assert not kept.enforced and kept.min_window_s == 2.0
    assert (kept.note or "").startswith("not enforced") and "RAPL not readable" in kept.note
