"""Published results on the site: values as published, badges, "not published", the
include/exclude control and its fronts, boards shared through hardware aliases, a methodology
section per source, the source in downloads; and the stored (not recomputed) throughput.

Built from the golden fixtures plus the synthetic samples of tests/fixtures/published/. A
source's task is its own: by default its rows sit on boards of their own (`<source>.<task>`).
Most tests here map the samples' tasks onto ours (`MAPPED`, through a copy of conf/ with a
task mapping), so measured and published rows share boards; the tests at the end check the
default.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import build_site, load_records
from leaderboard_site.pooling import pool_records
from leaderboard_site.site_data import LoadedRecord
from runner.ingest.importer import import_files
from runner.ingest.task_mapping import load_task_mapping
from runner.records.load import load_record
from tests.ingest.test_import import MLENERGY, TABLE, benchmark_rows
from tests.support.site_support import GOLDEN, board_page_data, conf_with_task_mapping, first_record

BUNDLE = "/* vega bundle stand-in for fast tests */"
A100_BOARD = "chat--nvidia-a100-sxm4-40gb"
# Row keys a published mlenergy-v1 row must leave empty: the release does not publish them.
NOT_IN_MLENERGY = (
    "ttft_s",
    "tpot_s",
    "latency_p90_s",
    "energy_per_token_j",
    "energy_above_idle_per_response_j",
    "avg_power_w",
    "idle_power_w",
    "peak_memory_gb",
    "runs",
    "requests",
    "output_tokens",
    "measured_time_s",
    "energy_j",
    "backend",
    "energy_source",
    "revision",
    "x_floor",
    "tokens_per_j",
    "carbon_g_per_response",
    "cost_usd_per_1m_tokens",
)


SAME = "test fixture: treated as the same workload to share boards"
MAPPED = {
    "mlenergy-v1": {t: {"same_as": t, "reason": SAME} for t in ("chat", "instruct")},
    "example-table-2026": {"chat": {"same_as": "chat", "reason": SAME}},
}


@pytest.fixture(scope="module")
def mapped_conf(tmp_path_factory: pytest.TempPathFactory):
    """$LEADERBOARD_CONF set to a copy of conf/ that maps the samples' tasks onto ours."""
    conf = conf_with_task_mapping(tmp_path_factory.mktemp("conf") / "conf", MAPPED)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADERBOARD_CONF", str(conf))
        yield conf


def mixed_results(root: Path) -> Path:
    results = root / "results"
    shutil.copytree(GOLDEN, results)
    import_files("mlenergy-v1", [MLENERGY], results)
    import_files("csv", [TABLE / "table.csv"], results, mapping=TABLE / "mapping.yaml")
    return results


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, mapped_conf) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mixed")
    results = mixed_results(root)
    out = root / "_site"
    build_site(results, out, strict=True, bundle=BUNDLE)
    return results, out


@pytest.fixture(scope="module")
def data(mixed, mapped_conf):
    items, warnings, skipped, _ = load_records(mixed[0], skip_invalid=False)
    assert not skipped
    return aggregate(
        items, warnings, task_mapping=load_task_mapping(mapped_conf / "task_mapping.yaml")
    )


def published_rows(data, source_id: str | None = None) -> list[dict]:
    return [
        r for r in data.rows if r["source"] == "published" and source_id in (None, r["source_id"])
    ]


def test_every_published_value_on_the_site_equals_the_source_value(mixed, data) -> None:
    downloaded = json.loads((mixed[1] / "data" / "leaderboard.json").read_text())
    by_key = {
        (r["model_id"], r["task"], r["hardware"]): r
        for r in downloaded
        if r["source_id"] == "mlenergy-v1"
    }
    with (MLENERGY / "score.csv").open(newline="") as handle:
        scores = {row["model"]: row for row in csv.DictReader(handle)}
    slugs = {"A100": "nvidia-a100", "A40": "nvidia-a40"}
    rows = benchmark_rows()
    assert len(by_key) == len(rows)
    for gpu, task, _, cells in rows:
        row = by_key[(cells["model"], task, slugs[gpu])]
        for column, key in (
            ("throughput", "throughput_tok_s"),
            ("response_length", "response_tokens"),
            ("latency", "latency_s"),
            ("energy", "energy_per_response_j"),
        ):
            assert row[key] == (float(cells[column]) if cells[column] else None), (row, column)
        score = scores.get(cells["model"])
        for column, key in (
            ("arc", "acc_arc_challenge"),
            ("hellaswag", "acc_hellaswag"),
            ("truthfulqa", "acc_truthfulqa_mc2"),
        ):
            assert row[key] == (float(score[column]) / 100 if score else None)
        assert row["batch_size"] == 1 and row["dtype"] == "float16"
        assert row["source"] == "published" and row["citation"].startswith("Jae-Won Chung")
        assert (
            row["source_url"] == "https://github.com/ml-energy/leaderboard-v2/tree/2024-02-18/data"
        )
    # The csv import, through its units: kJ -> J, ms -> s.
    table = {
        (r["model_id"], r["batch_size"]): r for r in published_rows(data, "example-table-2026")
    }
    assert table[("example-org/alpha-7b", 8)]["energy_per_response_j"] == 1234.5
    assert table[("example-org/alpha-7b", 8)]["ttft_s"] == 0.18
    assert table[("other-lab/delta-1b", 8)]["latency_s"] == 4.12


