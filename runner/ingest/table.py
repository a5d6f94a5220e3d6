"""`csv`: any other published table, read through a small YAML mapping.

The mapping names the source, says which CSV column holds which field and in which unit, and
gives the constants the table leaves implicit (its GPU, batch size, task, precision):

```yaml
source:
  id: example-lab-2024            # a safe name: results/published/<id>/...
  citation: "A. Author et al., An example table (2024), Table 3"
  url: https://example.org/paper
  license: CC-BY-4.0              # optional
  version: arXiv:2401.00000v2     # optional: version or commit of the source
  date: 2024-01-15                # optional
  methodology: "Greedy decoding, batch size 8, FP16, vLLM 0.4 on one GPU."
columns:                          # CSV column -> field, or {field, unit}
  Model: model_id
  "Energy (kJ/response)": {field: energy_per_response_j, unit: kJ}
  "Latency (ms)": {field: latency_s, unit: ms}
  "ARC (%)": {field: accuracy, eval_task: arc_challenge, num_fewshot: 25, unit: percent}
constants:                        # the same for every row
  hardware: A100
  task: chat
  batch_size: 8
```

Fields: `model_id` (required), `display_name`, `model_url`, `params_b` (unit B or M), `hardware`
(a published name, looked up in `conf/hardware_aliases.yaml`; required), `task` (required),
`batch_size` (static batching), `max_num_seqs` (a serving engine's batch cap: continuous
batching), `num_devices`, `tensor_parallel`, `pipeline_parallel`, `expert_parallel`,
`data_parallel`, `precision` (the configuration: whatever is not mapped stays absent), every
metric of `runner.records.published.PublishedMetrics`, and
`accuracy` (with `eval_task`, optional `num_fewshot` and `metric`, unit `percent` or
`fraction`). A metric's unit defaults to the field's own (the unit in its name). Values are
converted to the project's units exactly once (divide by 1000 for ms, multiply by 1000 for kJ, by
3600 for Wh); an empty cell is "not published". The `source` block may describe the source's
tasks (`tasks: {<task>: {name, description}}`): which prompts and settings its rows used.

A configuration the table lists more than once (repeat runs) keeps every row: each gets its
`occurrence` (1, 2, ... in the table's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.ingest.aliases import HardwareAliases
from runner.ingest.common import (
    Problems,
    check_source,
    check_tasks,
    load_yaml,
    model_name_for,
    parse_number,
    read_csv,
    task_block,
)
from runner.ingest.write import make_record, make_source, number_repeats
from runner.records.layout import SAFE_NAME
from runner.records.published import PublishedRecord, SourceRow

FORMAT = "csv"

# field -> {unit: (multiply by, divide by)}; the first unit is the field's own.
METRIC_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "throughput_tok_s": {"tok/s": (1, 1)},
    "response_tokens": {"tokens": (1, 1)},
    "prompt_tokens": {"tokens": (1, 1)},
    "latency_s": {"s": (1, 1), "ms": (1, 1000)},
    "ttft_s": {"s": (1, 1), "ms": (1, 1000)},
    "tpot_s": {"s": (1, 1), "ms": (1, 1000)},
    "energy_per_response_j": {"J": (1, 1), "kJ": (1000, 1), "Wh": (3600, 1)},
    "energy_per_token_j": {"J": (1, 1), "mJ": (1, 1000)},
    "avg_power_w": {"W": (1, 1), "kW": (1000, 1)},
    "itl_median_s": {"s": (1, 1), "ms": (1, 1000)},
    "itl_p90_s": {"s": (1, 1), "ms": (1, 1000)},
    "itl_p95_s": {"s": (1, 1), "ms": (1, 1000)},
    "itl_p99_s": {"s": (1, 1), "ms": (1, 1000)},
}
OTHER_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "params_b": {"B": (1, 1), "M": (1, 1000)},
    "accuracy": {"fraction": (1, 1), "percent": (1, 100)},
}
TEXT_FIELDS = ("model_id", "display_name", "model_url", "hardware", "task", "precision")
CONFIGURATION_FIELDS = (
    "num_devices",
    "tensor_parallel",
    "pipeline_parallel",
    "expert_parallel",
    "data_parallel",
    "max_num_seqs",
)
INT_FIELDS = ("batch_size", *CONFIGURATION_FIELDS)
FIELDS = (*TEXT_FIELDS, *INT_FIELDS, *METRIC_UNITS, *OTHER_UNITS)
CONSTANT_FIELDS = (*TEXT_FIELDS, *INT_FIELDS, "params_b")
REQUIRED = ("model_id", "hardware", "task")
MAPPING_KEYS = ("source", "columns", "constants")


@dataclass(frozen=True)
class ColumnMap:
    """One mapped CSV column."""

    column: str
    field: str
    unit: tuple[float, float] = (1, 1)
    unit_name: str = ""
    eval_task: str | None = None
    num_fewshot: int | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file."""

    path: Path
    source: dict[str, str | None]
    columns: list[ColumnMap]
    constants: dict[str, Any]
    tasks: dict[str, dict[str, str | None]]


