"""`mlenergy-v1`: the reference leaderboard's first data release, as published records.

The layout (one folder, or the files themselves):

- `{GPU}_{task}_benchmark.csv`, one per GPU and task, with the columns
  `model,throughput,response_length,latency,energy`: output tokens/s, tokens, s per response and
  J per response, each the source's average over its requests, at batch size 1 in FP16;
- `score.csv` with `model,arc,hellaswag,truthfulqa`: percent; ARC 25-shot, HellaSwag 10-shot,
  TruthfulQA-MC2 0-shot (optional: without it the records carry no accuracy);
- `models.json`: model -> `{"url", "nickname", "params"}`, params in billions.

Every value is stored as published (percent scores become fractions in [0, 1], the unit of the
project's accuracy columns). Nothing the release does not give is filled in: no TTFT, no prompt
length, no spread, no energy per token, no revision. An empty cell is "not published".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.ingest.aliases import HardwareAliases
from runner.ingest.common import (
    CsvRow,
    Problems,
    SourceCard,
    load_source_card,
    model_name_for,
    parse_number,
    read_csv,
    read_text,
    task_block,
)
from runner.ingest.write import make_record, make_source
from runner.records.layout import SAFE_NAME
from runner.records.published import PublishedRecord, PublishedSource, SourceRow

FORMAT = "mlenergy-v1"
BENCHMARK = re.compile(r"^(?P<gpu>[^_]+)_(?P<task>.+)_benchmark\.csv$")
BENCHMARK_COLUMNS = ("model", "throughput", "response_length", "latency", "energy")
SCORE_COLUMNS = ("model", "arc", "hellaswag", "truthfulqa")
SCORES_FILE = "score.csv"
MODELS_FILE = "models.json"
# benchmark column -> (metric field, what it is, for messages)
METRICS = {
    "throughput": ("throughput_tok_s", "throughput (tokens/s)"),
    "response_length": ("response_tokens", "response length (tokens)"),
    "latency": ("latency_s", "latency (s per response)"),
    "energy": ("energy_per_response_j", "energy (J per response)"),
}
# score column -> (eval task, shots)
SCORES = {
    "arc": ("arc_challenge", 25),
    "hellaswag": ("hellaswag", 10),
    "truthfulqa": ("truthfulqa_mc2", 0),
}
BATCH_SIZE = 1
PRECISION = "float16"

# What the format says about its source (the one v1 release, pinned to its tag, with the
# release's own URL and each task's prompts and settings) is the pinned source card
# `conf/sources/mlenergy-v1.yaml`; a card given with --source may refine any of it.


@dataclass
class Layout:
    """The files of one import, sorted by role."""

    benchmarks: list[Path]
    scores: list[Path]
    models: list[Path]


def find_files(paths: list[Path], problems: Problems) -> Layout:
    """Sort the given folders' and files' contents into the mlenergy-v1 roles."""
    layout = Layout([], [], [])
    for path in paths:
        if path.is_dir():
            children = sorted(p for p in path.iterdir() if p.is_file())
            found = [p for p in children if _role(p) is not None]
            if not found:
                problems.add(
                    path, "no mlenergy-v1 files here (expected {GPU}_{task}_benchmark.csv)"
                )
            for child in found:
                _add(layout, child)
        elif path.is_file():
            if _role(path) is None:
                problems.add(
                    path,
                    "not an mlenergy-v1 file (expected {GPU}_{task}_benchmark.csv, "
                    f"{SCORES_FILE} or {MODELS_FILE})",
                )
            else:
                _add(layout, path)
        else:
            problems.add(path, "no such file or folder")
    if not layout.benchmarks and not problems.lines:
        problems.add(paths[0], "no {GPU}_{task}_benchmark.csv file to import")
    if not layout.models and not problems.lines:
        problems.add(paths[0], f"no {MODELS_FILE} (model -> url, nickname, params) to import with")
    for role, files in ((MODELS_FILE, layout.models), (SCORES_FILE, layout.scores)):
        if len(files) > 1:
            problems.add(files[1], f"a second {role} (also {files[0]}); give one")
    return layout


def _role(path: Path) -> str | None:
    if path.name == MODELS_FILE:
        return "models"
    if path.name == SCORES_FILE:
        return "scores"
    if BENCHMARK.match(path.name):
        return "benchmarks"
    return None


def _add(layout: Layout, path: Path) -> None:
    files = getattr(layout, _role(path))  # type: ignore[arg-type]
    if path.resolve() not in {f.resolve() for f in files}:  # a file named twice counts once
        files.append(path)


def _key_lines(text: str) -> dict[str, int]:
    """The 1-based line of each top-level-looking `"key":` in a JSON text (first occurrence)."""
    lines: dict[str, int] = {}
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"\s*:', text):
        try:
            key = json.loads(f'"{match.group(1)}"')
        except json.JSONDecodeError:
            continue
        lines.setdefault(key, text.count("\n", 0, match.start()) + 1)
    return lines


def read_models(path: Path, problems: Problems) -> dict[str, tuple[int, dict[str, Any]]] | None:
    """models.json: model -> (line of its key, {url, nickname, params}), every entry checked.

    None when the file cannot be read as a JSON object (a problem says why).
    """
    text = read_text(path, problems)
    if text is None:
        return None
    seen: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen.extend(key for key, _ in items)
        return dict(items)

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        problems.add(path, f"not valid JSON ({error.msg})", error.lineno, error.colno)
        return None
    if not isinstance(data, dict):
        problems.add(path, "expected a JSON object: model -> {url, nickname, params}", 1, 1)
        return None
    lines = _key_lines(text)
    top = [key for key in seen if key in data]
    for key in sorted({k for k in top if top.count(k) > 1}):
        problems.add(path, f"model {key!r} listed twice", lines.get(key))
    models: dict[str, tuple[int, dict[str, Any]]] = {}
    for model, entry in data.items():
        line = lines.get(model, 1)
        if not isinstance(entry, dict):
            problems.add(
                path, f"{model!r}: expected {{url, nickname, params}}, got {entry!r}", line
            )
            continue
        bad = False
        for key in sorted(set(entry) - {"url", "nickname", "params"}):
            problems.add(
                path, f"{model!r}: unknown key {key!r} (expected url, nickname, params)", line
            )
            bad = True
        for key in ("url", "nickname"):
            if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
                problems.add(path, f"{model!r}.{key}: expected text, got {entry[key]!r}", line)
                bad = True
        params = entry.get("params")
        if params is not None and (
            isinstance(params, bool) or not isinstance(params, int | float) or not 0 < params < 1e6
        ):
            problems.add(
                path,
                f"{model!r}.params: expected a positive number (billions), got {params!r}",
                line,
            )
            bad = True
        if not bad:
            models[model] = (line, entry)
    return models


def read_scores(path: Path, problems: Problems) -> dict[str, tuple[CsvRow, list[dict[str, Any]]]]:
    """score.csv: model -> (its row, the published scores as fractions), every row checked."""
    table = read_csv(path, problems)
    if table is None:
        return {}
    header, rows = table
    if not _header_ok(path, header, SCORE_COLUMNS, problems):
        return {}
    scores: dict[str, tuple[CsvRow, list[dict[str, Any]]]] = {}
    first_line: dict[str, int] = {}
    for row in rows:
        model = row.cells["model"]
        if not model:
            problems.add(path, "model: empty (expected a model id)", row.line, 1)
            continue
        if model in first_line:
            problems.add(
                path, f"model {model!r} listed twice (also line {first_line[model]})", row.line, 1
            )
            continue
        first_line[model] = row.line
        published = []
        for column, (eval_task, shots) in SCORES.items():
            cell = row.cells[column]
            number = header.index(column) + 1
            value = parse_number(cell, problems, path, row.line, number, f"{column} (percent)")
            if value is None:
                continue
            if value > 100:
                problems.add(
                    path,
                    f"{column} (percent): expected at most 100, got {cell!r}",
                    row.line,
                    number,
                )
                continue
            published.append({"eval_task": eval_task, "num_fewshot": shots, "score": value / 100})
        scores[model] = (row, published)
    return scores


def _header_ok(
    path: Path, header: list[str], expected: tuple[str, ...], problems: Problems
) -> bool:
    if sorted(header) != sorted(expected):
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            )
            if part
        )
        problems.add(path, f"expected the columns {','.join(expected)} ({detail})", 1)
        return False
    return True


def parse(
    paths: list[Path],
    aliases: HardwareAliases,
    imported_utc: str,
    source_card: Path | None = None,
) -> list[PublishedRecord]:
    """Every published record of an mlenergy-v1 import (nothing is written here).

    Raises:
        ImportRefused: one line per problem of any file (file, line, column).
    """
    problems = Problems()
    card = load_source_card(source_card, FORMAT, problems)
    card_ok = not problems.lines
    layout = find_files(paths, problems)
    if not layout.models or not layout.benchmarks:
        problems.raise_if_any()
    models = read_models(layout.models[0], problems)
    scores = read_scores(layout.scores[0], problems) if layout.scores else {}
    # Every benchmark row is checked even when another file is bad: one line per bad row.
    source = make_source(card.values, FORMAT, imported_utc) if card_ok else None
    models_file = layout.models[0]
    records: list[PublishedRecord] = []
    for path in layout.benchmarks:
        records.extend(
            _benchmark_records(
                path, source, card, aliases, models, scores, models_file, layout, problems
            )
        )
    problems.raise_if_any()
    return records


def _benchmark_records(
    path: Path,
    source: PublishedSource | None,
    card: SourceCard,
    aliases: HardwareAliases,
    models: dict[str, tuple[int, dict[str, Any]]] | None,
    scores: dict[str, tuple[CsvRow, list[dict[str, Any]]]],
    models_file: Path,
    layout: Layout,
    problems: Problems,
) -> list[PublishedRecord]:
    match = BENCHMARK.match(path.name)
    assert match is not None
    gpu, task = match["gpu"], match["task"]
    alias = aliases.lookup(gpu)
    ok = True
    if alias is None:
        problems.add(
            path,
            f"file name: GPU {gpu!r} has no entry in {aliases.path} "
            f"(known: {aliases.known() or 'none'}); add one",
        )
        ok = False
    if not SAFE_NAME.match(task) or ".." in task:
        problems.add(path, f"file name: task {task!r} is not a safe name (letters, digits, . _ -)")
        ok = False
    table = read_csv(path, problems)
    if table is None:
        return []
    header, rows = table
    if not _header_ok(path, header, BENCHMARK_COLUMNS, problems) or not ok:
        return []
    assert alias is not None
    records = []
    first_line: dict[str, int] = {}
    for row in rows:
        model_id = row.cells["model"]
        model_column = header.index("model") + 1
        if not model_id:
            problems.add(path, "model: empty (expected a model id)", row.line, model_column)
            continue
        if model_id in first_line:
            problems.add(
                path,
                f"model {model_id!r} listed twice (also line {first_line[model_id]})",
                row.line,
                model_column,
            )
            continue
        first_line[model_id] = row.line
        name = model_name_for(model_id)
        if name is None:
            problems.add(
                path,
                f"model {model_id!r} cannot be named safely (org/name)",
                row.line,
                model_column,
            )
            continue
        if models is not None and model_id not in models:
            problems.add(
                path, f"model {model_id!r} is not in {models_file.name}", row.line, model_column
            )
            continue
        metrics: dict[str, float | None] = {}
        for column, (field, what) in METRICS.items():
            metrics[field] = parse_number(
                row.cells[column], problems, path, row.line, header.index(column) + 1, what
            )
        if all(value is None for value in metrics.values()):
            if not any(row.cells[c] for c in METRICS):
                problems.add(path, "no figure in this row (every cell is empty)", row.line, 2)
            continue
        if source is None or models is None or problems.lines:
            continue  # checked; the import is refused anyway
        model_line, entry = models[model_id]
        source_rows = [
            SourceRow(file=path.name, line=row.line, values=row.cells),
            SourceRow(file=models_file.name, line=model_line, values={model_id: entry}),
        ]
        accuracy: list[dict[str, Any]] = []
        if model_id in scores:
            score_row, accuracy = scores[model_id]
            source_rows.append(
                SourceRow(file=layout.scores[0].name, line=score_row.line, values=score_row.cells)
            )
        params = entry.get("params")
        records.append(
            make_record(
                source,
                identity={
                    "model_name": name,
                    "model_id": model_id,
                    "task": task,
                    "hardware_slug": alias.slug,
                    "hardware_name": gpu,
                    "batch_size": BATCH_SIZE,
                    # What the release states for every row: one request at a time, FP16. It
                    # does not publish how many GPUs a model ran on, so that stays absent.
                    "configuration": {
                        "batching": "static",
                        "batch_size": BATCH_SIZE,
                        "precision": PRECISION,
                    },
                },
                task=task_block(card.tasks, task),
                model={
                    "display_name": (entry.get("nickname") or model_id).strip(),
                    "url": entry.get("url"),
                    "params_b": None if params is None else float(params),
                    "precision": PRECISION,
                },
                metrics=metrics,
                accuracy=accuracy,
                rows=source_rows,
            )
        )
    return records
