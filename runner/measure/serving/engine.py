"""The serving engine: transformers' continuous batching behind the `Engine` protocol."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from runner.config import RunConfig
from runner.errors import PointFailed
from runner.measure.serving.outcomes import EngineResult
from runner.workload.models import LoadedModel

CPU_MAX_BATCH_TOKENS = 2048


class TransformersEngine:
    """`Engine` over transformers' `ContinuousBatchingManager`. Its times are
    `time.perf_counter()` seconds (`clock`), as transformers stamps them.

    Uses only `model.init_continuous_batching(generation_config, continuous_batching_config,
    workload_hints)`, `manager.warmup()`, `start()`, `add_request(ids, request_id=...,
    max_new_tokens=..., record_timestamps=True[, eos_token_id=-1])`, `get_result(timeout=...)`,
    `cancel_request(id)`, `is_running()` and `stop(...)`, and the result fields
    `generated_tokens`, `status`, `error`, `lifespan` and `timestamps`. At cancel it reads the
    request's state from `manager.batch_processor.scheduler` (`active_requests` /
    `waiting_requests`: `generated_tokens`, `timestamps`, `lifespan`), so the tokens of a
    cancelled request are kept. Run with the pinned
    5.23.0; read (not run) against an earlier 5.x snapshot, which differs in what is handled
    here: `stop` has no `hard_stop`, there is no `background_thread_status`, `WorkloadHints` sits
    in `continuous_batching.utils`, and before 5.17 `page_size` was `block_size`.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        config: RunConfig,
        max_prompt_tokens: int,
    ) -> None:
        import torch
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        hints_class = _workload_hints_class()

        task, scenario = config.task, config.scenario
        tokenizer = loaded.tokenizer
        sampling = task.sampling
        kwargs: dict[str, Any] = {
            "max_new_tokens": task.max_new_tokens,
            "do_sample": sampling.do_sample,
            "eos_token_id": _eos_id(loaded),
            "pad_token_id": tokenizer.pad_token_id,
        }
        if sampling.do_sample:
            kwargs.update(
                temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k
            )
        self._eos = -1 if sampling.fixed_output_length else None
        self._max_new_tokens = task.max_new_tokens
        on_cpu = loaded.device == "cpu"
        max_batch_tokens = scenario.max_batch_tokens
        num_blocks = scenario.num_blocks
        if on_cpu:
            # transformers sizes the cache from "free memory", which on a CPU is the host's RAM.
            max_batch_tokens = max_batch_tokens or CPU_MAX_BATCH_TOKENS
            if num_blocks is None:
                per_request = max_prompt_tokens + task.max_new_tokens
                blocks = math.ceil(per_request / scenario.page_size) + 1
                num_blocks = blocks * scenario.max_batch_requests
        cb_config = ContinuousBatchingConfig(
            **_supported_kwargs(
                ContinuousBatchingConfig,
                page_size=scenario.page_size,
                num_blocks=num_blocks,
                max_batch_tokens=max_batch_tokens,
                max_requests_per_batch=scenario.max_batch_requests,
                seed=config.seed,
            )
        )
        hints = None
        if hints_class is not None:
            hints = hints_class(
                max_prompt_length=max_prompt_tokens,
                max_generated_length=task.max_new_tokens,
                num_requests=scenario.max_batch_requests,
            )
        started = time.perf_counter()
        try:
            self.manager = loaded.model.init_continuous_batching(
                generation_config=GenerationConfig(**kwargs),
                continuous_batching_config=cb_config,
                workload_hints=hints,
            )
            self.manager.warmup()
            self.manager.start()
        except torch.OutOfMemoryError:
            raise PointFailed(
                f"out of memory starting continuous batching: model={config.model.name} "
                f"scenario.max_batch_requests={scenario.max_batch_requests} on {loaded.device}"
            ) from None
        self.warmup_time_s = time.perf_counter() - started
        resolved = self.manager.continuous_batching_config
        self.info = {
            "attn_implementation": str(loaded.model.config._attn_implementation),
            "max_batch_requests": int(resolved.max_requests_per_batch or 0)
            or scenario.max_batch_requests,
            "max_batch_tokens": resolved.max_batch_tokens,
            "num_blocks": resolved.num_blocks,
            "page_size": int(
                getattr(resolved, "page_size", None)
                or getattr(resolved, "block_size", None)
                or scenario.page_size
            ),
        }
        self._lock = threading.Lock()
        self.clock = time.perf_counter

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        """Queue one request with per-token timestamps."""
        kwargs: dict[str, Any] = {}
        if self._eos is not None:
            kwargs["eos_token_id"] = self._eos
        self.manager.add_request(
            input_ids,
            request_id=request_id,
            max_new_tokens=self._max_new_tokens,
            record_timestamps=True,
            **kwargs,
        )

    def poll(self, timeout_s: float) -> EngineResult | None:
        """The next terminal result (streamed partial results are not asked for)."""
        from transformers.generation.continuous_batching.requests import RequestStatus

        output = self.manager.get_result(timeout=max(0.0, timeout_s))
        if output is None or not output.is_finished():
            return None
        failed = output.error is not None or output.status != RequestStatus.FINISHED
        started = output.lifespan[0] if output.lifespan and output.lifespan[0] > 0 else None
        return EngineResult(
            request_id=output.request_id,
            finished=not failed,
            started=started,
            token_times=list(output.timestamps or []),
            tokens=list(output.generated_tokens),
            error=output.error,
        )

    def cancel(self, request_id: str) -> EngineResult | None:
        """Drop a queued or running request; return the tokens it had generated (and their
        times), read from the scheduler's request state just before cancelling. None when the
        scheduler does not hold the request (still in the input queue, or already done).

        Callers that ignore the return value (the earlier `-> None` form) keep working.
        """
        state = self._request_state(request_id)
        partial = None
        if state is not None:
            tokens = list(state.generated_tokens)
            times = list(getattr(state, "timestamps", None) or [])
            count = min(len(tokens), len(times))  # the thread may be between the two appends
            lifespan = getattr(state, "lifespan", None) or (-1, -1)
            partial = EngineResult(
                request_id=request_id,
                finished=False,
                started=lifespan[0] if lifespan[0] > 0 else None,
                token_times=times[:count],
                tokens=tokens[:count],
            )
        self.manager.cancel_request(request_id)
        return partial

    def _request_state(self, request_id: str) -> Any:
        """The scheduler's `RequestState` of a queued or running request, or None (read
        without locking: list copies are atomic under the GIL)."""
        processor = getattr(self.manager, "batch_processor", None)
        scheduler = getattr(processor, "scheduler", None)
        if scheduler is None:
            return None
        for holder in ("active_requests", "waiting_requests"):
            state = getattr(scheduler, holder, {}).get(request_id)
            if state is not None:
                return state
        return None

    def alive(self) -> str | None:
        """None while the generation thread runs; else its error."""
        if self.manager.is_running():
            return None
        status = getattr(self.manager, "background_thread_status", None)  # 5.23; absent earlier
        error = getattr(status, "fatal_error", None)
        return str(error) if error is not None else "the generation thread exited"

    def close(self) -> None:
        """Stop the generation thread (pending requests are dropped) and free the cache."""
        try:
            self.manager.stop(block=True, timeout=30, hard_stop=True)
        except TypeError:  # releases without hard_stop
            self.manager.stop(block=True, timeout=30)


def _workload_hints_class() -> Any:
    """transformers' `WorkloadHints` (exported in 5.23, in `continuous_batching.utils` in earlier
    5.x snapshots), or None where it does not exist."""
    try:
        from transformers.generation.continuous_batching import WorkloadHints

        return WorkloadHints
    except ImportError:
        pass
    try:
        from transformers.generation.continuous_batching.utils import WorkloadHints

        return WorkloadHints
    except ImportError:
        return None


def _supported_kwargs(cls: Any, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments `cls` accepts. `page_size` was `block_size` before transformers 5.17;
    an argument a release does not know (e.g. `seed`) is left to its default."""
    import inspect

    params = inspect.signature(cls).parameters
    if "page_size" not in params and "block_size" in params:
        kwargs["block_size"] = kwargs.pop("page_size")
    return {key: value for key, value in kwargs.items() if key in params}


def _eos_id(loaded: LoadedModel) -> Any:
    configured = getattr(loaded.model.generation_config, "eos_token_id", None)
    return configured if configured is not None else loaded.tokenizer.eos_token_id
