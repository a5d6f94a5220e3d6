"""Static batches vs continuous batching, each at its own maximum sustainable rate, same prompts.

On one machine and one model, with one seeded sample of `--prompts` prompts used by both paths
(in the same order) and exactly `--new-tokens` output tokens per request
(`fixed_output_length`, so both do the same decoding work):

1. **Static** (today's `eager` backend, `runner.measure.generation.generate_batch`): batches of
   each of `--batch-sizes` back to back over the sample, after one warm-up batch (not counted).
   One meter window over them. Its maximum sustainable rate is its throughput (requests / wall
   time): a static batcher fed faster than it completes batches only grows its queue.
2. **Continuous batching** (the serving scenario's engine, load driver, window figures and
   verdict, exactly as `leaderboard run scenario=serving` measures a point): its maximum
   sustainable rate is searched by bisection (`runner.measure.serving.search.bisect_rates`)
   between `--low` and `--high` req/s to `--resolution`: a rate passes when the point is steady
   and meets the task's SLO conclusively (`runner.records.serving_rules`). Poisson arrivals;
   request i carries prompt i of the same sample (cycled). Only window requests count.

Printed: each path's maximum sustainable rate, energy per request there (meter window / requests
finished; "not measured" where no meter is readable, never 0), the process's CPU time per
request (`time.process_time`, every thread of this process: a measured proxy for work on a CPU,
not an energy) and latency; then the ratios continuous / static, each at its own maximum.
Static latency counts from the batch's start (its requests all arrived before it); continuous
latency from each request's scheduled arrival.

    PYTHONPATH=. .venv/bin/python benchmarks/serving_vs_static.py                 # tiny model, CPU
    PYTHONPATH=. .venv/bin/python benchmarks/serving_vs_static.py --model random__Llama-3.2-1B \\
        --device cuda --dtype bfloat16 --batch-sizes 8 32 --prompts 256 --new-tokens 128 \\
        --duration 60 --low 1 --high 64 --resolution 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
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
from runner.measure.serving.search import bisect_rates
from runner.measure.serving.verdict import rate_verdict
from runner.measure.serving.window import window_figures
from runner.records.serving import RateVerdict
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


@dataclass
class Probe:
    """One continuous-batching point of the search."""

    rate_rps: float
    offered_rps: float
    verdict: RateVerdict
    finished: int
    finished_rps: float
    output_tok_s: float
    energy_per_request_j: float | None
    cpu_per_request_s: float | None
    ttft_p90_s: float | None
    ttft_p90_censored: bool
    tpot_p90_s: float | None
    mean_batch: float
    send_lag_max_s: float


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
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=10.0)
    parser.add_argument("--low", type=float, default=2.0, help="search bracket, req/s")
    parser.add_argument("--high", type=float, default=64.0, help="search bracket, req/s")
    parser.add_argument("--resolution", type=float, default=2.0, help="search resolution, req/s")
    parser.add_argument("--max-probes", type=int, default=8)
    parser.add_argument("--min-requests", type=int, default=100)
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
    prompt_set = load_prompt_set(config.task.prompt_set)
    sample = sample_prompts(prompt_set.prompts, args.prompts, args.seed)
    print(
        f"model={args.model} device={args.device} dtype={args.dtype} threads={args.threads} "
        f"new_tokens={args.new_tokens} prompts={len(sample)} meter={meter.source}"
        + ("" if meter.reason is None else f" ({meter.reason})")
    )
    print(f"SLO: {config.task.slo}")
    best = continuous_max(loaded, config, meter, args, sample)
    for batch_size in args.batch_sizes:
        static_point(loaded, config, meter, args, sample, batch_size, best)


def continuous_max(
    loaded: Any, config: Any, meter: CpuTimedMeter, args: Any, sample: list[Any]
) -> Probe | None:
    """Search continuous batching's maximum sustainable rate on the sample; print each probe."""
    ids = tokenize_prompts(loaded, config.task.system_prompt, sample, config.max_prompt_tokens)
    horizon = args.warmup + args.duration + args.drain
    probes: dict[float, Probe] = {}

    def passes(rate: float) -> bool:
        times = poisson_arrivals(rate, horizon, args.seed)
        requests = [
            ScheduledRequest(i, t, sample[i % len(sample)], ids[i % len(ids)])
            for i, t in enumerate(times)
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
            max_new_tokens=args.new_tokens,
        )
        verdict = rate_verdict(
            figures,
            measured_duration_s=drive.measured_duration_s,
            target=config.task.slo.attainment,
            confidence=0.95,
            min_requests=args.min_requests,
            on_gpu=args.device == "cuda",
        )
        s, m = figures.summary, figures.measurements
        probe = Probe(
            rate_rps=rate,
            offered_rps=s.window_requests / args.duration,
            verdict=verdict,
            finished=s.window_finished,
            finished_rps=s.finished_rps,
            output_tok_s=s.output_tok_s or 0.0,
            energy_per_request_j=s.energy_per_finished_request_j,
            cpu_per_request_s=meter.cpu_s["serving-window"] / s.window_finished
            if s.window_finished
            else None,
            ttft_p90_s=m.ttft_s.p90 if m.ttft_s else None,
            ttft_p90_censored=bool(m.ttft_s and m.ttft_s.p90_censored),
            tpot_p90_s=m.tpot_s.p90 if m.tpot_s else None,
            mean_batch=s.mean_running_requests,
            send_lag_max_s=m.send_lag_s.max,
        )
        probes[rate] = probe
        print(
            f"continuous probe {rate:g} req/s: offered {probe.offered_rps:.4g}, "
            f"{verdict.status}, attainment {s.slo_attainment or 0:.3f} "
            f"[{verdict.sample.attainment_lower:.3f}, {verdict.sample.attainment_upper:.3f}], "
            f"finished {probe.finished_rps:.4g} req/s ({probe.output_tok_s:.1f} tok/s), "
            f"mean batch {probe.mean_batch:.2f}"
        )
        return verdict.status == "passes"

    result = bisect_rates(
        passes,
        low_rps=args.low,
        high_rps=args.high,
        resolution_rps=args.resolution,
        max_probes=args.max_probes,
    )
    if result.highest_passing_rps is None:
        print(f"continuous: no rate passed (the lowest, {args.low:g} req/s, did not)")
        return None
    best = probes[result.highest_passing_rps]
    bound = "at least " if result.bound == "at least" else ""
    print(
        f"continuous max sustainable rate: {bound}{best.rate_rps:g} req/s configured, "
        f"{best.offered_rps:.4g} offered"
        + (
            f"; {result.lowest_failing_rps:g} req/s did not pass"
            if result.lowest_failing_rps is not None
            else ""
        )
        + f" ({len(result.probes)} probes, resolution {args.resolution:g} req/s)\n"
        f"  there: energy/request={fmt(best.energy_per_request_j, ' J')}  "
        f"cpu/request={fmt(best.cpu_per_request_s and best.cpu_per_request_s * 1e3, ' ms')}  "
        f"ttft p90={'> ' if best.ttft_p90_censored else ''}{fmt(best.ttft_p90_s, ' s')} "
        f"(from scheduled arrival)  tpot p90={fmt(best.tpot_p90_s, ' s')}  "
        f"send lag max={best.send_lag_max_s * 1e3:.1f} ms"
    )
    return best


