"""A static-cache decode loop: the engine of `backend=compiled` and `backend=graph`.

One `StaticDecoder` serves one (model, batch size, cache length) for a whole benchmark point:
its KV cache (transformers `StaticCache`) and every input of a decode step live in buffers
allocated once, so a decode step always sees the same shapes and the same addresses. A batch is

1. a **prefill**: the left-padded prompts (padded to a bucket, a multiple of `pad_multiple`
   tokens) through the model in one call, which fills the cache and gives the first token;
2. **decode steps**, each one function with no host synchronization: build the additive
   attention mask from the cache-slot mask, forward one token per sequence, pick the next token
   (greedy, or sampled with temperature / top-k / top-p by the exponential-race trick), write it
   to the output buffer, and advance positions and slots, all in place.

How the step runs is the backend:

- `eager`: called as Python (used by tests, and what `graph` runs on a CPU);
- `compiled`: `torch.compile(step, fullgraph=True, dynamic=False)`, compiled once per point;
  a graph break, a recompile while measuring, or Dynamo giving up (recompile limit) is an error,
  never a silent fallback to eager;
- `graph`: on CUDA the step is captured once into a CUDA graph and replayed; on a CPU the same
  loop runs uncaptured.

The host looks at the tokens only every `eos_check_every` steps, to stop once every sequence has
produced an EOS (never with a fixed output length). Steps run after the last row ended and
before the next check are *wasted steps*: counted in `DecodeOutput.wasted_steps` (and in the
record), their tokens never counted as output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from runner.config import SamplingConfig

StepMode = Literal["eager", "compiled", "graph"]


def bucket_length(tokens: int, multiple: int) -> int:
    """`tokens` rounded up to a multiple of `multiple` (at least one multiple)."""
    return max(multiple, -(-tokens // multiple) * multiple)


@dataclass
class DecodeOutput:
    """One batch's output.

    Attributes:
        tokens: generated token ids per row (`max_new_tokens` or fewer columns; rows that ended
            are padded with the pad id after their EOS).
        steps: decode steps run after the prefill (the prefill gives the first token).
        wasted_steps: of those, the steps run after every row had ended (before the host's
            next EOS check); 0 when some row ran to the last step.
    """

    tokens: list[list[int]]
    steps: int
    wasted_steps: int = 0


class StaticDecoder:
    """Prefill + decode steps over a static KV cache, for one batch size and cache length.

    Args:
        model: a transformers causal LM (eval mode, on `device`).
        batch_size: rows per batch (fixed).
        max_cache_len: static cache length: the longest padded prompt + `max_new_tokens`.
        max_new_tokens: tokens generated per row (at most).
        device: `cuda` or `cpu`.
        mode: how a decode step runs (see the module docstring).
        eos_ids: token ids that end a sequence.
        pad_id: written after a row's EOS.
        sampling: greedy or sampled decoding, as in the task config.
        eos_check_every: the host checks for EOS every this many steps.
        compile_mode: `torch.compile` mode for `mode="compiled"`.
        seed: seeds sampling.
    """

    def __init__(
        self,
        model: Any,
        *,
        batch_size: int,
        max_cache_len: int,
        max_new_tokens: int,
        device: str,
        mode: StepMode,
        eos_ids: set[int],
        pad_id: int,
        sampling: SamplingConfig,
        eos_check_every: int = 16,
        compile_mode: str = "default",
        seed: int = 0,
    ) -> None:
        import torch
        from transformers import StaticCache

        self.torch = torch
        self.model = model
        self.batch_size = batch_size
        self.max_cache_len = max_cache_len
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.mode = mode
        self.sampling = sampling
        self.eos_check_every = eos_check_every
        self.pad_id = pad_id
        dtype = next(model.parameters()).dtype
        self.dtype = dtype
        self.cache = StaticCache(config=model.config, max_cache_len=max_cache_len)
        long = {"dtype": torch.long, "device": device}
        self.token = torch.zeros((batch_size, 1), **long)
        self.position = torch.zeros((batch_size, 1), **long)
        self.slot = torch.zeros((1,), **long)  # cache slot of the token being fed
        self.step_index = torch.zeros((1,), **long)  # output column of the token being made
        self.slot_mask = torch.zeros((batch_size, max_cache_len), dtype=dtype, device=device)
        self.unfinished = torch.ones((batch_size,), dtype=torch.bool, device=device)
        self.live_steps = torch.zeros((1,), **long)  # decode steps run while a row was unfinished
        self.out = torch.full((batch_size, max_new_tokens), pad_id, **long)
        self.has_eos = bool(eos_ids)
        self.eos = torch.tensor(sorted(eos_ids) or [-1], **long)
        self.pad = torch.tensor(pad_id, **long)
        if sampling.do_sample:
            torch.manual_seed(seed)  # the default generator: CUDA graphs track its state
        for buffer in (self.token, self.position, self.slot, self.step_index, self.slot_mask):
            torch._dynamo.mark_static_address(buffer)
        for buffer in (self.unfinished, self.out, self.eos, self.live_steps):
            torch._dynamo.mark_static_address(buffer)
        self._run_step: Callable[[], None] = self._step
        self.graph: Any = None
        if mode == "compiled":
            self._run_step = torch.compile(
                self._step, fullgraph=True, dynamic=False, mode=compile_mode
            )
        self.captured = False

    # -- token choice ------------------------------------------------------------------------

    def _choose(self, logits: Any) -> Any:
        """Next token per row from last-position logits (B, V): greedy or sampled."""
        torch = self.torch
        logits = logits.float()
        if self.sampling.fixed_output_length and self.has_eos:
            # As generate's min_new_tokens: EOS cannot be chosen before max_new_tokens.
            logits = logits.index_fill(1, self.eos, float("-inf"))
        if not self.sampling.do_sample:
            return logits.argmax(dim=-1)
        logits = logits / self.sampling.temperature
        if self.sampling.top_k > 0:
            k = min(self.sampling.top_k, logits.shape[-1])
            kth = torch.topk(logits, k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.sampling.top_p < 1.0:
            # As transformers' TopPLogitsWarper: drop the low tail whose mass is <= 1 - top_p.
            ordered, order = torch.sort(logits, descending=False, dim=-1)
            tail = ordered.softmax(dim=-1).cumsum(dim=-1) <= (1 - self.sampling.top_p)
            tail[:, -1] = False
            logits = logits.masked_fill(tail.scatter(1, order, tail), float("-inf"))
        probs = logits.softmax(dim=-1)
        # Exponential race: argmax(p / E), E ~ Exp(1), draws from p without a host sync.
        race = torch.empty_like(probs).exponential_()
        return (probs / race).argmax(dim=-1)

    def _accept(self, chosen: Any) -> None:
        """Write the chosen tokens (pad after EOS) and mark rows that just ended."""
        chosen = self.torch.where(self.unfinished, chosen, self.pad)
        self.out.index_copy_(1, self.step_index, chosen[:, None])
        ended = (chosen[:, None] == self.eos[None, :]).any(dim=-1)
        self.unfinished.logical_and_(~ended)
        self.token.copy_(chosen[:, None])

    # -- the two phases ----------------------------------------------------------------------

    def _step(self) -> None:
        """One decode step, entirely on the device and in place (no host synchronization)."""
        self.live_steps.add_(self.unfinished.any().long())
        self.slot_mask.index_fill_(1, self.slot, 1.0)
        mask = ((1.0 - self.slot_mask) * self.torch.finfo(self.dtype).min)[:, None, None, :]
        logits = self.model(
            input_ids=self.token,
            attention_mask=mask,
            position_ids=self.position,
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1, :]
        self._accept(self._choose(logits))
        self.slot.add_(1)
        self.step_index.add_(1)
        self.position.add_(1)

    def prefill(self, input_ids: Any, attention_mask: Any) -> None:
        """Reset the state, run the left-padded prompts (B, P) and choose the first token."""
        torch = self.torch
        batch, length = input_ids.shape
        if batch != self.batch_size or length + self.max_new_tokens > self.max_cache_len:
            raise ValueError(
                f"prefill of shape {tuple(input_ids.shape)} does not fit the decoder "
                f"(batch {self.batch_size}, cache {self.max_cache_len})"
            )
        self.cache.reset()
        self.out.fill_(self.pad_id)
        self.unfinished.fill_(True)
        self.live_steps.zero_()
        self.step_index.zero_()
        self.slot_mask.zero_()
        self.slot_mask[:, :length] = attention_mask.to(self.dtype)
        keep = attention_mask.bool()
        causal = torch.ones((length, self.max_cache_len), dtype=torch.bool, device=self.device)
        causal = causal.tril()
        allowed = causal[None, None, :, :].expand(batch, 1, length, self.max_cache_len).clone()
        allowed[:, :, :, :length] &= keep[:, None, None, :]
        allowed[:, :, :, length:] = False
        mask = torch.zeros(allowed.shape, dtype=self.dtype, device=self.device)
        mask.masked_fill_(~allowed, torch.finfo(self.dtype).min)
        positions = attention_mask.long().cumsum(-1) - 1
        positions.masked_fill_(attention_mask == 0, 1)
        logits = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1, :]
        self._accept(self._choose(logits))
        self.slot.fill_(length)
        self.step_index.fill_(1)
        self.position.copy_(attention_mask.long().sum(dim=-1, keepdim=True))

    def _capture(self, input_ids: Any, attention_mask: Any) -> None:
        """Capture one decode step into a CUDA graph (after warm-up steps on a side stream)."""
        torch = self.torch
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._step()
        torch.cuda.current_stream().wait_stream(stream)
        self.prefill(input_ids, attention_mask)  # the warm-up steps moved the state on
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        self.graph = graph
        self._run_step = graph.replay
        self.captured = True

    def decode(self, input_ids: Any, attention_mask: Any, mark: Callable[[], None]) -> DecodeOutput:
        """Generate up to `max_new_tokens` per row; `mark()` is called after every token.

        Args:
            input_ids: (B, P) left-padded prompt ids on the device.
            attention_mask: (B, P) 1 for prompt tokens, 0 for padding.
            mark: the step clock (called once after the prefill and once per decode step).
        """
        torch = self.torch
        with torch.no_grad():
            if self.mode == "graph" and self.device == "cuda" and not self.captured:
                self.prefill(input_ids, attention_mask)
                self._capture(input_ids, attention_mask)
            self.prefill(input_ids, attention_mask)
            mark()
            steps = 0
            stop_at_eos = not self.sampling.fixed_output_length
            while steps < self.max_new_tokens - 1:
                # The only host synchronization of the loop, every `eos_check_every` steps
                # (the first right after the prefill, so a batch that ended there runs no step):
                if (
                    stop_at_eos
                    and steps % self.eos_check_every == 0
                    and not bool(self.unfinished.any())
                ):
                    break
                self._run_step()
                steps += 1
                mark()
            live = int(self.live_steps.item())
        tokens = self.out[:, : steps + 1].tolist()
        return DecodeOutput(tokens=tokens, steps=steps, wasted_steps=steps - live)
