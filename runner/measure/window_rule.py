"""The window rule: how long an energy window must last, and how sure its energy is.

One rule for every scenario: a window lasts at least `min_window_s` from the run config, and on
a GPU at least `GPU_MIN_WINDOW_S` (10 s): the NVML counter agrees with an integral of sampled
power within ~2 % over windows of 10 s or more and is ~11 % off at 0.5 s (FACTS.md). Runs
extend their windows until the rule is met; the record stores the rule and each window's
relative uncertainty from the meter's resolution
(`runner.records.performance.relative_uncertainty`).
"""

from __future__ import annotations

from runner.machine.energy import EnergyMeter
from runner.records.performance import GPU_ENERGY_SOURCE, GPU_MIN_WINDOW_S, WindowRule

CONFIG_BASIS = "min_window_s in the run config"


def window_rule(
    meter: EnergyMeter, configured_s: float, *, extends_without_meter: bool
) -> WindowRule:
    """The rule a run enforces with `meter` and the configured `min_window_s` (seconds).

    Args:
        meter: the run's energy meter.
        configured_s: `min_window_s` of the run config.
        extends_without_meter: whether the scenario lengthens its windows to the rule even when
            no energy is measured (static passes are cheap to repeat; a steady run is not).
    """
    if meter.source == GPU_ENERGY_SOURCE and configured_s < GPU_MIN_WINDOW_S:
        return WindowRule(
            min_window_s=GPU_MIN_WINDOW_S,
            basis=f"GPU floor ({GPU_MIN_WINDOW_S:g} s; the configured min_window_s = "
            f"{configured_s:g} s was raised to it)",
            enforced=True,
        )
    if meter.available:
        return WindowRule(min_window_s=configured_s, basis=CONFIG_BASIS, enforced=True)
    reason = meter.reason or "no energy meter"
    if extends_without_meter:
        return WindowRule(
            min_window_s=configured_s,
            basis=CONFIG_BASIS,
            enforced=True,
            note=f"no energy is measured ({reason}): the windows time tokens only",
        )
    return WindowRule(
        min_window_s=configured_s,
        basis=CONFIG_BASIS,
        enforced=False,
        note=f"not enforced: no energy is measured ({reason}), so a longer window would add "
        "run time, not accuracy; the window's times and tokens are still exact",
    )
