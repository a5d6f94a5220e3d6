"""A board larger than a page of the table, in headless Chromium.

The table holds one page of rows in the document, while sorting, search and the CSV download
cover every row of the board; a chart of more points than the canvas threshold is drawn on a
canvas, still one point per row. The board is made of synthetic records
(`scripts/make_golden_fixtures.py`, the benchmark's generator): 12 models × 5 batch sizes on
one GPU type and one task = 60 rows.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaderboard_site.build import build_site
from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.support.site_builds import bundle
from tests.support.site_support import REPO

pytestmark = pytest.mark.browser

BOARD = "chat--nvidia-h100-80gb-hbm3"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "scripts"))
    from make_golden_fixtures import GOLDEN_HARDWARE, FakeModel, write_synthetic_results

    models = tuple(
        FakeModel(
            name=f"synthetic__model-{i:02d}",
            hf_id=f"synthetic/model-{i:02d}",
            display_name=f"Synthetic model {i}",
            params=int(1e8 * (1 + i)),
            revision=f"{i:040x}",
            accuracy=(0.3 + i * 0.01, 0.5, 0.4),
        )
        for i in range(12)
    )
    root = tmp_path_factory.mktemp("pages-of-rows")
    write_synthetic_results(root / "results", models, GOLDEN_HARDWARE[:1], (1, 2, 4, 8, 16))
    out = root / "_site"
    build_site(root / "results", out, bundle=bundle())
    return out


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    yield page
    page.close()


def shown(page, key: str) -> list[float]:
    return page.eval_on_selector_all(
        f'#board-table tbody td[data-key="{key}"]', "cs => cs.map(c => Number(c.dataset.value))"
    )


def test_a_page_of_rows_while_sort_search_and_download_cover_the_board(site, watched):
    page = watched.open(site / "boards" / f"{BOARD}.html", "#rows=25")
    every = page.evaluate("LB.rows()")
    assert len(every) == 60
    assert len(page.query_selector_all("#board-table tbody tr")) == 25  # one page in the document
    assert "rows 1–25 of 60 (page 1 of 3)" in page.inner_text("#page-status")
    # Sorting orders the whole board: page 1 starts with the best row of all 60.
    page.click('#board-table th[data-key="throughput_tok_s"] button')
    best = sorted((r["throughput_tok_s"] for r in every), reverse=True)
    assert shown(page, "throughput_tok_s") == pytest.approx(best[:25])
    page.click("#page-next")
    page.click("#page-next")
    assert shown(page, "throughput_tok_s") == pytest.approx(best[50:])
    assert "page=3" in page.evaluate("location.hash")
    # A search finds a row wherever it was.
    last = min(every, key=lambda r: r["throughput_tok_s"])
    page.fill("#search", last["model"])
    ids = page.eval_on_selector_all("#board-table tbody tr", "rs => rs.map(r => r.dataset.rowId)")
    assert last["row_id"] in ids and len(ids) == 5  # its 5 batch sizes, back on page 1
    page.fill("#search", "")
    # The CSV holds every row the table holds (all pages), in its order, every column.
    text = page.evaluate("LB.download()")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 60
    assert [float(r["Throughput (tok/s)"]) for r in rows] == pytest.approx(best)
    # 60 points: under the canvas threshold, the charts stay SVG with one mark per row.
    marks = page.query_selector_all("#chart-energy_latency g.mark-symbol.role-mark > path")
    assert len(marks) == 60
    assert page.get_attribute("#chart-energy_latency", "data-renderer") == "svg"
    assert watched.errors == [] and watched.network == []


def test_a_chart_of_many_points_is_drawn_on_a_canvas(site, watched):
    page = watched.open(site / "boards" / f"{BOARD}.html")
    # A chart with one point more than the threshold is drawn on a canvas.
    drawn = page.evaluate(
        """() => {
            const target = document.createElement('div');
            target.className = 'chart';
            document.querySelector('main').appendChild(target);
            const points = Array.from({length: LBCharts.CANVAS_FROM + 1}, (_, i) => (
                {x: i + 1, y: (i % 7) + 1, model_name: 'm', color: '#1f77b4', shape: 'circle'}));
            const spec = {data: {values: points}, mark: 'point',
                encoding: {x: {field: 'x', type: 'quantitative'},
                           y: {field: 'y', type: 'quantitative'}}};
            return LBCharts.embed(target, spec, 'many points', points.length).then(
                () => [target.getAttribute('data-renderer'), !!target.querySelector('canvas')]);
        }"""
    )
    assert drawn == ["canvas", True]
    assert watched.errors == []