def test_no_invented_statistic_appears(mixed, data) -> None:
    for row in published_rows(data, "mlenergy-v1"):
        for key in NOT_IN_MLENERGY:
            assert row[key] is None, (row["row_id"], key)
        assert row["derived_notes"] and "published result" in row["derived_notes"]
    with (mixed[1] / "data" / "leaderboard.csv").open(newline="") as handle:
        table = [r for r in csv.DictReader(handle) if r["source"] == "published"]
    assert len(table) == 11
    for row in table:
        assert row["ttft_s"] == "" or row["source_id"] == "example-table-2026"
        assert row["latency_p90_s"] == row["runs"] == row["energy_source"] == ""


def test_published_rows_share_boards_through_the_aliases(data) -> None:
    boards = {b.slug: b for b in data.boards}
    a100 = boards[A100_BOARD]
    assert a100.hardware_label == "NVIDIA A100-SXM4-40GB"  # the measured board keeps its name
    assert a100.published_count == 5  # 3 from mlenergy-v1, 2 from the csv table
    assert a100.published_labels == ["NVIDIA A100 (published, memory variant not reported)"]
    assert {r["hardware"] for r in a100.rows if r["source"] == "published"} == {"nvidia-a100"}
    assert boards["instruct--nvidia-a100-sxm4-40gb"].published_count == 2
    # No measured A40: the published rows get a board of their own, named by the alias.
    a40 = boards["chat--nvidia-a40"]
    assert a40.hardware_label == "NVIDIA A40 (published)" and a40.published_count == 3
    assert len(a40.rows) == 3
    # The csv's H100 row joins the measured H100 board; its A100 rows the A100 board.
    assert boards["chat--nvidia-h100-80gb-hbm3"].published_count == 1
    assert ("nvidia-a40", "NVIDIA A40 (published)") in data.hardware
    assert data.published_count == 11 and len(data.sources) == 2


def test_fronts_with_and_without_published_rows(data) -> None:
    golden_items, _, _, _ = load_records(GOLDEN, skip_invalid=False)
    golden = {b.slug: b for b in aggregate(golden_items).boards}
    for board in data.boards:
        if not board.published_count or board.slug not in golden:
            continue
        # Measured only: exactly the fronts of the same board without any published result.
        assert board.fronts_measured == golden[board.slug].fronts
        published = {r["row_id"] for r in board.rows if r["source"] == "published"}
        for name, members in board.fronts.items():
            assert set(members) <= {r["row_id"] for r in board.rows}
            assert not set(board.fronts_measured[name]) & published
    a100 = next(b for b in data.boards if b.slug == A100_BOARD)
    published = {r["row_id"] for r in a100.rows if r["source"] == "published"}
    assert set(a100.fronts["energy_accuracy"]) & published  # published rows can be on a front


