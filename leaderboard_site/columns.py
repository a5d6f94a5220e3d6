"""The leaderboard's columns: one table, one entry per column.

Adding a column is one `Column(...)` entry here plus its value in the rows built by
`aggregate.aggregate` (the hardware-aware columns come from `runner.hardware.derived` through
`aggregate.derived_values`). The custom-formula parser in the browser accepts every numeric
column key listed here (and the accuracy columns found in the records), so a new column is
usable in formulas and as a chart axis at once.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

Better = Literal["lower", "higher", "none"]
Level = Literal["basic", "all"]
Kind = Literal["text", "number"]
NOT_MEASURED = "not measured"
NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class Column:
    """One leaderboard column.

    Attributes:
        key: the row key; also the name a custom formula uses (an identifier).
        label: the header text.
        unit: the unit shown in the header ('' for none).
        better: which direction is better ('none' for descriptive columns).
        level: 'basic' columns show by default; 'all' columns only with the "all columns" toggle.
        kind: 'number' columns can be sorted numerically, used in formulas and chart axes.
        digits: significant digits shown for numbers.
        description: a tooltip for the header (what it is, how it is computed).
        missing: what an empty cell reads: "not measured" (a measurement was not taken) or
            "not available" (a derived metric lacks an input: no calibration, no architecture).
        spread: the row carries `<key>_sd` and `<key>_n` (shown as "± stdev (n)" on request).
    """

    key: str
    label: str
    unit: str
    better: Better
    level: Level
    kind: Kind = "number"
    digits: int = 3
    description: str = ""
    missing: str = NOT_MEASURED
    spread: bool = False

    @property
    def title(self) -> str:
        """Header and axis text: the label and its unit, the unit said once ('× floor')."""
        if not self.unit or self.unit in self.label:
            return self.label
        return f"{self.label} ({self.unit})"

    def to_json(self) -> dict[str, Any]:
        """The column as JSON data for the page."""
        return {**asdict(self), "title": self.title}


COLUMNS: tuple[Column, ...] = (
    Column("model", "Model", "", "none", "basic", "text", description="display name"),
    Column("params_b", "Params", "B", "none", "basic", digits=3, description="parameters, 1e9"),
    Column(
        "num_devices",
        "GPUs",
        "",
        "none",
        "basic",
        digits=4,
        description="devices of the configuration (GPUs; 1 for a CPU row); energy, power and "
        "throughput are for all of them together",
    ),
    Column(
        "layout",
        "Layout",
        "",
        "none",
        "basic",
        "text",
        description="parallel layout: TP tensor, PP pipeline, EP expert, DP data parallel "
        "degree (degrees of 1 left out)",
    ),
    Column(
        "batch_size",
        "Batch",
        "",
        "none",
        "basic",
        digits=4,
        description="static batching: requests per batch",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "max_num_seqs",
        "Batch cap",
        "",
        "none",
        "basic",
        digits=4,
        description="continuous batching: the serving engine's cap on running requests "
        "(max_num_seqs)",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "mean_running_batch",
        "Mean batch",
        "",
        "none",
        "all",
        description="continuous batching: mean running requests over the measured window",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "backend",
        "Backend",
        "",
        "none",
        "basic",
        "text",
        description="how the model ran: eager, compiled, CUDA graph, or an engine",
    ),
    Column(
        "energy_per_response_j",
        "Energy / response",
        "J",
        "lower",
        "basic",
        description="energy of measured batches split evenly over their responses; all the "
        "configuration's GPUs together",
        spread=True,
    ),
    Column(
        "energy_per_token_j",
        "Energy / token",
        "J",
        "lower",
        "basic",
        description="energy of measured batches over their output tokens; all the "
        "configuration's GPUs together",
        spread=True,
    ),
    Column(
        "energy_above_idle_per_response_j",
        "Energy above idle / response",
        "J",
        "lower",
        "all",
        description="(energy - idle power x time) / responses",
    ),
    Column(
        "latency_s", "Latency", "s", "lower", "basic", description="mean per request", spread=True
    ),
    *(
        Column(
            f"latency_p{q}_s",
            f"Latency p{q}",
            "s",
            "lower",
            "all",
            description=f"{q}th percentile over every measured request of the row (from the raw "
            "per-request data)",
            missing=NOT_AVAILABLE,
        )
        for q in (50, 90, 99)
    ),
    Column(
        "ttft_s",
        "TTFT",
        "s",
        "lower",
        "basic",
        description="time to first token, mean per request",
        spread=True,
    ),
    *(
        Column(
            f"ttft_p{q}_s",
            f"TTFT p{q}",
            "s",
            "lower",
            "all",
            description=f"time to first token, {q}th percentile over every measured request",
            missing=NOT_AVAILABLE,
        )
        for q in (50, 90, 99)
    ),
    Column(
        "tpot_s", "Time / output token", "s", "lower", "all", description="mean TPOT", spread=True
    ),
    Column(
        "throughput_tok_s",
        "Throughput",
        "tok/s",
        "higher",
        "basic",
        description="output tokens / measured time; all the configuration's GPUs together",
        spread=True,
    ),
    Column(
        "response_tokens",
        "Response length",
        "tokens",
        "none",
        "basic",
        description="mean",
        spread=True,
    ),
    *(
        Column(
            f"itl_{name}_s",
            f"ITL {label}",
            "s",
            "lower",
            "all",
            description=f"inter-token latency, {label} over the source's or window's gaps (a "
            "pooled steady row: the mean of its records' percentiles, weighted by their gap "
            "counts)",
            missing=NOT_AVAILABLE,
        )
        for name, label in (("median", "p50"), ("p90", "p90"), ("p95", "p95"), ("p99", "p99"))
    ),
    Column(
        "avg_power_w",
        "Avg power",
        "W",
        "lower",
        "all",
        description="energy / time, all the configuration's GPUs together",
    ),
    Column(
        "energy_per_response_per_gpu_j",
        "Energy / response / GPU",
        "J",
        "lower",
        "all",
        description="energy per response / GPUs of the configuration",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "avg_power_per_gpu_w",
        "Avg power / GPU",
        "W",
        "lower",
        "all",
        description="average power / GPUs of the configuration",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "throughput_per_gpu_tok_s",
        "Throughput / GPU",
        "tok/s",
        "higher",
        "all",
        description="throughput / GPUs of the configuration",
        missing=NOT_AVAILABLE,
    ),
    Column("idle_power_w", "Idle power", "W", "none", "all", description="idle baseline"),
    Column("peak_memory_gb", "Peak memory", "GB", "lower", "all", description="1e9 bytes"),
    Column("runs", "Runs", "", "none", "all", digits=4, description="records pooled in the row"),
    Column(
        "accuracy_avg",
        "Accuracy avg",
        "0–1",
        "higher",
        "basic",
        description="mean of the accuracy columns; missing if any score is missing",
    ),
    Column("energy_source", "Energy source", "", "none", "basic", "text"),
    # Hardware-aware metrics, derived at aggregation time by runner.hardware.derived (never stored).
    Column(
        "x_floor",
        "× floor",
        "×",
        "lower",
        "basic",
        description="mean time per output token / memory-bandwidth floor of one decode step "
        "(bytes moved per step / measured copy bandwidth); 1 = at the floor",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "tokens_per_j",
        "Tokens / J",
        "tokens/J",
        "higher",
        "basic",
        description="output tokens / measured energy",
    ),
    Column(
        "carbon_g_per_response",
        "Carbon / response",
        "gCO2e",
        "lower",
        "all",
        description="energy per response × grid carbon intensity (an assumption; methodology)",
    ),
    Column(
        "carbon_g_per_1k_tokens",
        "Carbon / 1k tokens",
        "gCO2e",
        "lower",
        "all",
        description="energy per 1000 output tokens × grid carbon intensity (an assumption)",
    ),
    Column(
        "cost_usd_per_1m_tokens",
        "Cost / 1M tokens",
        "USD",
        "lower",
        "all",
        description="hardware price per hour (an assumption; methodology) / 3600 / measured "
        "throughput × 1e6",
    ),
    Column(
        "gflops_per_token",
        "FLOPs / token",
        "GFLOP",
        "none",
        "all",
        description="estimate: 2 × non-embedding params + output head + attention over the mean "
        "context, 1e9",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "arithmetic_intensity_flop_per_byte",
        "Arithmetic intensity",
        "FLOP/byte",
        "higher",
        "all",
        description="FLOPs of one decode step (batch × FLOPs per token) / bytes it moves, "
        "an estimate",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "bandwidth_floor_s",
        "Bandwidth floor",
        "s",
        "none",
        "all",
        description="bytes moved by one decode step / measured copy bandwidth",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "achieved_bandwidth_gb_s",
        "Achieved bandwidth",
        "GB/s",
        "higher",
        "all",
        description="bytes moved per decode step / mean time per output token, 1e9 bytes/s",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "achieved_bandwidth_share",
        "Bandwidth used",
        "share",
        "higher",
        "all",
        description="achieved bandwidth / measured copy bandwidth (0..1; 1 / × floor)",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "achieved_gflop_s",
        "Achieved compute",
        "GFLOP/s",
        "higher",
        "all",
        description="FLOPs per decode step / mean time per output token, 1e9 FLOP/s",
        missing=NOT_AVAILABLE,
    ),
    Column(
        "achieved_flop_share",
        "Compute used",
        "share",
        "higher",
        "all",
        description="achieved FLOP/s / measured matmul FLOP/s of the run's dtype (0..1)",
        missing=NOT_AVAILABLE,
    ),
)

# The keys of the hardware-aware (derived) columns above.
DERIVED_KEYS: tuple[str, ...] = (
    "x_floor",
    "tokens_per_j",
    "carbon_g_per_response",
    "carbon_g_per_1k_tokens",
    "cost_usd_per_1m_tokens",
    "gflops_per_token",
    "arithmetic_intensity_flop_per_byte",
    "bandwidth_floor_s",
    "achieved_bandwidth_gb_s",
    "achieved_bandwidth_share",
    "achieved_gflop_s",
    "achieved_flop_share",
)

# The reference eval tasks, shown first and in this order (others found in records follow).
REFERENCE_EVAL_TASKS: tuple[str, ...] = ("arc_challenge", "hellaswag", "truthfulqa_mc2")
# The shots the reference leaderboard reports them at; a record at other shots is not shown in
# these columns (runner/accuracy/join.py `shots`).
REFERENCE_SHOTS: dict[str, int] = {"arc_challenge": 25, "hellaswag": 10, "truthfulqa_mc2": 0}
EVAL_TASK_LABELS = {
    "arc_challenge": "ARC",
    "hellaswag": "HellaSwag",
    "truthfulqa_mc2": "TruthfulQA",
}
ACCURACY_PREFIX = "acc_"
_IDENT = re.compile(r"[^A-Za-z0-9_]")


def accuracy_key(eval_task: str) -> str:
    """The column key of an eval task's score (an identifier usable in formulas)."""
    return ACCURACY_PREFIX + _IDENT.sub("_", eval_task)


