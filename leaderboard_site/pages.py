"""What each data-heavy page carries: the board, task, compare and model pages' context and data.

A board's rows go once into its data script (`data/boards/<slug>.js`, `page_data`), which every
chart of the board reads; the compare page loads the same script for the board it compares on.
A task page carries its rows (every hardware) for the ranking across GPUs and the chart of every
hardware; the model page its own rows (a few dozen) inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from leaderboard_site.aggregate import PARETO_VIEWS
from leaderboard_site.charts.board import board_charts
from leaderboard_site.charts.comparison import (
    CROSS_METRICS,
    compare_template,
    cross_hardware_template,
    gpu_comparison_chart,
)
from leaderboard_site.charts.model_page import (
    energy_distribution_chart,
    output_length_chart,
    power_timeline_chart,
    tradeoff_charts,
)
from leaderboard_site.charts.roofline import roofline_views
from leaderboard_site.columns import DERIVED_KEYS
from leaderboard_site.page_data import BOARD_DATA_DIR, encode_rows, script_text
from leaderboard_site.render import facts
from leaderboard_site.site_data import SOURCE_KEYS, Board, ModelSummary, Row, SiteData, slugify
from leaderboard_site.spread import SPREAD_STATS
from leaderboard_site.steady_rows import STEADY_METHOD
from leaderboard_site.style import SHAPES, natural_key

# Row keys a board's data carries besides its columns (what the page's scripts and charts read).
BOARD_ROW_KEYS = (
    "row_id",
    "model_name",
    "model_slug",
    "model_id",
    "random_weights",
    "trust_remote_code",
    "energy_reason",
    "hardware_label",
    "configuration",
    "calibration_id",
    "derived_notes",
    "accuracy_reason",
    *(f"front_{name}" for name, *_ in PARETO_VIEWS),
    *(f"front_measured_{name}" for name, *_ in PARETO_VIEWS),
    *(f"{key}_{part}" for key in SPREAD_STATS for part in ("sd", "n")),
    *SOURCE_KEYS,
)
# What the ranking across GPUs and the chart of every hardware read of a task's rows.
TASK_ROW_KEYS = (
    "row_id",
    "model",
    "model_name",
    "model_slug",
    "board_slug",
    "hardware",
    "hardware_label",
    "num_devices",
    "configuration",
    "batch_size",
    "max_num_seqs",
    "backend",
    "precision",
    "source",
    "source_id",
    "citation",
    "random_weights",
    "accuracy_avg",
    *CROSS_METRICS,
    "latency_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "ttft_s",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "tpot_s",
    "itl_median_s",
    "itl_p90_s",
    "itl_p95_s",
    "itl_p99_s",
)
# The latency figures a deadline can be set on: (kind, statistic) -> row key.
DEADLINE_KEYS = {
    ("request", "mean"): "latency_s",
    ("request", "p50"): "latency_p50_s",
    ("request", "p90"): "latency_p90_s",
    ("request", "p99"): "latency_p99_s",
    ("ttft", "mean"): "ttft_s",
    ("ttft", "p50"): "ttft_p50_s",
    ("ttft", "p90"): "ttft_p90_s",
    ("ttft", "p99"): "ttft_p99_s",
    ("itl", "mean"): "tpot_s",
    ("itl", "p50"): "itl_median_s",
    ("itl", "p90"): "itl_p90_s",
    ("itl", "p95"): "itl_p95_s",
    ("itl", "p99"): "itl_p99_s",
}


def board_styles(data: SiteData, rows: Sequence[Row]) -> dict[str, Any]:
    """The styles (colour, shape) and display names of the models in `rows`, in natural order
    of their display names (Llama 0.2M, 2M, 20M)."""
    names: dict[str, str] = {}
    for row in rows:
        names.setdefault(row["model_name"], row["model"])
    return {
        name: {**data.styles[name], "name": display, "slug": slugify(name)}
        for name, display in sorted(names.items(), key=lambda kv: (natural_key(kv[1]), kv[0]))
    }


def boards_nav(data: SiteData) -> list[dict[str, Any]]:
    """Every board as the selectors and the compare page list them."""
    return [
        {
            "task": b.task,
            "task_name": data.task_name(b.task),
            "hardware": b.hardware,
            "label": b.hardware_label,
            "slug": b.slug,
            "rows": len(b.rows),
            "has_energy": b.has_energy,
        }
        for b in data.boards
    ]


def board_data_path(slug: str) -> str:
    """The board's data script, relative to the site root."""
    return f"{BOARD_DATA_DIR}/{slug}.js"