def test_board_page_badges_the_rows_and_says_what_the_fronts_include(mixed) -> None:
    text = (mixed[1] / "boards" / f"{A100_BOARD}.html").read_text()
    assert '<input id="include-published" type="checkbox" checked>' in text
    assert "These fronts include the board's 5 published result(s)" in text
    assert '<div id="charts-measured" hidden>' in text
    assert "NVIDIA A100 (published, memory variant not reported)" in text
    assert "methodology</a>. Published results are not drawn" in text  # one sentence each
    _, payload, rows, specs, views = board_page_data(mixed[1], A100_BOARD)
    assert payload["published_rows"] == 5
    published = [r for r in rows if r["source"] == "published"]
    assert len(published) == 5
    assert all(r["citation"] and r["source_note"].startswith("Published: ") for r in published)
    assert "chart-m-energy_accuracy" in specs and "chart-energy_accuracy" in specs
    # Both sets of charts read the page's one dataset; the measured ones keep measured rows only
    # and mark their own fronts, and every tooltip names the point's source.
    everything, measured = specs["chart-energy_accuracy"], specs["chart-m-energy_accuracy"]
    assert "published" not in everything["transform"][0]["filter"]
    assert "datum.source != 'published'" in measured["transform"][0]["filter"]
    assert views["chart-m-energy_accuracy"]["measured"] is True
    assert "front_measured_energy_accuracy" in json.dumps(measured)
    for spec in (everything, measured):
        tooltip = spec["layer"][-1]["encoding"]["tooltip"]
        assert {"field": "source_text", "type": "nominal", "title": "Source"} in tooltip


def test_model_page_index_methodology_and_downloads_name_the_sources(mixed) -> None:
    out = mixed[1]
    model = (out / "models" / "example-org__beta-13b.html").read_text()
    assert "&#34;ML.ENERGY Leaderboard&#34; (2023)" in model
    assert 'class="badge badge-published"' in model and "not published" in model
    assert "not measured by this project" in model
    assert "<dt>Licence</dt><dd>Apache-2.0</dd>" in model  # the pinned source card's
    methodology = (out / "methodology.html").read_text()
    for anchor in ("sources", "source-measured", "source-mlenergy-v1", "source-example-table-2026"):
        assert f'id="{anchor}"' in methodology
    assert "Greedy decoding, FP16, an example serving stack" in methodology
    index = (out / "index.html").read_text()
    assert '<strong id="published-count">11</strong>' in index
    downloads = (out / "downloads.html").read_text()
    assert 'id="source-columns"' in downloads and "published/mlenergy-v1/" in downloads
    copied = list((out / "data" / "records" / "published").rglob("*.json"))
    assert len(copied) == 11


def test_a_site_without_published_results_shows_no_published_controls(tmp_path) -> None:
    out = tmp_path / "_site"
    build_site(GOLDEN, out, strict=True, bundle=BUNDLE)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "include-published" not in text and "published-summary" not in text
        assert 'id="sources"' not in text and "badge-published" not in text
    board = (out / "boards" / "chat--nvidia-h100-80gb-hbm3.html").read_text()
    assert '"published_rows"' not in board


def test_the_site_shows_the_stored_throughput() -> None:
    record = load_record(first_record(GOLDEN))
    summary = record.summary
    # A record whose stored throughput is not tokens / time (a source's own figure, rounding):
    stored = summary.output_tokens / summary.measured_time_s * 1.023
    odd = record.model_copy(
        update={"summary": summary.model_copy(update={"throughput_tok_s": stored})}
    )
    assert pool_records([odd])["throughput_tok_s"] == stored
    data = aggregate([LoadedRecord("x.json", odd)])
    assert data.rows[0]["throughput_tok_s"] == stored
    # Pooled records: their stored throughputs weighted by measured time.
    other = odd.model_copy(
        update={
            "run_id": "z",
            "summary": summary.model_copy(
                update={"throughput_tok_s": 10.0, "measured_time_s": 3 * summary.measured_time_s}
            ),
        }
    )
    assert pool_records([odd, other])["throughput_tok_s"] == pytest.approx((stored + 3 * 10.0) / 4)


# ---------------------------------------------------------------------------------------------
# In headless Chromium


CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory: pytest.TempPathFactory, mapped_conf) -> Path:
    """The mixed site with the real Vega bundle (the charts draw)."""
    root = tmp_path_factory.mktemp("mixed-browser")
    out = root / "_site"
    build_site(mixed_results(root), out, strict=True)
    return out


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.errors = []  # type: ignore[attr-defined]
        tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))
        context.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        yield tab
        browser.close()


def open_board(page, out: Path, fragment: str = "") -> None:
    page.goto((out / "boards" / f"{A100_BOARD}.html").as_uri() + fragment)
    page.wait_for_function(
        "Array.from(document.querySelectorAll('div.chart'))"
        ".every(el => el.hasAttribute('data-rendered'))",
        timeout=20_000,
    )


