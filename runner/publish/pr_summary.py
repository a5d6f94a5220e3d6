"""`leaderboard pr-summary`: the markdown a benchmark PR comment shows.

For the named models: their rows (one per task, hardware, configuration and backend: `2 GPUs ·
TP2 · bs 8` is a row of its own, never pooled with one GPU; pooled over runs like the site
does: energy = sum of energy / sum of requests, latency = request-weighted mean), and for each
task and hardware where each row lands on the energy-vs-latency Pareto front
(`leaderboard_site.pareto`, both lower is better): on the front, or dominated and by which
rows. A row without energy is "not measured" and is not placed. Accuracy scores of the same
model revision are listed when accuracy records exist.

The comparison is with every row under the results folder: the benchmark workflow lays main's
run folders beside the PR's and pulls both before it summarises, so each new row is placed
against main's whole leaderboard of its task and hardware, and ranked by energy per response
among the rows of equal or better accuracy (the reference suite's average). With `--status-dir`
the comment also says which workflow legs ran and why a leg failed; with `--matrix`, a leg that
wrote no status (cancelled, or never started) is named with how to re-run it. With `--intake`
(what `leaderboard pr-intake` read) it names the PR commit that was benchmarked and the base
commit whose code ran, the PR's other changes (which did not run) and the configs it refused.
The comment starts with a hidden marker so `leaderboard pr-comment` edits the same comment on
every run.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaderboard_site.columns import REFERENCE_EVAL_TASKS, REFERENCE_SHOTS
from leaderboard_site.pareto import dominates, pareto_front
from runner.accuracy.join import accuracy_average, accuracy_scores, best_accuracy_by_task
from runner.config import check_safe_name
from runner.errors import UserError
from runner.publish.github import COMMENT_MARKER
from runner.records.accuracy import AccuracyRecord
from runner.records.configuration import configuration_label
from runner.records.load import scan_results
from runner.records.performance import PerformanceRecord

NOT_MEASURED = "not measured"
MAX_DOMINATORS = 3

# (task, hardware, model, configuration, backend); the configuration in words ('2 GPUs · TP2 ·
# bs 8'), so N-GPU points never pool with 1-GPU points.
RowKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Row:
    """Pooled figures of one (task, hardware, model, configuration, backend); None = not
    measured.

    Units: energy in J, latency and TTFT in s (means per request), throughput in tokens/s.
    """

    key: RowKey
    model_id: str
    revision: str
    runs: int
    requests: int
    energy_per_response_j: float | None
    energy_per_token_j: float | None
    latency_s: float
    ttft_s: float
    throughput_tok_s: float | None
    energy_source: str
    energy_reason: str | None = None

    @property
    def label(self) -> str:
        """`model (1 GPU · bs 8, backend)`: how a row is named in the comment."""
        _, _, model, configuration, backend = self.key
        return f"{model} ({configuration}, {backend})"


def _weighted_mean(pairs: list[tuple[float, int]]) -> float:
    total = sum(weight for _, weight in pairs)
    return sum(value * weight for value, weight in pairs) / total


def pool(records: list[PerformanceRecord]) -> Row:
    """Pool the records of one row key (energy only when every record measured it)."""
    first = records[0].identity
    requests = sum(r.summary.requests for r in records)
    tokens = sum(r.summary.output_tokens for r in records)
    time_s = sum(r.summary.measured_time_s for r in records)
    energies = [r.summary.energy_j for r in records]
    energy_j = None if any(e is None for e in energies) else sum(energies)  # type: ignore[misc]
    return Row(
        key=row_key(records[0]),
        model_id=first.model_id,
        revision=records[-1].identity.model_revision,
        runs=len(records),
        requests=requests,
        energy_per_response_j=None if energy_j is None else energy_j / requests,
        energy_per_token_j=None if energy_j is None or tokens == 0 else energy_j / tokens,
        latency_s=_weighted_mean([(r.measurements.latency_s.mean, r.measurements.latency_s.n)
                                  for r in records]),
        ttft_s=_weighted_mean([(r.measurements.ttft_s.mean, r.measurements.ttft_s.n)
                               for r in records]),
        throughput_tok_s=tokens / time_s if time_s > 0 else None,
        energy_source="+".join(sorted({r.energy.source for r in records})),
        energy_reason=next((r.energy.reason for r in reversed(records) if r.energy.reason), None),
    )  # fmt: skip


def build_rows(records: list[PerformanceRecord]) -> dict[RowKey, Row]:
    """Every row key -> its pooled row (records sorted by run id, so the newest is last)."""
    groups: dict[RowKey, list[PerformanceRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.run_id):
        groups[row_key(record)].append(record)
    return {key: pool(group) for key, group in groups.items()}


def row_key(record: PerformanceRecord) -> RowKey:
    """The comment's row of a record: its task, hardware, model, configuration and backend."""
    i = record.identity
    device = "CPU" if i.hardware_slug.startswith("cpu") else "GPU"
    configuration = configuration_label(i.configuration, device)
    if i.configuration.precision:
        configuration += f" · {i.configuration.precision}"
    return (i.task, i.hardware_slug, i.model_name, configuration, i.backend)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return NOT_MEASURED
    return f"{value:.3g}"


