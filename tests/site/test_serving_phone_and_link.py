"""A serving page on a 390 px phone, and its custom column in the link, in headless Chromium.

The serving charts fit their box (no sideways scrolling on a phone), and a custom column added
to the serving table is kept in the URL hash, so the link restores it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from leaderboard_site.build import build_site
from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.site.test_serving_site import QWEN, TINY
from tests.support.serving_records import write_sweep
from tests.support.site_builds import bundle
from tests.support.site_support import copy_golden

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def serving_board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_golden(tmp_path_factory.mktemp("serving-phone") / "results")
    write_sweep(root, [(1.0, 20, 40.0), (2.0, 19, 60.0), (4.0, 12, 90.0)], **QWEN)
    write_sweep(root, [(1.0, 20, 30.0), (2.0, 20, 45.0)], run_prefix="20261101T0200", **TINY)
    out = root.parent / "_site"
    build_site(root, out, strict=True, bundle=bundle())
    return out / "serving" / "chat--nvidia-h100-80gb-hbm3.html"


def test_serving_page_fits_a_phone(browser, serving_board):  # noqa: F811
    watched = Watched(browser)
    watched.page.set_viewport_size({"width": 390, "height": 844})
    page = watched.open(serving_board)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    widths = page.eval_on_selector_all(
        "div.chart svg", "ss => ss.map(s => s.getBoundingClientRect().right)"
    )
    assert len(widths) == 4 and max(widths) <= 390
    assert watched.errors == []
    watched.close()


def test_serving_custom_column_is_kept_in_the_link(browser, serving_board):  # noqa: F811
    watched = Watched(browser)
    page = watched.open(serving_board)
    page.fill("#serving-formula-name", "eff")
    page.fill("#serving-formula-text", "1 / energy_per_request_at_max_j")
    page.click("#serving-formula-add")
    fragment = page.evaluate("location.hash")
    assert parse_qs(fragment[1:])["c"] == ["eff~1 / energy_per_request_at_max_j"]
    again = watched.open(serving_board, fragment)
    headers = again.eval_on_selector_all(
        "#serving-table thead th.custom", "ts => ts.map(t => t.textContent)"
    )
    assert headers == ["eff"]
    assert watched.errors == []
    watched.close()