@pytest.mark.browser
def test_browser_badges_not_published_and_the_control(browser_site, page) -> None:
    out = browser_site
    open_board(page, out)
    rows = page.query_selector_all("#board-table tbody tr")
    published = page.query_selector_all('#board-table tbody tr[data-source="published"]')
    assert len(published) == 5 and len(rows) == 20
    for row in published:
        badge = row.query_selector('td[data-key="model"] .badge-published')
        assert badge and badge.get_attribute("title").startswith("Published: ")
        assert row.query_selector('td[data-key="tpot_s"]') is None  # an "all columns" one
        assert row.query_selector('td[data-key="energy_per_token_j"]').inner_text() == (
            "not published"
        )
    not_published = page.eval_on_selector_all(
        "#board-table tbody tr:not([data-source]) td",
        "cells => cells.filter(c => c.textContent === 'not published').length",
    )
    assert not_published == 0  # measured rows never say "not published"
    # The cell values are the published figures (kept in data-value).
    values = page.eval_on_selector_all(
        '#board-table tbody tr[data-source="published"] td[data-key="latency_s"]',
        "cells => cells.map(c => Number(c.dataset.value))",
    )
    assert sorted(values) == sorted([9.12, 13.58, 4.3, 10.25, 9.034])
    assert "published results included" in page.inner_text("#row-count")
    assert "The front includes 5 published row(s)." in page.inner_text("#chart-explore-note")
    assert page.is_visible("#charts-all") and not page.is_visible("#charts-measured")

    page.uncheck("#include-published")
    assert len(page.query_selector_all("#board-table tbody tr")) == 15
    assert page.query_selector_all('#board-table tbody tr[data-source="published"]') == []
    assert "(5 published hidden)" in page.inner_text("#row-count")
    assert "measured results only" in page.inner_text("#chart-explore-note")
    assert page.is_visible("#charts-measured") and not page.is_visible("#charts-all")
    assert "pub=0" in page.evaluate("location.hash")
    marks = page.query_selector_all("#charts-measured div.chart g.mark-symbol > path")
    assert marks

    open_board(page, out, "#pub=0")  # a shared link keeps the choice
    assert not page.is_checked("#include-published")
    assert len(page.query_selector_all("#board-table tbody tr")) == 15
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
def test_browser_published_pages_load_without_errors(browser_site, page) -> None:
    out = browser_site
    for name in (
        "boards/chat--nvidia-a40.html",
        "models/example-org__alpha-7b.html",
        "index.html",
        "methodology.html",
    ):
        page.goto((out / name).as_uri())
        page.wait_for_function(
            "Array.from(document.querySelectorAll('div.chart'))"
            ".every(el => el.hasAttribute('data-rendered'))",
            timeout=20_000,
        )
        for chart in page.query_selector_all("div.chart:not([data-rendered=empty])"):
            assert chart.query_selector_all("g.mark-symbol > path, g.mark-rect > path"), name
    assert page.errors == []  # type: ignore[attr-defined]


def test_hostile_published_strings_are_shown_as_text(tmp_path) -> None:
    payload = "<script>window.__pwned=1</script>"
    table = tmp_path / "t.csv"
    table.write_text(f'Model,Name,J\norg/m,"{payload}",12.5\n')
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "source:\n"
        "  id: hostile\n"
        f"  citation: '{payload}'\n"
        "  url: https://example.org/x\n"
        f"  methodology: '\"><img src=x onerror=alert(2)>'\n"
        "columns:\n  Model: model_id\n  Name: display_name\n"
        "  J: {field: energy_per_response_j, unit: J}\n"
        "constants:\n  hardware: A40\n  task: chat\n"
    )
    results = tmp_path / "results"
    import_files("csv", [table], results, mapping=mapping)
    out = tmp_path / "_site"
    build_site(results, out, strict=True, bundle=BUNDLE)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert payload not in text and "<img src=x" not in text, page
        assert text.count("</script>") == text.count("<script"), page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in (out / "methodology.html").read_text()


def test_a_published_only_board_asks_no_one_to_measure_more(mixed) -> None:
    """Its sweep note says what the source published, and the measured-only charts say there
    are no measured rows (not "batch size no", nor a `leaderboard run` to follow)."""
    text = (mixed[1] / "boards" / "chat--nvidia-a40.html").read_text()
    assert "No sweep to draw: the source published one batch size per model here" in text
    assert "No sweep to draw: no measured rows on this board." in text
    assert "Measure more with" not in text
