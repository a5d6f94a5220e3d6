"""The serving section of the site: rate sweeps, their headline numbers, charts and pages.

Pure aggregation first (`serving_site`), then Altair specs (rendered client-side like every
other chart), then the pages (`serving_pages`). It reads serving records only
(`runner.records.serving`, rules in `runner.records.serving_rules`); the rest of the site is
untouched by them.

**Sweeps.** Serving records are grouped into one rate sweep per (task, hardware, model id,
revision, arrival process, configuration key, sweep hash): records whose configuration (batch
cap, precision, devices) or resolved config apart from the rate (output cap, SLO, prompts,
sampling, engine limits...) differ are different sweeps and never pool. Within a sweep, records
at the same configured rate are pooled: window requests, requests meeting the SLO, finished
requests, tokens, window energy and window lengths are summed (attainment = met / requests,
its binomial bounds and the sample-size rule on the pooled counts, the strictest rule of the
records); the point is steady only when every record's window was; a latency percentile is the
worst (highest) of the records' (an upper bound of the pooled percentile), censored when that
record's is. Records migrated from schema 1-2 have no verdict: their points are `not assessed`.

**Headline numbers**, computed here at build time from the sweep's points (never stored):

- *Max sustainable rate*: the highest rate whose status is `passes` (steady, and attainment at
  or above the target conclusively: `runner.records.serving_rules`) below the lowest rate that
  `fails` or is `overloaded`. `inconclusive` and `not assessed` rates are neither (they neither
  qualify nor block). It is `measured` when a failing or overloaded rate lies above it, `at
  least` when none does, and null when no rate passes below the lowest failing one. The site
  shows the rate the draw *offered* (window arrivals / window length), with the configured
  rate beside it; the next rate up that did not pass is named, so a search's bracket shows.
- *Energy per request at that rate*: that point's energy per finished window request (null
  where energy was not measured, shown "not measured", never 0).

The headline table joins accuracy by `runner.accuracy.join` (same model id and revision only)
and its rows carry numeric keys usable in formula columns (`site/static/serving.js`); the
front "energy per request at the target vs accuracy" uses `leaderboard_site.pareto`.
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

from leaderboard_site.columns import (
    REFERENCE_SHOTS,
    accuracy_key,
    average_tasks,
)
from leaderboard_site.pareto import pareto_front
from leaderboard_site.pooling import hardware_label
from leaderboard_site.render import format_number
from leaderboard_site.site_data import slugify
from runner.accuracy.join import accuracy_average, best_accuracy_by_task, scores_of
from runner.records.accuracy import AccuracyRecord
from runner.records.configuration import configuration_key, configuration_label
from runner.records.serving import PERCENTILES, ServingRecord
from runner.records.serving_rules import (
    MIN_GPU_WINDOW_S,
    config_differences,
    judge_sample,
    rate_status,
)

SERVING_DIR = "serving"
HEIGHT = 260
Row = dict[str, Any]
NOT_ASSESSED = "not assessed"
# Status of a point -> (legend text, shape). Only `passes` can be the max sustainable rate.
STATUS_TEXT = {
    "passes": "passes",
    "fails": "fails",
    "inconclusive": "inconclusive (sample too small)",
    "overloaded": "overloaded (not steady)",
    NOT_ASSESSED: "not assessed (schema 1-2 record)",
}
STATUS_SHAPES = {
    "passes": "circle",
    "fails": "cross",
    "inconclusive": "diamond",
    "overloaded": "triangle-up",
    NOT_ASSESSED: "square",
}
BLOCKING = ("fails", "overloaded")

# Numeric keys of the headline table, usable in formula columns: (key, label, unit, better).
# `shown` columns are drawn in the page's table; the others are formula keys and downloads.
TABLE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("max_rate_rps", "Max sustainable rate (offered)", "req/s", "higher"),
    ("energy_per_request_at_max_j", "Energy / finished request at that rate", "J", "lower"),
    ("energy_per_token_at_max_j", "Energy / output token at that rate", "J", "lower"),
    ("goodput_at_max_rps", "Goodput at that rate", "req/s", "higher"),
    ("attainment_lower_at_max", "SLO attainment at that rate, lower bound", "share", "higher"),
    ("ttft_p90_at_max_s", "p90 TTFT at that rate", "s", "lower"),
    ("tpot_p90_at_max_s", "p90 TPOT at that rate", "s", "lower"),
    ("accuracy_avg", "Accuracy (avg)", "share", "higher"),
    ("max_rate_configured_rps", "Max sustainable rate (configured)", "req/s", "higher"),
    ("attainment_at_max", "SLO attainment at that rate", "share", "higher"),
    ("max_steady_goodput_rps", "Best goodput of a steady rate", "req/s", "higher"),
    ("rates_measured", "Rates measured", "", "higher"),
    ("max_num_seqs", "Batch cap (max_num_seqs)", "requests", "higher"),
    ("max_new_tokens", "Output cap", "tokens", "higher"),
    ("params_b", "Parameters", "B", "lower"),
)
SHOWN_COLUMNS = 8  # the first 8 of TABLE_COLUMNS are columns of the page's table


@dataclass(frozen=True)
class ServingChart:
    """A chart of the serving pages: element id, title, spec (None: nothing to draw), a note."""

    chart_id: str
    title: str
    spec: dict[str, Any] | None
    note: str


@dataclass
class ServingSweep:
    """One rate sweep: one model, task, hardware, arrival process and configuration, over rates."""

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
    configuration: str
    max_num_seqs: int | None
    max_new_tokens: int
    sweep_hash: str
    config: dict[str, Any]
    points: list[Row]
    label: str = ""
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
    """The SLO in words, e.g. `per request: TTFT ≤ 2 s, TPOT ≤ 0.2 s; 90% of requests`."""
    parts = []
    for key, label in (
        ("ttft_s", "TTFT"),
        ("tpot_s", "TPOT"),
        ("itl_p90_s", "p90 inter-token gap"),
        ("e2e_s", "end to end"),
    ):
        if slo.get(key) is not None:
            parts.append(f"{label} ≤ {slo[key]:g} s")
    targets = ", ".join(parts) or "finished without error"
    return f"per request: {targets}; {slo['attainment'] * 100:g}% of requests"


def latency_parts(
    value: Any, censored: bool, unfinished: int = 0, finished_only: bool = False
) -> tuple[str, str]:
    """A latency percentile as shown, and a note: ('0.42', ''), ('> 1.3', '12 unfinished'),
    ('0.4', 'finished only')."""
    if value is None:
        return "none", ""
    text = format_number(value)
    if censored:
        return f"> {text}", f"{unfinished} unfinished" if unfinished else ""
    return text, "finished only" if finished_only else ""


def latency_text(
    value: Any, censored: bool, unfinished: int = 0, finished_only: bool = False
) -> str:
    """A latency percentile in one line: '0.42', '> 1.3 (12 unfinished)', '0.4 (finished only)'."""
    text, note = latency_parts(value, censored, unfinished, finished_only)
    return f"{text} ({note})" if note else text


def _configured_rate(record: ServingRecord) -> float:
    configured = record.identity.request_rate_rps
    return configured if configured is not None else record.arrival.offered_rate_rps


def _latency(records: Sequence[ServingRecord], name: str) -> Row:
    """The worst of the records' p90 (and p50, p99) of one latency, with its censoring."""
    out: Row = {"finished_only": False, "unfinished": 0}
    for q in PERCENTILES:
        out[q], out[f"{q}_censored"] = None, False
    for record in records:
        stat = getattr(record.measurements, name, None)
        if stat is None:
            legacy = record.measurements.finished_only_v2
            old = getattr(legacy, name, None) if legacy is not None else None
            if old is None:
                continue
            out["finished_only"] = True
            for q, value in (("p50", old.median), ("p90", old.p90), ("p99", old.p99)):
                if out[q] is None or value > out[q]:
                    out[q] = value
            continue
        out["unfinished"] += stat.censored
        for q in PERCENTILES:
            value = getattr(stat, q)
            if out[q] is None or value > out[q]:
                out[q], out[f"{q}_censored"] = value, getattr(stat, f"{q}_censored")
    return out


