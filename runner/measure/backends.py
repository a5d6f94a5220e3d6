"""Generation backends: one object per benchmark point turns a batch of prompts into timings.

- `eager`: transformers `generate` with its dynamic KV cache, prompts padded to the batch's
  longest (`runner.measure.generation.generate_batch`).
- `compiled`: the static-cache decode loop of `runner.measure.static_decode`, its decode step
  compiled once per point by `torch.compile(fullgraph=True, dynamic=False)`. Dynamo is reset
  when the backend is made, so nothing compiled for another point is reused; the graphs
  compiled in warm-up and while measuring are counted into the record, and a graph break, a
  recompile while measuring, or Dynamo giving up at its recompile limit is a `PointFailed`
  (never a silent fallback to eager).
- `graph`: the same loop with the decode step captured once into a CUDA graph and replayed; on
  a CPU the same loop runs uncaptured.

Static backends pad prompts on the left to a bucket (a multiple of `backend.pad_multiple`
tokens, per batch), not to the longest prompt of the whole sample; the cache is sized once per
point for the longest bucket of the sample plus `max_new_tokens`.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from runner.config import BackendConfig, TaskConfig
from runner.errors import PointFailed
from runner.measure.generation import (
    BatchResult,
    StepClock,
    eos_ids_of,
    generate_batch,
    render_prompts,
    request_timings,
)
from runner.measure.static_decode import StaticDecoder, bucket_length
from runner.records.performance import Execution


class Backend(Protocol):
    """What a benchmark point needs from a backend."""

    name: str

    def generate(self, texts: list[str]) -> BatchResult:
        """Generate one batch of user messages and time every request."""
        ...

    def begin_measurement(self) -> None:
        """Warm-up is over: from now on nothing may compile."""
        ...

    def end_measurement(self) -> None:
        """Measurement is over (raises `PointFailed` if something compiled meanwhile)."""
        ...

    def execution(self) -> Execution:
        """The record's `execution` block."""
        ...


def _timing(device: str) -> str:
    return "cuda-events" if device == "cuda" else "perf-counter"


class EagerBackend:
    """transformers `generate` with a dynamic cache (see the module docstring)."""

    name = "eager"

    def __init__(
        self, model: Any, tokenizer: Any, device: str, task: TaskConfig, max_prompt_tokens: int
    ) -> None:
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.task, self.max_prompt_tokens = task, max_prompt_tokens

    def generate(self, texts: list[str]) -> BatchResult:
        return generate_batch(
            self.model, self.tokenizer, self.device, self.task, texts, self.max_prompt_tokens
        )

    def begin_measurement(self) -> None:
        pass

    def end_measurement(self) -> None:
        pass

    def execution(self) -> Execution:
        return Execution(timing=_timing(self.device), prompt_padding="batch-longest")  # type: ignore[arg-type]


