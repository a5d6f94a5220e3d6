"""Prompt sets: the built-in JSONL sets, a ShareGPT loader, and the seeded sample.

A prompt set is a list of `Prompt(id, text)`. The built-in sets (`chat`, `instruct`) ship with
the package as JSONL, one `{"id": ..., "prompt": ...}` per line, written by the project. A
ShareGPT-format JSON file (a list of `{"id", "conversations": [{"from", "value"}, ...]}`) can be
given by path; its first human turn of each conversation becomes the prompt.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UserError
from runner.records.store import sha256_bytes

DATA_DIR = Path(__file__).parent / "data" / "prompts"
BUILTIN_SETS = ("chat", "instruct")
HUMAN_ROLES = ("human", "user")


@dataclass(frozen=True)
class Prompt:
    """One prompt: a stable id and the user message text."""

    id: str
    text: str


@dataclass(frozen=True)
class PromptSet:
    """A loaded prompt set and the sha256 of the bytes it was read from."""

    name: str
    prompts: list[Prompt]
    sha256: str


def resolve_prompt_path(prompt_set: str) -> Path:
    """The file behind a prompt set: a built-in name or a path."""
    if prompt_set in BUILTIN_SETS:
        return DATA_DIR / f"{prompt_set}.jsonl"
    return Path(prompt_set)


def load_prompt_set(prompt_set: str, prompt_format: str = "jsonl") -> PromptSet:
    """Load a prompt set by built-in name or path.

    Raises:
        UserError: the file is missing or a line/entry is malformed (names file and line).
    """
    path = resolve_prompt_path(prompt_set)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"task.prompt_set: file {str(path)!r} not found") from None
    except OSError as error:
        raise UserError(f"task.prompt_set: cannot read {str(path)!r} ({error.strerror})") from None
    text = _decode(path, data)
    if prompt_format == "sharegpt":
        prompts = parse_sharegpt(path, text)
    else:
        prompts = parse_jsonl(path, text)
    if not prompts:
        raise UserError(f"{path}: no prompts found")
    ids = [prompt.id for prompt in prompts]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"{path}: prompt id {duplicate!r} appears more than once")
    return PromptSet(name=prompt_set, prompts=prompts, sha256=sha256_bytes(data))


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start})") from None


def parse_jsonl(path: Path, text: str) -> list[Prompt]:
    """Parse `{"id": str, "prompt": str}` lines; blank lines are skipped."""
    prompts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not (
            isinstance(row, dict)
            and isinstance(row.get("id"), str)
            and row["id"]
            and isinstance(row.get("prompt"), str)
            and row["prompt"].strip()
        ):
            raise UserError(
                f"{path}:{number}: expected an object with a non-empty string 'id' and 'prompt'"
            )
        prompts.append(Prompt(id=row["id"], text=row["prompt"]))
    return prompts


def parse_sharegpt(path: Path, text: str) -> list[Prompt]:
    """Parse ShareGPT JSON: the first human turn of each conversation is the prompt.

    Conversations without a human turn are skipped; entries without an id get `sharegpt-<index>`.
    """
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(entries, list):
        raise UserError(f"{path}: expected a JSON list of conversations")
    prompts = []
    for index, entry in enumerate(entries):
        turns = entry.get("conversations") if isinstance(entry, dict) else None
        if not isinstance(turns, list):
            raise UserError(f"{path}: entry {index}: expected a 'conversations' list")
        first_human = next(
            (
                turn.get("value")
                for turn in turns
                if isinstance(turn, dict) and turn.get("from") in HUMAN_ROLES
            ),
            None,
        )
        if not isinstance(first_human, str) or not first_human.strip():
            continue
        prompt_id = entry.get("id")
        prompt_id = str(prompt_id) if prompt_id not in (None, "") else f"sharegpt-{index}"
        prompts.append(Prompt(id=prompt_id, text=first_human))
    return prompts


def sample_prompts(prompts: list[Prompt], count: int, seed: int) -> list[Prompt]:
    """A seeded sample of `count` prompts; without replacement while the set lasts.

    If `count` exceeds the set size the set is reshuffled and drawn again, so every prompt is
    used about equally often.
    """
    rng = random.Random(seed)
    sample: list[Prompt] = []
    while len(sample) < count:
        order = list(prompts)
        rng.shuffle(order)
        sample.extend(order[: count - len(sample)])
    return sample


def builtin_prompt_texts() -> Iterator[str]:
    """Every built-in prompt text (used to train the tiny model's tokenizer)."""
    for name in BUILTIN_SETS:
        for prompt in load_prompt_set(name).prompts:
            yield prompt.text