def _convert(value: float, unit: tuple[float, float]) -> float:
    multiply, divide = unit
    if multiply != 1:
        value = value * multiply
    if divide != 1:
        value = value / divide
    return value


def load_mapping(path: Path, problems: Problems) -> Mapping | None:
    """Read and check a mapping file; None (and problems naming its lines) when it is bad."""
    loaded = load_yaml(path, problems)
    if loaded is None:
        return None
    data, lines = loaded
    before = len(problems.lines)
    if not isinstance(data, dict):
        problems.add(path, f"expected a mapping with {', '.join(MAPPING_KEYS)}", 1)
        return None
    for key in data:
        if key not in MAPPING_KEYS:
            problems.add(
                path,
                f"{key}: unknown key (expected {', '.join(MAPPING_KEYS)})",
                lines.get((str(key),)),
            )
    source = data.get("source")
    if not isinstance(source, dict):
        problems.add(
            path,
            "source: missing (id, citation, url, methodology; optional license, version, date)",
            lines.get(("source",)),
        )
        source = {}
    card = check_source(
        source,
        path,
        problems,
        {k[1]: v for k, v in lines.items() if k[0] == "source" and len(k) == 2},
    )
    tasks = check_tasks(
        source, path, problems, {k[1:]: v for k, v in lines.items() if k[:1] == ("source",)}
    )
    columns = _columns(path, data.get("columns"), lines, problems)
    constants = _constants(path, data.get("constants") or {}, lines, problems)
    mapped = {c.field for c in columns}
    for field in sorted(mapped & set(constants)):
        problems.add(
            path,
            f"{field}: both a column and a constant; give one",
            lines.get(("constants", field)),
        )
    for field in REQUIRED:
        if field not in mapped and field not in constants:
            problems.add(path, f"{field}: needs a column or a constant (required)")
    if not any(c.field in METRIC_UNITS for c in columns):
        problems.add(
            path,
            f"columns: map at least one figure ({', '.join(METRIC_UNITS)})",
            lines.get(("columns",)),
        )
    if len(problems.lines) > before:
        return None
    return Mapping(path, card, columns, constants, tasks)


