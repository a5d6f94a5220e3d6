"""`mlenergy-v3`: the reference leaderboard's current public data layout, as published records.

The layout ("The ML.ENERGY Benchmark v3.0", the folder `public/data/` of `ml-energy/leaderboard`;
the data carry no licence, so the project reads them from the user's folder and ships none):

- `index.json`: `last_updated` (a date), `architectures` (`llm`, `mllm`, `diffusion` -> task
  ids), `tasks`, `models` (model id -> nickname, params, precision, architecture);
- `tasks/<task>.json`: `{"task", "task_display_name", "configurations": [...]}`, one object per
  measured configuration;
- `models/<org>__<name>__<task>.json`: the same configurations of one model and task, each with
  its `parallelization` and its own `output_length_distribution` (`{"bins", "counts"}`).

One published record per configuration of an LLM or MLLM task; a configuration the source lists
more than once (repeat runs) keeps every listing (`identity.occurrence`). Every figure is stored
as published, in the project's units: J per token and per request, W, output tokens/s, tokens,
inter-token latency percentiles in s (the source's ms / 1000), the mean running batch; the
configuration (GPU count, tensor/expert/data parallel degrees, continuous batching capped at
`max_num_seqs`, weight precision); the model's total and activated parameters; the output-length
distribution of the configuration from `models/`. Energy, power and throughput are for all GPUs
of the configuration together, as the source publishes them. Nothing else is filled in: no
TTFT, latency, accuracy, spread, prompt length or pipeline-parallel degree (not published).

Diffusion tasks (`text-to-image`, `text-to-video`: J per image or video, not per token) are left
out, with one note per task that names it and counts its configurations. Fields the format does
not describe are kept in `source_rows` and named in one note per file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runner.ingest.aliases import HardwareAliases
from runner.ingest.common import (
    Problems,
    default_card_path,
    load_source_card,
    load_yaml,
    model_name_for,
    read_text,
    task_block,
)
from runner.ingest.write import make_record, make_source, number_repeats
from runner.records.layout import SAFE_NAME
from runner.records.published import Histogram, PublishedRecord, PublishedSource, SourceRow

FORMAT = "mlenergy-v3"
INDEX_FILE = "index.json"
TASKS_DIR = "tasks"
MODELS_DIR = "models"
# index.json `architectures` groups: imported, and left out (figures per image or video).
IMPORTED_ARCHITECTURES = ("llm", "mllm")
LEFT_OUT_ARCHITECTURES = ("diffusion",)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# source field -> (record metric, divide by, what it is). ms -> s; the rest in their own unit.
METRICS: dict[str, tuple[str, float, str]] = {
    "energy_per_token_joules": ("energy_per_token_j", 1, "J per output token"),
    "energy_per_request_joules": ("energy_per_response_j", 1, "J per request"),
    "avg_power_watts": ("avg_power_w", 1, "W, all GPUs"),
    "output_throughput_tokens_per_sec": ("throughput_tok_s", 1, "output tokens/s"),
    "avg_output_len": ("response_tokens", 1, "tokens per request"),
    "median_itl_ms": ("itl_median_s", 1000, "ms"),
    "p90_itl_ms": ("itl_p90_s", 1000, "ms"),
    "p95_itl_ms": ("itl_p95_s", 1000, "ms"),
    "p99_itl_ms": ("itl_p99_s", 1000, "ms"),
}
MEAN_BATCH = "avg_batch_size"
# The configuration's settings (required) in the task files; in models/ the degrees sit in
# `parallelization`.
DEGREES = ("tensor_parallel", "expert_parallel", "data_parallel")
SETTINGS = ("num_gpus", *DEGREES, "max_num_seqs")
# The model facts each configuration of a task file repeats (optional: absent = not published).
MODEL_NUMBERS = {
    "total_params_billions": "params_b",
    "activated_params_billions": "activated_params_b",
}
MODEL_TEXTS = ("nickname", "architecture", "weight_precision")
TASK_FIELDS = frozenset(
    {"model_id", "gpu_model", *SETTINGS, MEAN_BATCH, *METRICS, *MODEL_NUMBERS, *MODEL_TEXTS}
)
MODEL_FILE_FIELDS = frozenset(
    {
        "gpu_model",
        "num_gpus",
        "max_num_seqs",
        MEAN_BATCH,
        *METRICS,
        "parallelization",
        "output_length_distribution",
    }
)
# What identifies one listing across tasks/ and models/: the settings and every figure.
SIGNATURE = ("gpu_model", *SETTINGS, MEAN_BATCH, *METRICS)


@dataclass
class Parsed:
    """The records of an import and the notes about what it left out."""

    records: list[PublishedRecord]
    notes: list[str] = field(default_factory=list)


@dataclass
class JsonFile:
    """A JSON file read whole: its data and the lines of each `configurations` entry."""

    path: Path
    name: str  # the path inside the imported folder, e.g. 'tasks/gpqa.json'
    data: Any
    entry_lines: list[int]

    def line(self, index: int) -> int:
        """The 1-based line where `configurations[index]` opens (1 if unknown)."""
        return self.entry_lines[index] if index < len(self.entry_lines) else 1


def array_entry_lines(text: str, key: str) -> list[int]:
    """The 1-based line where each element of the top-level array `key` of a JSON text starts
    (the text must be valid JSON), in order."""
    lines: list[int] = []
    stack: list[str] = []  # the open containers, outermost first
    array_key: list[str | None] = []  # the top-level key of each open container, if any
    line, i = 1, 0
    last_string, pending_key = "", None
    expecting = False  # the next value starts an element of the array `key`
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
        elif char in " \t\r":
            pass
        else:
            if expecting and char not in "],":
                lines.append(line)
            expecting = False
            if char == '"':
                end = i + 1
                while text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                last_string = text[i + 1 : end]
                i = end
            elif char == ":" and len(stack) == 1:
                pending_key = last_string
            elif char in "{[":
                array_key.append(pending_key if char == "[" and len(stack) == 1 else None)
                stack.append(char)
                expecting = stack == ["{", "["] and array_key[-1] == key
            elif char in "}]":
                stack.pop()
                array_key.pop()
            elif char == ",":
                expecting = stack == ["{", "["] and array_key[-1] == key
        i += 1
    return lines


def read_json(path: Path, name: str, problems: Problems) -> JsonFile | None:
    """A JSON file (an object at the top); None (and a problem naming the line) otherwise."""
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        problems.add(path, f"not valid JSON ({error.msg})", error.lineno, error.colno)
        return None
    if not isinstance(data, dict):
        problems.add(path, f"expected a JSON object, got {type(data).__name__}", 1)
        return None
    return JsonFile(path, name, data, array_entry_lines(text, "configurations"))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


@dataclass
class Index:
    """What index.json says: the release date and each task's architecture group."""

    last_updated: str
    architecture_of: dict[str, str]
    models: dict[str, Any]


