"""The serving section of the site: rate sweeps, their headline numbers, charts and pages.

Pure aggregation first (`serving_site`), then Altair specs (rendered client-side like every
other chart), then the pages (`serving_pages`). It reads serving records only
(`runner.records.serving`); the rest of the site is untouched by them.

**Sweeps.** Serving records are grouped into one rate sweep per (task, hardware, model id,
revision, arrival process, SLO). Records at the same rate are pooled: requests and requests
meeting the SLO are summed (attainment = met / requests), window energy and completed requests
are summed (energy per request = energy / completions; null unless every record measured
energy), tail latencies are request-weighted means of the records' p90s.

**Headline numbers**, computed here at build time from the sweep's records (never stored):

- *Max sustainable rate at the target*: walking the measured rates upwards, the highest rate
  before the first rate whose SLO attainment is below the target attainment (`slo.attainment`).
  It is `measured` when a higher measured rate fails, `at least` when every measured rate
  meets the target (the true maximum lies beyond the sweep), and null when even the lowest
  measured rate fails. No interpolation: the answer is a measured rate.
- *Energy per request at that rate*: that point's energy per request (null where energy was
  not measured, shown "not measured", never 0).

The headline table joins accuracy by `runner.accuracy.join` (same model id and revision only)
and its rows carry numeric keys usable in formula columns (`site/static/serving.js`); the
front "energy per request at target vs accuracy" uses `leaderboard_site.pareto`.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import altair as alt

from leaderboard_site.columns import REFERENCE_EVAL_TASKS, REFERENCE_SHOTS, accuracy_key
from leaderboard_site.pareto import pareto_front
from leaderboard_site.site_data import slugify
from runner.accuracy.join import accuracy_average, best_accuracy_by_task, scores_of
from runner.records.accuracy import AccuracyRecord
from runner.records.serving import ServingRecord

SERVING_DIR = "serving"
WIDTH = 420
HEIGHT = 280
Row = dict[str, Any]

# Numeric keys of the headline table, usable in formula columns: (key, label, unit, better).
TABLE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("max_rate_rps", "Max rate at target", "req/s", "higher"),
    ("energy_per_request_at_max_j", "Energy / request at that rate", "J", "lower"),
    ("energy_per_token_at_max_j", "Energy / output token at that rate", "J", "lower"),
    ("goodput_at_max_rps", "Goodput at that rate", "req/s", "higher"),
    ("attainment_at_max", "SLO attainment at that rate", "share", "higher"),
    ("ttft_p90_at_max_s", "p90 TTFT at that rate", "s", "lower"),
    ("itl_p90_at_max_s", "p90 ITL at that rate", "s", "lower"),
    ("max_goodput_rps", "Best goodput measured", "req/s", "higher"),
    ("rates_measured", "Rates measured", "", "higher"),
    ("params_b", "Parameters", "B", "lower"),
    ("accuracy_avg", "Accuracy (avg)", "share", "higher"),
)


@dataclass(frozen=True)
class ServingChart:
    """A chart of the serving pages: element id, title, spec (None: nothing to draw), a note."""

    chart_id: str
    title: str
    spec: dict[str, Any] | None
    note: str


@dataclass
class ServingSweep:
    """One rate sweep: one model, task, hardware, arrival process and SLO, over rates."""

    key: str
    task: str
    hardware: str
    hardware_label: str
    model: str
    model_name: str
    model_id: str
    revision: str
    process: str
    slo: dict[str, Any]
    points: list[Row]
    headline: Row = field(default_factory=dict)


@dataclass
class ServingBoard:
    """The serving page of one task on one piece of hardware."""

    task: str
    hardware: str
    hardware_label: str
    slug: str
    sweeps: list[ServingSweep]
    table: list[Row] = field(default_factory=list)
    charts: list[ServingChart] = field(default_factory=list)
    front: list[str] = field(default_factory=list)


@dataclass
class ServingSite:
    """Everything the serving pages show."""

    boards: list[ServingBoard]
    records: int
    eval_tasks: list[str]


def process_label(record: ServingRecord) -> str:
    """`poisson`, `gamma cv=2` or `trace <sha8> x<speedup>`: what load a sweep ran under."""
    arrival = record.arrival
    if arrival.process == "gamma":
        return f"gamma cv={arrival.cv:g}"
    if arrival.process == "trace":
        sha = (arrival.trace_sha256 or "")[:8]
        return f"trace {sha}".strip()
    return arrival.process


def slo_text(slo: dict[str, Any]) -> str:
    """The SLO in words, e.g. `TTFT ≤ 2 s, p90 ITL ≤ 0.2 s, for 90% of requests`."""
    parts = []
    for key, label in (("ttft_s", "TTFT"), ("itl_p90_s", "p90 ITL"), ("e2e_s", "end to end")):
        if slo.get(key) is not None:
            parts.append(f"{label} ≤ {slo[key]:g} s")
    targets = ", ".join(parts) or "finished without error"
    return f"{targets}, for {slo['attainment'] * 100:g}% of requests"


def _rate_of(record: ServingRecord) -> float:
    configured = record.identity.request_rate_rps
    return configured if configured is not None else record.arrival.offered_rate_rps


def _weighted(pairs: Sequence[tuple[float | None, int]]) -> float | None:
    usable = [(value, n) for value, n in pairs if value is not None and n > 0]
    total = sum(n for _, n in usable)
    return sum(v * n for v, n in usable) / total if total else None  # type: ignore[operator]


def pool_point(records: Sequence[ServingRecord], relpaths: Sequence[str]) -> Row:
    """One sweep point from the records measured at the same rate (see the module doc)."""
    first = records[0]
    requests = sum(r.summary.requests_in_window for r in records)
    met = sum(r.summary.slo_met for r in records)
    duration = sum(r.window.measured_duration_s for r in records)
    completed = sum(r.summary.completed_in_window for r in records)
    tokens = sum(r.summary.output_tokens_in_window for r in records)
    energies = [r.summary.energy_j for r in records]
    energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]

    def p90(name: str) -> float | None:
        stats = [getattr(r.measurements, name) for r in records]
        return _weighted([(stat.p90, stat.n) for stat in stats if stat is not None])

    attainment = met / requests if requests else None
    return {
        "rate_rps": _rate_of(first),
        "offered_rate_rps": sum(r.arrival.offered_rate_rps * r.window.duration_s for r in records)
        / sum(r.window.duration_s for r in records),
        "requests": requests,
        "slo_met": met,
        "attainment": attainment,
        "sustainable": attainment is not None and attainment >= first.slo.attainment,
        "throughput_rps": completed / duration,
        "throughput_tok_s": tokens / duration,
        "goodput_rps": met / duration,
        "energy_j": energy,
        "energy_per_request_j": None if energy is None or not completed else energy / completed,
        "energy_per_token_j": None if energy is None or not tokens else energy / tokens,
        "avg_power_w": None if energy is None else energy / duration,
        "ttft_p90_s": p90("ttft_s"),
        "itl_p90_s": p90("itl_s"),
        "e2e_p90_s": p90("e2e_latency_s"),
        "queueing_p90_s": p90("queueing_delay_s"),
        "mean_running_requests": _weighted([(r.summary.mean_running_requests, 1) for r in records]),
        "energy_source": "+".join(sorted({r.energy.source for r in records})),
        "energy_reason": "; ".join(sorted({r.energy.reason for r in records if r.energy.reason}))
        or None,
        "runs": len(records),
        "run_ids": [r.run_id for r in records],
        "files": [str(PurePosixPath("data") / "records" / p) for p in relpaths],
    }


def headline(points: Sequence[Row], target: float) -> Row:
    """The max sustainable rate and the energy per request there (see the module doc)."""
    best: Row | None = None
    failed_after = False
    for point in sorted(points, key=lambda p: p["rate_rps"]):
        if not point["sustainable"]:
            failed_after = True
            break
        best = point
    goodputs = [p["goodput_rps"] for p in points]
    out: Row = {
        "max_rate_rps": None,
        "max_rate_bound": "none",
        "energy_per_request_at_max_j": None,
        "energy_per_token_at_max_j": None,
        "goodput_at_max_rps": None,
        "attainment_at_max": None,
        "ttft_p90_at_max_s": None,
        "itl_p90_at_max_s": None,
        "max_goodput_rps": max(goodputs) if goodputs else None,
        "rates_measured": len(points),
        "target_attainment": target,
    }
    if best is not None:
        out.update(
            max_rate_rps=best["rate_rps"],
            max_rate_bound="measured" if failed_after else "at least",
            energy_per_request_at_max_j=best["energy_per_request_j"],
            energy_per_token_at_max_j=best["energy_per_token_j"],
            goodput_at_max_rps=best["goodput_rps"],
            attainment_at_max=best["attainment"],
            ttft_p90_at_max_s=best["ttft_p90_s"],
            itl_p90_at_max_s=best["itl_p90_s"],
        )
    return out


def hardware_label(records: Sequence[ServingRecord], slug: str) -> str:
    names = sorted({r.provenance.gpu_name for r in records if r.provenance.gpu_name})
    return names[0] if len(names) == 1 else slug


def serving_site(
    items: Sequence[Any],
    eval_tasks: Sequence[str] = (),
) -> ServingSite:
    """Sweeps, headline tables and charts of every (task, hardware) with serving records.

    Args:
        items: loaded records (`leaderboard_site.aggregate.LoadedRecord`: `relpath`, `record`);
            kinds other than serving and accuracy are ignored.
        eval_tasks: the eval tasks the leaderboard shows (their scores are joined).
    """
    serving = sorted(
        (i for i in items if isinstance(i.record, ServingRecord)), key=lambda i: i.relpath
    )
    accuracy: list[AccuracyRecord] = [
        i.record for i in items if isinstance(i.record, AccuracyRecord)
    ]
    reference = [t for t in eval_tasks if t in REFERENCE_EVAL_TASKS]
    average_over = reference or list(eval_tasks)
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for item in serving:
        record: ServingRecord = item.record
        ident = record.identity
        slo = record.slo.model_dump(mode="json")
        key = (
            ident.task,
            ident.hardware_slug,
            ident.model_name,
            ident.model_id,
            ident.model_revision,
            process_label(record),
            json.dumps(slo, sort_keys=True),
        )
        groups[key].append(item)
    by_board: dict[tuple[str, str], list[ServingSweep]] = defaultdict(list)
    for key in sorted(groups):
        task, hardware, model_name, model_id, revision, process, slo_json = key
        group = groups[key]
        records = [i.record for i in group]
        by_rate: dict[float, list[Any]] = defaultdict(list)
        for item in group:
            by_rate[_rate_of(item.record)].append(item)
        points = [
            pool_point([i.record for i in by_rate[rate]], [i.relpath for i in by_rate[rate]])
            for rate in sorted(by_rate)
        ]
        slo = json.loads(slo_json)
        newest = max(records, key=lambda r: r.run_id)
        sweep = ServingSweep(
            key="|".join((task, hardware, model_name, revision, process, slo_json)),
            task=task,
            hardware=hardware,
            hardware_label=hardware_label(records, hardware),
            model=newest.model.display_name,
            model_name=model_name,
            model_id=model_id,
            revision=revision,
            process=process,
            slo=slo,
            points=points,
        )
        chosen = best_accuracy_by_task(model_id, revision, accuracy, shots=REFERENCE_SHOTS)
        scores = scores_of(chosen, eval_tasks)
        sweep.headline = {
            **headline(points, slo["attainment"]),
            "row_id": sweep.key,
            "model": sweep.model,
            "model_name": model_name,
            "model_slug": slugify(model_name),
            "model_id": model_id,
            "revision": revision,
            "process": process,
            "slo": slo_text(slo),
            "params_b": newest.model.params / 1e9,
            "random_weights": newest.model.random_weights,
            "energy_source": "+".join(sorted({r.energy.source for r in records})),
            "accuracy_avg": accuracy_average({t: scores[t] for t in average_over}),
            **{accuracy_key(t): scores[t] for t in eval_tasks},
        }
        by_board[(task, hardware)].append(sweep)
    boards = []
    for (task, hardware), sweeps in sorted(by_board.items()):
        labels = {s.hardware_label for s in sweeps}
        board = ServingBoard(
            task=task,
            hardware=hardware,
            hardware_label=labels.pop() if len(labels) == 1 else hardware,
            slug=f"{slugify(task)}--{slugify(hardware)}",
            sweeps=sweeps,
        )
        board.table = [s.headline for s in sweeps]
        front = pareto_front(
            (
                (row["row_id"], row["energy_per_request_at_max_j"], row["accuracy_avg"])
                for row in board.table
            ),
            "lower",
            "higher",
        )
        board.front = sorted(str(k) for k in front)
        for row in board.table:
            row["on_front"] = row["row_id"] in front
        board.charts = serving_charts(board)
        boards.append(board)
    return ServingSite(boards=boards, records=len(serving), eval_tasks=list(eval_tasks))


# ------------------------------------------------------------------------------------------------
# Charts


def _series(sweep: ServingSweep, several_processes: bool) -> str:
    return f"{sweep.model} · {sweep.process}" if several_processes else sweep.model


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def serving_charts(board: ServingBoard) -> list[ServingChart]:
    """Energy per request vs rate (violation region shaded), SLO attainment vs rate, p90 TTFT vs
    rate, and energy per request at the target vs accuracy (with its Pareto front)."""
    several = len({s.process for s in board.sweeps}) > 1
    points: list[Row] = []
    bands: list[Row] = []
    targets: list[Row] = []
    for sweep in board.sweeps:
        series = _series(sweep, several)
        rates = [p["rate_rps"] for p in sweep.points]
        if any(not p["sustainable"] for p in sweep.points):
            # From the max sustainable rate (or the lowest measured one, if none is) to the
            # highest measured: the target is first missed somewhere inside this band.
            start = sweep.headline["max_rate_rps"]
            bands.append({"series": series, "x": start or min(rates), "x2": max(rates)})
        targets.append(
            {"series": series, "attainment": sweep.slo["attainment"], "ttft": sweep.slo["ttft_s"]}
        )
        for p in sweep.points:
            points.append(
                {
                    "series": series,
                    "model": sweep.model,
                    "rate": p["rate_rps"],
                    "energy": p["energy_per_request_j"],
                    "attainment": p["attainment"],
                    "ttft_p90": p["ttft_p90_s"],
                    "goodput": p["goodput_rps"],
                    "meets": "meets the target" if p["sustainable"] else "misses the target",
                }
            )
    slug = board.slug
    charts = []
    energy = [p for p in points if _usable(p["energy"])]
    missing = len(points) - len(energy)
    note = "Shaded (per model): above the max sustainable rate, where the SLO target is missed." + (
        f" {missing} point(s) without measured energy are not drawn." if missing else ""
    )
    energy_bands = [b for b in bands if any(p["series"] == b["series"] for p in energy)]
    energy_spec = None
    if energy:
        energy_spec = _rate_chart(
            "Energy per request vs request rate",
            "energy",
            "Energy per request (J)",
            energy,
            energy_bands,
        )
    charts.append(
        ServingChart(
            f"serving-energy-{slug}",
            "Energy per request vs request rate",
            energy_spec,
            note if energy else "No energy measured on this hardware (energy is never shown as 0).",
        )
    )
    charts.append(
        ServingChart(
            f"serving-attainment-{slug}",
            "SLO attainment vs request rate",
            _attainment_chart(points, _unique(targets, "attainment")) if points else None,
            "Shaded: below the target attainment (the SLO-violation region).",
        )
    )
    ttft = [p for p in points if _usable(p["ttft_p90"])]
    ttft_spec = None
    if ttft:
        ttft_spec = _rate_chart(
            "p90 time to first token vs request rate",
            "ttft_p90",
            "p90 TTFT (s)",
            ttft,
            bands,
            rules=_unique([t for t in targets if t["ttft"] is not None], "ttft"),
        )
    charts.append(
        ServingChart(
            f"serving-ttft-{slug}",
            "p90 time to first token vs request rate",
            ttft_spec,
            "Dashed: the TTFT target. Shaded: above the max sustainable rate. A rate where no "
            "window request finished has no TTFT to draw.",
        )
    )
    front = [
        {
            "model": row["model"],
            "series": f"{row['model']} · {row['process']}" if several else row["model"],
            "x": row["energy_per_request_at_max_j"],
            "y": row["accuracy_avg"],
            "front": "on the Pareto front" if row["on_front"] else "dominated",
        }
        for row in board.table
        if _usable(row["energy_per_request_at_max_j"]) and _usable(row["accuracy_avg"])
    ]
    charts.append(
        ServingChart(
            f"serving-front-{slug}",
            "Energy per request at the target vs accuracy",
            _front_chart(front) if front else None,
            "Needs energy at the max sustainable rate and an accuracy average; "
            f"{len(board.table) - len(front)} of {len(board.table)} row(s) lack one.",
        )
    )
    return charts


def _unique(rows: list[Row], key: str) -> list[Row]:
    """One row per distinct value of `key` (a target drawn once, however many sweeps share it)."""
    seen: dict[Any, Row] = {}
    for row in rows:
        seen.setdefault(row[key], {key: row[key]})
    return list(seen.values())


def _finish(template: dict[str, Any], **datasets: list[Row]) -> dict[str, Any]:
    spec = json.loads(json.dumps(template))
    spec["datasets"] = datasets
    # As wide as its box and never wider, legends under the plot: a 390 px phone never scrolls
    # the page sideways (the chart conventions of leaderboard_site.style).
    spec["width"] = "container"
    spec["autosize"] = {"type": "fit-x", "contains": "padding", "resize": True}
    spec.setdefault("config", {})["legend"] = {
        "orient": "bottom",
        "direction": "vertical",
        "labelLimit": 300,
    }
    return spec


def _rate_chart(
    title: str,
    key: str,
    y_title: str,
    points: list[Row],
    bands: list[Row],
    rules: list[Row] | None = None,
) -> dict[str, Any]:
    """A rate chart (log axes): one line per series, shaded bands, dashed target rules."""
    template = _rate_template(title, key, y_title, bool(bands), bool(rules))
    data: dict[str, list[Row]] = {"points": points}
    if bands:
        data["bands"] = bands
    if rules:
        data["rules"] = rules
    return _finish(template, **data)


@functools.lru_cache(maxsize=16)
def _rate_template(
    title: str, key: str, y_title: str, with_bands: bool, with_rules: bool
) -> dict[str, Any]:
    pick = alt.selection_point(fields=["series"], bind="legend", name="pick")
    x = alt.X("rate:Q", title="Request rate (req/s)", scale=alt.Scale(type="log"))
    color = alt.Color("series:N", title="Model (click to highlight)")
    layers = []
    if with_bands:
        layers.append(
            alt.Chart(alt.Data(name="bands"))
            .mark_rect(opacity=0.12)
            .encode(x=alt.X("x:Q", scale=alt.Scale(type="log")), x2="x2:Q", color=color)
        )
    if with_rules:
        layers.append(
            alt.Chart(alt.Data(name="rules"))
            .mark_rule(strokeDash=[5, 4], color="#9a3412")
            .encode(y="ttft:Q")
        )
    y = alt.Y(
        f"{key}:Q",
        title=y_title,
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format="~g"),
    )
    layers.append(
        alt.Chart(alt.Data(name="points"))
        .mark_line(point=False)
        .encode(x=x, y=y, color=color, opacity=alt.condition(pick, alt.value(1), alt.value(0.15)))
    )
    layers.append(
        alt.Chart(alt.Data(name="points"))
        .mark_point(size=70, filled=True)
        .encode(
            x=x,
            y=y,
            color=color,
            shape=alt.Shape(
                "meets:N",
                title="SLO",
                scale=alt.Scale(
                    domain=["meets the target", "misses the target"], range=["circle", "cross"]
                ),
            ),
            opacity=alt.condition(pick, alt.value(1), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("series:N", title="Model"),
                alt.Tooltip("rate:Q", title="Rate (req/s)", format=".4~g"),
                alt.Tooltip(f"{key}:Q", title=y_title, format=".4~g"),
                alt.Tooltip("attainment:Q", title="SLO attainment", format=".1%"),
                alt.Tooltip("goodput:Q", title="Goodput (req/s)", format=".4~g"),
                alt.Tooltip("meets:N", title="SLO"),
            ],
        )
        .add_params(pick)
    )
    return alt.layer(*layers).properties(title=title, width=WIDTH, height=HEIGHT).to_dict()


def _attainment_chart(points: list[Row], targets: list[Row]) -> dict[str, Any]:
    usable = [p for p in points if _usable(p["attainment"])]
    return _finish(_attainment_template(), points=usable, targets=targets)


@functools.lru_cache(maxsize=2)
def _attainment_template() -> dict[str, Any]:
    pick = alt.selection_point(fields=["series"], bind="legend", name="pick")
    x = alt.X("rate:Q", title="Request rate (req/s)", scale=alt.Scale(type="log"))
    y = alt.Y(
        "attainment:Q",
        title="SLO attainment",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    color = alt.Color("series:N", title="Model (click to highlight)")
    shade = (
        alt.Chart(alt.Data(name="targets"))
        .transform_calculate(floor="0")
        .mark_rect(opacity=0.08, color="#9a3412")
        .encode(y="floor:Q", y2="attainment:Q")
    )
    rule = (
        alt.Chart(alt.Data(name="targets"))
        .mark_rule(strokeDash=[5, 4], color="#9a3412")
        .encode(y="attainment:Q")
    )
    line = (
        alt.Chart(alt.Data(name="points"))
        .mark_line(point=True)
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=alt.condition(pick, alt.value(1), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("series:N", title="Model"),
                alt.Tooltip("rate:Q", title="Rate (req/s)", format=".4~g"),
                alt.Tooltip("attainment:Q", title="SLO attainment", format=".1%"),
                alt.Tooltip("goodput:Q", title="Goodput (req/s)", format=".4~g"),
            ],
        )
        .add_params(pick)
    )
    chart = alt.layer(shade, rule, line).properties(
        title="SLO attainment vs request rate", width=WIDTH, height=HEIGHT
    )
    return chart.to_dict()


def _front_chart(points: list[Row]) -> dict[str, Any]:
    return _finish(_front_template(), points=points)


@functools.lru_cache(maxsize=2)
def _front_template() -> dict[str, Any]:
    base = alt.Chart(alt.Data(name="points"))
    x = alt.X(
        "x:Q",
        title="Energy per request at the max sustainable rate (J)",
        scale=alt.Scale(zero=False),
        axis=alt.Axis(format="~g"),
    )
    y = alt.Y("y:Q", title="Accuracy (avg)", scale=alt.Scale(zero=False))
    points = base.mark_point(size=80, filled=True).encode(
        x=x,
        y=y,
        color=alt.Color("series:N", title="Model"),
        shape=alt.Shape("front:N", title="Pareto"),
        tooltip=[
            alt.Tooltip("series:N", title="Model"),
            alt.Tooltip("x:Q", title="Energy / request (J)", format=".4~g"),
            alt.Tooltip("y:Q", title="Accuracy", format=".3~g"),
            alt.Tooltip("front:N", title="Pareto"),
        ],
    )
    line = (
        base.mark_line(color="#444", strokeDash=[4, 3], interpolate="step-after")
        .encode(x="x:Q", y="y:Q", order="x:Q")
        .transform_filter("datum.front == 'on the Pareto front'")
    )
    chart = alt.layer(line, points).properties(
        title="Energy per request at the target vs accuracy", width=WIDTH, height=HEIGHT
    )
    return chart.to_dict()


# ------------------------------------------------------------------------------------------------
# Pages and downloads


def table_keys(eval_tasks: Sequence[str]) -> list[str]:
    """The keys of a headline row in the downloads (identity first, then figures)."""
    return [
        "task",
        "hardware",
        "hardware_label",
        "model_name",
        "model_id",
        "revision",
        "process",
        "slo",
        "target_attainment",
        "max_rate_bound",
        *(key for key, *_ in TABLE_COLUMNS),
        *(accuracy_key(t) for t in eval_tasks),
        "energy_source",
        "random_weights",
        "on_front",
    ]


def download_rows(site: ServingSite) -> list[Row]:
    """Every headline row of every board, flat (for data/serving.json and .csv)."""
    keys = table_keys(site.eval_tasks)
    rows = []
    for board in site.boards:
        for row in board.table:
            full = {
                **row,
                "task": board.task,
                "hardware": board.hardware,
                "hardware_label": board.hardware_label,
            }
            rows.append({key: full.get(key) for key in keys})
    return rows


def _csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def navigation(site: ServingSite) -> list[Row]:
    """The serving boards for links: task, hardware, label and page slug."""
    return [
        {"task": b.task, "hardware": b.hardware, "label": b.hardware_label, "slug": b.slug}
        for b in site.boards
    ]


def serving_pages(env: Any, site: ServingSite, common: dict[str, Any]) -> dict[str, str]:
    """The serving index, one page per board, and the downloads, as (relative path -> text)."""
    from leaderboard_site.render import render_page

    pages: dict[str, str] = {}
    columns = [
        {"key": key, "label": label, "unit": unit, "better": better}
        for key, label, unit, better in TABLE_COLUMNS
    ] + [
        {"key": accuracy_key(t), "label": t, "unit": "share", "better": "higher"}
        for t in site.eval_tasks
    ]
    pages[f"{SERVING_DIR}/index.html"] = render_page(
        env, "serving_index.html", "../", page="serving", serving=site, **common
    )
    for board in site.boards:
        specs = {c.chart_id: c.spec for c in board.charts if c.spec is not None}
        payload = {"columns": columns, "rows": board.table}
        pages[f"{SERVING_DIR}/{board.slug}.html"] = render_page(
            env,
            "serving.html",
            "../",
            page="serving",
            serving=site,
            board=board,
            columns=columns,
            specs=specs,
            payload=payload,
            slo_text=slo_text,
            **common,
        )
    rows = download_rows(site)
    pages["data/serving.json"] = json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    pages["data/serving.csv"] = _csv(rows)
    return pages