def pool_point(records: Sequence[ServingRecord], relpaths: Sequence[str]) -> Row:
    """One sweep point from the records measured at the same configured rate (module doc)."""
    first = records[0]
    requests = sum(r.summary.window_requests for r in records)
    met = sum(r.summary.slo_met for r in records)
    finished = sum(r.summary.window_finished for r in records)
    duration = sum(r.window.measured_duration_s for r in records)
    configured = sum(r.window.duration_s for r in records)
    token_counts = [r.summary.window_output_tokens for r in records]
    tokens = None if any(t is None for t in token_counts) else sum(token_counts)  # type: ignore[misc]
    energies = [r.summary.energy_j for r in records]
    energy = None if any(e is None for e in energies) else float(sum(energies))  # type: ignore[arg-type]
    verdicts = [r.verdict for r in records]
    assessed = all(v is not None for v in verdicts)
    attainment = met / requests if requests else None
    lower = upper = None
    status = NOT_ASSESSED
    reasons: list[str] = []
    if assessed:
        samples = [v.sample for v in verdicts]  # type: ignore[union-attr]
        judged = judge_sample(
            met,
            requests,
            target=first.slo.attainment,
            confidence=max(s.confidence for s in samples),
            min_requests=max(s.min_requests for s in samples),
            window_s=min(s.window_s for s in samples),
            on_gpu=any(s.on_gpu for s in samples),
        )
        steady = all(v.steady_state.steady for v in verdicts)  # type: ignore[union-attr]
        status = rate_status(steady, judged)
        lower, upper = judged.lower, judged.upper
        reasons = [reason for v in verdicts for reason in v.steady_state.reasons]  # type: ignore[union-attr]
        reasons += list(judged.reasons)
    ttft = _latency(records, "ttft_s")
    tpot = _latency(records, "tpot_s")
    e2e = _latency(records, "e2e_latency_s")
    return {
        "rate_rps": _configured_rate(first),
        "offered_rate_rps": sum(r.arrival.offered_rate_rps * r.window.duration_s for r in records)
        / configured,
        "status": status,
        "status_text": STATUS_TEXT[status],
        "passes": status == "passes",
        "reasons": reasons,
        "requests": requests,
        "slo_met": met,
        "attainment": attainment,
        "attainment_lower": lower,
        "attainment_upper": upper,
        "finished": finished,
        "unfinished": requests - finished,
        "finished_rps": finished / duration,
        "output_tok_s": None if tokens is None else tokens / duration,
        "goodput_rps": met / duration,
        "energy_j": energy,
        "energy_per_request_j": None if energy is None or not finished else energy / finished,
        "energy_per_token_j": None if energy is None or not tokens else energy / tokens,
        "avg_power_w": None if energy is None else energy / duration,
        "ttft": ttft,
        "tpot": tpot,
        "e2e": e2e,
        "ttft_p90_s": ttft["p90"],
        "tpot_p90_s": tpot["p90"],
        "e2e_p90_s": e2e["p90"],
        "mean_running_requests": sum(r.summary.mean_running_requests for r in records)
        / len(records),
        "energy_source": "+".join(sorted({r.energy.source for r in records})),
        "energy_reason": "; ".join(sorted({r.energy.reason for r in records if r.energy.reason}))
        or None,
        "searched": any(r.search is not None for r in records),
        "runs": len(records),
        "run_ids": [r.run_id for r in records],
        "files": [str(PurePosixPath("data") / "records" / p) for p in relpaths],
    }


