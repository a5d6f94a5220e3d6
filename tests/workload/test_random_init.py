"""Random-init shapes: the real model's EOS, seeded weights, the caller's RNG untouched."""

from __future__ import annotations

import pytest

from runner.compose import compose_run_config, hydra_context
from runner.measure.generation import eos_ids_of
from runner.workload.models import load_model

REAL_SPECIAL_TOKENS = {
    # config.json of the real models: (bos_token_id, eos_token_id)
    "random__Qwen2.5-0.5B": (151643, 151643),
    "random__Llama-3.2-1B": (128000, 128001),
    "random__Llama-3.2-3B": (128000, 128001),
}


# The real vocabulary (the EOS id must fit), everything else shrunk so a test takes seconds.
SMALL = [
    "model.init_config.num_hidden_layers=1",
    "model.init_config.hidden_size=64",
    "model.init_config.intermediate_size=128",
    "model.init_config.num_attention_heads=4",
    "model.init_config.num_key_value_heads=2",
    "++model.init_config.head_dim=16",
]


@pytest.mark.parametrize("name", sorted(REAL_SPECIAL_TOKENS))
def test_random_shapes_stop_at_the_real_models_eos(name: str) -> None:
    """Generation stops at the real model's EOS, not the stand-in tokenizer's."""
    import torch

    with hydra_context():
        config = compose_run_config([f"model={name}", "model.dtype=float32", *SMALL])
    state = torch.random.get_rng_state()
    loaded = load_model(config.model, "cpu")
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is untouched
    bos, eos = REAL_SPECIAL_TOKENS[name]
    assert loaded.model.generation_config.eos_token_id == eos
    assert loaded.model.generation_config.bos_token_id == bos
    assert eos_ids_of(loaded.model, loaded.tokenizer) == {eos}
    assert loaded.tokenizer.eos_token_id != eos  # the tiny tokenizer's own EOS is not used
    again = load_model(config.model, "cpu")
    first = next(loaded.model.parameters())
    assert torch.equal(first, next(again.model.parameters()))  # seeded


def test_a_random_init_record_notes_the_stand_in_tokenizer(tmp_path) -> None:
    from runner.measure.point import run_point
    from runner.records.load import load_record

    with hydra_context():
        config = compose_run_config(
            [
                "model=random__Qwen2.5-0.5B",
                "model.dtype=float32",
                *SMALL,
                "backend.device=cpu",
                "num_prompts=1",
                "warmup_batches=0",
                "idle_seconds=0",
                "min_window_s=0",
                "task.max_new_tokens=2",
                "calibrate=false",
                f"results_dir={tmp_path}",
            ]
        )
    record = load_record(run_point(config, progress=False))
    [note] = record.execution.notes
    assert "tiny model's tokenizer" in note and "Qwen/Qwen2.5-0.5B" in note