def read_index(folder: Path, problems: Problems) -> Index | None:
    """index.json, checked; None (and problems) when it cannot be used."""
    path = folder / INDEX_FILE
    if not path.is_file():
        problems.add(
            folder,
            f"no {INDEX_FILE} here (expected the folder public/data/ of the ML.ENERGY "
            f"leaderboard: {INDEX_FILE}, {TASKS_DIR}/, {MODELS_DIR}/)",
        )
        return None
    loaded = read_json(path, INDEX_FILE, problems)
    if loaded is None:
        return None
    data, before = loaded.data, len(problems.lines)
    date = data.get("last_updated")
    if not (isinstance(date, str) and DATE.match(date) and _valid_date(date)):
        problems.add(path, f"last_updated: expected a date YYYY-MM-DD, got {date!r}")
    groups = data.get("architectures")
    architecture_of: dict[str, str] = {}
    if not isinstance(groups, dict) or not all(
        isinstance(tasks, list) and all(_text(t) for t in tasks) for tasks in groups.values()
    ):
        problems.add(path, "architectures: expected {group: [task id, ...]}, got " + repr(groups))
    else:
        for group, tasks in groups.items():
            for task in tasks:
                if task in architecture_of:
                    problems.add(
                        path,
                        f"architectures: task {task!r} is in both {architecture_of[task]!r} "
                        f"and {group!r}",
                    )
                architecture_of[task] = group
    models = data.get("models")
    if not isinstance(models, dict):
        problems.add(path, f"models: expected {{model id: {{...}}}}, got {models!r}")
    if len(problems.lines) > before:
        return None
    return Index(date, architecture_of, models)  # type: ignore[arg-type]


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def source_card_overrides(index: Index, tasks: dict[str, str]) -> dict[str, Any]:
    """What the data say about their source: the release's id, version and date (from
    `last_updated`), and each task's name (its `task_display_name`), with the pinned card's
    description of that task."""
    pinned: dict[str, Any] = {}
    scratch = Problems()  # the pinned card's own problems are reported by load_source_card
    loaded = load_yaml(default_card_path(FORMAT), scratch)
    if loaded is not None and isinstance(loaded[0], dict):
        pinned = loaded[0].get("tasks") or {}
    entries = {}
    for task, name in tasks.items():
        entry: dict[str, Any] = {"name": name}
        described = pinned.get(task) if isinstance(pinned, dict) else None
        description = described.get("description") if isinstance(described, dict) else None
        if description is not None:
            entry["description"] = description
        entries[task] = entry
    date = index.last_updated
    return {
        "id": f"{FORMAT}-{date}",
        "version": f"{date} (index.json last_updated)",
        "date": date,
        "tasks": entries,
    }