def headline(points: Sequence[Row], target: float) -> Row:
    """The max sustainable rate and the figures there (see the module doc)."""
    ordered = sorted(points, key=lambda p: p["rate_rps"])
    blocking = [p["rate_rps"] for p in ordered if p["status"] in BLOCKING]
    ceiling = min(blocking) if blocking else None
    candidates = [
        p for p in ordered if p["passes"] and (ceiling is None or p["rate_rps"] < ceiling)
    ]
    best = candidates[-1] if candidates else None
    steady = [
        p["goodput_rps"] for p in points if p["status"] in ("passes", "fails", "inconclusive")
    ]
    out: Row = {
        "max_rate_rps": None,
        "max_rate_configured_rps": None,
        "max_rate_bound": "none",
        "next_rate_rps": None,
        "next_rate_status": None,
        "energy_per_request_at_max_j": None,
        "energy_per_token_at_max_j": None,
        "goodput_at_max_rps": None,
        "attainment_at_max": None,
        "attainment_lower_at_max": None,
        "ttft_p90_at_max_s": None,
        "ttft_p90_at_max_censored": False,
        "tpot_p90_at_max_s": None,
        "tpot_p90_at_max_censored": False,
        "max_steady_goodput_rps": max(steady) if steady else None,
        "rates_measured": len(points),
        "target_attainment": target,
    }
    if best is None:
        if ordered:
            first = next((p for p in ordered if not p["passes"]), None)
            if first is not None:
                out.update(
                    next_rate_rps=first["offered_rate_rps"], next_rate_status=first["status"]
                )
        return out
    above = [p for p in ordered if p["rate_rps"] > best["rate_rps"] and not p["passes"]]
    if above:
        out.update(next_rate_rps=above[0]["offered_rate_rps"], next_rate_status=above[0]["status"])
    out.update(
        max_rate_rps=best["offered_rate_rps"],
        max_rate_configured_rps=best["rate_rps"],
        max_rate_bound="measured" if ceiling is not None else "at least",
        energy_per_request_at_max_j=best["energy_per_request_j"],
        energy_per_token_at_max_j=best["energy_per_token_j"],
        goodput_at_max_rps=best["goodput_rps"],
        attainment_at_max=best["attainment"],
        attainment_lower_at_max=best["attainment_lower"],
        ttft_p90_at_max_s=best["ttft_p90_s"],
        ttft_p90_at_max_censored=best["ttft"]["p90_censored"],
        tpot_p90_at_max_s=best["tpot_p90_s"],
        tpot_p90_at_max_censored=best["tpot"]["p90_censored"],
    )
    return out


