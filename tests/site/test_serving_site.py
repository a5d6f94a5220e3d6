"""The serving section of the site: headline numbers from a rate sweep, sweeps kept apart by
configuration, the accuracy join, the charts and pages, and (in headless Chromium) that the pages
draw, fit at 1,400 and 390 px, and the formula column works.

The serving records are synthetic (tests/support/serving_records.py), written beside a copy of
the golden fixtures; they are not measurements.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from leaderboard_site.build import build_site
from leaderboard_site.serving import headline, serving_site
from runner.records.accuracy import AccuracyRecord
from runner.records.load import scan_results
from tests.support.serving_records import write_sweep
from tests.support.site_support import copy_golden

QWEN = {
    "model_name": "Qwen__Qwen2.5-0.5B-Instruct",
    "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
    "revision": "7ae557604adf67be50417f59c2c2f167def9a775",
    "display_name": "Qwen2.5 0.5B Instruct",
    "hardware": "nvidia-h100-80gb-hbm3",
}
TINY = {
    "model_name": "tiny-random",
    "model_id": "local/tiny-random-llama",
    "revision": "local",
    "display_name": "Tiny random Llama",
    "hardware": "nvidia-h100-80gb-hbm3",
}


def point(rate: float, status: str, energy: float | None = 1.0) -> dict[str, object]:
    return {
        "rate_rps": rate,
        "offered_rate_rps": rate * 0.9,  # what the draw offered
        "status": status,
        "passes": status == "passes",
        "attainment": 1.0 if status == "passes" else 0.5,
        "attainment_lower": 0.95 if status == "passes" else 0.4,
        "energy_per_request_j": energy,
        "energy_per_token_j": None,
        "goodput_rps": rate,
        "ttft_p90_s": 0.1,
        "ttft": {"p90_censored": False},
        "tpot_p90_s": 0.01,
        "tpot": {"p90_censored": False},
    }


# ---------------------------------------------------------------- headline numbers, by hand


def test_max_rate_is_the_highest_pass_below_the_lowest_failure() -> None:
    points = [
        point(1, "passes", 5.0),
        point(2, "passes", 3.0),
        point(4, "fails", 2.0),
        point(8, "passes", 1.0),
    ]
    out = headline(points, 0.9)
    # 8 req/s passes again (noise), but 4 req/s failed below it: 2 req/s is the answer.
    assert (out["max_rate_configured_rps"], out["max_rate_bound"]) == (2, "measured")
    assert out["max_rate_rps"] == pytest.approx(1.8)  # the offered rate is shown
    assert out["energy_per_request_at_max_j"] == 3.0
    assert (out["next_rate_rps"], out["next_rate_status"]) == (pytest.approx(3.6), "fails")


def test_inconclusive_and_overloaded_rates_are_never_the_headline() -> None:
    points = [
        point(1, "inconclusive"),
        point(2, "passes", 3.0),
        point(4, "inconclusive"),
        point(8, "overloaded"),
        point(16, "passes"),
    ]
    out = headline(points, 0.9)
    # Inconclusive rates neither qualify nor block; the overloaded 8 req/s blocks 16.
    assert (out["max_rate_configured_rps"], out["max_rate_bound"]) == (2, "measured")
    assert out["next_rate_status"] == "inconclusive"
    assert headline([point(1, "overloaded"), point(2, "passes")], 0.9)["max_rate_rps"] is None


def test_every_rate_passing_gives_a_lower_bound() -> None:
    out = headline([point(4, "passes", 2.0), point(1, "passes", 4.0)], 0.9)
    assert (out["max_rate_configured_rps"], out["max_rate_bound"]) == (4, "at least")
    assert out["energy_per_request_at_max_j"] == 2.0 and out["next_rate_rps"] is None


def test_no_passing_rate_gives_none() -> None:
    for statuses in (("fails", "fails"), ("not assessed", "not assessed")):
        out = headline([point(1, statuses[0]), point(2, statuses[1])], 0.9)
        assert (out["max_rate_rps"], out["max_rate_bound"]) == (None, "none")
        assert out["energy_per_request_at_max_j"] is None


def test_unmeasured_energy_stays_none_at_the_max_rate() -> None:
    out = headline([point(1, "passes", None), point(2, "fails", None)], 0.9)
    assert out["max_rate_configured_rps"] == 1 and out["energy_per_request_at_max_j"] is None


# ---------------------------------------------------------------- from records to the site


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_golden(tmp_path_factory.mktemp("serving") / "results")
    # (rate, share of the rate x 10 s window requests meeting the SLO, window energy J)
    write_sweep(
        root,
        [(4.0, 1.0, 40.0), (8.0, 1.0, 60.0), (16.0, 0.5, 90.0), (32.0, 0.0, 150.0)],
        run_prefix="20261101T0100",
        timed_out={32.0: 0.75},  # overloaded: 240 of 320 window requests left at the deadline
        **QWEN,
    )
    write_sweep(
        root,
        [(4.0, 1.0, 30.0), (8.0, 1.0, 45.0), (16.0, 1.0, 70.0), (32.0, 1.0, 90.0)],
        run_prefix="20261101T0200",
        **TINY,
    )
    # One more tiny-model record at 32 req/s with another output cap and batch cap: another
    # configuration, so another sweep, never pooled with the one above.
    write_sweep(
        root,
        [(32.0, 0.5, 95.0)],
        run_prefix="20261101T0400",
        max_new_tokens=8,
        max_num_seqs=8,
        **TINY,
    )
    # A second record at 8 req/s of the same Qwen sweep is pooled with the first.
    write_sweep(root, [(8.0, 79 / 80, 80.0)], run_prefix="20261101T0300", **QWEN)
    return root


def _site(results: Path):  # type: ignore[no-untyped-def]
    items = [
        type("Item", (), {"relpath": p.relative_to(results).as_posix(), "record": r})()
        for p, r in scan_results(results).records
    ]
    return serving_site(items, ["arc_challenge", "hellaswag", "truthfulqa_mc2"])


def test_sweeps_headlines_and_the_accuracy_join(results: Path) -> None:
    site = _site(results)
    assert [(b.task, b.hardware) for b in site.boards] == [("chat", "nvidia-h100-80gb-hbm3")]
    board = site.boards[0]
    assert len(board.sweeps) == 3
    qwen = next(row for row in board.table if row["model_name"] == QWEN["model_name"])
    assert (qwen["max_rate_configured_rps"], qwen["max_rate_bound"]) == (8.0, "measured")
    assert qwen["max_rate_rps"] == pytest.approx(8.0)  # offered: 160 arrivals in 20 s
    assert qwen["next_rate_status"] == "fails"
    # Pooled at 8 req/s: 159 of 160 meet the SLO, (60 + 80) J over the 160 finished requests.
    sweep = next(s for s in board.sweeps if s.model_name == QWEN["model_name"])
    at_eight = next(p for p in sweep.points if p["rate_rps"] == 8.0)
    assert at_eight["runs"] == 2 and at_eight["requests"] == 160 and at_eight["slo_met"] == 159
    assert at_eight["status"] == "passes"  # lower bound on 159/160 above 0.9
    assert qwen["energy_per_request_at_max_j"] == pytest.approx(140.0 / 160)
    overloaded = next(p for p in sweep.points if p["rate_rps"] == 32.0)
    assert overloaded["status"] == "overloaded" and overloaded["unfinished"] == 240
    assert any("unfinished at the drain deadline" in r for r in overloaded["reasons"])
    # Accuracy joined by model id and revision from the golden accuracy records.
    assert qwen["acc_arc_challenge"] is not None and qwen["accuracy_avg"] is not None
    assert board.front  # energy per request at the target vs accuracy
    charts = {c.chart_id.split("-")[1]: c for c in board.charts}
    assert set(charts) == {"energy", "attainment", "ttft", "front"}
    assert all(c.spec is not None for c in charts.values())


def test_two_configurations_of_one_model_stay_two_sweeps(results: Path) -> None:
    board = _site(results).boards[0]
    tiny = [row for row in board.table if row["model_name"] == TINY["model_name"]]
    assert len(tiny) == 2
    by_cap = {row["max_num_seqs"]: row for row in tiny}
    assert set(by_cap) == {64, 8}
    # The 32 req/s record of the other configuration does not drag this sweep down.
    assert (by_cap[64]["max_rate_configured_rps"], by_cap[64]["max_rate_bound"]) == (
        32.0,
        "at least",
    )
    assert by_cap[64]["max_new_tokens"] == 4 and by_cap[8]["max_new_tokens"] == 8
    assert by_cap[8]["max_rate_rps"] is None and by_cap[8]["rates_measured"] == 1
    assert by_cap[64]["series"] != by_cap[8]["series"]
    assert "cap 64" in by_cap[64]["series"] and "cap 8" in by_cap[8]["series"]


def test_no_line_joins_a_passing_and_a_failing_rate(results: Path) -> None:
    board = _site(results).boards[0]
    energy = next(c for c in board.charts if c.chart_id.startswith("serving-energy"))
    assert energy.spec is not None
    points = energy.spec["datasets"]["points"]
    qwen = sorted((p for p in points if p["series"].startswith("Qwen")), key=lambda p: p["rate"])
    # 4 and 8 req/s pass (one segment), 16 fails and 32 is overloaded (another): both drawn.
    assert [p["status"] for p in qwen] == [
        "passes", "passes", "fails", "overloaded (not steady)",
    ]  # fmt: skip
    assert len({p["segment"] for p in qwen[:2]}) == 1 and len({p["segment"] for p in qwen[2:]}) == 1
    assert qwen[1]["segment"] != qwen[2]["segment"]
    layers = energy.spec["layer"]
    line = next(layer for layer in layers if layer["mark"]["type"] == "line")
    assert line["encoding"]["detail"]["field"] == "segment"


def test_build_strict_writes_the_serving_pages_and_downloads(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "_site"
    report = build_site(results, out, strict=True, bundle="/* test */")
    assert report.warnings == []
    board = out / "serving" / "chat--nvidia-h100-80gb-hbm3.html"
    assert board.is_file() and (out / "serving" / "index.html").is_file()
    html = board.read_text()
    assert "Max sustainable rate at the target" in html
    assert "Other boards" not in html  # the only board: nothing dangling
    assert "240 unfinished" in html  # censored latencies are shown as bounds, with their count
    assert 'href="../models/Qwen__Qwen2.5-0.5B-Instruct.html"' in html
    assert 'href="serving/index.html"' in (out / "index.html").read_text()
    rows = list(csv.DictReader(io.StringIO((out / "data" / "serving.csv").read_text())))
    assert sorted(r["model_name"] for r in rows) == sorted(
        [QWEN["model_name"], TINY["model_name"], TINY["model_name"]]
    )
    data = json.loads((out / "data" / "serving.json").read_text())
    tiny = sorted((r for r in data if r["model_name"] == TINY["model_name"]),
                  key=lambda r: r["max_num_seqs"])  # fmt: skip
    assert [(r["max_num_seqs"], r["max_new_tokens"]) for r in tiny] == [(8, 8), (64, 4)]
    assert tiny[0]["sweep_hash"] != tiny[1]["sweep_hash"]
    assert {r["max_rate_bound"] for r in data} == {"measured", "at least", "none"}
    # Serving records and their raw data are published with the site, like every record.
    copied = list((out / "data" / "records" / "serving").rglob("*.requests.jsonl"))
    assert len(copied) == 10


def test_a_site_without_serving_records_has_no_serving_link(tmp_path: Path) -> None:
    from tests.support.site_support import GOLDEN

    out = tmp_path / "_site"
    build_site(GOLDEN, out, strict=True, bundle="/* test */")
    assert not (out / "serving").exists()
    assert "serving/index.html" not in (out / "index.html").read_text()


# ---------------------------------------------------------------- in Chromium

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


FITS = """() => {
  const page = document.documentElement.scrollWidth;
  const wraps = Array.from(document.querySelectorAll('.table-wrap'))
    .filter(w => w.scrollWidth > w.clientWidth + 1).length;
  const charts = Array.from(document.querySelectorAll('div.chart')).map(c => {
    const svg = c.querySelector('svg');
    return svg ? svg.getBoundingClientRect().right - c.getBoundingClientRect().right : 0;
  });
  return {page, wraps, chartOverflow: Math.max(0, ...charts)};
}"""


@pytest.mark.browser
def test_serving_pages_draw_fit_and_the_formula_column_works(results: Path, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "_site"
    build_site(results, out, strict=True)
    rendered = (
        "Array.from(document.querySelectorAll('div.chart'))"
        ".every(el => el.hasAttribute('data-rendered'))"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        board = out / "serving" / "chat--nvidia-h100-80gb-hbm3.html"
        for path in (out / "serving" / "index.html", board):  # the board last: checked below
            page.goto(path.as_uri())
            page.wait_for_function(rendered, timeout=20_000)
        charts = page.query_selector_all("div.chart")
        assert len(charts) == 4
        for chart in charts:
            assert chart.query_selector_all("g.mark-symbol > path, g.mark-line > path")
        # At 1,400 px every table shows all its columns and no chart or legend spills out.
        fit = page.evaluate(FITS)
        assert fit == {"page": 1400, "wraps": 0, "chartOverflow": 0}, fit
        page.fill("#serving-formula-text", "accuracy_avg / energy_per_request_at_max_j")
        page.click("#serving-formula-add")
        assert page.text_content("#serving-formula-error") == ""
        cells = page.eval_on_selector_all(
            "#serving-table tbody td:last-child", "cells => cells.map(c => c.textContent)"
        )
        assert len(cells) == 3 and sum(c != "not measured" for c in cells) == 2
        page.fill("#serving-formula-text", "max_rate_rps * nope")
        page.click("#serving-formula-add")
        assert "unknown column 'nope'" in page.text_content("#serving-formula-error")
        # On a 390 px phone the page is no wider than the screen (tables scroll in their box)
        # and the charts and their legends fit their boxes.
        phone = browser.new_page(viewport={"width": 390, "height": 800})
        phone.goto(board.as_uri())
        phone.wait_for_function(rendered, timeout=20_000)
        fit = phone.evaluate(FITS)
        assert fit["page"] <= 390 and fit["chartOverflow"] == 0, fit
        browser.close()
        assert errors == []


@pytest.mark.browser
def test_hostile_names_on_serving_pages_stay_text(tmp_path: Path) -> None:
    """A model display name and a GPU name that try to inject HTML/JS are shown as text."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    payload = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    root = tmp_path / "results"
    write_sweep(
        root,
        [(4.0, 1.0, 10.0), (8.0, 0.1, 20.0)],
        **{**TINY, "display_name": payload, "hardware": "gpu-x"},
        gpu_name=payload,
    )
    out = tmp_path / "_site"
    build_site(root, out, strict=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pages = sorted((out / "serving").glob("*.html"), key=lambda p: p.name != "index.html")
        for path in pages:  # the board last: checked below
            page.goto(path.as_uri())
            page.wait_for_timeout(500)
            assert page.evaluate("typeof window.__pwned") == "undefined", path.name
            handlers = page.eval_on_selector_all(
                "*",
                "els => els.filter(e => Array.from(e.attributes).some("
                "a => a.name.startsWith('on'))).length",
            )
            assert handlers == 0, path.name
        assert payload in page.text_content("h1")  # the GPU name, shown as text
        assert payload in page.text_content("#serving-table tbody td")  # the model name
        browser.close()
    assert dialogs == []


def test_a_schema_2_record_is_shown_not_assessed_and_never_the_headline() -> None:
    from tests.support.site_support import GOLDEN

    fixture = GOLDEN.parent / "serving_v2"
    site = _site(fixture)
    (board,) = site.boards
    (row,) = board.table
    assert row["max_rate_rps"] is None and row["max_rate_bound"] == "none"
    (point,) = board.sweeps[0].points
    assert point["status"] == "not assessed" and point["attainment_lower"] is None
    assert point["ttft"]["finished_only"]  # schema 2 kept finished requests' latencies only
    assert point["output_tok_s"] is None and point["finished"] == 6


def test_the_average_is_over_the_measured_tasks_when_published_ones_join(results: Path) -> None:
    """Published sources bring reference eval tasks; a model measured on other tasks keeps the
    average over its own (as on the boards), not a missing one over the source's."""
    items = []
    for path, record in scan_results(results).records:
        if isinstance(record, AccuracyRecord):
            if record.identity.eval_task != "hellaswag":
                continue
            record = record.model_copy(
                update={"identity": record.identity.model_copy(update={"eval_task": "quick"})}
            )
        items.append(
            type("Item", (), {"relpath": path.relative_to(results).as_posix(), "record": record})()
        )
    site = serving_site(items, ["arc_challenge", "hellaswag", "truthfulqa_mc2", "quick"])
    qwen = next(r for r in site.boards[0].table if r["model_name"] == QWEN["model_name"])
    assert qwen["acc_quick"] is not None
    assert qwen["accuracy_avg"] == pytest.approx(qwen["acc_quick"])
