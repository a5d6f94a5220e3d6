"""Energy of a point on several devices: per-device readings and summed power timelines."""

from __future__ import annotations

import pickle

import pytest

from runner.machine.energy import FakeEnergyMeter, sum_timelines


def test_summed_power_holds_each_gpus_samples_until_its_next() -> None:
    first = [(0.0, 100.0), (1.0, 200.0), (2.0, 100.0)]
    second = [(0.5, 50.0), (1.5, 150.0)]  # sampled by its own process, at its own instants
    # From 0.5 s (when both have a sample), at every instant either was sampled.
    assert sum_timelines([first, second]) == [
        (0.5, 150.0),
        (1.0, 250.0),
        (1.5, 350.0),
        (2.0, 250.0),
    ]
    assert sum_timelines([first]) == first
    assert sum_timelines([first, []]) == []  # a GPU without samples: the sum is unknown


def test_a_fake_meter_of_two_devices_reports_each_share_and_travels_to_a_rank() -> None:
    meter = pickle.loads(pickle.dumps(FakeEnergyMeter(power_w=200.0, devices=2)))
    assert meter.devices == ["fake:0", "fake:1"]
    meter.begin("w")
    reading = meter.end("w")
    assert reading.per_device_j is not None
    assert sum(reading.per_device_j.values()) == pytest.approx(reading.energy_j)
    assert reading.per_device_j["fake:0"] == pytest.approx(reading.per_device_j["fake:1"])
    one = FakeEnergyMeter()
    one.begin("w")
    assert one.end("w").per_device_j is None  # one device: no per-device block
