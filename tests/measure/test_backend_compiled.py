"""Static backends (`compiled`, `graph`): same greedy tokens as `eager`, one compile per point,
compiles counted, no silent fallback to eager, prompts padded to buckets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.cli import main
from runner.compose import compose_run_config, hydra_context
from runner.errors import ConfigError, PointFailed
from runner.records.load import scan_results

COMMON = [
    "experiment=demo",
    "task=instruct",
    "num_prompts=4",
    "batch_size=2",
    "repeats=1",
    "min_window_s=0",
    "task.max_new_tokens=12",
    "idle_seconds=0",
    "calibrate=false",
    "backend.device=cpu",
]


def test_static_backends_need_full_batches_and_a_warmup() -> None:
    with hydra_context():
        for backend in ("compiled", "graph"):
            with pytest.raises(ConfigError, match="num_prompts: expected a multiple of batch_size"):
                compose_run_config([f"backend={backend}", "batch_size=4", "num_prompts=6"])
            with pytest.raises(ConfigError, match="warmup_batches: expected at least 1"):
                compose_run_config([f"backend={backend}", "warmup_batches=0"])
        config = compose_run_config(["backend=compiled", "batch_size=4", "num_prompts=8"])
        with pytest.raises(ConfigError, match="backend.pad_multiple: expected an integer"):
            compose_run_config(["backend=graph", "backend.pad_multiple=0"])
    assert config.backend.name == "compiled"
    assert config.backend.compile_mode == "default"
    assert config.backend.pad_multiple == 64 and config.backend.eos_check_every == 16


def run_backends(tmp_path: Path, backends: tuple[str, ...], extra: tuple[str, ...] = ()) -> dict:
    for backend in backends:
        code = main(
            [
                "run",
                "--no-progress",
                *COMMON,
                *extra,
                f"backend={backend}",
                f"results_dir={tmp_path}",
            ]
        )
        assert code == 0
    return {r.identity.backend: (p, r) for p, r in scan_results(tmp_path).records}


def responses(records: dict, backend: str) -> dict[str, tuple[int, str]]:
    path, record = records[backend]
    rows = [json.loads(line) for line in (path.parent / record.raw_data.file).open()]
    return {row["prompt_id"]: (row["response_tokens"], row["response_text"]) for row in rows}


def test_graph_backend_matches_eager_greedy_tokens_on_cpu(tmp_path: Path) -> None:
    """float32, greedy: the static loop (uncaptured on CPU) gives eager's responses."""
    records = run_backends(tmp_path, ("eager", "graph"))
    assert responses(records, "graph") == responses(records, "eager")
    graph = records["graph"][1]
    execution = graph.execution
    assert execution.timing == "perf-counter" and execution.prompt_padding == "bucket"
    assert execution.cuda_graph is False and execution.compiles_warmup is None
    assert "no CUDA: the decode loop ran uncaptured" in execution.notes
    assert execution.padded_prompt_lengths and all(
        length % 64 == 0 for length in execution.padded_prompt_lengths
    )
    assert execution.max_cache_len == max(execution.padded_prompt_lengths) + 12
    assert graph.summary.compile_time_s is not None
    eager = records["eager"][1].execution
    assert eager.prompt_padding == "batch-longest" and eager.timing == "perf-counter"


@pytest.mark.slow
def test_compiled_backend_matches_eager_and_compiles_once(tmp_path: Path) -> None:
    """Real Inductor on CPU: one compile in warm-up, none while measuring, same tokens."""
    records = run_backends(tmp_path, ("eager", "compiled"))
    assert responses(records, "compiled") == responses(records, "eager")
    compiled = records["compiled"][1]
    assert compiled.execution.compile_mode == "default"
    assert compiled.execution.compiles_warmup == 1
    assert compiled.execution.compiles_measured == 0
    assert compiled.summary.compile_time_s is not None
    assert 0 < compiled.summary.compile_time_s <= compiled.summary.warmup_time_s
    assert records["eager"][1].summary.compile_time_s is None
    assert compiled.task.prompt_ids == records["eager"][1].task.prompt_ids


# --- the compiled backend's guards, with Dynamo's `eager` backend (tracing only, fast) ------