def accuracy_column(eval_task: str) -> Column:
    """The column of one eval task's score (0..1, higher is better)."""
    return Column(
        accuracy_key(eval_task),
        EVAL_TASK_LABELS.get(eval_task, eval_task),
        "0–1",
        "higher",
        "all",
        description=f"lm-eval {eval_task} score (0..1)",
    )


def ordered_eval_tasks(found: set[str]) -> list[str]:
    """Reference eval tasks first (in their order), then the others found, sorted."""
    reference = [task for task in REFERENCE_EVAL_TASKS if task in found]
    return reference + sorted(found - set(REFERENCE_EVAL_TASKS))


def average_tasks(found: set[str]) -> list[str]:
    """The eval tasks an accuracy average is over: the reference tasks among `found`, or all of
    `found` where none is a reference task."""
    ordered = ordered_eval_tasks(found)
    return [t for t in ordered if t in REFERENCE_EVAL_TASKS] or ordered


def columns_for(eval_tasks: list[str]) -> list[Column]:
    """Every column, with one accuracy column per eval task placed before `accuracy_avg`."""
    result: list[Column] = []
    for column in COLUMNS:
        if column.key == "accuracy_avg":
            result.extend(accuracy_column(task) for task in eval_tasks)
        result.append(column)
    return result


def column(key: str) -> Column:
    """The fixed column named `key` (KeyError if none)."""
    for candidate in COLUMNS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)
