"""`leaderboard build`: load + validate every record, aggregate, chart, render, write atomically.

Order (mkdocs-style): gather and validate everything first, then render every page in memory,
then write into a temp folder beside the output and swap it in. A failed build leaves the old
site untouched.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leaderboard_site.aggregate import (
    PARETO_VIEWS,
    SOURCE_KEYS,
    LoadedRecord,
    SiteData,
    aggregate,
    table_records,
)
from leaderboard_site.charts import board_charts, gpu_comparison_chart, roofline_views
from leaderboard_site.columns import DERIVED_KEYS
from leaderboard_site.render import STATIC_DIR, make_environment, render_page
from leaderboard_site.serving import ServingSite, navigation, serving_pages, serving_site
from runner.errors import UserError
from runner.records.load import leftovers_note, scan_results

MARKER = ".leaderboard-site"
VENDOR_FILE = "vega-bundle.js"
BOARD_DIR = "boards"
MODEL_DIR = "models"


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


def _check_out(results: Path, out: Path) -> None:
    results_abs, out_abs = results.resolve(), out.resolve()
    if out_abs == results_abs or out_abs in results_abs.parents or results_abs in out_abs.parents:
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
    results: Path, skip_invalid: bool
) -> tuple[list[LoadedRecord], list[str], list[str], list[str]]:
    """(records, warnings, skipped problems, notes) from a results folder.

    Leftovers of interrupted runs are not records: they are ignored, with one note.

    Raises:
        UserError: the folder is missing, or a record is invalid and `skip_invalid` is False.
    """
    if not results.is_dir():
        raise UserError(f"--results {results}: results folder not found")
    scan = scan_results(results)
    if scan.problems and not skip_invalid:
        hint = (
            f"`leaderboard validate --results {results}` lists them; fix or remove those files, "
            "or build with --skip-invalid to publish without them"
        )
        more = len(scan.problems) - 1
        tail = f" (and {more} more problem(s))" if more else ""
        raise BuildRefused(
            f"invalid record: {scan.problems[0]}{tail} (nothing was built; {hint})",
            [f"invalid record: {problem}" for problem in scan.problems],
            hint,
        )
    items = [
        LoadedRecord(path.relative_to(results).as_posix(), record)  # type: ignore[arg-type]
        for path, record in scan.records
    ]
    notes = [leftovers_note(scan.leftovers, results)] if scan.leftovers else []
    return items, list(scan.warnings), list(scan.problems), notes


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return buffer.getvalue()


BOARD_ROW_KEYS = (
    "row_id",
    "model_name",
    "model_slug",
    "model_id",
    "revision",
    "random_weights",
    "trust_remote_code",
    "energy_reason",
    "hardware_label",
    "files",
    "calibration_id",
    "derived_notes",
    *(f"front_{name}" for name, *_ in PARETO_VIEWS),
    *SOURCE_KEYS,
)


def render_site(
    data: SiteData, skipped: list[str], built_utc: str, serving: ServingSite | None = None
) -> dict[str, str]:
    """Every page and data file of the site as (relative path -> text), in memory.

    `serving` (from `leaderboard_site.serving.serving_site`) adds the serving pages.
    """
    env = make_environment()
    columns_json = [c.to_json() for c in data.columns]
    column_keys = [c.key for c in data.columns]
    boards_nav = [
        {"task": b.task, "hardware": b.hardware, "label": b.hardware_label, "slug": b.slug}
        for b in data.boards
    ]
    common = {
        "data": data,
        "built_utc": built_utc,
        "boards_nav": boards_nav,
        "skipped": skipped,
        "serving_nav": navigation(serving) if serving else [],
    }
    pages: dict[str, str] = {}
    cells = {(b.task, b.hardware): b for b in data.boards}
    pages["index.html"] = render_page(
        env,
        "index.html",
        "",
        page="index",
        cells=cells,
        model_count=len(data.models),
        **common,
    )
    for board in data.boards:
        with_published = board.published_count > 0
        charts = board_charts(board.rows, data.columns, with_source=with_published)
        # The same charts over the measured rows only, shown when published rows are hidden.
        charts_measured = (
            board_charts(
                board.measured_rows, data.columns, "chart-m-", "front_measured_", with_source=True
            )
            if with_published
            else []
        )
        rooflines = roofline_views(board.measured_rows, data.calibrations)
        specs = {c.chart_id: c.spec for c in (*charts, *charts_measured) if c.spec is not None}
        specs.update({v.chart.chart_id: v.chart.spec for v in rooflines if v.chart.spec})
        payload = {
            "columns": columns_json,
            "rows": [
                {k: row.get(k) for k in (*column_keys, *BOARD_ROW_KEYS)} for row in board.rows
            ],
            "board": {"task": board.task, "hardware": board.hardware, "slug": board.slug},
            "derived_keys": list(DERIVED_KEYS),
            "boards": boards_nav,
        }
        if with_published:
            payload["published_rows"] = board.published_count
        pages[f"{BOARD_DIR}/{board.slug}.html"] = render_page(
            env,
            "board.html",
            "../",
            page="board",
            board=board,
            charts=charts,
            charts_measured=charts_measured,
            rooflines=rooflines,
            specs=specs,
            payload=payload,
            **common,
        )
    for model in data.models:
        chart = gpu_comparison_chart(model.rows, data.columns)
        pages[f"{MODEL_DIR}/{model.slug}.html"] = render_page(
            env,
            "model.html",
            "../",
            page="model",
            model=model,
            chart=chart,
            specs={chart.chart_id: chart.spec} if chart.spec else {},
            config_json=json.dumps(model.config, indent=2, ensure_ascii=False),
            provenance_json=json.dumps(model.provenance, indent=2, ensure_ascii=False),
            **common,
        )
    pages["methodology.html"] = render_page(
        env, "methodology.html", "", page="methodology", **common
    )
    pages["downloads.html"] = render_page(env, "downloads.html", "", page="downloads", **common)
    if serving is not None and serving.boards:
        pages.update(serving_pages(env, serving, common))
    table = table_records(data.rows, data.columns)
    pages["data/leaderboard.json"] = json.dumps(table, indent=1, ensure_ascii=False) + "\n"
    pages["data/leaderboard.csv"] = _csv_text(table)
    return pages


def build_site(
    results: Path,
    out: Path,
    *,
    strict: bool = False,
    skip_invalid: bool = False,
    bundle: str | None = None,
) -> BuildReport:
    """Build the static site from `results` into `out` (replaced only when the build succeeds).

    Args:
        results: the results root (performance/ and accuracy/ records).
        out: the output folder; an existing one must be a previous build (has `.leaderboard-site`).
        strict: fail on any warning (and on any skipped record).
        skip_invalid: skip invalid records and list them on the index page instead of failing.
        bundle: the Vega bundle text (default: generated by vl-convert).

    Raises:
        UserError: invalid records (without `skip_invalid`), warnings under `strict`, bad paths.
    """
    _check_out(results, out)
    items, warnings, skipped, notes = load_records(results, skip_invalid)
    data = aggregate(items, warnings)
    if strict and (data.warnings or skipped):
        every = data.warnings + [f"skipped invalid record: {s}" for s in skipped]
        hint = (
            f"`leaderboard validate --results {results}` lists them; fix them, "
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
            source = results / item.relpath
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