@pytest.fixture
def dynamo_tracing_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile with Dynamo's `eager` backend: the same guards, no Inductor compile."""
    import torch

    original = torch.compile

    def compile_for_tests(fn: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("mode", None)
        return original(fn, backend="eager", **kwargs)

    monkeypatch.setattr(torch, "compile", compile_for_tests)


def make_static(name: str, **task_overrides: Any):
    from runner.measure.backends import make_backend
    from runner.workload.models import load_model

    overrides = [f"{k}={v}" for k, v in task_overrides.items()]
    with hydra_context():
        config = compose_run_config(
            [*COMMON, f"backend={name}", "task.max_new_tokens=6", *overrides]
        )
    loaded = load_model(config.model, "cpu")
    texts = ["What is the capital of France?", "Tell me a joke about cats, please."]
    backend = make_backend(  # as run_point makes it (Dynamo reset first)
        loaded,
        config.task,
        config.backend,
        max_prompt_tokens=config.max_prompt_tokens,
        batch_size=2,
        sample_texts=texts,
    )
    return backend, texts


def test_compiled_counts_one_graph_and_refuses_a_recompile_while_measuring(
    dynamo_tracing_only: None,
) -> None:
    backend, texts = make_static("compiled")
    backend.generate(texts)  # warm-up: compiles the decode step once
    backend.generate(texts)  # same shapes: reused
    backend.begin_measurement()
    assert backend.compiles_warmup == 1
    backend.generate(texts)
    # Something the compiled step depends on changes: Dynamo would recompile. While measuring
    # that is an error, not a silent recompile (or a fallback to eager).
    backend.decoder.sampling = type(backend.decoder.sampling)(fixed_output_length=True)
    with pytest.raises(PointFailed, match="torch.compile failed while measuring") as caught:
        backend.generate(texts)
    assert "\n" not in str(caught.value)


def test_a_graph_break_is_an_error_not_a_fallback(
    dynamo_tracing_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    backend, texts = make_static("compiled")
    choose = backend.decoder._choose

    def with_break(logits: Any) -> Any:
        torch._dynamo.graph_break()
        return choose(logits)

    monkeypatch.setattr(backend.decoder, "_choose", with_break)
    with pytest.raises(PointFailed, match="torch.compile failed in warm-up instead of falling"):
        backend.generate(texts)


def test_dynamo_is_reset_between_points(dynamo_tracing_only: None) -> None:
    first, texts = make_static("compiled")
    first.generate(texts)
    first.begin_measurement()
    second, _ = make_static("compiled")  # a new point: Dynamo forgot the first one's graph
    second.generate(texts)
    second.begin_measurement()
    assert first.compiles_warmup == second.compiles_warmup == 1


# --- the loop itself ---------------------------------------------------------------------


def test_prompts_are_padded_to_buckets_per_batch() -> None:
    from runner.measure.static_decode import bucket_length

    assert [bucket_length(n, 64) for n in (1, 64, 65, 200)] == [64, 64, 128, 256]
    backend, texts = make_static("graph", **{"backend.pad_multiple": 16})
    ids, mask, lengths = backend._inputs(texts)
    assert ids.shape[1] == bucket_length(max(lengths), 16) < backend.max_bucket + 16
    assert mask.sum(dim=1).tolist() == lengths
    assert (mask[:, -1] == 1).all()  # left padding


def test_host_checks_eos_only_every_n_steps_and_counts_the_wasted_ones() -> None:
    """Every row ends with its first decoded token; with a GPU's every-8-steps check the loop
    runs 8 steps, and the 7 after the rows ended are counted as wasted."""
    import torch

    backend, texts = make_static(
        "graph", **{"task.max_new_tokens": 40, "backend.eos_check_every": 8}
    )
    decoder = backend.decoder
    decoder.eos_check_every = 8  # what a GPU runs (a CPU checks every step)
    everything = torch.arange(backend.model.config.vocab_size)
    prefill = decoder.prefill

    def prefill_then_end_every_row(ids: torch.Tensor, mask: torch.Tensor) -> None:
        decoder.eos = torch.tensor([-1])  # nothing ends with the prefill's token
        prefill(ids, mask)
        decoder.eos = everything  # every decoded token is an EOS

    decoder.prefill = prefill_then_end_every_row  # type: ignore[method-assign]
    ids, mask, _ = backend._inputs(texts)
    marks: list[int] = []
    output = decoder.decode(ids, mask, lambda: marks.append(1))
    assert output.steps == 8 and len(marks) == 9  # the prefill, then 8 steps
    assert output.wasted_steps == 7  # the rows ended at step 1
    assert [len(row) for row in output.tokens] == [9, 9]
    pad = backend.tokenizer.pad_token_id
    assert all(token == pad for row in output.tokens for token in row[2:])


def test_on_a_cpu_the_loop_stops_at_eos_without_wasted_steps() -> None:
    """On a CPU the host checks EOS before every step: a batch whose rows all ended with the
    prefill's token runs no decode step, and the record says so."""
    import torch

    backend, texts = make_static(
        "graph", **{"task.max_new_tokens": 40, "backend.eos_check_every": 16}
    )
    backend.decoder.eos = torch.arange(backend.model.config.vocab_size)
    result = backend.generate(texts)
    assert [r.response_tokens for r in result.requests] == [1, 1]
    assert result.decode_steps == 0 and result.wasted_steps == 0
    execution = backend.execution()
    assert execution.eos_check_every == 1
    assert any("checks EOS at every step" in note for note in execution.notes)


def test_fixed_length_and_seeded_sampling() -> None:
    overrides = {
        "task.sampling.do_sample": "true",
        "task.sampling.top_k": 50,
        "task.sampling.top_p": 0.9,
        "task.sampling.temperature": 0.8,
        "task.sampling.fixed_output_length": "true",
        "task.max_new_tokens": 10,
    }
    first, texts = make_static("graph", **overrides)
    one = first.generate(texts)
    second, _ = make_static("graph", **overrides)
    two = second.generate(texts)
    assert [r.response_tokens for r in one.requests] == [10, 10]
    assert [r.text for r in one.requests] == [r.text for r in two.requests]  # same seed
    greedy, _ = make_static("graph", **{"task.max_new_tokens": 10})
    assert [r.text for r in greedy.generate(texts).requests] != [r.text for r in one.requests]


def test_static_backend_times_every_token(tmp_path: Path) -> None:
    backend, texts = make_static("graph", **{"task.sampling.fixed_output_length": "true"})
    result = backend.generate(texts)
    for request in result.requests:
        assert request.response_tokens == 6
        assert 0 < request.ttft_s < request.latency_s <= result.batch_time_s
        assert request.tpot_s is not None and request.tpot_s > 0