def _device_word(records: Sequence[ServingRecord]) -> str:
    return "GPU" if any(r.provenance.device == "cuda" for r in records) else "CPU"


def sweep_key(record: ServingRecord) -> tuple[Any, ...]:
    """What makes two serving records one sweep (see the module doc)."""
    ident = record.identity
    return (
        ident.task,
        ident.hardware_slug,
        ident.model_name,
        ident.model_id,
        ident.model_revision,
        process_label(record),
        configuration_key(ident.configuration),
        ident.sweep_hash,
    )


def label_sweeps(sweeps: Sequence[ServingSweep]) -> None:
    """Give each sweep its series label: the model, and what tells it apart from the board's
    other sweeps of the same model (batch cap, output cap, load, else a short config hash)."""
    several_processes = len({s.process for s in sweeps}) > 1
    by_model: dict[str, list[ServingSweep]] = defaultdict(list)
    for sweep in sweeps:
        by_model[sweep.model].append(sweep)
    for group in by_model.values():
        differences = config_differences([s.config for s in group]) if len(group) > 1 else {}
        caps = len({s.max_num_seqs for s in group}) > 1
        outputs = len({s.max_new_tokens for s in group}) > 1
        for sweep in group:
            parts = [sweep.model]
            if caps:
                parts.append(f"cap {sweep.max_num_seqs}")
            if outputs:
                parts.append(f"≤{sweep.max_new_tokens} tok")
            if several_processes:
                parts.append(sweep.process)
            sweep.label = " · ".join(parts)
        labels = [s.label for s in group]
        if len(set(labels)) < len(labels) or (differences and not (caps or outputs)):
            for sweep in group:
                sweep.label = f"{sweep.label} · cfg {sweep.sweep_hash[:6]}"


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
    # As on the boards: the average is over the measured accuracy records' tasks (reference
    # tasks where they have them), never over tasks only a published source brings.
    average_over = average_tasks({r.identity.eval_task for r in accuracy})
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for item in serving:
        groups[sweep_key(item.record)].append(item)
    by_board: dict[tuple[str, str], list[ServingSweep]] = defaultdict(list)
    for key in sorted(groups):
        task, hardware, model_name, model_id, revision, process, _, hash_ = key
        group = groups[key]
        records: list[ServingRecord] = [i.record for i in group]
        by_rate: dict[float, list[Any]] = defaultdict(list)
        for item in group:
            by_rate[_configured_rate(item.record)].append(item)
        points = [
            pool_point([i.record for i in by_rate[rate]], [i.relpath for i in by_rate[rate]])
            for rate in sorted(by_rate)
        ]
        newest = max(records, key=lambda r: r.run_id)
        slo = newest.slo.model_dump(mode="json")
        configuration = newest.identity.configuration
        sweep = ServingSweep(
            key="|".join((task, hardware, model_name, revision, process, hash_[:16])),
            task=task,
            hardware=hardware,
            hardware_label=hardware_label(records, hardware),
            model=newest.model.display_name,
            model_name=model_name,
            model_id=model_id,
            revision=revision,
            process=process,
            slo=slo,
            configuration=configuration_label(configuration, _device_word(records)),
            max_num_seqs=configuration.max_num_seqs,
            max_new_tokens=newest.task.max_new_tokens,
            sweep_hash=hash_,
            config=newest.config,
            points=points,
        )
        chosen = best_accuracy_by_task(model_id, revision, accuracy, shots=REFERENCE_SHOTS)
        scores = scores_of(chosen, eval_tasks)
        searched = [r.search for r in records if r.search is not None]
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
            "slo_reference": slo.get("reference"),
            "configuration": sweep.configuration,
            "max_num_seqs": sweep.max_num_seqs,
            "max_new_tokens": sweep.max_new_tokens,
            "sweep_hash": hash_,
            "search_resolution_rps": min(s.resolution_rps for s in searched) if searched else None,
            "params_b": newest.model.params / 1e9,
            "random_weights": newest.model.random_weights,
            "energy_source": "+".join(sorted({r.energy.source for r in records})),
            "accuracy_avg": accuracy_average({t: scores[t] for t in average_over}),
            **{accuracy_key(t): scores[t] for t in eval_tasks},
        }
        by_board[(task, hardware)].append(sweep)
    boards = []
    for (task, hardware), sweeps in sorted(by_board.items()):
        label_sweeps(sweeps)
        for sweep in sweeps:
            sweep.headline["series"] = sweep.label
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


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def chart_points(board: ServingBoard) -> list[Row]:
    """Every point of every sweep, with its line segment: consecutive points (by rate) of one
    sweep share a segment while they are all passing or all not passing, so no line joins a
    passing and a failing rate."""
    rows = []
    for sweep in board.sweeps:
        segment, previous = 0, None
        for p in sorted(sweep.points, key=lambda p: p["rate_rps"]):
            if previous is not None and p["passes"] != previous:
                segment += 1
            previous = p["passes"]
            rows.append(
                {
                    "series": sweep.label,
                    "segment": f"{sweep.key}#{segment}",
                    "rate": p["offered_rate_rps"],
                    "configured": p["rate_rps"],
                    "status": p["status_text"],
                    "energy": p["energy_per_request_j"],
                    "attainment": p["attainment"],
                    "lower": p["attainment_lower"],
                    "upper": p["attainment_upper"],
                    "ttft_p90": p["ttft_p90_s"],
                    "ttft_text": latency_text(
                        p["ttft_p90_s"],
                        p["ttft"]["p90_censored"],
                        p["ttft"]["unfinished"],
                        p["ttft"]["finished_only"],
                    ),
                    "bound": "lower bound (unfinished requests)"
                    if p["ttft"]["p90_censored"]
                    else "measured",
                    "goodput": p["goodput_rps"],
                }
            )
    return rows


