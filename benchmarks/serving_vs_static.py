"""Static batches vs continuous batching at the same throughput: energy (or CPU time) per request.

On one machine and one model, with the same prompts and exactly `--new-tokens` output tokens per
request (`fixed_output_length`, so both paths do the same decoding work):

1. **Static**: today's `eager` backend (`runner.measure.generation.generate_batch`), batches of
   each of `--batch-sizes` back to back over `--prompts` prompts, after one warm-up batch. One meter
   window over all of them. Throughput = requests / wall time.
2. **Continuous batching** (the serving scenario's engine and load driver): Poisson arrivals at
   that throughput (times `--rate-factor`), a `--warmup` s warm-up and a `--duration` s measured
   window, exactly as `leaderboard run scenario=serving` measures it.

Printed per path: throughput achieved, energy per request (meter window / requests completed;
"not measured" where no meter is readable, never 0), the process's CPU time per request
(`time.process_time`, every thread of this process: a measured proxy for work on a CPU, not an
energy), and latency. Then the ratios continuous / static. Where continuous batching does not
sustain the static throughput (under 95% of it), the script says so: the loads then differ.
Energy on a CPU without RAPL is not readable: the ratio is then printed for CPU time only, and
energy is said to be unmeasured.

    PYTHONPATH=. .venv/bin/python benchmarks/serving_vs_static.py                 # tiny model, CPU
    PYTHONPATH=. .venv/bin/python benchmarks/serving_vs_static.py --model random__Llama-3.2-1B \\
        --device cuda --dtype bfloat16 --batch-sizes 1 8 32 --prompts 256 --new-tokens 128
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from runner.compose import compose_run_config, hydra_context
from runner.machine.energy import EnergyMeter, EnergyReading, make_energy_meter
from runner.measure.arrivals import poisson_arrivals
from runner.measure.generation import generate_batch
from runner.measure.serving.driver import drive_load
from runner.measure.serving.engine import TransformersEngine
from runner.measure.serving.outcomes import ScheduledRequest
from runner.measure.serving.point import tokenize_prompts
from runner.measure.serving.window import window_figures
from runner.workload.models import load_model
from runner.workload.prompts import load_prompt_set, sample_prompts


class CpuTimedMeter:
    """Wraps a meter; also records this process's CPU time over each window (s)."""

    def __init__(self, inner: EnergyMeter) -> None:
        self.inner = inner
        self.source, self.reason, self.devices = inner.source, inner.reason, inner.devices
        self.cpu_s: dict[str, float] = {}
        self._open: dict[str, float] = {}

    @property
    def available(self) -> bool:
        return self.inner.available

    def begin(self, name: str) -> None:
        self._open[name] = time.process_time()
        self.inner.begin(name)

    def end(self, name: str) -> EnergyReading:
        reading = self.inner.end(name)
        self.cpu_s[name] = time.process_time() - self._open.pop(name)
        return reading


def fmt(value: float | None, unit: str = "", digits: int = 4) -> str:
    """A number with `digits` significant digits, or 'not measured'."""
    return "not measured" if value is None else f"{value:.{digits}g}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rate-factor", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: CPU time is not inflated "
        "by threads spinning while the other is descheduled on a shared machine)",
    )
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    with hydra_context():
        config = compose_run_config(
            [
                f"model={args.model}",
                f"model.dtype={args.dtype}",
                f"task.max_new_tokens={args.new_tokens}",
                "task.sampling.fixed_output_length=true",
                "scenario=serving",
                f"seed={args.seed}",
            ]
        )
    torch.manual_seed(args.seed)
    loaded = load_model(config.model, args.device)
    meter = CpuTimedMeter(make_energy_meter("auto", args.device))
    print(
        f"model={args.model} device={args.device} dtype={args.dtype} threads={args.threads} "
        f"new_tokens={args.new_tokens} meter={meter.source}"
        + ("" if meter.reason is None else f" ({meter.reason})")
    )
    for batch_size in args.batch_sizes:
        compare(loaded, config, meter, args, batch_size)


