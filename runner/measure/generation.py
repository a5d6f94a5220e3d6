"""Batched generation with per-step timestamps (the `eager` backend: transformers `generate`).

TTFT and per-request latency come from a step clock marked each time the model has produced the
logits of the next token (a logits processor for `generate`). Token `k` of the batch is complete
at mark `k`; a request that stops after `n` tokens finished at mark `n - 1`.

The clock itself never synchronizes the device: on CUDA each mark records a CUDA event on the
stream, and the events' times are read once, after generation has finished and the device was
synchronized. On CPU a mark is `time.perf_counter()`. (transformers `generate` itself
synchronizes at every step: its stopping criteria read on the host whether every sequence has
finished. So the eager backend waits for the device once per step; the static backends do not.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runner.config import TaskConfig


@dataclass(frozen=True)
class RequestTiming:
    """One request of a batch.

    Attributes:
        prompt_tokens: tokens in the templated prompt (without padding).
        response_tokens: tokens generated up to and including the first EOS.
        ttft_s: batch start to the first token, in seconds.
        latency_s: batch start to the request's last token, in seconds.
        text: the decoded response.
    """

    prompt_tokens: int
    response_tokens: int
    ttft_s: float
    latency_s: float
    text: str

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first, in seconds (None for one-token responses)."""
        if self.response_tokens < 2:
            return None
        return (self.latency_s - self.ttft_s) / (self.response_tokens - 1)


@dataclass(frozen=True)
class BatchResult:
    """One generate call: its wall time (seconds) and its requests.

    Attributes:
        decode_steps: static backends: decode steps run after the prefill (None for eager).
        wasted_steps: static backends: of those, steps run after every row had ended (the host
            checks EOS only every few steps); their tokens are not counted (None for eager).
    """

    batch_time_s: float
    requests: list[RequestTiming]
    decode_steps: int | None = None
    wasted_steps: int | None = None

    @property
    def output_tokens(self) -> int:
        """Generated tokens summed over the batch."""
        return sum(request.response_tokens for request in self.requests)


class StepClock:
    """Per-step timestamps: CUDA events on a GPU (read after generation), perf_counter on CPU.

    Use: `start()` right after synchronizing the device, `mark()` (or call it as a logits
    processor) after each step, then, after the final synchronize, `offsets_s()`.

    Args:
        device: `cuda` or `cpu`.
        sync_each_step: synchronize the device and read the host clock at every mark (the old
            behaviour, kept only so `benchmarks/runner_overhead.py` can compare the two).
        capacity: events to create up front on CUDA (more are made as needed).
    """

    def __init__(self, device: str, *, sync_each_step: bool = False, capacity: int = 0) -> None:
        import torch

        self._torch = torch
        self._events = device == "cuda" and not sync_each_step
        self._sync = torch.cuda.synchronize if device == "cuda" and sync_each_step else None
        self.timing = "cuda-events" if self._events else "perf-counter"
        self._pool: list[Any] = (
            [torch.cuda.Event(enable_timing=True) for _ in range(capacity + 1)]
            if self._events
            else []
        )
        self._start_event: Any = None
        self._marks: list[Any] = []
        self._started = 0.0

    def _event(self) -> Any:
        index = len(self._marks) + 1
        if index < len(self._pool):
            return self._pool[index]
        return self._torch.cuda.Event(enable_timing=True)

    def start(self) -> None:
        """The origin of every offset (call right after synchronizing the device)."""
        self._marks = []
        self._started = time.perf_counter()
        if self._events:
            self._start_event = self._pool[0] if self._pool else self._event()
            self._start_event.record()

    def mark(self) -> None:
        """One step done (no host synchronization on the CUDA-events path)."""
        if self._events:
            event = self._event()
            event.record()
            self._marks.append(event)
            return
        if self._sync is not None:
            self._sync()
        self._marks.append(time.perf_counter())

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.mark()
        return scores

    @property
    def steps(self) -> int:
        """Marks so far."""
        return len(self._marks)

    def offsets_s(self) -> list[float]:
        """Seconds from `start()` to each mark; read only after the device has synchronized."""
        if self._events:
            return [self._start_event.elapsed_time(event) / 1e3 for event in self._marks]
        return [mark - self._started for mark in self._marks]