def placement(row: Row, board: list[Row]) -> str:
    """Where `row` lands on its board's energy-vs-latency front, in words."""
    if row.energy_per_response_j is None:
        return f"energy {NOT_MEASURED}: not placed on the front"
    front = pareto_front(
        [(r.key, r.latency_s, r.energy_per_response_j) for r in board], "lower", "lower"
    )
    if row.key in front:
        return "**on the Pareto front**"
    mine = (row.latency_s, row.energy_per_response_j)
    better = [
        other
        for other in board
        if other.energy_per_response_j is not None
        and dominates((other.latency_s, other.energy_per_response_j), mine, "lower", "lower")
    ]
    better.sort(key=lambda other: (other.key not in front, other.energy_per_response_j))
    names = ", ".join(other.label for other in better[:MAX_DOMINATORS])
    more = f" and {len(better) - MAX_DOMINATORS} more" if len(better) > MAX_DOMINATORS else ""
    return f"dominated by {names}{more}"


def reference_accuracy(row: Row, accuracy: list[AccuracyRecord]) -> float | None:
    """The reference suite's average for the row's model revision, or None when incomplete."""
    scores = accuracy_scores(
        row.model_id, row.revision, REFERENCE_EVAL_TASKS, accuracy, shots=REFERENCE_SHOTS
    )
    return accuracy_average(scores)


def energy_rank(row: Row, board: list[Row], accuracy: list[AccuracyRecord]) -> str:
    """`#k of n` by energy per response among the board's rows of equal or better accuracy."""
    if row.energy_per_response_j is None:
        return f"energy {NOT_MEASURED}: not ranked"
    mine = reference_accuracy(row, accuracy)
    measured = [r for r in board if r.energy_per_response_j is not None]
    if mine is None:
        peers = measured
        basis = "among all rows with energy (reference accuracy not measured for this row)"
    else:
        peers = [
            r
            for r in measured
            if (other := reference_accuracy(r, accuracy)) is not None and other >= mine
        ]
        basis = f"among rows with reference accuracy ≥ {mine:.3f}"
    rank = 1 + sum(
        1
        for r in peers
        if r.key != row.key and r.energy_per_response_j < row.energy_per_response_j  # type: ignore[operator]
    )
    return f"#{rank} of {max(len(peers), 1)} by energy per response {basis}"