def compare(loaded: Any, config: Any, meter: CpuTimedMeter, args: Any, batch_size: int) -> None:
    """Static batches of `batch_size`, then continuous batching at their throughput; print both
    and the ratios."""
    prompt_set = load_prompt_set(config.task.prompt_set)
    sample = sample_prompts(prompt_set.prompts, args.prompts + batch_size, args.seed)
    texts = [p.text for p in sample]
    warm, measured = texts[:batch_size], texts[batch_size:]

    def run_batch(batch: list[str]) -> Any:
        return generate_batch(loaded.model, loaded.tokenizer, args.device, config.task, batch, 4096)

    run_batch(warm)
    started = time.perf_counter()
    meter.begin("static")
    results = [run_batch(measured[i : i + batch_size]) for i in range(0, len(measured), batch_size)]
    reading = meter.end("static")
    static_wall = time.perf_counter() - started
    static_requests = sum(len(r.requests) for r in results)
    static_tokens = sum(r.output_tokens for r in results)
    static_rps = static_requests / static_wall
    static_energy = None if reading.energy_j is None else reading.energy_j / static_requests
    static_cpu = meter.cpu_s["static"] / static_requests
    static_latency = statistics.fmean(q.latency_s for r in results for q in r.requests)
    tpots = [q.tpot_s for r in results for q in r.requests if q.tpot_s is not None]
    static_tpot = statistics.fmean(tpots) if tpots else None

    rate = static_rps * args.rate_factor
    horizon = args.warmup + args.duration + args.drain
    times = poisson_arrivals(rate, horizon, args.seed)
    prompts = sample_prompts(prompt_set.prompts, len(times), args.seed + 1)
    ids = tokenize_prompts(loaded, config.task.system_prompt, prompts, config.max_prompt_tokens)
    requests = [
        ScheduledRequest(i, t, p, x)
        for i, (t, p, x) in enumerate(zip(times, prompts, ids, strict=True))
    ]
    engine = TransformersEngine(loaded, config, max(len(x) for x in ids))
    try:
        drive = drive_load(
            engine,
            requests,
            meter,
            warmup_s=args.warmup,
            duration_s=args.duration,
            drain_timeout_s=args.drain,
            timeline_step_s=1.0,
        )
    finally:
        engine.close()
    figures = window_figures(
        drive.outcomes,
        config.task.slo,
        opened_s=drive.opened_s,
        closed_s=drive.closed_s,
        measured_duration_s=drive.measured_duration_s,
        energy_j=drive.energy_j,
        slices=drive.slices,
    )
    s, m = figures.summary, figures.measurements
    cb_cpu = meter.cpu_s["serving-window"] / max(1, s.completed_in_window)
    offered = s.requests_in_window / drive.measured_duration_s  # this Poisson draw's rate
    sustained = s.completed_in_window >= 0.9 * s.requests_in_window

    print(
        f"static     batch={batch_size:<3} requests={static_requests:<5} "
        f"throughput={static_rps:.3f} req/s ({static_tokens / static_wall:.1f} tok/s)  "
        f"energy/request={fmt(static_energy, ' J')}  cpu/request={static_cpu * 1e3:.2f} ms  "
        f"latency mean={static_latency:.3f} s (from batch start)  "
        f"tpot={fmt(None if static_tpot is None else static_tpot * 1e3, ' ms')}"
    )
    ttft = m.ttft_s.p90 if m.ttft_s else None
    itl = m.itl_s.mean if m.itl_s else None
    e2e = m.e2e_latency_s.mean if m.e2e_latency_s else None
    print(
        f"continuous rate={rate:.3f} req/s (this draw: {offered:.3f})  "
        f"window={drive.measured_duration_s:.1f} s "
        f"completed={s.completed_in_window:<5} throughput={s.throughput_rps:.3f} req/s "
        f"({s.throughput_tok_s:.1f} tok/s)  energy/request={fmt(s.energy_per_request_j, ' J')}  "
        f"cpu/request={cb_cpu * 1e3:.2f} ms  e2e mean={fmt(e2e, ' s')} (from arrival)  "
        f"ttft p90={fmt(ttft, ' s')}  itl mean={fmt(None if itl is None else itl * 1e3, ' ms')}  "
        f"mean batch={s.mean_running_requests:.2f}  "
        f"dispatch lag max={m.dispatch_lag_s.max * 1e3:.1f} ms"
    )
    if not sustained:
        print(
            "  continuous batching did NOT keep up with its arrivals "
            f"({s.completed_in_window} completed, {s.requests_in_window} arrived in the window): "
            "not the same throughput, the ratios below compare different loads"
        )
    print(f"  ratio continuous/static, throughput: {s.throughput_rps / static_rps:.3f}")
    if static_energy is not None and s.energy_per_request_j is not None:
        ratio = s.energy_per_request_j / static_energy
        print(f"  ratio continuous/static, energy per request: {ratio:.3f}")
    else:
        print("  ratio continuous/static, energy per request: not measured (no readable meter)")
    print(f"  ratio continuous/static, CPU time per request: {cb_cpu / static_cpu:.3f}")


if __name__ == "__main__":
    main()