def static_point(
    loaded: Any,
    config: Any,
    meter: CpuTimedMeter,
    args: Any,
    sample: list[Any],
    batch_size: int,
    best: Probe | None,
) -> None:
    """Static batches of `batch_size` over the sample; print them and the ratios to `best`."""
    texts = [p.text for p in sample]

    def run_batch(batch: list[str]) -> Any:
        return generate_batch(loaded.model, loaded.tokenizer, args.device, config.task, batch, 4096)

    run_batch(texts[:batch_size])  # warm-up, not counted
    started = time.perf_counter()
    meter.begin("static")
    results = [run_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    reading = meter.end("static")
    wall = time.perf_counter() - started
    requests = sum(len(r.requests) for r in results)
    tokens = sum(r.output_tokens for r in results)
    rps = requests / wall
    energy = None if reading.energy_j is None else reading.energy_j / requests
    cpu = meter.cpu_s["static"] / requests
    latency = statistics.fmean(q.latency_s for r in results for q in r.requests)
    tpots = [q.tpot_s for r in results for q in r.requests if q.tpot_s is not None]
    tpot = statistics.fmean(tpots) if tpots else None
    print(
        f"static batch={batch_size:<3} max sustainable rate = throughput {rps:.4g} req/s "
        f"({tokens / wall:.1f} tok/s), {requests} requests  energy/request={fmt(energy, ' J')}  "
        f"cpu/request={cpu * 1e3:.2f} ms  latency mean={latency:.3f} s (from the batch's "
        f"start)  tpot mean={fmt(tpot, ' s')}"
    )
    if best is None:
        print("  no ratio: continuous batching passed no rate")
        return
    print(f"  ratio continuous/static, max sustainable rate: {best.offered_rps / rps:.3f}")
    if energy is not None and best.energy_per_request_j is not None:
        print(
            "  ratio continuous/static, energy per request at each's max: "
            f"{best.energy_per_request_j / energy:.3f}"
        )
    else:
        print("  ratio continuous/static, energy per request: not measured (no readable meter)")
    if best.cpu_per_request_s is not None:
        print(
            "  ratio continuous/static, CPU time per request at each's max: "
            f"{best.cpu_per_request_s / cpu:.3f}"
        )


if __name__ == "__main__":
    main()