def parse(
    paths: list[Path],
    aliases: HardwareAliases,
    imported_utc: str,
    source_card: Path | None = None,
) -> Parsed:
    """Every published record of an mlenergy-v3 folder (nothing is written here), and the notes
    on what was left out.

    Raises:
        ImportRefused: one line per problem of any file (file, line, field, what was expected).
    """
    problems = Problems()
    if len(paths) != 1 or not paths[0].is_dir():
        where = paths[0] if len(paths) == 1 else ", ".join(map(str, paths))
        problems.add(
            where,
            "expected one folder (public/data/ of the ML.ENERGY leaderboard: index.json, "
            "tasks/, models/)",
        )
        problems.raise_if_any()
    folder = paths[0]
    index = read_index(folder, problems)
    problems.raise_if_any()
    assert index is not None
    task_files = read_task_files(folder, index, problems)
    names = {
        task: loaded.data.get("task_display_name")
        for task, (group, loaded) in task_files.items()
        if group in IMPORTED_ARCHITECTURES and _text(loaded.data.get("task_display_name"))
    }
    card = load_source_card(
        source_card, FORMAT, problems, overrides=source_card_overrides(index, names)
    )
    source = make_source(card.values, FORMAT, imported_utc) if not problems.lines else None
    notes: list[str] = []
    records: list[PublishedRecord] = []
    for task, (group, loaded) in sorted(task_files.items()):
        configurations = loaded.data.get("configurations")
        if group in LEFT_OUT_ARCHITECTURES:
            count = len(configurations) if isinstance(configurations, list) else 0
            notes.append(
                f"{loaded.path}: task {task!r} ({group}) left out: {count} configuration(s) "
                f"not imported (their figures are per image or video, not per output token)"
            )
            continue
        task_entry = task_block(card.tasks, task)
        records.extend(
            task_records(folder, loaded, task, task_entry, index, source, aliases, notes, problems)
        )
    problems.raise_if_any()
    return Parsed(number_repeats(records), notes)


def read_task_files(
    folder: Path, index: Index, problems: Problems
) -> dict[str, tuple[str, JsonFile]]:
    """task id -> (architecture group, its checked task file) for every task of index.json."""
    tasks_dir = folder / TASKS_DIR
    out: dict[str, tuple[str, JsonFile]] = {}
    listed = set(index.architecture_of)
    present = {p.stem: p for p in sorted(tasks_dir.glob("*.json"))} if tasks_dir.is_dir() else {}
    for task in sorted(listed - set(present)):
        problems.add(
            folder / INDEX_FILE,
            f"architectures: task {task!r} has no file {TASKS_DIR}/{task}.json",
        )
    for task in sorted(set(present) - listed):
        problems.add(
            present[task],
            f"task {task!r} is in none of {INDEX_FILE}'s architectures "
            f"({', '.join(sorted(set(index.architecture_of.values())))})",
        )
    for task in sorted(listed & set(present)):
        group = index.architecture_of[task]
        if not SAFE_NAME.match(task) or ".." in task:
            problems.add(present[task], f"task {task!r}: not a safe name (letters, digits, . _ -)")
            continue
        if group not in IMPORTED_ARCHITECTURES + LEFT_OUT_ARCHITECTURES:
            problems.add(
                folder / INDEX_FILE,
                f"architectures.{group}: unknown group (expected "
                f"{', '.join(IMPORTED_ARCHITECTURES + LEFT_OUT_ARCHITECTURES)})",
            )
            continue
        path = present[task]
        loaded = read_json(path, f"{TASKS_DIR}/{path.name}", problems)
        if loaded is None:
            continue
        data = loaded.data
        if data.get("task") != task:
            problems.add(
                path, f"task: expected {task!r} (the file's name), got {data.get('task')!r}"
            )
            continue
        if not isinstance(data.get("configurations"), list):
            problems.add(path, "configurations: expected a list of configurations")
            continue
        if group in IMPORTED_ARCHITECTURES and not _text(data.get("task_display_name")):
            problems.add(
                path,
                f"task_display_name: expected the task's name as text, got "
                f"{data.get('task_display_name')!r}",
            )
            continue
        out[task] = (group, loaded)
    return out


