"""The runner's own overhead: the same generation with and without the measurement machinery.

"With" is what `leaderboard run` does per batch: an energy-meter window (Zeus on a GPU or RAPL
machine, a timer elsewhere) around `generate_batch`, whose per-step clock (a logits processor)
synchronizes the device and stamps the time at every step; it also templates, tokenizes and
decodes, so the figure is an upper bound. "Without" is a bare `model.generate` on the same,
already tokenized inputs. The two alternate (ABAB...) in one process so drift affects both
alike; the script prints the median of each and the overhead as a share of the bare time.

    PYTHONPATH=. .venv/bin/python benchmarks/runner_overhead.py                 # tiny model, CPU
    PYTHONPATH=. .venv/bin/python benchmarks/runner_overhead.py --model random__Llama-3.2-1B \\
        --device cuda --dtype bfloat16 --batch-size 8 --new-tokens 128
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from runner.compose import compose_run_config, hydra_context
from runner.machine.energy import make_energy_meter
from runner.measure.generation import generate_batch, generation_kwargs, render_prompts
from runner.workload.models import load_model
from runner.workload.prompts import load_prompt_set, sample_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()

    with hydra_context():
        config = compose_run_config(
            [
                f"model={args.model}",
                f"model.dtype={args.dtype}",
                f"task.max_new_tokens={args.new_tokens}",
                "task.sampling.fixed_output_length=true",
            ]
        )
    loaded = load_model(config.model, args.device)
    meter = make_energy_meter("auto", args.device)
    texts = [p.text for p in sample_prompts(load_prompt_set("chat").prompts, args.batch_size, 0)]
    rendered = render_prompts(loaded.tokenizer, config.task.system_prompt, texts)
    inputs = loaded.tokenizer(
        rendered, return_tensors="pt", padding=True, add_special_tokens=False
    ).to(args.device)
    kwargs = generation_kwargs(config.task, loaded.tokenizer)

    def sync() -> None:
        if args.device == "cuda":
            torch.cuda.synchronize()

    def bare() -> float:
        sync()
        started = time.perf_counter()
        with torch.inference_mode():
            loaded.model.generate(**inputs, **kwargs)
        sync()
        return time.perf_counter() - started

    def measured() -> float:
        sync()
        started = time.perf_counter()
        meter.begin("overhead")
        generate_batch(loaded.model, loaded.tokenizer, args.device, config.task, texts, 4096)
        meter.end("overhead")
        return time.perf_counter() - started

    bare()
    measured()  # warm-up of both paths
    bare_times, measured_times = [], []
    for _ in range(args.pairs):
        bare_times.append(bare())
        measured_times.append(measured())
    bare_median = statistics.median(bare_times)
    measured_median = statistics.median(measured_times)
    device = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(
        f"device: {device}; meter: {meter.source}; model: {args.model}; "
        f"batch {args.batch_size}; {args.new_tokens} new tokens; {args.pairs} pairs (ABAB)"
    )
    print(f"bare generate, median:        {bare_median * 1e3:.2f} ms")
    print(f"with windows + step clock:    {measured_median * 1e3:.2f} ms")
    differences = [m - b for m, b in zip(measured_times, bare_times, strict=True)]
    print(
        f"overhead: {(measured_median / bare_median - 1) * 100:+.2f} % of the bare time "
        f"(median of pairwise differences: {statistics.median(differences) * 1e3:+.2f} ms)"
    )


if __name__ == "__main__":
    main()