def board_page(data: SiteData, board: Board, nav: list[dict[str, Any]]) -> tuple[dict, str]:
    """(template context, data script) of one board page."""
    with_published = board.published_count > 0
    styles = board_styles(data, board.rows)
    charts = board_charts(board.rows, data.columns, with_source=with_published)
    # The same charts over the measured rows only, shown when published rows are hidden.
    charts_measured = (
        board_charts(
            board.measured_rows,
            data.columns,
            "chart-m-",
            "front_measured_",
            with_source=True,
            measured=True,
        )
        if with_published
        else []
    )
    # The roofline is of static batches (a steady row has no decode step of fixed size).
    static_rows = [r for r in board.measured_rows if r.get("method") != STEADY_METHOD]
    rooflines = roofline_views(static_rows, data.calibrations)
    every = [*charts, *charts_measured, *(v.chart for v in rooflines)]
    specs = {c.chart_id: c.spec for c in every if c.spec is not None}
    views = {c.chart_id: c.view for c in every if c.spec is not None and c.view}
    keys = (*(c.key for c in data.columns), *BOARD_ROW_KEYS)
    payload = {
        "columns": [c.to_json() for c in data.columns],
        "rows": encode_rows(board.rows, keys),
        "board": {
            "task": board.task,
            "task_name": data.task_name(board.task),
            "hardware": board.hardware,
            "label": board.hardware_label,
            "slug": board.slug,
        },
        "derived_keys": list(DERIVED_KEYS),
        "styles": styles,
        "has_energy": board.has_energy,
        "published_rows": board.published_count,
    }
    dataset = f"board:{board.slug}"
    context = {
        "board": board,
        "charts": charts,
        "charts_measured": charts_measured,
        "rooflines": rooflines,
        "specs": specs,
        "views": {"dataset": dataset, "views": views},
        "page_data": {"boards": nav, "dataset": dataset},
        "data_script": board_data_path(board.slug),
        "styles": styles,
    }
    return context, script_text(dataset, payload)


def task_page(data: SiteData, task: str) -> dict[str, Any]:
    """The template context of one task page: its boards, hardware (each with the shape the
    chart of every hardware draws it with), GPU counts and rows."""
    task_rows = [row for row in data.rows if row["task"] == task]
    hardware = sorted({row["hardware"] for row in task_rows})
    shapes = {slug: SHAPES[i % len(SHAPES)] for i, slug in enumerate(hardware)}
    labels: dict[str, str] = {}
    for row in task_rows:
        labels.setdefault(row["hardware"], row["hardware_label"])
    counts = {row.get("num_devices") for row in task_rows}
    gpu_counts = sorted(c for c in counts if c is not None) + ([None] if None in counts else [])
    deadlines = [
        {"kind": kind, "stat": stat, "key": key}
        for (kind, stat), key in DEADLINE_KEYS.items()
        if any(isinstance(r.get(key), int | float) for r in task_rows)
    ]
    styles = board_styles(data, task_rows)
    hardware_info = [
        {
            "slug": h,
            "label": labels[h],
            "shape": shapes[h],
            "has_energy": any(
                r.get("energy_per_response_j") is not None for r in task_rows if r["hardware"] == h
            ),
        }
        for h in hardware
    ]
    return {
        "task": task,
        "task_boards": [b for b in data.boards if b.task == task],
        "hardware": hardware_info,
        "gpu_counts": gpu_counts,
        "deadlines": deadlines,
        "styles": styles,
        "specs": {},
        "payload": {
            "task": task,
            "task_name": data.task_name(task),
            "rows": encode_rows(task_rows, TASK_ROW_KEYS),
            "hardware": {
                h["slug"]: {"label": h["label"], "shape": h["shape"]} for h in hardware_info
            },
            "columns": {c.key: c.title for c in data.columns},
            "styles": styles,
            "template": cross_hardware_template(),
        },
    }