def _check_entry(
    loaded: JsonFile,
    index: int,
    entry: Any,
    required: tuple[str, ...],
    problems: Problems,
    prefix: str = "",
) -> bool:
    """Check the settings, figures and model facts of one configuration; False on a problem."""
    where = f"configurations[{index}]"
    line = loaded.line(index)
    if not isinstance(entry, dict):
        problems.add(loaded.path, f"{where}: expected an object, got {entry!r}", line)
        return False
    ok = True
    for name in required:
        value = entry.get(name)
        if name in ("model_id", "gpu_model"):
            if not _text(value):
                problems.add(loaded.path, f"{where}.{name}: expected text, got {value!r}", line)
                ok = False
        elif not _count(value):
            problems.add(
                loaded.path,
                f"{where}.{prefix if name in DEGREES else ''}{name}: expected a whole number "
                f">= 1, got {value!r}",
                line,
            )
            ok = False
    for name in (MEAN_BATCH, *METRICS, *MODEL_NUMBERS):
        value = entry.get(name)
        if value is not None and not (_number(value) and value > 0):
            unit = METRICS[name][2] if name in METRICS else ""
            what = f" ({unit})" if unit else ""
            problems.add(
                loaded.path,
                f"{where}.{name}{what}: expected a positive number or null, got {value!r}",
                line,
            )
            ok = False
    for name in MODEL_TEXTS:
        value = entry.get(name)
        if value is not None and not _text(value):
            problems.add(loaded.path, f"{where}.{name}: expected text or null, got {value!r}", line)
            ok = False
    return ok


def _signature(entry: dict[str, Any], degrees: dict[str, Any]) -> tuple[Any, ...]:
    """The settings and figures of a checked listing (numbers, text or None: hashable)."""
    values = {**entry, **degrees}
    return tuple(values.get(name) for name in SIGNATURE)


def _unknown_fields_note(loaded: JsonFile, known: frozenset[str]) -> str | None:
    configurations = loaded.data.get("configurations") or []
    extra = sorted(
        {key for entry in configurations if isinstance(entry, dict) for key in entry} - known
    )
    if not extra:
        return None
    return (
        f"{loaded.path}: field(s) the mlenergy-v3 format does not describe, kept in each "
        f"record's source_rows only: {', '.join(extra)}"
    )


@dataclass
class ModelListing:
    """One configuration of a models/ file: where it is, its entry and its distribution."""

    file: JsonFile
    index: int
    entry: dict[str, Any]
    distribution: Histogram | None


def read_model_file(
    loaded: JsonFile, model_id: str, task: str, problems: Problems
) -> list[ModelListing] | None:
    """The configurations of a models/ file, checked (the file names `model_id` and `task`)."""
    data, path = loaded.data, loaded.path
    before = len(problems.lines)
    for key, expected in (("model_id", model_id), ("task", task)):
        if data.get(key) != expected:
            problems.add(
                path, f"{key}: expected {expected!r} (the file's name), got {data.get(key)!r}"
            )
    configurations = data.get("configurations")
    if not isinstance(configurations, list):
        problems.add(path, "configurations: expected a list of configurations")
        return None
    listings = []
    for index, entry in enumerate(configurations):
        if not _check_entry(
            loaded, index, entry, ("gpu_model", "num_gpus", "max_num_seqs"), problems
        ):
            continue
        where, line = f"configurations[{index}]", loaded.line(index)
        parallel = entry.get("parallelization")
        if not isinstance(parallel, dict):
            problems.add(
                path,
                f"{where}.parallelization: expected {{tensor_parallel, expert_parallel, "
                f"data_parallel, notes}}, got {parallel!r}",
                line,
            )
            continue
        if not _check_entry(loaded, index, parallel, DEGREES, problems, prefix="parallelization."):
            continue
        distribution = None
        raw = entry.get("output_length_distribution")
        if raw is not None:
            try:
                distribution = Histogram.model_validate(raw)
            except ValidationError as error:
                first = error.errors()[0]
                field_name = ".".join(str(part) for part in first["loc"])
                suffix = f".{field_name}" if field_name else ""
                problems.add(
                    path,
                    f"{where}.output_length_distribution{suffix}: {first['msg']} "
                    f"(expected {{bins: [edges], counts: [one fewer]}})",
                    line,
                )
                continue
        listings.append(ModelListing(loaded, index, entry, distribution))
    if len(problems.lines) > before:
        return None
    return listings


