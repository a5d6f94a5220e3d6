"""Decode step time against the memory-bandwidth floor, eager / compiled / graph, side by side.

For each model shape, batch size and backend this runs, in one process:

- a warm-up batch (compiles for `compiled`, captures the CUDA graph for `graph`; its time is
  reported as `warmup_s`), then the same batch again and again until a window of at least
  `--window-s` seconds has passed (one energy-meter window around all of it);
- the decode step time: the mean time per output token after the first over every request of
  the window, from the backends' own per-step clock (CUDA events on a GPU);
- the bandwidth floor: bytes one decode step must read (weights + KV cache, the same formula as
  the site's "x floor": `runner.hardware.derived.step_bytes`) divided by the memory bandwidth
  measured once here with a large device-to-device copy; and step time / floor ("x floor");
- energy per output token (J): the window's energy / tokens generated in it, where a meter is
  readable (NVML on a GPU); "not measured" elsewhere, and never from a window below the meter's
  resolution;
- the target: `TARGET_X_FLOOR` times the floor measured on this machine (so it follows the GPU:
  an H200's floor is lower than an H100's), and whether the point meets it.

`--compiled-batch-sizes` limits the `compiled` backend to some batch sizes (each compiled point
compiles once, tens of seconds on a GPU; the GPU proof runs one).

Usage (GPU; model shapes are random-weight configs, nothing is downloaded):

    PYTHONPATH=. .venv/bin/python benchmarks/decode_floor.py \\
        --models random__Llama-3.2-1B random__Qwen2.5-0.5B --batch-sizes 1 8 \\
        --new-tokens 256 --prompt-tokens 128 --window-s 5

On a CPU (a smoke run of the script itself; CPU figures are not GPU figures):

    PYTHONPATH=. .venv/bin/python benchmarks/decode_floor.py --models tiny-random \\
        --batch-sizes 1 4 --new-tokens 32 --device cpu --dtype float32 --window-s 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from runner.compose import compose_run_config, hydra_context
from runner.hardware.derived import attention_context_tokens, step_bytes
from runner.machine.energy import checked_energy, make_energy_meter
from runner.measure.backends import make_backend
from runner.workload.models import load_model

BACKENDS = ("eager", "compiled", "graph")
# The decode-step target, as a multiple of the measured bandwidth floor: a hand-written
# static-cache loop replayed as a CUDA graph reached 2.94x the floor on an H100 for the 1.24 B
# shape at batch 1 (FACTS.md), so 3x is what a tuned loop should reach on any GPU.
TARGET_X_FLOOR = 3.0


def measure_copy_bandwidth(device: str, megabytes: int, repeats: int = 5) -> float:
    """Best device-to-device copy bandwidth in bytes/s (bytes read + bytes written)."""
    elements = megabytes * 1024 * 1024 // 4
    source = torch.rand(elements, device=device)
    target = torch.empty_like(source)
    target.copy_(source)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        target.copy_(source)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * source.numel() * source.element_size() / best


def synthetic_prompt(tokenizer: Any, tokens: int) -> str:
    """A user message of about `tokens` tokens (repeated project text)."""
    text = "Energy per token is the quantity this benchmark measures. "
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < tokens:
        text += text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:tokens]
    return tokenizer.decode(ids)


def run_point(
    args: argparse.Namespace, loaded: Any, model_name: str, backend_name: str, batch: int, meter
) -> dict:
    """One (shape, backend, batch) point looped to a window of `args.window_s` seconds."""
    with hydra_context():
        config = compose_run_config(
            [
                f"model={model_name}",
                f"model.dtype={args.dtype}",
                f"backend={backend_name}",
                f"backend.device={args.device}",
                f"task.max_new_tokens={args.new_tokens}",
                "task.sampling.fixed_output_length=true",
            ]
        )
    texts = [synthetic_prompt(loaded.tokenizer, args.prompt_tokens)] * batch
    backend = make_backend(
        loaded,
        config.task,
        config.backend,
        max_prompt_tokens=4096,
        batch_size=batch,
        sample_texts=texts,
    )
    started = time.perf_counter()
    backend.generate(texts)  # warm-up: compile / capture
    warmup_s = time.perf_counter() - started
    backend.begin_measurement()
    results = []
    meter.begin("decode")
    started = time.perf_counter()
    while not results or time.perf_counter() - started < args.window_s:
        results.append(backend.generate(texts))
    reading = meter.end("decode")
    backend.end_measurement()
    energy, reason = checked_energy(reading, meter.resolution_s)
    requests = [request for result in results for request in result.requests]
    tpots = [r.tpot_s for r in requests if r.tpot_s is not None]
    step_s = statistics.fmean(tpots) if tpots else float("nan")
    request = requests[0]
    context = attention_context_tokens(request.prompt_tokens, request.response_tokens)
    floor_s = step_bytes(loaded.params, loaded.architecture, context, batch).total / args.bandwidth
    tokens = sum(result.output_tokens for result in results)
    execution = backend.execution()
    return {
        "model": model_name,
        "params": loaded.params,
        "batch": batch,
        "backend": backend_name,
        "prompt_tokens": request.prompt_tokens,
        "new_tokens": request.response_tokens,
        "warmup_s": round(warmup_s, 3),
        "batches": len(results),
        "window_s": reading.duration_s,
        "step_ms": step_s * 1e3,
        "floor_ms": floor_s * 1e3,
        "x_floor": step_s / floor_s,
        "target_ms": TARGET_X_FLOOR * floor_s * 1e3,
        "meets_target": step_s <= TARGET_X_FLOOR * floor_s,
        "tok_s": tokens / reading.duration_s if reading.duration_s > 0 else None,
        "energy_per_token_j": None if energy is None else energy / tokens,
        "avg_power_w": None if energy is None else energy / reading.duration_s,
        "energy_note": reason or meter.reason,
        "cuda_graph": execution.cuda_graph,
        "compiles": execution.compiles_warmup,
    }


def run_shape(args: argparse.Namespace, model_name: str, meter: Any) -> list[dict]:
    """Every (batch size, backend) point of one model shape."""
    with hydra_context():
        config = compose_run_config([f"model={model_name}", f"model.dtype={args.dtype}"])
    loaded = load_model(config.model, args.device)
    assert loaded.architecture is not None, "the model config lacks the usual shape fields"
    rows = []
    for batch in args.batch_sizes:
        for backend_name in args.backends:
            compiled_sizes = args.compiled_batch_sizes
            if backend_name == "compiled" and compiled_sizes and batch not in compiled_sizes:
                continue
            rows.append(run_point(args, loaded, model_name, backend_name, batch, meter))
            print(json.dumps(rows[-1]), flush=True)
    del loaded
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table of the rows, the backends of one shape and batch next to each other."""
    lines = [
        "| model | batch | backend | warm-up s | window s | ms / step | floor ms | x floor "
        f"| target ms ({TARGET_X_FLOOR:g}x floor) | meets | tok/s | J / token | avg W |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        energy = row["energy_per_token_j"]
        power = row["avg_power_w"]
        lines.append(
            f"| {row['model']} | {row['batch']} | {row['backend']} | {row['warmup_s']:.1f} | "
            f"{row['window_s']:.1f} | {row['step_ms']:.3f} | {row['floor_ms']:.3f} | "
            f"{row['x_floor']:.2f} | {row['target_ms']:.3f} | "
            f"{'yes' if row['meets_target'] else 'no'} | {row['tok_s']:.0f} | "
            f"{'not measured' if energy is None else f'{energy:.4g}'} | "
            f"{'not measured' if power is None else f'{power:.0f}'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["random__Llama-3.2-1B"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument(
        "--compiled-batch-sizes",
        nargs="+",
        type=int,
        default=None,
        help="run `compiled` only at these batch sizes (default: every one)",
    )
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--window-s", type=float, default=5.0, help="seconds per point")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--copy-mb", type=int, default=0, help="0: 2048 on GPU, 256 on CPU")
    parser.add_argument("--out", type=Path, default=None, help="also write JSON lines + table")
    args = parser.parse_args()
    megabytes = args.copy_mb or (2048 if args.device == "cuda" else 256)
    args.bandwidth = measure_copy_bandwidth(args.device, megabytes)
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    header = f"device: {device_name}; copy bandwidth: {args.bandwidth / 1e9:.1f} GB/s"
    print(header, flush=True)
    meter = make_energy_meter("auto", args.device)
    rows = [row for model in args.models for row in run_shape(args, model, meter)]
    text = table(rows)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(row) for row in rows]
        args.out.write_text(f"{header}\n\n{text}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
