"""`leaderboard build`: load + validate every record, aggregate, chart, render, write atomically.

Order (mkdocs-style): gather and validate everything first, then render every page in memory,
then write into a temp folder beside the output and swap it in. A failed build leaves the old
site untouched.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leaderboard_site.aggregate import aggregate, table_records
from leaderboard_site.content import TASK_ABOUT
from leaderboard_site.pages import board_page, boards_nav, compare_page, model_page, task_page
from leaderboard_site.render import STATIC_DIR, make_environment, render_page
from leaderboard_site.serving import ServingSite, navigation, serving_pages, serving_site
from leaderboard_site.site_data import LoadedRecord, SiteData, slugify
from leaderboard_site.spread import RAW_FIELDS
from runner.errors import UserError
from runner.records.load import distinct_roots, leftovers_note, scan_roots
from runner.records.performance import PerformanceRecord

MARKER = ".leaderboard-site"
VENDOR_FILE = "vega-bundle.js"
BOARD_DIR = "boards"
MODEL_DIR = "models"
TASK_DIR = "tasks"


class BuildRefused(UserError):
    """The build refused to run. `lines` names every problem, one line each (the message only
    the first); the CLI prints them all."""

    def __init__(self, message: str, lines: list[str], hint: str) -> None:
        super().__init__(message)
        self.lines = lines
        self.hint = hint


@dataclass
class BuildReport:
    """What a build did: where, how many pages/records, and its warnings and skipped records."""

    out: Path
    pages: int
    performance_records: int
    accuracy_records: int
    rows: int
    warnings: list[str] = field(default_factory=list)
    published_records: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def vega_bundle() -> str:
    """The Vega + Vega-Lite + vega-embed bundle from vl-convert (one classic script, ~900 KB)."""
    import vl_convert

    return vl_convert.javascript_bundle()


def _check_out(roots: Sequence[Path], out: Path) -> None:
    out_abs = out.resolve()
    for results in roots:
        results_abs = results.resolve()
        if (
            out_abs == results_abs
            or out_abs in results_abs.parents
            or results_abs in out_abs.parents
        ):
            raise UserError(f"--out {out}: must not be or overlap the results folder {results}")
    if out_abs == Path(out_abs.anchor) or out_abs == Path.home().resolve():
        raise UserError(f"--out {out}: refusing to replace {out_abs}")
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise UserError(
                f"--out {out}: exists, is not empty and is not a built site "
                f"(no {MARKER} file); refusing to replace it"
            )


def load_records(
    results: Path | Sequence[Path], skip_invalid: bool
) -> tuple[list[LoadedRecord], list[str], list[str], list[str]]:
    """(records, warnings, skipped problems, notes) from one or several results folders.

    Several folders are read as one results tree (`runner.records.load.scan_roots`: a record
    found in two of them is a duplicate). Leftovers of interrupted runs are not records: they
    are ignored, with one note.

    Raises:
        UserError: a folder is missing, given twice or inside another, or a record is invalid
            and `skip_invalid` is False.
    """
    roots, root_warnings = distinct_roots([results] if isinstance(results, Path) else list(results))
    scan = scan_roots(roots, "--results")
    flags = " ".join(f"--results {root}" for root in roots)
    if scan.problems and not skip_invalid:
        hint = (
            f"`leaderboard validate {flags}` lists them; fix or remove those files, "
            "or build with --skip-invalid to publish without them"
        )
        more = len(scan.problems) - 1
        tail = f" (and {more} more problem(s))" if more else ""
        raise BuildRefused(
            f"invalid record: {scan.problems[0]}{tail} (nothing was built; {hint})",
            [f"invalid record: {problem}" for problem in scan.problems],
            hint,
        )
    names = root_names(roots)
    items = []
    for path, record in scan.records:
        root = next(r for r in roots if path.is_relative_to(r))
        relpath = path.relative_to(root).as_posix()
        items.append(
            LoadedRecord(
                f"{names[root]}/{relpath}" if names[root] else relpath,
                record,  # type: ignore[arg-type]
                read_requests(path, record) if isinstance(record, PerformanceRecord) else None,
                path,
            )
        )
    notes = (
        [leftovers_note(scan.leftovers, " --results ".join(map(str, roots)))]
        if scan.leftovers
        else []
    )
    return items, [*root_warnings, *scan.warnings], list(scan.problems), notes


def root_names(roots: Sequence[Path]) -> dict[Path, str]:
    """Where each results root's records go under the site's `data/records/`: at the top for
    one root; with several, in a folder per root named after its path (`demo-results`)."""
    if len(roots) == 1:
        return {roots[0]: ""}
    names: dict[Path, str] = {}
    for index, root in enumerate(roots):
        base = slugify("-".join(part for part in root.parts if part not in ("/", ".", "..")))
        name = base if base not in names.values() else f"{base}-{index + 1}"
        names[root] = name
    return names


def read_requests(path: Path, record: PerformanceRecord) -> tuple[dict[str, Any], ...] | None:
    """The raw per-request rows of a validated performance record (only `RAW_FIELDS`).

    The loader has already checked the file's sha256 and row count; a line that is not a JSON
    object is skipped (None for the whole file if it cannot be read), never a build failure.
    """
    try:
        text = (path.parent / record.raw_data.file).read_text(encoding="utf-8")
    except OSError:
        return None
    rows = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            rows.append({key: data.get(key) for key in RAW_FIELDS})
    return tuple(rows)


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return buffer.getvalue()


def front_page_answers(data: SiteData) -> list[dict[str, Any]]:
    """Per task, what the front page answers, from the task's busiest board.

    - `front`: the rows on the energy–accuracy front (or, without energy on that board, on the
      latency–accuracy front), best accuracy first;
    - `candidates`: the rows the "lowest energy per response at or above an accuracy" control
      chooses from (the browser recomputes it as the threshold moves): the front rows only,
      since the cheapest row at or above any accuracy is always on the front;
    - `threshold` and `answer`: the control's starting point (the median accuracy of those rows)
      and its answer, rendered for readers without JavaScript.
    """
    answers = []
    for task in data.tasks:
        board = data.board(data.busiest.get(task, ""))
        if board is None:
            continue
        metric = "energy_per_response_j" if board.has_energy else "latency_s"
        view = "energy_accuracy" if board.has_energy else "latency_accuracy"
        candidates = [
            {
                "model": row["model"],
                "model_name": row["model_name"],
                "model_slug": row["model_slug"],
                "batch_size": row["batch_size"],
                "configuration": row.get("configuration"),
                "max_num_seqs": row.get("max_num_seqs"),
                "backend": row["backend"],
                "source": row.get("source"),
                "trust_remote_code": bool(row.get("trust_remote_code")),
                "value": row[metric],
                "accuracy": row["accuracy_avg"],
                "front": bool(row.get(f"front_{view}")),
            }
            for row in board.rows
            if row.get(metric) is not None and row.get("accuracy_avg") is not None
        ]
        accuracies = sorted(c["accuracy"] for c in candidates)
        front = sorted((c for c in candidates if c["front"]), key=lambda c: -c["accuracy"])
        candidates = front
        # The median rounded down to 2 decimals, so the median row itself still reaches it.
        threshold = math.floor(accuracies[len(accuracies) // 2] * 100) / 100 if accuracies else None
        answer = None
        if threshold is not None:
            meeting = [c for c in candidates if c["accuracy"] >= threshold]
            answer = min(meeting, key=lambda c: (c["value"], -c["accuracy"]), default=None)
        answers.append(
            {
                "task": task,
                "about": TASK_ABOUT.get(task),
                "info": data.task_info.get(task),
                "system_prompt": data.system_prompts.get(task),
                "board": board,
                "metric": metric,
                "has_energy": board.has_energy,
                "front": front,
                "candidates": candidates,
                "threshold": threshold,
                "answer": answer,
            }
        )
    return answers


def render_site(
    data: SiteData, skipped: list[str], built_utc: str, serving: ServingSite | None = None
) -> dict[str, str]:
    """Every page and data file of the site as (relative path -> text), in memory.

    `serving` (from `leaderboard_site.serving.serving_site`) adds the serving pages.
    """
    env = make_environment()
    nav = boards_nav(data)
    busiest = data.board(data.busiest.get("", ""))
    common = {
        "data": data,
        "built_utc": built_utc,
        "boards_nav": nav,
        "busiest": data.busiest.get(""),
        "busiest_task": slugify(busiest.task) if busiest else "",
        "skipped": skipped,
        "serving_nav": navigation(serving) if serving else [],
    }
    pages: dict[str, str] = {}
    cells = {(b.task, b.hardware): b for b in data.boards}
    answers = front_page_answers(data)
    pages["index.html"] = render_page(
        env,
        "index.html",
        "",
        page="index",
        cells=cells,
        model_count=len(data.models),
        answers=answers,
        front_payload={
            a["task"]: {"metric": a["metric"], "candidates": a["candidates"]} for a in answers
        },
        **common,
    )
    for board in data.boards:
        context, script = board_page(data, board, nav)
        pages[context["data_script"]] = script
        pages[f"{BOARD_DIR}/{board.slug}.html"] = render_page(
            env, "board.html", "../", page="board", **context, **common
        )
    for task in data.tasks:
        pages[f"{TASK_DIR}/{slugify(task)}.html"] = render_page(
            env,
            "task.html",
            "../",
            page="task",
            about=TASK_ABOUT.get(task),
            system_prompt=data.system_prompts.get(task),
            **task_page(data, task),
            **common,
        )
    pages["compare.html"] = render_page(
        env, "compare.html", "", page="compare", **compare_page(data, nav), **common
    )
    for model in data.models:
        pages[f"{MODEL_DIR}/{model.slug}.html"] = render_page(
            env, "model.html", "../", page="model", **model_page(data, model), **common
        )
    pages["methodology.html"] = render_page(
        env, "methodology.html", "", page="methodology", **common
    )
    pages["faq.html"] = render_page(env, "faq.html", "", page="faq", answers=answers, **common)
    pages["downloads.html"] = render_page(env, "downloads.html", "", page="downloads", **common)
    if serving is not None and serving.boards:
        pages.update(serving_pages(env, serving, common))
    table = table_records(data.rows, data.columns)
    pages["data/leaderboard.json"] = json.dumps(table, indent=1, ensure_ascii=False) + "\n"
    pages["data/leaderboard.csv"] = _csv_text(table)
    return pages


def build_site(
    results: Path | Sequence[Path],
    out: Path,
    *,
    strict: bool = False,
    skip_invalid: bool = False,
    bundle: str | None = None,
) -> BuildReport:
    """Build the static site from `results` into `out` (replaced only when the build succeeds).

    Args:
        results: the results root, or several read as one (`load_records`).
        out: the output folder; an existing one must be a previous build (has `.leaderboard-site`).
        strict: fail on any warning (and on any skipped record).
        skip_invalid: skip invalid records and list them on the index page instead of failing.
        bundle: the Vega bundle text (default: generated by vl-convert).

    Raises:
        UserError: invalid records (without `skip_invalid`), warnings under `strict`, bad paths.
    """
    results_roots = [results] if isinstance(results, Path) else list(results)
    _check_out(results_roots, out)
    items, warnings, skipped, notes = load_records(results_roots, skip_invalid)
    data = aggregate(items, warnings)
    if strict and (data.warnings or skipped):
        every = data.warnings + [f"skipped invalid record: {s}" for s in skipped]
        flags = " ".join(f"--results {root}" for root in results_roots)
        hint = (
            f"`leaderboard validate {flags}` lists them; fix them, "
            "or build without --strict to publish with these warnings"
        )
        raise BuildRefused(
            f"--strict: {len(every)} warning(s); first: {every[0]} (nothing was built; {hint})",
            [f"--strict: {line}" for line in every],
            hint,
        )
    built_utc = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = render_site(data, skipped, built_utc, serving_site(items, data.eval_tasks))
    bundle_text = bundle if bundle is not None else vega_bundle()

    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        temp.mkdir()
        (temp / MARKER).write_text("built by `leaderboard build`; replaced on every build\n")
        (temp / ".nojekyll").write_text("")
        shutil.copytree(STATIC_DIR, temp / "static")
        (temp / "static" / VENDOR_FILE).write_text(bundle_text, encoding="utf-8")
        for relpath, text in pages.items():
            target = temp / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        records_dir = temp / "data" / "records"
        for item in items:
            source = item.path or results_roots[0] / item.relpath
            target = records_dir / item.relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            raw = getattr(item.record, "raw_data", None)  # calibration records have none
            if raw is not None:
                shutil.copyfile(source.parent / raw.file, target.parent / raw.file)
        _swap(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return BuildReport(
        out=out,
        pages=sum(1 for p in pages if p.endswith(".html")),
        performance_records=data.performance_count,
        accuracy_records=data.accuracy_count,
        rows=len(data.rows),
        warnings=data.warnings,
        skipped=skipped,
        notes=notes,
        published_records=data.published_count,
    )


def _swap(temp: Path, out: Path) -> None:
    """Move the new build into place; the old one is removed only after the new one is in."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        out.rename(old)
    try:
        temp.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