def task_records(
    folder: Path,
    loaded: JsonFile,
    task: str,
    task_entry: dict[str, Any],
    index: Index,
    source: PublishedSource | None,
    aliases: HardwareAliases,
    notes: list[str],
    problems: Problems,
) -> Iterator[PublishedRecord]:
    """The records of one LLM or MLLM task file (every configuration checked first)."""
    path = loaded.path
    note = _unknown_fields_note(loaded, TASK_FIELDS)
    if note:
        notes.append(note)
    unknown_gpus: dict[str, list[int]] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    models_seen: set[str] = set()
    any_refused = False
    for i, entry in enumerate(loaded.data["configurations"]):
        if isinstance(entry, dict) and _text(entry.get("model_id")):
            models_seen.add(entry["model_id"])
        if not _entry_ok(loaded, i, entry, index, problems):
            any_refused = True
            continue
        if aliases.lookup(entry["gpu_model"]) is None:
            unknown_gpus.setdefault(entry["gpu_model"], []).append(i)
        checked.append((i, entry))
    for gpu, indices in unknown_gpus.items():
        problems.add(
            path,
            f"configurations[{indices[0]}].gpu_model: GPU {gpu!r} has no entry in {aliases.path} "
            f"(known: {aliases.known() or 'none'}; {len(indices)} configuration(s) name it); "
            "add one",
            loaded.line(indices[0]),
        )
    listings = match_model_files(
        folder, loaded, task, checked, models_seen, any_refused, notes, problems
    )
    if source is None or problems.lines:
        return
    for i, entry in checked:
        yield from _record(loaded, task, task_entry, source, aliases, i, entry, listings, problems)


def _entry_ok(loaded: JsonFile, i: int, entry: Any, index: Index, problems: Problems) -> bool:
    """Check one configuration of a task file (its GPU name is looked up by the caller)."""
    if not _check_entry(loaded, i, entry, ("model_id", "gpu_model", *SETTINGS), problems):
        return False
    path, line = loaded.path, loaded.line(i)
    for name in DEGREES:
        if entry[name] > entry["num_gpus"]:
            problems.add(
                path,
                f"configurations[{i}].{name}: expected at most num_gpus ({entry['num_gpus']}), "
                f"got {entry[name]}",
                line,
            )
            return False
    model_id = entry["model_id"]
    if model_name_for(model_id) is None:
        problems.add(
            path, f"configurations[{i}].model_id: {model_id!r} cannot be named safely", line
        )
        return False
    if model_id not in index.models:
        problems.add(
            path,
            f"configurations[{i}].model_id: {model_id!r} is not in {INDEX_FILE}'s models",
            line,
        )
        return False
    if not any(entry.get(name) is not None for name in METRICS):
        problems.add(path, f"configurations[{i}]: no published figure (every one is null)", line)
        return False
    return True