def _columns(
    path: Path, raw: Any, lines: dict[tuple[str, ...], int], problems: Problems
) -> list[ColumnMap]:
    if not isinstance(raw, dict) or not raw:
        problems.add(path, "columns: expected CSV column -> field", lines.get(("columns",)))
        return []
    out: list[ColumnMap] = []
    fields_seen: dict[str, str] = {}
    for column, spec in raw.items():
        column = str(column)
        line = lines.get(("columns", column))
        where = f"columns.{column!r}"
        if isinstance(spec, str):
            spec = {"field": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
            problems.add(path, f"{where}: expected a field name or {{field, unit}}", line)
            continue
        unknown = set(spec) - {"field", "unit", "eval_task", "num_fewshot", "metric"}
        if unknown:
            problems.add(path, f"{where}: unknown key(s) {', '.join(sorted(unknown))}", line)
            continue
        field = spec["field"]
        if field not in FIELDS:
            problems.add(
                path, f"{where}.field: expected one of {', '.join(FIELDS)}, got {field!r}", line
            )
            continue
        units = METRIC_UNITS.get(field) or OTHER_UNITS.get(field)
        unit, unit_name = (1.0, 1.0), ""
        if units is not None:
            unit_name = str(spec.get("unit", next(iter(units))))
            if unit_name not in units:
                problems.add(
                    path,
                    f"{where}.unit: expected one of {', '.join(units)} for {field}, "
                    f"got {unit_name!r}",
                    line,
                )
                continue
            unit = units[unit_name]
        elif "unit" in spec:
            problems.add(path, f"{where}.unit: {field} has no unit", line)
            continue
        eval_task = spec.get("eval_task")
        shots = spec.get("num_fewshot")
        if field == "accuracy":
            if not isinstance(eval_task, str) or not eval_task.strip():
                problems.add(
                    path, f"{where}.eval_task: required for accuracy (e.g. arc_challenge)", line
                )
                continue
            if shots is not None and (
                isinstance(shots, bool) or not isinstance(shots, int) or shots < 0
            ):
                problems.add(path, f"{where}.num_fewshot: expected a whole number >= 0", line)
                continue
            key = f"accuracy:{eval_task}"
        elif eval_task is not None or shots is not None or "metric" in spec:
            problems.add(
                path, f"{where}: eval_task, num_fewshot and metric are for accuracy only", line
            )
            continue
        else:
            key = field
        if key in fields_seen:
            problems.add(path, f"{where}: {key} is also mapped from {fields_seen[key]!r}", line)
            continue
        fields_seen[key] = column
        metric = spec.get("metric")
        out.append(
            ColumnMap(
                column,
                field,
                unit,
                unit_name,
                eval_task,
                shots,
                None if metric is None else str(metric),
            )
        )
    return out


def _constants(
    path: Path, raw: Any, lines: dict[tuple[str, ...], int], problems: Problems
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.add(path, "constants: expected field -> value", lines.get(("constants",)))
        return {}
    out: dict[str, Any] = {}
    for field, value in raw.items():
        line = lines.get(("constants", str(field)))
        if field not in CONSTANT_FIELDS:
            problems.add(
                path, f"constants.{field}: expected one of {', '.join(CONSTANT_FIELDS)}", line
            )
        elif field in INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.add(
                    path, f"constants.{field}: expected a whole number >= 1, got {value!r}", line
                )
            else:
                out[field] = value
        elif field == "params_b":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                problems.add(
                    path,
                    f"constants.params_b: expected a positive number (billions), got {value!r}",
                    line,
                )
            else:
                out[field] = float(value)
        elif (
            not isinstance(value, str | int | float)
            or isinstance(value, bool)
            or not str(value).strip()
        ):
            problems.add(path, f"constants.{field}: expected text, got {value!r}", line)
        else:
            out[field] = str(value).strip()
    return out


def parse(
    paths: list[Path], mapping_path: Path, aliases: HardwareAliases, imported_utc: str
) -> list[PublishedRecord]:
    """Every published record of the CSV files under the mapping (nothing is written here).

    Raises:
        ImportRefused: one line per problem of any file (file, line, column).
    """
    problems = Problems()
    mapping = load_mapping(mapping_path, problems)
    problems.raise_if_any()
    assert mapping is not None
    source = make_source(mapping.source, FORMAT, imported_utc)
    records: list[PublishedRecord] = []
    for path in paths:
        if not path.is_file():
            problems.add(path, "no such file (csv imports CSV files)")
            continue
        table = read_csv(path, problems)
        if table is None:
            continue
        header, rows = table
        missing = [c.column for c in mapping.columns if c.column not in header]
        if missing:
            problems.add(
                path,
                f"column(s) {', '.join(map(repr, missing))} of {mapping.path.name} "
                f"not in the header ({', '.join(header)})",
                1,
            )
            continue
        for row in rows:
            record = _row_record(path, header, row, mapping, source, aliases, problems)
            if record is not None:
                records.append(record)
    problems.raise_if_any()
    return number_repeats(records)


def _row_record(
    path: Path,
    header: list[str],
    row: Any,
    mapping: Mapping,
    source: Any,
    aliases: HardwareAliases,
    problems: Problems,
) -> PublishedRecord | None:
    before = len(problems.lines)
    values: dict[str, Any] = dict(mapping.constants)
    columns_of: dict[str, int] = {}
    metrics: dict[str, float | None] = {}
    accuracy: list[dict[str, Any]] = []
    for col in mapping.columns:
        number = header.index(col.column) + 1
        cell = row.cells[col.column]
        columns_of[col.field] = number
        if col.field in TEXT_FIELDS:
            if cell:
                values[col.field] = cell
        elif col.field in INT_FIELDS:
            if cell:
                if not cell.isdigit() or int(cell) < 1:
                    problems.add(
                        path,
                        f"{col.column}: expected a whole number >= 1, got {cell!r}",
                        row.line,
                        number,
                    )
                else:
                    values[col.field] = int(cell)
        else:
            what = f"{col.column} ({col.unit_name})" if col.unit_name else col.column
            value = parse_number(cell, problems, path, row.line, number, what)
            if value is None:
                continue
            converted = _convert(value, col.unit)
            if col.field == "accuracy":
                if converted > 1:
                    problems.add(
                        path,
                        f"{what}: expected a score of at most "
                        f"{'100' if col.unit_name == 'percent' else '1'}, got {cell!r}",
                        row.line,
                        number,
                    )
                    continue
                score: dict[str, Any] = {"eval_task": col.eval_task, "score": converted}
                if col.num_fewshot is not None:
                    score["num_fewshot"] = col.num_fewshot
                if col.metric is not None:
                    score["metric"] = col.metric
                accuracy.append(score)
            elif col.field == "params_b":
                values["params_b"] = converted
            else:
                metrics[col.field] = converted
    for field in REQUIRED:
        if field not in values:
            problems.add(path, f"{field}: empty (required)", row.line, columns_of.get(field))
    if len(problems.lines) > before:
        return None
    model_id, task, hardware = values["model_id"], values["task"], values["hardware"]
    name = model_name_for(model_id)
    if name is None:
        problems.add(
            path,
            f"model {model_id!r} cannot be named safely (org/name)",
            row.line,
            columns_of.get("model_id"),
        )
    if not SAFE_NAME.match(task) or ".." in task:
        problems.add(
            path,
            f"task {task!r} is not a safe name (letters, digits, . _ -)",
            row.line,
            columns_of.get("task"),
        )
    alias = aliases.lookup(hardware)
    if alias is None:
        problems.add(
            path,
            f"hardware {hardware!r} has no entry in {aliases.path} "
            f"(known: {aliases.known() or 'none'}); add one",
            row.line,
            columns_of.get("hardware"),
        )
    if not any(v is not None for v in metrics.values()):
        problems.add(path, "no figure in this row (every mapped figure is empty)", row.line)
    if values.get("batch_size") is not None and values.get("max_num_seqs") is not None:
        problems.add(
            path,
            "batch_size and max_num_seqs: a row is static (batch size) or continuous "
            "(batch cap), not both",
            row.line,
            columns_of.get("max_num_seqs"),
        )
    if len(problems.lines) > before:
        return None
    assert alias is not None and name is not None
    return make_record(
        source,
        identity={
            "model_name": name,
            "model_id": model_id,
            "task": task,
            "hardware_slug": alias.slug,
            "hardware_name": hardware,
            "batch_size": values.get("batch_size"),
            "configuration": configuration_of(values),
        },
        task=task_block(mapping.tasks, task),
        model={
            "display_name": values.get("display_name") or model_id,
            "url": values.get("model_url"),
            "params_b": values.get("params_b"),
            "precision": values.get("precision"),
        },
        metrics=metrics,
        accuracy=accuracy,
        rows=[
            SourceRow(file=path.name, line=row.line, values=row.cells),
            *(
                [SourceRow(file=mapping.path.name, line=1, values={"constants": mapping.constants})]
                if mapping.constants
                else []
            ),
        ],
    )


def configuration_of(values: dict[str, Any]) -> dict[str, Any]:
    """The configuration as the table gives it: only the mapped fields; batching follows from
    a batch size (static) or a batch cap (continuous)."""
    configuration = {
        key: values[key]
        for key in (*CONFIGURATION_FIELDS, "batch_size", "precision")
        if values.get(key) is not None
    }
    if "batch_size" in configuration:
        configuration["batching"] = "static"
    elif "max_num_seqs" in configuration:
        configuration["batching"] = "continuous"
    return configuration
