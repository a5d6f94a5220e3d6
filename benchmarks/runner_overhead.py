"""The timing machinery's overhead, per backend, measured side by side in one run.

For each backend (`eager`, `compiled`, `graph`) and the same batch of prompts, three ways of
running the same generation alternate (ABCABC...) in one process, so drift affects all alike:

- **bare**: the backend's generation alone, on already tokenized inputs, with no step clock
  and no energy window (`model.generate` for eager; the static decode loop with a no-op mark);
- **clocked**: what `leaderboard run` does per batch: the backend's `generate` (templating,
  tokenizing, the per-step clock: CUDA events read after generation on a GPU, perf_counter on
  a CPU, decoding the text) inside an energy-meter window (Zeus on a GPU or RAPL machine, a
  timer elsewhere); an upper bound of the measurement's cost;
- **sync clock**: bare generation with the old clock that synchronized the device and read the
  host clock at every step (what the runner did before; on a CPU a synchronize is a no-op, so
  this equals bare there).

The script prints, per backend, the median time of each and the overheads as shares of bare.

    PYTHONPATH=. .venv/bin/python benchmarks/runner_overhead.py            # tiny model, CPU
    PYTHONPATH=. .venv/bin/python benchmarks/runner_overhead.py --model random__Llama-3.2-1B \\
        --device cuda --dtype bfloat16 --batch-size 8 --new-tokens 128
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from runner.compose import compose_run_config, hydra_context
from runner.machine.energy import make_energy_meter
from runner.measure.backends import StaticBackend, make_backend
from runner.measure.generation import StepClock, generation_kwargs, render_prompts
from runner.workload.models import load_model
from runner.workload.prompts import load_prompt_set, sample_prompts


def variants(loaded: Any, config: Any, backend: Any, texts: list[str], meter: Any) -> dict:
    """name -> a function that runs the batch once."""
    device = loaded.device
    if isinstance(backend, StaticBackend):
        ids, mask, _ = backend._inputs(texts)

        def bare() -> None:
            backend.decoder.decode(ids, mask, lambda: None)

        def sync_clock() -> None:
            clock = StepClock(device, sync_each_step=True)
            clock.start()
            backend.decoder.decode(ids, mask, clock.mark)

    else:
        rendered = render_prompts(loaded.tokenizer, config.task.system_prompt, texts)
        inputs = loaded.tokenizer(
            rendered, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(device)
        kwargs = generation_kwargs(config.task, loaded.tokenizer)

        def bare() -> None:
            with torch.inference_mode():
                loaded.model.generate(**inputs, **kwargs)

        def sync_clock() -> None:
            clock = StepClock(device, sync_each_step=True)
            clock.start()
            with torch.inference_mode():
                loaded.model.generate(**inputs, logits_processor=[clock], **kwargs)

    def clocked() -> None:
        meter.begin("overhead")
        backend.generate(texts)
        meter.end("overhead")

    return {"bare": bare, "clocked": clocked, "sync clock": sync_clock}


def timed(run: Callable[[], None], device: str) -> float:
    """Wall time of one call (s), the device synchronized on both sides."""
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    run()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def measure_backend(args: argparse.Namespace, loaded: Any, config: Any, name: str) -> dict:
    """Medians of bare / clocked / sync clock for one backend, alternated `pairs` times."""
    with hydra_context():
        config = compose_run_config(_overrides(args, name))
    texts = [p.text for p in sample_prompts(load_prompt_set("chat").prompts, args.batch_size, 0)]
    backend = make_backend(
        loaded,
        config.task,
        config.backend,
        max_prompt_tokens=config.max_prompt_tokens,
        batch_size=args.batch_size,
        sample_texts=texts,
    )
    meter = make_energy_meter("auto", loaded.device)
    runs = variants(loaded, config, backend, texts, meter)
    started = time.perf_counter()
    for run in runs.values():  # warm-up: compiles (compiled) or captures (graph) here
        run()
    warmup_s = time.perf_counter() - started
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(args.pairs):
        for key, run in runs.items():
            times[key].append(timed(run, loaded.device))
    medians = {key: statistics.median(values) for key, values in times.items()}
    bare = medians["bare"]
    return {
        "backend": name,
        "model": args.model,
        "device": loaded.device,
        "meter": meter.source,
        "batch": args.batch_size,
        "new_tokens": args.new_tokens,
        "runs": args.pairs,
        "warmup_s": round(warmup_s, 2),
        "bare_ms": bare * 1e3,
        "clocked_ms": medians["clocked"] * 1e3,
        "sync_clock_ms": medians["sync clock"] * 1e3,
        "clocked_overhead_pct": (medians["clocked"] / bare - 1) * 100,
        "sync_clock_overhead_pct": (medians["sync clock"] / bare - 1) * 100,
    }


def _overrides(args: argparse.Namespace, backend: str) -> list[str]:
    return [
        f"model={args.model}",
        f"model.dtype={args.dtype}",
        f"backend={backend}",
        f"backend.device={args.device}",
        f"task.max_new_tokens={args.new_tokens}",
        "task.sampling.fixed_output_length=true",
    ]


def table(rows: list[dict]) -> str:
    """Markdown table of the rows."""
    lines = [
        "| backend | batch | new tokens | runs | bare | clocked (events + window) | overhead "
        "| sync clock (old) | overhead |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['batch']} | {row['new_tokens']} | {row['runs']} | "
            f"{row['bare_ms']:.2f} ms | {row['clocked_ms']:.2f} ms | "
            f"{row['clocked_overhead_pct']:+.2f} % | {row['sync_clock_ms']:.2f} ms | "
            f"{row['sync_clock_overhead_pct']:+.2f} % |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=15, help="runs of each variant")
    parser.add_argument("--backends", nargs="+", default=["eager", "compiled", "graph"])
    parser.add_argument("--out", type=Path, default=None, help="also write JSON lines + table")
    args = parser.parse_args()

    with hydra_context():
        config = compose_run_config(_overrides(args, "eager"))
    loaded = load_model(config.model, args.device)
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"device: {device_name}; model: {args.model} ({args.dtype})", flush=True)
    rows = []
    for name in args.backends:
        rows.append(measure_backend(args, loaded, config, name))
        print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(row) for row in rows]
        args.out.write_text(f"device: {device_name}\n\n{text}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
