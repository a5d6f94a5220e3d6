"""Prompt sets: the built-in JSONL sets, the ShareGPT loader, and the seeded sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.errors import UserError
from runner.workload.prompts import load_prompt_set, sample_prompts


@pytest.mark.parametrize("name", ["chat", "instruct"])
def test_builtin_sets_have_a_few_hundred_unique_prompts(name: str) -> None:
    prompt_set = load_prompt_set(name)
    assert len(prompt_set.prompts) >= 200
    assert len({p.id for p in prompt_set.prompts}) == len(prompt_set.prompts)
    assert len(prompt_set.sha256) == 64


def test_sample_is_seeded_and_repeatable() -> None:
    prompts = load_prompt_set("chat").prompts
    first = sample_prompts(prompts, 20, seed=7)
    assert first == sample_prompts(prompts, 20, seed=7)
    assert first != sample_prompts(prompts, 20, seed=8)
    assert len({p.id for p in first}) == 20


def test_sample_larger_than_set_reuses_prompts_evenly() -> None:
    prompts = load_prompt_set("chat").prompts[:3]
    sample = sample_prompts(prompts, 7, seed=0)
    counts = {p.id: sum(1 for s in sample if s.id == p.id) for p in prompts}
    assert sorted(counts.values()) == [2, 2, 3]


def test_sharegpt_loader_takes_the_first_human_turn(tmp_path: Path) -> None:
    path = tmp_path / "sg.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": "a",
                    "conversations": [
                        {"from": "human", "value": "Hi?"},
                        {"from": "gpt", "value": "Hello"},
                    ],
                },
                {"id": "b", "conversations": [{"from": "gpt", "value": "only bot"}]},
                {
                    "conversations": [
                        {"from": "system", "value": "s"},
                        {"from": "user", "value": "Second"},
                    ]
                },
            ]
        )
    )
    prompt_set = load_prompt_set(str(path), "sharegpt")
    assert [(p.id, p.text) for p in prompt_set.prompts] == [("a", "Hi?"), ("sharegpt-2", "Second")]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"task\.prompt_set: file .* not found"):
        load_prompt_set(str(tmp_path / "nope.jsonl"))


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "1", "prompt": "ok"}\n{"id": 2}\n')
    with pytest.raises(UserError, match=r"p\.jsonl:2: expected an object"):
        load_prompt_set(str(path))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "1", "prompt": "a"}\n{"id": "1", "prompt": "b"}\n')
    with pytest.raises(UserError, match="appears more than once"):
        load_prompt_set(str(path))