def top_models(board: Board, count: int = 3) -> list[str]:
    """The `count` models a compare page preselects on a board: those with the lowest energy
    per response at their best configuration (without energy: the lowest mean latency)."""
    key = "energy_per_response_j" if board.has_energy else "latency_s"
    best: dict[str, float] = {}
    for row in board.rows:
        value = row.get(key)
        if isinstance(value, int | float) and (
            row["model_name"] not in best or value < best[row["model_name"]]
        ):
            best[row["model_name"]] = value
    ranked = sorted(best, key=lambda name: (best[name], name))
    rest = sorted(set(board.model_names) - set(ranked))
    return [*ranked, *rest][:count]


def compare_page(data: SiteData, nav: list[dict[str, Any]]) -> dict[str, Any]:
    """The compare page's context: the boards (with the models each preselects) and styles; the
    rows come from the board data scripts, loaded for the board being compared."""
    basic = [c for c in data.columns if c.level == "basic"]
    return {
        "specs": {},
        "payload": {
            "columns": [c.to_json() for c in basic],
            "styles": board_styles(data, data.rows),
            "boards": [
                {
                    **entry,
                    "data": board_data_path(entry["slug"]),
                    "top": top_models(board),
                    "models": board.model_names,
                }
                for entry, board in zip(nav, data.boards, strict=True)
            ],
            "busiest": data.busiest,
            "template": compare_template(),
        },
    }


def model_page(data: SiteData, model: ModelSummary) -> dict[str, Any]:
    """The template context of one model page: its charts (the trade-off per hardware, the
    hardware comparison, energy distributions, power timeline, output lengths), facts, and
    where "add to compare" goes (its busiest board, the model named)."""
    style = data.styles.get(model.model_name, {"color": "#1f77b4", "shape": "circle"})
    chart = gpu_comparison_chart(model.rows, data.columns)
    tradeoffs = tradeoff_charts(model.rows, style, data.task_name)
    distributions = [
        (label, energy_distribution_chart(f"chart-energy-dist-{index}", series, style["color"]))
        for index, (label, series) in enumerate(sorted(model.energy_series.items()))
    ]
    timeline = power_timeline_chart("chart-power", model.timelines) if model.timelines else None
    lengths = (
        output_length_chart("chart-output-length", model.output_lengths)
        if model.output_lengths
        else None
    )
    every = [
        *tradeoffs,
        chart,
        *(c for _, c in distributions),
        *([timeline] if timeline else []),
        *([lengths] if lengths else []),
    ]
    counts: dict[str, int] = {}
    for row in model.rows:
        counts[row["board_slug"]] = counts.get(row["board_slug"], 0) + 1
    board = max(sorted(counts), key=lambda slug: counts[slug], default=None)
    compare = (
        "../compare.html#" + urlencode({"board": board, "m": model.model_name}) if board else None
    )
    return {
        "model": model,
        "chart": chart,
        "tradeoffs": tradeoffs,
        "distributions": distributions,
        "timeline": timeline,
        "lengths": lengths,
        "specs": {c.chart_id: c.spec for c in every if c.spec},
        "config_facts": facts(model.config),
        "provenance_facts": facts(model.provenance),
        "compare_url": compare,
    }
