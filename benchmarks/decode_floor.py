"""Decode step time against the memory-bandwidth floor, eager vs compiled, side by side.

For each model shape and batch size this prints, from one process and one run:

- the decode step time (mean time per output token after the first, from the runner's own
  per-step clock), for the `eager` and the `compiled` backends;
- the bandwidth floor: bytes one decode step must read (weights + KV cache, the same formula as
  the site's "x floor": `runner.hardware.derived.step_bytes`) divided by the memory bandwidth
  measured once here with a large device-to-device copy;
- step time / floor ("x floor");
- energy per output token (J) where a meter is readable (NVML on a GPU), else "not measured".

Usage (GPU; model shapes are random-weight configs, nothing is downloaded):

    PYTHONPATH=. .venv/bin/python benchmarks/decode_floor.py \\
        --models random__Llama-3.2-1B random__Qwen2.5-0.5B random__Llama-3.2-3B \\
        --batch-sizes 1 8 32 --new-tokens 256 --prompt-tokens 128

On a CPU (a smoke run of the script itself; CPU figures are not GPU figures):

    PYTHONPATH=. .venv/bin/python benchmarks/decode_floor.py --models tiny-random \\
        --batch-sizes 1 4 --new-tokens 32 --device cpu --dtype float32
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from runner.compose import compose_run_config, hydra_context
from runner.config import BackendConfig
from runner.hardware.derived import attention_context_tokens, step_bytes
from runner.machine.energy import make_energy_meter
from runner.measure.generation import generate_batch
from runner.workload.models import load_model


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


def generate(loaded: Any, task: Any, texts: list[str], backend: BackendConfig) -> Any:
    """One `generate_batch` call on the model's device."""
    return generate_batch(
        loaded.model, loaded.tokenizer, backend.device, task, texts, 4096, backend=backend
    )


def synthetic_prompt(tokenizer: Any, tokens: int) -> str:
    """A user message of about `tokens` tokens (repeated project text)."""
    text = "Energy per token is the quantity this benchmark measures. "
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < tokens:
        text += text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:tokens]
    return tokenizer.decode(ids)


def run_shape(args: argparse.Namespace, model_name: str, bandwidth: float) -> list[dict]:
    """Every (backend, batch size) point of one model shape."""
    with hydra_context():
        config = compose_run_config(
            [
                f"model={model_name}",
                f"model.dtype={args.dtype}",
                f"task.max_new_tokens={args.new_tokens}",
                "task.sampling.fixed_output_length=true",
            ]
        )
    loaded = load_model(config.model, args.device)
    assert loaded.architecture is not None, "the model config lacks the usual shape fields"
    meter = make_energy_meter("auto", args.device)
    prompt = synthetic_prompt(loaded.tokenizer, args.prompt_tokens)
    rows = []
    for batch in args.batch_sizes:
        for backend_name in ("eager", "compiled"):
            backend = BackendConfig(name=backend_name, device=args.device)
            texts = [prompt] * batch

            started = time.perf_counter()
            generate(loaded, config.task, texts, backend)  # warm-up; compiles for `compiled`
            warmup_s = time.perf_counter() - started
            meter.begin("decode")
            result = generate(loaded, config.task, texts, backend)
            reading = meter.end("decode")
            request = result.requests[0]
            step_s = request.tpot_s or float("nan")
            context = attention_context_tokens(request.prompt_tokens, request.response_tokens)
            floor_s = (
                step_bytes(loaded.params, loaded.architecture, context, batch).total / bandwidth
            )
            tokens = result.output_tokens
            rows.append(
                {
                    "model": model_name,
                    "params": loaded.params,
                    "batch": batch,
                    "backend": backend_name,
                    "prompt_tokens": request.prompt_tokens,
                    "new_tokens": request.response_tokens,
                    "warmup_s": round(warmup_s, 3),
                    "step_ms": step_s * 1e3,
                    "floor_ms": floor_s * 1e3,
                    "x_floor": step_s / floor_s,
                    "energy_per_token_j": None
                    if reading.energy_j is None
                    else reading.energy_j / tokens,
                    "avg_power_w": None
                    if reading.energy_j is None
                    else reading.energy_j / reading.duration_s,
                    "window_s": reading.duration_s,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    del loaded
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table of the rows, eager and compiled next to each other."""
    lines = [
        "| model | batch | backend | ms / step | floor ms | x floor | J / token | avg W |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        energy = row["energy_per_token_j"]
        power = row["avg_power_w"]
        lines.append(
            f"| {row['model']} | {row['batch']} | {row['backend']} | {row['step_ms']:.3f} | "
            f"{row['floor_ms']:.3f} | {row['x_floor']:.2f} | "
            f"{'not measured' if energy is None else f'{energy:.4g}'} | "
            f"{'not measured' if power is None else f'{power:.0f}'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["random__Llama-3.2-1B"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--copy-mb", type=int, default=0, help="0: 2048 on GPU, 256 on CPU")
    args = parser.parse_args()
    megabytes = args.copy_mb or (2048 if args.device == "cuda" else 256)
    bandwidth = measure_copy_bandwidth(args.device, megabytes)
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"device: {device_name}; copy bandwidth: {bandwidth / 1e9:.1f} GB/s", flush=True)
    rows = [row for model in args.models for row in run_shape(args, model, bandwidth)]
    print(table(rows))


if __name__ == "__main__":
    main()