def serving_charts(board: ServingBoard) -> list[ServingChart]:
    """Energy per request vs offered rate, SLO attainment vs rate (with its binomial bounds),
    p90 TTFT vs rate, and energy per request at the target vs accuracy (with its front)."""
    points = chart_points(board)
    slug = board.slug
    statuses = sorted({p["status"] for p in points}, key=list(STATUS_TEXT.values()).index)
    charts = []
    energy = [p for p in points if _usable(p["energy"])]
    missing = len(points) - len(energy)
    status_note = (
        "Marker shape: the rate's status (only a passing rate can be the max sustainable "
        "rate); lines join consecutive rates of one sweep only while they all pass or all "
        "do not."
    )
    charts.append(
        ServingChart(
            f"serving-energy-{slug}",
            "Energy per finished request vs offered rate",
            _rate_chart("energy", "Energy per finished request (J)", energy, statuses)
            if energy
            else None,
            status_note
            + (f" {missing} point(s) without measured energy are not drawn." if missing else "")
            if energy
            else "No energy measured on this hardware (energy is never shown as 0).",
        )
    )
    targets = sorted({s.slo["attainment"] for s in board.sweeps})
    attained = [p for p in points if _usable(p["attainment"])]
    charts.append(
        ServingChart(
            f"serving-attainment-{slug}",
            "SLO attainment vs offered rate",
            _attainment_chart(attained, targets, statuses) if attained else None,
            "Dashed: the target share; shaded below it. Whiskers: the one-sided binomial bounds "
            "the sample-size rule uses (none for records migrated from schema 1-2).",
        )
    )
    ttft = [p for p in points if _usable(p["ttft_p90"])]
    rules = sorted({s.slo["ttft_s"] for s in board.sweeps if s.slo.get("ttft_s") is not None})
    charts.append(
        ServingChart(
            f"serving-ttft-{slug}",
            "p90 time to first token vs offered rate",
            _rate_chart("ttft_p90", "p90 TTFT (s)", ttft, statuses, rules=rules) if ttft else None,
            "Dashed: the TTFT target. ↑: a lower bound (the percentile falls among requests that "
            "never had a first token; the value is what they had waited when cancelled).",
        )
    )
    front = [
        {
            "series": row["series"],
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
            "Energy per request at the max sustainable rate vs accuracy",
            _front_chart(front) if front else None,
            "Needs energy at the max sustainable rate and an accuracy average; "
            f"{len(board.table) - len(front)} of {len(board.table)} row(s) lack one.",
        )
    )
    return charts


