"""Do the static loops generate eager's tokens? The first N greedy tokens, graph and compiled.

For one model shape (default: the 1.24 B random-weight Llama-3.2-1B shape) in the run's dtype
(default bfloat16), two prompts of exactly `--prompt-tokens` tokens (so no backend pads them)
are decoded greedily for `--tokens` tokens (EOS masked, as `fixed_output_length`) by:

- eager: transformers `generate` (the `eager` backend's engine);
- the static-cache loop of `runner.measure.static_decode`, compiled (`compiled`) and captured in
  a CUDA graph (`graph`; uncaptured on a CPU).

Each static backend's tokens are compared with eager's, position by position; the table says how
many of the first N agree and where the first difference is. Exit code 1 if any differ. In
bfloat16 two paths may round near-tied logits differently (FACTS.md saw this on random
weights), so a difference is reported as measured, never hidden.

    PYTHONPATH=. python benchmarks/token_check.py --device cuda --out token_check.md
    PYTHONPATH=. python benchmarks/token_check.py --model tiny-random --device cpu   # smoke
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from runner.compose import compose_run_config, hydra_context
from runner.measure.backends import make_backend
from runner.workload.models import load_model
from runner.workload.prompts import load_prompt_set

BACKENDS = ("compiled", "graph")


def prompts(tokens: int) -> list[str]:
    """Two user messages of the chat set, each repeated until it is longer than `tokens`."""
    texts = [p.text for p in load_prompt_set("chat").prompts[:2]]
    return [" ".join([text] * (1 + tokens // max(1, len(text.split())))) for text in texts]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="random__Llama-3.2-1B")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    reference: list[list[int]] | None = None
    loaded = None
    for name in ("eager", *args.backends):
        with hydra_context():
            config = compose_run_config(
                [
                    f"model={args.model}",
                    f"model.dtype={args.dtype}",
                    f"backend={'graph' if name == 'eager' else name}",
                    f"backend.device={args.device}",
                    f"backend.pad_multiple={args.prompt_tokens}",
                    f"task.max_new_tokens={args.tokens}",
                    "task.sampling.fixed_output_length=true",
                ]
            )
        if loaded is None:
            loaded = load_model(config.model, args.device)
        texts = prompts(args.prompt_tokens)
        # The static backend prepares the inputs for every path: truncated to exactly
        # `prompt_tokens` tokens, so the bucket is the prompt and nothing is padded.
        backend = make_backend(
            loaded,
            config.task,
            config.backend,
            max_prompt_tokens=args.prompt_tokens,
            batch_size=len(texts),
            sample_texts=texts,
        )
        ids, mask, lengths = backend._inputs(texts)  # type: ignore[attr-defined]
        assert lengths == [args.prompt_tokens] * len(texts), lengths
        started = time.perf_counter()
        with torch.no_grad():
            if name == "eager":
                output = loaded.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=args.tokens,
                    min_new_tokens=args.tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=loaded.tokenizer.pad_token_id,
                )
                tokens = output[:, ids.shape[1] :].tolist()
            else:
                tokens = backend.decoder.decode(ids, mask, lambda: None).tokens  # type: ignore[attr-defined]
        seconds = time.perf_counter() - started
        tokens = [row[: args.tokens] for row in tokens]
        if reference is None:
            reference = tokens
            rows.append((name, "(reference)", "", seconds))
            continue
        agree = min(_agreeing(a, b) for a, b in zip(reference, tokens, strict=True))
        first = "none" if agree == args.tokens else f"token {agree + 1}"
        rows.append((name, f"{agree} of {args.tokens}", first, seconds))
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    lines = [
        f"model {args.model}, {args.dtype}, {device_name}; {len(reference or [])} prompts of "
        f"{args.prompt_tokens} tokens, first {args.tokens} greedy tokens against eager",
        "",
        "| backend | tokens equal to eager's (every prompt) | first difference | seconds |",
        "|---|---|---|---|",
        *(f"| {n} | {same} | {first} | {s:.1f} |" for n, same, first, s in rows),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    differ = [n for n, same, first, _ in rows if first not in ("", "none")]
    if differ:
        print(f"token check: {', '.join(differ)} differ from eager", file=sys.stderr)
        return 1
    return 0


def _agreeing(first: list[int], second: list[int]) -> int:
    """How many leading tokens two rows share."""
    count = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        count += 1
    return count


if __name__ == "__main__":
    sys.exit(main())