def load_leg_statuses(status_dir: Path | None) -> list[dict[str, str]]:
    """The legs' status files (`<label>.json`: label, outcome, hardware, message), sorted.

    Raises:
        UserError: a status file is not the JSON object a leg writes.
    """
    if status_dir is None or not status_dir.is_dir():
        return []
    statuses: list[dict[str, str]] = []
    for path in sorted(status_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise UserError(f"{path}: not a leg status file ({error})") from None
        if not isinstance(data, dict) or "label" not in data or "outcome" not in data:
            raise UserError(f"{path}: not a leg status file (needs label and outcome)")
        statuses.append({key: str(value) for key, value in data.items()})
    return statuses


def _rerun(run_url: str | None) -> str:
    where = f", or re-run its job from {run_url}" if run_url else ""
    return f"to re-run it, label the PR `benchmark` again{where}"


def _leg_lines(
    statuses: list[dict[str, str]], expected: list[str], run_url: str | None
) -> list[str]:
    lines = ["### Runs", ""]
    for status in statuses:
        where = f" on `{status['hardware']}`" if status.get("hardware") else ""
        if status["outcome"] == "success":
            lines.append(f"- {status['label']}{where}: done")
        elif status["outcome"] == "cancelled":
            lines.append(f"- **{status['label']}{where}: cancelled**: {_rerun(run_url)}")
        else:
            why = status.get("message") or "see the workflow log"
            lines.append(f"- **{status['label']}{where}: {status['outcome']}**: {why}")
    written = {status["label"] for status in statuses}
    for label in expected:
        if label not in written:
            lines.append(
                f"- **{label}: cancelled or never started** (it wrote no status): {_rerun(run_url)}"
            )
    return [*lines, ""]


def load_intake(path: Path | None) -> dict[str, Any]:
    """The JSON `leaderboard pr-intake --json` wrote ({} without one).

    Raises:
        UserError: the file is not that JSON.
    """
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"--intake {path}: not an intake file ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("head"), str):
        raise UserError(f"--intake {path}: not an intake file (needs head)")
    return data


def matrix_labels(matrix: str | None) -> list[str]:
    """The runner labels of the benchmark matrix JSON (`{"include": [{"label": ...}]}`).

    Raises:
        UserError: not that JSON.
    """
    if not matrix:
        return []
    try:
        return [str(leg["label"]) for leg in json.loads(matrix)["include"]]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise UserError(f"--matrix: not the benchmark matrix JSON ({error!r})") from None


def _intake_lines(intake: dict[str, Any]) -> list[str]:
    if not intake:
        return []
    code = f" at `{intake['code']}`" if intake.get("code") else ""
    lines = [
        f"Benchmarked this PR at `{intake['head']}` (its model configs, read as data) with the "
        f"base branch's code and settings{code}.",
        "",
    ]
    others = list(intake.get("other_changes") or [])
    if others:
        shown = ", ".join(f"`{path}`" for path in others[:10])
        more = f" and {len(others) - 10} more" if len(others) > 10 else ""
        lines += [
            f"> This PR also changes {len(others)} file(s) that are not model configs "
            f"({shown}{more}): none of it ran here. The rows below were measured with the base "
            "branch's code and settings; the PR's own code takes effect for benchmarks once it "
            "is merged.",
            "",
        ]
    refused = dict(intake.get("refused") or {})
    if refused:
        lines += ["### Not benchmarked", ""]
        lines += [f"- `{path}`: {why}" for path, why in sorted(refused.items())]
        lines.append("")
    return lines


def render_summary(
    results: Path,
    models: list[str],
    *,
    status_dir: Path | None = None,
    intake: dict[str, Any] | None = None,
    expected_legs: list[str] | None = None,
    run_url: str | None = None,
) -> str:
    """The markdown comment for `models` from the records under `results`.

    Raises:
        UserError: the results folder does not exist, or a model name is unsafe.
    """
    for model in models:
        check_safe_name("--models", model)
    if not results.is_dir():
        raise UserError(f"--results: {results} is not a folder")
    scan = scan_results(results)
    performance = [r for _, r in scan.records if isinstance(r, PerformanceRecord)]
    accuracy = [r for _, r in scan.records if isinstance(r, AccuracyRecord)]
    rows = build_rows(performance)
    statuses = load_leg_statuses(status_dir)
    lines = [COMMENT_MARKER, "## Benchmark results", "", *_intake_lines(intake or {})]
    if statuses or expected_legs:
        lines += _leg_lines(statuses, expected_legs or [], run_url)
    lines.append(
        "Energy per response and per token in J, latency and TTFT in s (mean per request), "
        "throughput in output tokens/s, all for every GPU of a configuration together. "
        "Pareto front: energy per response vs latency, "
        "lower is better on both, per task and hardware, against every row of the leaderboard "
        "(main's and this PR's)."
    )
    lines.append("")
    mine = sorted(key for key in rows if key[2] in models)
    missing = [model for model in models if not any(key[2] == model for key in mine)]
    if mine:
        lines += [
            "| Model | Task | Hardware | Configuration (GPUs · layout · batch) "
            "| Energy/response (J) | Energy/token (J) "
            "| Latency (s) | TTFT (s) | Throughput (tok/s) | Runs | Revision |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for key in mine:
            row = rows[key]
            task, hardware, model, configuration, backend = key
            lines.append(
                f"| {model} | {task} | {hardware} | {configuration} ({backend}) "
                f"| {_fmt(row.energy_per_response_j)} | {_fmt(row.energy_per_token_j)} "
                f"| {_fmt(row.latency_s)} | {_fmt(row.ttft_s)} | {_fmt(row.throughput_tok_s)} "
                f"| {row.runs} | `{row.revision}` |"
            )
        lines += ["", "### Pareto fronts (energy per response vs latency)", ""]
        boards: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for row in rows.values():
            boards[(row.key[0], row.key[1])].append(row)
        for task, hardware in sorted({(key[0], key[1]) for key in mine}):
            board = boards[(task, hardware)]
            lines.append(f"**{task} on {hardware}** ({len(board)} rows)")
            lines.append("")
            new_rows = [rows[key] for key in mine if (key[0], key[1]) == (task, hardware)]
            unmetered = [row for row in new_rows if row.energy_per_response_j is None]
            if unmetered and len(unmetered) == len(new_rows):
                reason = unmetered[0].energy_reason or "no meter readable"
                lines.append(
                    f"- energy {NOT_MEASURED} on {hardware} ({reason}): the new rows are not "
                    "placed on the energy front; enable a meter on the runner (NVML on NVIDIA, "
                    "RAPL read permission on Linux) and label the PR again"
                )
            else:
                for row in new_rows:
                    lines.append(
                        f"- {row.label}: {placement(row, board)}; "
                        f"{energy_rank(row, board, accuracy)}"
                    )
            lines.append("")
    if not models:
        refused = bool((intake or {}).get("refused"))
        lines.append(
            "No model config was accepted: nothing was benchmarked."
            if refused
            else "No model config changed: nothing was benchmarked."
        )
    for model in missing:
        lines.append(f"- {model}: no performance records under {results}")
    lines += _accuracy_lines(models, rows, accuracy)
    if intake and models:
        lines += [
            "",
            "A push that changes a benchmarked model config makes these rows stale: the "
            "`benchmark-status` check fails until the PR is labelled `benchmark` again.",
        ]
    if scan.problems:
        lines += ["", f"> {len(scan.problems)} problem(s) in {results}: run `leaderboard validate`"]
    return "\n".join(lines).rstrip() + "\n"


def _accuracy_lines(
    models: list[str], rows: dict[RowKey, Row], accuracy: list[AccuracyRecord]
) -> list[str]:
    lines: list[str] = []
    for model in models:
        revisions = {(r.model_id, r.revision) for k, r in rows.items() if k[2] == model}
        revisions |= {
            (a.identity.model_id, a.identity.model_revision)
            for a in accuracy
            if a.identity.model_name == model
        }
        for model_id, revision in sorted(revisions):
            chosen = best_accuracy_by_task(model_id, revision, accuracy)
            if not chosen:
                scores = f"accuracy {NOT_MEASURED}"
            else:
                scores = ", ".join(
                    f"{task} {record.metric} {record.score:.3f} (n={record.samples})"
                    + (" (random weights)" if record.random_weights else "")
                    for task, record in sorted(chosen.items())
                )
            lines.append(f"- {model} @ `{revision}`: {scores}")
    return ["", "### Accuracy", "", *lines] if lines else []


def cmd_pr_summary(args: argparse.Namespace) -> int:
    """Print the PR comment markdown."""
    text = render_summary(
        args.results,
        args.models,
        status_dir=args.status_dir,
        intake=load_intake(args.intake),
        expected_legs=matrix_labels(args.matrix),
        run_url=args.run_url or None,
    )
    print(text, end="")
    return 0


def add_parser(commands: Any) -> None:
    """Register `pr-summary` on the CLI's subparsers."""
    parser = commands.add_parser("pr-summary", help="markdown summary of models' new rows")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--models", nargs="*", default=[], help="model config names")
    parser.add_argument(
        "--status-dir", type=Path, default=None, help="folder of the legs' <label>.json status"
    )
    parser.add_argument(
        "--matrix", default=None, help="the benchmark matrix JSON: every leg that should report"
    )
    parser.add_argument(
        "--intake", type=Path, default=None, help="the JSON `pr-intake --json` wrote"
    )
    parser.add_argument("--run-url", default=None, help="the workflow run, for re-run hints")
    parser.set_defaults(handler=cmd_pr_summary)
