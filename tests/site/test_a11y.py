"""Accessibility and HTML validity of every page, with the peers' own tools.

- axe-core (npm `axe-core`, injected into each page through Playwright and run with `axe.run()`)
  on every page of the golden site and of a small site without energy: no serious or critical
  violation;
- the Nu HTML Checker (npm `vnu-jar`, run with Java 17) on every page of the golden, small and
  published (mixed) sites and on the style sheet (light and dark themes): no error;
- axe-core again in the dark theme (`prefers-color-scheme: dark`) on a page of each kind;
- every drawn chart keeps a meaningful accessible name (not vega-embed's "Vega visualization")
  and has a text alternative: a table of its points, one row per point drawn;
- every page starts with a skip link to the main content.

`scripts/ensure-a11y-tools.sh` (run by `make test`) installs both tools into .cache/a11y/; where
they are missing these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.support.site_builds import golden_site, mixed_site, pages, small_site
from tests.support.site_support import REPO

TOOLS = Path(os.environ.get("A11Y_TOOLS_DIR", REPO / ".cache" / "a11y")) / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")
SERIOUS = ("serious", "critical")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    yield page
    page.close()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """() => axe.run(document, {preload: false, resultTypes: ['violations']}).then(r =>
            r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
    )


@pytest.mark.skipif(not AXE.is_file(), reason=f"{AXE} missing (scripts/ensure-a11y-tools.sh)")
def test_axe_finds_no_serious_or_critical_violation_on_any_page(watched):
    checked = 0
    problems = []
    for site in (golden_site(), small_site()):
        for path in pages(site):
            page = watched.open(path)
            for violation in _axe(page):
                if violation["impact"] in SERIOUS:
                    problems.append((str(path.relative_to(site)), violation))
            checked += 1
    assert checked >= 30
    assert problems == []


@pytest.mark.skipif(not AXE.is_file(), reason=f"{AXE} missing (scripts/ensure-a11y-tools.sh)")
def test_axe_in_the_dark_theme(browser):  # noqa: F811
    """A reader whose system asks for a dark theme gets one (pages and charts); axe finds no
    serious or critical violation there either (contrast included)."""
    dark = Watched(browser, color_scheme="dark")
    problems = []
    site = golden_site()
    paths = [
        site / "index.html",
        site / "boards" / "chat--nvidia-h100-80gb-hbm3.html",
        site / "tasks" / "chat.html",
        site / "compare.html",
        site / "models" / "meta-llama__Llama-3.2-1B-Instruct.html",
        site / "methodology.html",
        small_site() / "boards" / "chat--cpu-synthetic-x86-64.html",
    ]
    for path in paths:
        page = dark.open(path)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", (path.name, background)  # the dark theme is on
        assert page.evaluate("window.LBCharts ? LBCharts.dark : true") is True  # dark charts
        for violation in _axe(page):
            if violation["impact"] in SERIOUS:
                problems.append((path.name, violation))
    assert problems == []
    assert dark.errors == []
    dark.close()


@pytest.mark.skipif(not AXE.is_file(), reason=f"{AXE} missing (scripts/ensure-a11y-tools.sh)")
def test_axe_after_using_the_board_controls(watched):
    """Controls add content (spread, custom column, compare boxes): still no serious issue."""
    page = watched.open(golden_site() / "boards" / "chat--nvidia-h100-80gb-hbm3.html")
    watched.open_tools()
    page.check("#show-spread")
    page.check("#all-columns")
    page.fill("#formula-name", "eff")
    page.fill("#formula-text", "accuracy_avg / energy_per_response_j")
    page.click("#formula-add")
    watched.wait_for_charts()
    page.click(".legend-item >> nth=1")
    serious = [v for v in _axe(page) if v["impact"] in SERIOUS]
    assert serious == []


@pytest.mark.skipif(
    not (VNU.is_file() and JAVA),
    reason=f"{VNU} or java missing (scripts/ensure-a11y-tools.sh; Java 17)",
)
def test_the_nu_html_checker_finds_no_error_on_any_page():
    files = [str(p) for site in (golden_site(), small_site(), mixed_site()) for p in pages(site)]
    assert len(files) > 60
    # The style sheet too (both themes live in it).
    files.append(str(golden_site() / "static" / "style.css"))
    done = subprocess.run(
        [JAVA, "-jar", str(VNU), "--errors-only", "--also-check-css", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    errors = [
        (m.get("url", "").rsplit("/_site/", 1)[-1], m.get("lastLine"), m.get("message"))
        for m in messages
        if m.get("type") == "error" or m.get("subType") == "fatal"
    ]
    assert errors == []
    assert done.returncode == 0


def test_charts_keep_their_names_and_a_table_of_their_points(watched):
    site = golden_site()
    charts_seen = 0
    for path in [
        site / "boards" / "chat--nvidia-h100-80gb-hbm3.html",
        site / "boards" / "chat--cpu-synthetic-x86-64.html",
        site / "models" / "meta-llama__Llama-3.2-1B-Instruct.html",
        site / "tasks" / "chat.html",
    ]:
        page = watched.open(path)
        # A board builds the table of a chart's points when the reader opens it.
        page.eval_on_selector_all("details.chart-data", "ds => ds.forEach(d => { d.open = true; })")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('details[data-points-of]'))"
            ".every(d => d.hasAttribute('data-built'))"
        )
        charts = page.eval_on_selector_all(
            "div.chart[data-rendered='1']",
            """cs => cs.map(c => ({id: c.id, role: c.getAttribute('role'),
                label: c.getAttribute('aria-label') || '', name: c.getAttribute('data-name'),
                rows: c.closest('figure').querySelectorAll('details.chart-data tbody tr').length,
                note: (c.closest('figure').querySelector('.chart-note') || {}).textContent
                    || ''}))""",
        )
        assert charts, path.name
        for chart in charts:
            assert chart["role"] == "img", chart
            assert "Vega visualization" not in chart["label"], chart
            assert chart["name"] and chart["label"].startswith(chart["name"]), chart
            drawn = re.search(r"(\d+) point\(s\) drawn", chart["note"])
            assert chart["rows"] >= 1, chart
            if drawn and not chart["id"].startswith(("chart-energy-dist", "chart-power")):
                assert chart["rows"] == int(drawn.group(1)), chart  # one row per point
            # (a distribution's table summarises each configuration: count, min, median, max)
            charts_seen += 1
        svgs = page.eval_on_selector_all(
            "div.chart svg", "ss => ss.map(s => s.getAttribute('aria-hidden'))"
        )
        assert set(svgs) == {"true"}  # the container's name speaks for the drawing
    assert charts_seen >= 10


def test_every_page_starts_with_a_skip_link_to_the_main_content(watched):
    for path in pages(golden_site()):
        html = path.read_text()
        body = html[html.index("<body") :]
        first_link = re.search(r"<a [^>]*>", body).group(0)
        assert 'class="skip-link"' in first_link and 'href="#main"' in first_link, path.name
        assert '<main id="main" tabindex="-1">' in html, path.name
    page = watched.open(golden_site() / "boards" / "chat--nvidia-h100-80gb-hbm3.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.is_visible(".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