def request_timings(
    tokenizer: Any,
    new_tokens: list[list[int]],
    prompt_lengths: list[int],
    offsets: list[float],
    batch_time_s: float,
    eos_ids: set[int],
) -> list[RequestTiming]:
    """Per-request timing from the generated token rows and the step clock's offsets (s)."""
    offsets = offsets or [batch_time_s]
    requests = []
    for row, prompt_length in zip(new_tokens, prompt_lengths, strict=True):
        length = response_length(row, eos_ids, tokenizer.pad_token_id)
        last = offsets[min(length, len(offsets)) - 1] if length else offsets[0]
        requests.append(
            RequestTiming(
                prompt_tokens=int(prompt_length),
                response_tokens=length,
                ttft_s=offsets[0],
                latency_s=last,
                text=tokenizer.decode(row[:length], skip_special_tokens=True),
            )
        )
    return requests


def render_prompts(tokenizer: Any, system_prompt: str, texts: list[str]) -> list[str]:
    """Apply the chat template with the task's system prompt to each user message.

    Templates that refuse a system role get the system prompt prepended to the user message.
    """
    rendered = []
    for text in texts:
        messages = [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": text},
        ]
        try:
            rendered.append(
                tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            )
        except Exception as error:  # template-specific exceptions (jinja2 TemplateError)
            if "system" not in str(error).lower():
                raise
            merged = [{"role": "user", "content": f"{system_prompt}\n\n{text}"}]
            rendered.append(
                tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
            )
    return rendered


def generation_kwargs(task: TaskConfig, tokenizer: Any) -> dict[str, Any]:
    """`generate` keyword arguments for the task's decoding settings."""
    sampling = task.sampling
    kwargs: dict[str, Any] = {
        "max_new_tokens": task.max_new_tokens,
        "do_sample": sampling.do_sample,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if sampling.do_sample:
        kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if sampling.fixed_output_length:
        kwargs["min_new_tokens"] = task.max_new_tokens
    return kwargs


def generate_batch(
    model: Any,
    tokenizer: Any,
    device: str,
    task: TaskConfig,
    texts: list[str],
    max_prompt_tokens: int,
) -> BatchResult:
    """Generate one batch of user messages with `generate` (prompts left-padded to the batch's
    longest) and time every request."""
    import torch

    rendered = render_prompts(tokenizer, task.system_prompt, texts)
    inputs = tokenizer(
        rendered,
        return_tensors="pt",
        padding=True,
        truncation=True,
        max_length=max_prompt_tokens,
        add_special_tokens=False,
    ).to(device)
    prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
    clock = StepClock(device, capacity=task.max_new_tokens)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    clock.start()
    with torch.inference_mode():
        output = model.generate(
            **inputs, logits_processor=[clock], **generation_kwargs(task, tokenizer)
        )
    if device == "cuda":
        torch.cuda.synchronize()
    ended = time.perf_counter()
    new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
    requests = request_timings(
        tokenizer,
        new_tokens,
        prompt_lengths,
        clock.offsets_s(),
        ended - started,
        eos_ids_of(model, tokenizer),
    )
    return BatchResult(batch_time_s=ended - started, requests=requests)


def eos_ids_of(model: Any, tokenizer: Any) -> set[int]:
    """EOS token ids: the model's generation config, else the tokenizer's."""
    configured = getattr(model.generation_config, "eos_token_id", None)
    if configured is None:
        configured = tokenizer.eos_token_id
    if configured is None:
        return set()
    return set(configured) if isinstance(configured, list) else {int(configured)}


def response_length(tokens: list[int], eos_ids: set[int], pad_id: int | None) -> int:
    """Generated tokens up to and including the first EOS; trailing padding excluded."""
    for index, token in enumerate(tokens):
        if token in eos_ids:
            return index + 1
    length = len(tokens)
    if pad_id is not None and pad_id not in eos_ids:
        while length and tokens[length - 1] == pad_id:
            length -= 1
    return length
