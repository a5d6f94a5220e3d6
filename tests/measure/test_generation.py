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
