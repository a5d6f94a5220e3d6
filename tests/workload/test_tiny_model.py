"""The embedded default model: built offline, deterministic by seed, loaded via from_pretrained."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runner.workload.tiny_model import build_tiny_model, ensure_tiny_model


def weights_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_build_is_deterministic_by_seed(tmp_path: Path) -> None:
    build_tiny_model(tmp_path / "a", seed=0)
    build_tiny_model(tmp_path / "b", seed=0)
    build_tiny_model(tmp_path / "c", seed=1)
    assert weights_digest(tmp_path / "a") == weights_digest(tmp_path / "b")
    assert weights_digest(tmp_path / "a") != weights_digest(tmp_path / "c")
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_bytes()


def test_cached_and_loaded_through_from_pretrained(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("LEADERBOARD_CACHE", str(tmp_path))
    folder = ensure_tiny_model()
    stamp = (folder / "config.json").stat().st_mtime_ns
    assert ensure_tiny_model() == folder
    assert (folder / "config.json").stat().st_mtime_ns == stamp  # cached, not rebuilt
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.model_type == "llama"
    assert 100_000 < sum(p.numel() for p in model.parameters()) < 1_000_000
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text.startswith("<|bos|><|system|>Be brief.<|eos|><|user|>Hello there")
    assert text.endswith("<|assistant|>")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
