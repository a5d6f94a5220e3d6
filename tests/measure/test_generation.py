"""Response length, time per output token, and greedy determinism of batched generation."""

from __future__ import annotations

import pytest

from runner.measure.generation import RequestTiming, response_length


def test_response_length_counts_up_to_first_eos() -> None:
    assert response_length([5, 6, 2, 0, 0], eos_ids={2}, pad_id=0) == 3
    assert response_length([5, 6, 7], eos_ids={2}, pad_id=0) == 3
    assert response_length([2, 2, 2], eos_ids={2}, pad_id=2) == 1
    assert response_length([5, 0, 0], eos_ids={2}, pad_id=0) == 1


def test_tpot_excludes_the_first_token() -> None:
    timing = RequestTiming(prompt_tokens=3, response_tokens=5, ttft_s=0.2, latency_s=1.0, text="")
    assert timing.tpot_s == pytest.approx(0.2)
    one = RequestTiming(prompt_tokens=3, response_tokens=1, ttft_s=0.2, latency_s=0.2, text="")
    assert one.tpot_s is None


def test_greedy_generation_is_repeatable_and_batch_independent() -> None:
    from runner.compose import compose_run_config, hydra_context
    from runner.measure.generation import generate_batch
    from runner.workload.models import load_model

    with hydra_context():
        config = compose_run_config(["experiment=demo", "task.max_new_tokens=12"])
    loaded = load_model(config.model, "cpu")
    texts = ["What is the capital of France?", "Tell me a joke about cats, please."]
    batched = generate_batch(loaded.model, loaded.tokenizer, "cpu", config.task, texts, 512)
    again = generate_batch(loaded.model, loaded.tokenizer, "cpu", config.task, texts, 512)
    single = generate_batch(loaded.model, loaded.tokenizer, "cpu", config.task, texts[:1], 512)
    assert [r.text for r in batched.requests] == [r.text for r in again.requests]
    assert batched.requests[0].text == single.requests[0].text
    for request in batched.requests:
        assert 0 < request.ttft_s <= request.latency_s <= batched.batch_time_s
        assert 1 <= request.response_tokens <= 12


def test_fixed_output_length_generates_exactly_max_new_tokens() -> None:
    from runner.compose import compose_run_config, hydra_context
    from runner.measure.generation import generate_batch
    from runner.workload.models import load_model

    with hydra_context():
        config = compose_run_config(
            ["experiment=demo", "task.max_new_tokens=9", "task.sampling.fixed_output_length=true"]
        )
    loaded = load_model(config.model, "cpu")
    result = generate_batch(loaded.model, loaded.tokenizer, "cpu", config.task, ["a", "b c"], 512)
    assert [r.response_tokens for r in result.requests] == [9, 9]


def test_step_clock_on_cpu_reads_perf_counter() -> None:
    import time

    from runner.measure.generation import StepClock

    clock = StepClock("cpu")
    assert clock.timing == "perf-counter"
    clock.start()
    for _ in range(3):
        time.sleep(0.002)
        clock.mark()
    offsets = clock.offsets_s()
    assert len(offsets) == clock.steps == 3
    assert 0 < offsets[0] < offsets[1] < offsets[2] < 1


class FakeCudaEvent:
    """Stands in for torch.cuda.Event: `record()` notes a fake GPU time, 2 ms per record."""

    clock_ms = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing
        self.at: float | None = None

    def record(self) -> None:
        FakeCudaEvent.clock_ms += 2.0
        self.at = FakeCudaEvent.clock_ms

    def elapsed_time(self, other: FakeCudaEvent) -> float:
        assert self.at is not None and other.at is not None, "read before both were recorded"
        return other.at - self.at


def test_step_clock_on_cuda_records_events_and_never_synchronizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CUDA path queues one event per step and reads them after generation: no sync."""
    import torch

    from runner.measure.generation import StepClock

    syncs: list[int] = []
    monkeypatch.setattr(torch.cuda, "Event", FakeCudaEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: syncs.append(1))
    FakeCudaEvent.clock_ms = 0.0
    clock = StepClock("cuda", capacity=2)  # fewer than the steps: more are made as needed
    assert clock.timing == "cuda-events"
    clock.start()
    for _ in range(4):
        clock(None, "scores")  # as a logits processor
    assert syncs == []
    assert clock.offsets_s() == pytest.approx([0.002, 0.004, 0.006, 0.008])
    # the old behaviour, kept for the overhead benchmark: one synchronize per step
    legacy = StepClock("cuda", sync_each_step=True)
    assert legacy.timing == "perf-counter"
    legacy.start()
    legacy.mark()
    legacy.mark()
    assert len(syncs) == 2