def match_model_files(
    folder: Path,
    loaded: JsonFile,
    task: str,
    checked: list[tuple[int, dict[str, Any]]],
    models_seen: set[str],
    any_refused: bool,
    notes: list[str],
    problems: Problems,
) -> dict[int, ModelListing]:
    """Each task-file configuration's listing in its models/ file (same settings and figures,
    matched in order where a configuration is listed more than once).

    A models/ file that is absent leaves its configurations without a distribution (one note);
    a listing on one side only is a problem: the two files disagree (a models/ listing without
    its configuration is not looked for once a configuration of the task file is refused: it
    would only repeat that problem).
    """
    by_model: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, entry in checked:
        by_model.setdefault(entry["model_id"], []).append((i, entry))
    matched: dict[int, ModelListing] = {}
    models_dir = folder / MODELS_DIR
    for model_id, entries in by_model.items():
        name = f"{model_name_for(model_id)}__{task}.json"
        path = models_dir / name
        if not path.is_file():
            notes.append(
                f"{models_dir / name}: not found; {len(entries)} configuration(s) of "
                f"{loaded.path} carry no output-length distribution"
            )
            continue
        model_file = read_json(path, f"{MODELS_DIR}/{name}", problems)
        if model_file is None:
            continue
        listings = read_model_file(model_file, model_id, task, problems)
        if listings is None:
            continue
        note = _unknown_fields_note(model_file, MODEL_FILE_FIELDS)
        if note:
            notes.append(note)
        waiting: dict[tuple[Any, ...], list[ModelListing]] = {}
        for listing in listings:
            degrees = {k: listing.entry["parallelization"][k] for k in DEGREES}
            waiting.setdefault(_signature(listing.entry, degrees), []).append(listing)
        for i, entry in entries:
            candidates = waiting.get(_signature(entry, {}), [])
            if not candidates:
                problems.add(
                    loaded.path,
                    f"configurations[{i}]: no configuration of {path} has these settings and "
                    f"figures (gpu_model, num_gpus, parallel degrees, max_num_seqs, "
                    f"{MEAN_BATCH} and every figure must agree)",
                    loaded.line(i),
                )
                continue
            matched[i] = candidates.pop(0)
        if any_refused:
            continue
        for rest in waiting.values():
            for listing in rest:
                problems.add(
                    path,
                    f"configurations[{listing.index}]: no configuration of {loaded.path} has "
                    "these settings and figures",
                    model_file.line(listing.index),
                )
    named = {f"{model_name_for(m)}__{task}.json" for m in models_seen if model_name_for(m)}
    if models_dir.is_dir():
        for path in sorted(models_dir.glob(f"*__{task}.json")):
            if path.name not in named:
                problems.add(path, f"no configuration of {loaded.path} is of this file's model")
    return matched


def _record(
    loaded: JsonFile,
    task: str,
    task_entry: dict[str, Any],
    source: PublishedSource,
    aliases: HardwareAliases,
    i: int,
    entry: dict[str, Any],
    listings: dict[int, ModelListing],
    problems: Problems,
) -> Iterator[PublishedRecord]:
    model_id, gpu = entry["model_id"], entry["gpu_model"]
    alias = aliases.lookup(gpu)
    assert alias is not None
    precision = entry.get("weight_precision")
    metrics = {
        target: None if entry.get(name) is None else entry[name] / divide
        for name, (target, divide, _) in METRICS.items()
    }
    rows = [SourceRow(file=loaded.name, line=loaded.line(i), values=entry)]
    distribution = None
    listing = listings.get(i)
    if listing is not None:
        distribution = listing.distribution
        rows.append(
            SourceRow(
                file=listing.file.name,
                line=listing.file.line(listing.index),
                values=listing.entry,
            )
        )
    model = {
        "display_name": (entry.get("nickname") or model_id).strip(),
        "precision": precision,
        "architecture": entry.get("architecture"),
        **{target: entry.get(name) for name, target in MODEL_NUMBERS.items()},
    }
    try:
        yield make_record(
            source,
            identity={
                "model_name": model_name_for(model_id),
                "model_id": model_id,
                "task": task,
                "hardware_slug": alias.slug,
                "hardware_name": gpu,
                "configuration": {
                    "num_devices": entry["num_gpus"],
                    **{name: entry[name] for name in DEGREES},
                    "batching": "continuous",
                    "max_num_seqs": entry["max_num_seqs"],
                    "mean_running_batch": entry.get(MEAN_BATCH),
                    "precision": precision,
                },
            },
            task=task_entry,
            model=model,
            metrics=metrics,
            accuracy=[],
            rows=rows,
            output_length_distribution=distribution,
        )
    except ValidationError as error:
        for detail in error.errors():
            location = ".".join(str(part) for part in detail["loc"])
            message = detail["msg"].removeprefix("Value error, ")
            problems.add(
                loaded.path,
                f"configurations[{i}]: {location + ': ' if location else ''}{message}",
                loaded.line(i),
            )
