"""Zeus' energy counter against the integral of sampled power, over windows of several lengths.

For each window length, a dense bf16 matmul loop keeps the GPU busy while the runner's own meter
(`runner.machine.energy.make_energy_meter`: Zeus `ZeusMonitor` over NVML, with Zeus'
`PowerMonitor` sampling power every `--period-s`) reads

- the **counter**: the NVML energy counter at both ends of the window (what records store);
- the **integral**: the step integral of the sampled power timeline over the same window (each
  sample held until the next; what per-batch attribution uses).

It prints counter J, integral J, integral / counter and the average power per window. Where no
meter is readable (a CPU without RAPL) every figure is "not measured", with the reason.

    PYTHONPATH=. .venv/bin/python benchmarks/meter_agreement.py --windows 1 5 15
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from runner.machine.energy import checked_energy, make_energy_meter


def busy(seconds: float, device: str, size: int) -> None:
    """Run matmuls back to back for `seconds` (synchronized at the end)."""
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn((size, size), device=device, dtype=dtype)
    b = torch.randn((size, size), device=device, dtype=dtype)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(8):
            a @ b
        if device == "cuda":
            torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", nargs="+", type=float, default=[1.0, 5.0, 15.0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=0, help="matmul size (0: 8192 GPU, 512 CPU)")
    parser.add_argument("--period-s", type=float, default=0.05, help="power sampling period")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    size = args.size or (8192 if args.device == "cuda" else 512)
    meter = make_energy_meter("auto", args.device, power_sample_period_s=args.period_s)
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    header = (
        f"device: {device_name}; meter: {meter.source}; timeline: "
        f"{meter.timeline_period_s or 'none'} s ({meter.timeline_reason or 'sampled'}); "
        f"load: matmul {size}"
    )
    print(header, flush=True)
    busy(min(args.windows), args.device, size)  # warm-up
    rows = []
    for window in args.windows:
        meter.begin("agreement")
        wall_start = time.time()
        busy(window, args.device, size)
        wall_end = time.time()
        reading = meter.end("agreement")
        counter, reason = checked_energy(reading, meter.resolution_s)
        time.sleep(2 * (meter.timeline_period_s or 0))  # let the last samples arrive
        timeline = meter.power_timeline(wall_start, wall_end)
        integral = timeline.energy_j(wall_start, wall_end) if timeline is not None else None
        rows.append(
            {
                "window_s": reading.duration_s,
                "counter_j": counter,
                "integral_j": integral,
                "integral_over_counter": integral / counter if counter and integral else None,
                "avg_w": counter / reading.duration_s if counter is not None else None,
                "samples": len(timeline.samples) if timeline is not None else 0,
                "note": reason or meter.reason or meter.timeline_reason,
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    def fmt(value: float | None, spec: str) -> str:
        return "not measured" if value is None else format(value, spec)

    lines = [
        "| window s | counter J | power integral J | integral / counter | avg W | samples |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['window_s']:.2f} | {fmt(row['counter_j'], '.1f')} | "
            f"{fmt(row['integral_j'], '.1f')} | {fmt(row['integral_over_counter'], '.3f')} | "
            f"{fmt(row['avg_w'], '.0f')} | {row['samples']} |"
        )
    notes = sorted({row["note"] for row in rows if row["note"]})
    text = "\n".join(lines) + "".join(f"\n\nnote: {note}" for note in notes)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        lines = "\n".join(json.dumps(row) for row in rows)
        args.out.write_text(f"{header}\n\n{text}\n\n{lines}\n")


if __name__ == "__main__":
    main()