def _dynamo_graphs() -> int:
    """Graphs Dynamo has compiled since the last reset."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def _cudagraph_skips() -> int:
    from torch._dynamo.utils import counters

    return int(counters["inductor"]["cudagraph_skips"])


def reset_dynamo() -> None:
    """Forget everything Dynamo compiled (and its counters): one point never reuses another's.

    Also clears `error_on_recompile`, in case a point failed while measuring.
    """
    import torch
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch._dynamo.config.error_on_recompile = False


class StaticBackend:
    """The static-cache decode loop, compiled (`compiled`) or captured (`graph`).

    Args:
        model, tokenizer, device: the loaded model.
        task: decoding settings and the system prompt.
        backend: `name` (`compiled` or `graph`), `compile_mode`, `pad_multiple`,
            `eos_check_every`.
        max_prompt_tokens: prompts are truncated (from the left) to this many tokens.
        batch_size: the fixed batch size of the point.
        sample_texts: every user message the point will run (warm-up and measured), to size
            the static cache once.
        seed: seeds sampling.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        device: str,
        task: TaskConfig,
        backend: BackendConfig,
        max_prompt_tokens: int,
        batch_size: int,
        sample_texts: list[str],
        seed: int = 0,
    ) -> None:
        import torch

        self.name = backend.name
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.task, self.backend = task, backend
        self.max_prompt_tokens = max_prompt_tokens
        self.batch_size = batch_size
        self.eos_ids = eos_ids_of(model, tokenizer)
        lengths = [len(ids) for ids in self._encode(sample_texts)]
        self.max_bucket = bucket_length(max(lengths), backend.pad_multiple)
        self.buckets_used: set[int] = set()
        self.notes: list[str] = []
        if backend.name == "compiled":
            torch._dynamo.config.suppress_errors = False
            torch._dynamo.config.fail_on_recompile_limit_hit = True
        penalty = getattr(model.generation_config, "repetition_penalty", None)
        if penalty not in (None, 1.0):
            self.notes.append(
                f"the model's generation config sets repetition_penalty={penalty}; static "
                "backends apply only the task's sampling settings (eager applies it)"
            )
        # On a CPU nothing runs ahead of the host, so checking EOS at every step costs nothing
        # and wastes no step; on a GPU the check is a synchronization, made every few steps.
        self.eos_check_every = 1 if device == "cpu" else backend.eos_check_every
        self.decoder = StaticDecoder(
            model,
            batch_size=batch_size,
            max_cache_len=self.max_bucket + task.max_new_tokens,
            max_new_tokens=task.max_new_tokens,
            device=device,
            mode="compiled" if backend.name == "compiled" else "graph",
            eos_ids=self.eos_ids,
            pad_id=tokenizer.pad_token_id,
            sampling=task.sampling,
            eos_check_every=self.eos_check_every,
            compile_mode=backend.compile_mode,
            seed=seed,
        )
        self.compiles_warmup: int | None = None
        self.compiles_measured: int | None = None
        self._graphs_at_start = 0
        self._measuring = False

    def _encode(self, texts: list[str]) -> list[list[int]]:
        rendered = render_prompts(self.tokenizer, self.task.system_prompt, texts)
        return self.tokenizer(
            rendered, add_special_tokens=False, truncation=True, max_length=self.max_prompt_tokens
        )["input_ids"]

    def _inputs(self, texts: list[str]) -> tuple[Any, Any, list[int]]:
        """Left-padded ids and mask of shape (batch, bucket) on the device, and true lengths."""
        import torch

        encoded = self._encode(texts)
        if len(encoded) != self.batch_size:
            raise ValueError(f"batch of {len(encoded)} prompts, backend made for {self.batch_size}")
        lengths = [len(ids) for ids in encoded]
        bucket = bucket_length(max(lengths), self.backend.pad_multiple)
        self.buckets_used.add(bucket)
        ids = torch.full((len(encoded), bucket), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), bucket), dtype=torch.long)
        for row, tokens in enumerate(encoded):
            ids[row, bucket - len(tokens) :] = torch.tensor(tokens, dtype=torch.long)
            mask[row, bucket - len(tokens) :] = 1
        return ids.to(self.device), mask.to(self.device), lengths

    def generate(self, texts: list[str]) -> BatchResult:
        import torch

        ids, mask, lengths = self._inputs(texts)
        clock = StepClock(self.device, capacity=self.task.max_new_tokens)
        if self.device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        clock.start()
        try:
            output = self.decoder.decode(ids, mask, clock.mark)
        except Exception as error:
            failure = self._compile_failure(error)
            if failure is error:
                raise
            raise failure from None
        if self.device == "cuda":
            torch.cuda.synchronize()
        ended = time.perf_counter()
        if self.name == "compiled" and _dynamo_graphs() == 0:
            raise PointFailed(
                "backend=compiled: torch.compile compiled no graph, so the decode step ran eager"
            )
        requests = request_timings(
            self.tokenizer, output.tokens, lengths, clock.offsets_s(), ended - started, self.eos_ids
        )
        return BatchResult(
            batch_time_s=ended - started,
            requests=requests,
            decode_steps=output.steps,
            wasted_steps=output.wasted_steps,
        )

    def _compile_failure(self, error: Exception) -> Exception:
        """A Dynamo/Inductor failure as one `PointFailed` line; anything else unchanged."""
        import torch._dynamo.exc as dynamo_exc

        kinds = (
            dynamo_exc.Unsupported,
            dynamo_exc.BackendCompilerFailed,
            dynamo_exc.RecompileError,
            dynamo_exc.FailOnRecompileLimitHit,
            dynamo_exc.TorchRuntimeError,
        )
        if self.name != "compiled" or not isinstance(error, kinds):
            return error
        text = str(error).strip()
        first = text.splitlines()[0] if text else ""
        when = "while measuring" if self._measuring else "in warm-up"
        return PointFailed(
            f"backend=compiled: torch.compile failed {when} instead of falling back to eager "
            f"({type(error).__name__}: {first[:200]})"
        )

    def begin_measurement(self) -> None:
        import torch

        self._measuring = True
        if self.name == "compiled":
            self.compiles_warmup = _dynamo_graphs()
            self._graphs_at_start = self.compiles_warmup
            torch._dynamo.config.error_on_recompile = True

    def end_measurement(self) -> None:
        import torch

        self._measuring = False
        if self.name != "compiled":
            return
        torch._dynamo.config.error_on_recompile = False
        self.compiles_measured = _dynamo_graphs() - self._graphs_at_start
        if self.compiles_measured:
            raise PointFailed(
                f"backend=compiled: {self.compiles_measured} graph(s) compiled while measuring; "
                "the measured time would include compilation"
            )

    def execution(self) -> Execution:
        notes = list(self.notes)
        if self.name == "compiled" and self.device == "cuda":
            skips = _cudagraph_skips()
            if skips:
                notes.append(f"Inductor skipped CUDA graphs {skips} time(s)")
        if self.name == "graph" and self.device != "cuda":
            notes.append("no CUDA: the decode loop ran uncaptured")
        if self.eos_check_every != self.backend.eos_check_every:
            notes.append(
                f"on a CPU the host checks EOS at every step (backend.eos_check_every = "
                f"{self.backend.eos_check_every} applies on a GPU), so no step is wasted"
            )
        return Execution(
            timing=_timing(self.device),  # type: ignore[arg-type]
            prompt_padding="bucket",
            pad_multiple=self.backend.pad_multiple,
            padded_prompt_lengths=sorted(self.buckets_used),
            max_cache_len=self.decoder.max_cache_len,
            compile_mode=self.backend.compile_mode if self.name == "compiled" else None,
            compiles_warmup=self.compiles_warmup,
            compiles_measured=self.compiles_measured,
            cuda_graph=self.decoder.captured,
            eos_check_every=self.eos_check_every,
            notes=notes,
        )


def make_backend(
    loaded: Any,
    task: TaskConfig,
    backend: BackendConfig,
    *,
    max_prompt_tokens: int,
    batch_size: int,
    sample_texts: list[str],
    seed: int = 0,
) -> Backend:
    """The backend `backend.name` names, for one point (a `LoadedModel` as `loaded`).

    Dynamo is reset first, for every backend: nothing compiled for an earlier point of the same
    process (a sweep) is reused, so compile time and kernels never depend on the sweep order.
    """
    reset_dynamo()
    if backend.name == "eager":
        return EagerBackend(loaded.model, loaded.tokenizer, loaded.device, task, max_prompt_tokens)
    return StaticBackend(
        loaded.model,
        loaded.tokenizer,
        loaded.device,
        task,
        backend,
        max_prompt_tokens,
        batch_size,
        sample_texts,
        seed,
    )
