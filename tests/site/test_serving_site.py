"""The serving section of the site: headline numbers from a rate sweep, the accuracy join, the
charts and pages, and (in headless Chromium) that the pages draw and the formula column works.

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


def point(rate: float, attainment: float, energy: float | None = 1.0) -> dict[str, object]:
    return {
        "rate_rps": rate,
        "attainment": attainment,
        "sustainable": attainment >= 0.9,
        "energy_per_request_j": energy,
        "energy_per_token_j": None,
        "goodput_rps": rate * attainment,
        "ttft_p90_s": 0.1,
        "itl_p90_s": 0.01,
    }


# ---------------------------------------------------------------- headline numbers, by hand


def test_max_rate_is_the_last_rate_before_the_first_miss() -> None:
    points = [point(1, 1.0, 5.0), point(2, 0.95, 3.0), point(4, 0.5, 2.0), point(8, 0.95, 1.0)]
    out = headline(points, 0.9)
    # 8 req/s meets the target again (noise), but 4 req/s missed it first: 2 req/s is the answer.
    assert (out["max_rate_rps"], out["max_rate_bound"]) == (2, "measured")
    assert out["energy_per_request_at_max_j"] == 3.0
    assert out["max_goodput_rps"] == pytest.approx(7.6)


def test_every_rate_meeting_the_target_gives_a_lower_bound() -> None:
    out = headline([point(4, 1.0, 2.0), point(1, 0.99, 4.0)], 0.9)
    assert (out["max_rate_rps"], out["max_rate_bound"]) == (4, "at least")
    assert out["energy_per_request_at_max_j"] == 2.0


def test_missing_the_target_at_the_lowest_rate_gives_none() -> None:
    out = headline([point(1, 0.5), point(2, 0.1)], 0.9)
    assert (out["max_rate_rps"], out["max_rate_bound"]) == (None, "none")
    assert out["energy_per_request_at_max_j"] is None


def test_unmeasured_energy_stays_none_at_the_max_rate() -> None:
    out = headline([point(1, 1.0, None), point(2, 0.2, None)], 0.9)
    assert out["max_rate_rps"] == 1 and out["energy_per_request_at_max_j"] is None


# ---------------------------------------------------------------- from records to the site


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_golden(tmp_path_factory.mktemp("serving") / "results")
    # (rate, window requests meeting the SLO out of 20, window energy J)
    write_sweep(
        root,
        [(1.0, 20, 40.0), (2.0, 19, 60.0), (4.0, 12, 90.0), (8.0, 0, 150.0)],
        run_prefix="20261101T0100",
        **QWEN,
    )
    write_sweep(
        root,
        [(1.0, 20, 30.0), (2.0, 20, 45.0), (4.0, 20, 70.0)],
        run_prefix="20261101T0200",
        **TINY,
    )
    # A second record at 2 req/s is pooled with the first: 39 of 40 meet the SLO.
    write_sweep(root, [(2.0, 20, 80.0)], run_prefix="20261101T0300", **QWEN)
    return root


def test_sweeps_headlines_and_the_accuracy_join(results: Path) -> None:
    items = [
        type("Item", (), {"relpath": p.relative_to(results).as_posix(), "record": r})()
        for p, r in scan_results(results).records
    ]
    site = serving_site(items, ["arc_challenge", "hellaswag", "truthfulqa_mc2"])
    assert [(b.task, b.hardware) for b in site.boards] == [("chat", "nvidia-h100-80gb-hbm3")]
    board = site.boards[0]
    rows = {row["model_name"]: row for row in board.table}
    qwen, tiny = rows[QWEN["model_name"]], rows[TINY["model_name"]]
    assert (qwen["max_rate_rps"], qwen["max_rate_bound"]) == (2.0, "measured")
    # Pooled at 2 req/s: (60 + 80) J over the requests completed inside both windows.
    sweep = next(s for s in board.sweeps if s.model_name == QWEN["model_name"])
    at_two = next(p for p in sweep.points if p["rate_rps"] == 2.0)
    assert at_two["runs"] == 2 and at_two["requests"] == 40 and at_two["slo_met"] == 39
    completed = at_two["throughput_rps"] * 20.0  # two 10 s windows
    assert qwen["energy_per_request_at_max_j"] == pytest.approx(140.0 / completed)
    assert (tiny["max_rate_rps"], tiny["max_rate_bound"]) == (4.0, "at least")
    # Accuracy joined by model id and revision from the golden accuracy records.
    assert qwen["acc_arc_challenge"] is not None and qwen["accuracy_avg"] is not None
    assert tiny["accuracy_avg"] is not None
    assert board.front  # energy per request at the target vs accuracy
    charts = {c.chart_id.split("-")[1]: c for c in board.charts}
    assert set(charts) == {"energy", "attainment", "ttft", "front"}
    assert all(c.spec is not None for c in charts.values())
    energy = charts["energy"].spec
    assert energy is not None
    bands = energy["datasets"]["bands"]
    # Qwen misses the target above 2 req/s; the tiny model never does: one shaded band.
    assert bands == [{"series": "Qwen2.5 0.5B Instruct", "x": 2.0, "x2": 8.0}]


def test_build_strict_writes_the_serving_pages_and_downloads(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "_site"
    report = build_site(results, out, strict=True, bundle="/* test */")
    assert report.warnings == []
    board = out / "serving" / "chat--nvidia-h100-80gb-hbm3.html"
    assert board.is_file() and (out / "serving" / "index.html").is_file()
    html = board.read_text()
    assert "Max sustainable rate at the target" in html
    assert 'href="../models/Qwen__Qwen2.5-0.5B-Instruct.html"' in html
    assert 'href="serving/index.html"' in (out / "index.html").read_text()
    rows = list(csv.DictReader(io.StringIO((out / "data" / "serving.csv").read_text())))
    assert {r["model_name"] for r in rows} == {QWEN["model_name"], TINY["model_name"]}
    data = json.loads((out / "data" / "serving.json").read_text())
    assert {r["max_rate_bound"] for r in data} == {"measured", "at least"}
    # Serving records and their raw data are published with the site, like every record.
    copied = list((out / "data" / "records" / "serving").rglob("*.requests.jsonl"))
    assert len(copied) == 8


def test_a_site_without_serving_records_has_no_serving_link(tmp_path: Path) -> None:
    from tests.support.site_support import GOLDEN

    out = tmp_path / "_site"
    build_site(GOLDEN, out, strict=True, bundle="/* test */")
    assert not (out / "serving").exists()
    assert "serving/index.html" not in (out / "index.html").read_text()


# ---------------------------------------------------------------- in Chromium

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.browser
def test_serving_pages_draw_and_the_formula_column_works(results: Path, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "_site"
    build_site(results, out, strict=True)
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
            page.wait_for_function(
                "Array.from(document.querySelectorAll('div.chart'))"
                ".every(el => el.hasAttribute('data-rendered'))",
                timeout=20_000,
            )
        charts = page.query_selector_all("div.chart")
        assert len(charts) == 4
        for chart in charts:
            assert chart.query_selector_all("g.mark-symbol > path, g.mark-line > path")
        page.fill("#serving-formula-text", "accuracy_avg / energy_per_request_at_max_j")
        page.click("#serving-formula-add")
        assert page.text_content("#serving-formula-error") == ""
        cells = page.eval_on_selector_all(
            "#serving-table tbody td:last-child", "cells => cells.map(c => c.textContent)"
        )
        assert len(cells) == 2 and all(c != "not measured" for c in cells)
        page.fill("#serving-formula-text", "max_rate_rps * nope")
        page.click("#serving-formula-add")
        assert "unknown column 'nope'" in page.text_content("#serving-formula-error")
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
        [(1.0, 20, 10.0), (2.0, 5, 20.0)],
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