def _finish(template: dict[str, Any], **datasets: Any) -> dict[str, Any]:
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


def _shape(statuses: Sequence[str]) -> alt.Shape:
    shapes = {STATUS_TEXT[k]: v for k, v in STATUS_SHAPES.items()}
    return alt.Shape(
        "status:N",
        title="Status of the rate",
        scale=alt.Scale(domain=list(statuses), range=[shapes[s] for s in statuses]),
        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=260),
    )


def _color() -> alt.Color:
    return alt.Color(
        "series:N",
        title="Sweep",
        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=260, columns=1),
    )


def _rate_chart(
    key: str, y_title: str, points: list[Row], statuses: Sequence[str], rules: Sequence[float] = ()
) -> dict[str, Any]:
    """A rate chart (log axes): segmented lines per sweep, shapes by status, target rules."""
    # The "lower bound" arrows only where a point is one (an empty layer has no extent).
    bounds = any(p.get("bound", "measured") != "measured" for p in points)
    template = _rate_template(key, y_title, tuple(statuses), bool(rules), bounds)
    data: dict[str, Any] = {"points": points}
    if rules:
        data["rules"] = [{"target": value} for value in rules]
    return _finish(template, **data)


def _base_properties() -> dict[str, Any]:
    return {
        "width": "container",
        "height": HEIGHT,
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


@functools.lru_cache(maxsize=32)
def _rate_template(
    key: str, y_title: str, statuses: tuple[str, ...], with_rules: bool, with_bounds: bool = True
) -> dict[str, Any]:
    pick = alt.selection_point(fields=["series"], bind="legend", name="pick")
    x = alt.X("rate:Q", title="Offered rate (req/s)", scale=alt.Scale(type="log"))
    y = alt.Y(f"{key}:Q", title=y_title, scale=alt.Scale(type="log"), axis=alt.Axis(format="~g"))
    opacity = alt.condition(pick, alt.value(1), alt.value(0.15))
    layers = []
    if with_rules:
        layers.append(
            alt.Chart(alt.Data(name="rules"))
            .mark_rule(strokeDash=[5, 4], color="#9a3412")
            .encode(y="target:Q")
        )
    base = alt.Chart(alt.Data(name="points"))
    layers.append(
        base.mark_line().encode(
            x=x, y=y, color=_color(), detail="segment:N", order="rate:Q", opacity=opacity
        )
    )
    tooltip = [
        alt.Tooltip("series:N", title="Sweep"),
        alt.Tooltip("rate:Q", title="Offered (req/s)", format=".4~g"),
        alt.Tooltip("configured:Q", title="Configured (req/s)", format=".4~g"),
        alt.Tooltip("status:N", title="Status"),
        alt.Tooltip(f"{key}:Q", title=y_title, format=".4~g"),
        alt.Tooltip("attainment:Q", title="SLO attainment", format=".1%"),
        alt.Tooltip("goodput:Q", title="Goodput (req/s)", format=".4~g"),
    ]
    if key == "ttft_p90":
        tooltip[4] = alt.Tooltip("ttft_text:N", title=y_title)
    layers.append(
        base.mark_point(size=70, filled=True)
        .encode(x=x, y=y, color=_color(), shape=_shape(statuses), opacity=opacity, tooltip=tooltip)
        .add_params(pick)
    )
    if key == "ttft_p90" and with_bounds:
        layers.append(
            base.transform_filter("datum.bound != 'measured'")
            .mark_text(text="↑", dy=-12, fontSize=14)
            .encode(x=x, y=y, color=_color(), opacity=opacity)
        )
    chart = alt.layer(*layers).properties(**_base_properties())
    return chart.to_dict()


def _attainment_chart(
    points: list[Row], targets: Sequence[float], statuses: Sequence[str]
) -> dict[str, Any]:
    template = _attainment_template(tuple(statuses))
    return _finish(template, points=points, targets=[{"target": t} for t in targets])


@functools.lru_cache(maxsize=8)
def _attainment_template(statuses: tuple[str, ...]) -> dict[str, Any]:
    pick = alt.selection_point(fields=["series"], bind="legend", name="pick")
    x = alt.X("rate:Q", title="Offered rate (req/s)", scale=alt.Scale(type="log"))
    y = alt.Y(
        "attainment:Q",
        title="SLO attainment",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    opacity = alt.condition(pick, alt.value(1), alt.value(0.15))
    targets = alt.Chart(alt.Data(name="targets"))
    shade = (
        targets.transform_calculate(floor="0")
        .mark_rect(opacity=0.08, color="#9a3412")
        .encode(y="floor:Q", y2="target:Q")
    )
    rule = targets.mark_rule(strokeDash=[5, 4], color="#9a3412").encode(y="target:Q")
    base = alt.Chart(alt.Data(name="points"))
    whiskers = base.mark_rule().encode(
        x=x, y=alt.Y("lower:Q"), y2="upper:Q", color=_color(), opacity=opacity
    )
    line = base.mark_line().encode(
        x=x, y=y, color=_color(), detail="segment:N", order="rate:Q", opacity=opacity
    )
    marks = (
        base.mark_point(size=70, filled=True)
        .encode(
            x=x,
            y=y,
            color=_color(),
            shape=_shape(statuses),
            opacity=opacity,
            tooltip=[
                alt.Tooltip("series:N", title="Sweep"),
                alt.Tooltip("rate:Q", title="Offered (req/s)", format=".4~g"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("attainment:Q", title="SLO attainment", format=".1%"),
                alt.Tooltip("lower:Q", title="Lower bound", format=".1%"),
                alt.Tooltip("upper:Q", title="Upper bound", format=".1%"),
                alt.Tooltip("goodput:Q", title="Goodput (req/s)", format=".4~g"),
            ],
        )
        .add_params(pick)
    )
    chart = alt.layer(shade, rule, whiskers, line, marks).properties(**_base_properties())
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
        color=_color(),
        shape=alt.Shape(
            "front:N",
            title="Pareto",
            legend=alt.Legend(orient="bottom", direction="vertical"),
        ),
        tooltip=[
            alt.Tooltip("series:N", title="Sweep"),
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
    chart = alt.layer(line, points).properties(**_base_properties())
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
        "configuration",
        "sweep_hash",
        "series",
        "slo",
        "slo_reference",
        "target_attainment",
        "max_rate_bound",
        *(key for key, *_ in TABLE_COLUMNS),
        "next_rate_rps",
        "next_rate_status",
        "search_resolution_rps",
        "ttft_p90_at_max_censored",
        "tpot_p90_at_max_censored",
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
    rules = {
        "min_gpu_window_s": MIN_GPU_WINDOW_S,
        "status_text": STATUS_TEXT,
    }
    pages[f"{SERVING_DIR}/index.html"] = render_page(
        env, "serving_index.html", "../", page="serving", serving=site, rules=rules, **common
    )
    for board in site.boards:
        specs = {c.chart_id: c.spec for c in board.charts if c.spec is not None}
        payload = {"columns": columns, "rows": board.table}
        others = [b for b in site.boards if b.slug != board.slug]
        pages[f"{SERVING_DIR}/{board.slug}.html"] = render_page(
            env,
            "serving.html",
            "../",
            page="serving",
            serving=site,
            board=board,
            others=others,
            columns=columns,
            shown=columns[:SHOWN_COLUMNS],
            specs=specs,
            payload=payload,
            slo_text=slo_text,
            latency_text=latency_text,
            latency_parts=latency_parts,
            **common,
        )
    rows = download_rows(site)
    pages["data/serving.json"] = json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    pages["data/serving.csv"] = _csv(rows)
    return pages
