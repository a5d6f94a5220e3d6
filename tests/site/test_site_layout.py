"""Charts that fit and stay consistent, in real headless Chromium.

- at a 390 px wide viewport no page of the golden, mixed (published) and small (no energy)
  sites is wider than the viewport, and on a wide screen the charts sit two per row;
- every model keeps one colour (and one shape) across all charts of a board, the colour the
  page's legend shows, and the same on every board of the site;
- hovering the centre of every point of every Pareto chart of a board, dominated (hollow) points
  included, opens a tooltip naming that point's model;
- axis ticks read like 200, 1k, 2.5k (never 2e+2), and every axis title carries its unit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import pytest

from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.support.site_builds import golden_site, mixed_site, pages, small_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

H100_CHAT = "chat--nvidia-h100-80gb-hbm3"
PARETO = ("energy_accuracy", "latency_accuracy", "energy_latency", "throughput_latency")
MODEL_IN_LABEL = re.compile(r"Model: ([^;]+);")


@pytest.fixture
def phone(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    page.page.set_viewport_size({"width": 390, "height": 844})
    yield page
    page.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    yield page
    page.close()


def test_no_page_is_wider_than_a_phone(phone):
    seen = 0
    for site in (golden_site(), mixed_site(), small_site()):
        for path in pages(site):
            page = phone.open(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            body = page.evaluate("document.body.scrollWidth")
            assert width <= 390 and body <= 390, (path.relative_to(site), width, body)
            # Nothing inside sticks out either (a table scrolls inside its own region).
            wide = page.evaluate(
                """() => Array.from(document.querySelectorAll('main *')).filter(el => {
                    const r = el.getBoundingClientRect();
                    return r.width > 0 && r.right > 391 && !el.closest('.table-wrap');
                }).slice(0, 3).map(el => el.tagName + '#' + el.id + '.' + el.className)"""
            )
            assert wide == [], (path.relative_to(site), wide)
            seen += 1
    assert seen > 40
    assert phone.errors == []


def test_charts_sit_two_per_row_on_a_wide_screen_and_one_on_a_phone(watched, phone):
    for viewer, per_row in ((watched, 2), (phone, 1)):
        page = viewer.open(golden_site() / "boards" / f"{H100_CHAT}.html")
        tops = page.eval_on_selector_all(
            "#chart-energy_accuracy-box, #chart-latency_accuracy-box",
            "els => els.map(e => Math.round(e.getBoundingClientRect().top))",
        )
        assert (tops[0] == tops[1]) == (per_row == 2), tops
        widths = page.eval_on_selector_all(
            "div.chart svg", "els => els.map(e => e.getBoundingClientRect().right)"
        )
        viewport = page.evaluate("window.innerWidth")
        assert widths and max(widths) <= viewport


def _marks_by_model(page, selector: str) -> dict[str, set[tuple[str, str]]]:
    marks = page.eval_on_selector_all(
        f"{selector} g.mark-symbol > path",
        "ps => ps.map(p => [p.getAttribute('aria-label') || '', p.getAttribute('fill'),"
        " p.getAttribute('d')])",
    )
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for label, fill, shape in marks:
        match = MODEL_IN_LABEL.search(label)
        if match:
            out[match.group(1)].add((fill, shape))
    return out


def test_each_model_keeps_one_colour_across_a_boards_charts_and_the_site(watched):
    site = golden_site()
    site_colours: dict[str, set[str]] = defaultdict(set)
    for path in sorted((site / "boards").glob("*.html")):
        page = watched.open(path)
        legend = dict(
            page.eval_on_selector_all(
                ".legend-item",
                "bs => bs.map(b => [b.textContent.trim(), b.querySelector('svg [fill]')"
                ".getAttribute('fill')])",
            )
        )
        colours: dict[str, set[str]] = defaultdict(set)
        charts = page.eval_on_selector_all(
            "div.chart[data-rendered='1']:not([id^='chart-roofline'])", "cs => cs.map(c => c.id)"
        )
        assert len(charts) >= 2, path.name
        for chart in charts:
            for model, looks in _marks_by_model(page, f"#{chart}").items():
                colours[model] |= {fill for fill, _ in looks}
                assert len({shape for _, shape in looks}) <= 2, (path.name, chart, model)
        assert colours, path.name
        for model, fills in colours.items():
            assert len(fills) == 1, (path.name, model, fills)  # one colour on this board
            assert fills == {legend[model]}, (path.name, model)  # the legend's colour
            site_colours[model] |= fills
    assert len(site_colours) == 5
    assert all(len(fills) == 1 for fills in site_colours.values()), site_colours
    assert len({next(iter(f)) for f in site_colours.values()}) == 5  # five distinct colours
    assert watched.errors == []


def test_hovering_the_centre_of_every_point_of_every_pareto_chart_gives_a_tooltip(watched):
    page = watched.open(golden_site() / "boards" / f"{H100_CHAT}.html")
    hovered = dominated = 0
    for view in PARETO:
        selector = f"#chart-{view} g.mark-symbol > path"
        page.locator(f"#chart-{view}").scroll_into_view_if_needed()
        count = len(page.query_selector_all(selector))
        assert count >= 12, view
        for index in range(count):
            mark = page.query_selector_all(selector)[index]
            label = mark.get_attribute("aria-label")
            box = mark.bounding_box()
            page.mouse.move(0, 0)
            page.wait_for_function(
                "!document.querySelector('#vg-tooltip-element.visible')", timeout=5000
            )
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_selector("#vg-tooltip-element.visible", timeout=5000)
            text = page.inner_text("#vg-tooltip-element")
            assert "Model" in text and "Configuration" in text, (view, index, text)
            model = MODEL_IN_LABEL.search(label).group(1)
            if model not in text:  # another point drawn over this one answers instead
                assert (
                    page.evaluate(
                        "([x, y]) => document.elementFromPoint(x, y).getAttribute('aria-label')",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
                    )
                    != label
                )
            hovered += 1
            dominated += mark.get_attribute("fill-opacity") != "1"
    assert hovered >= 48 and dominated >= 20  # the hollow points answer too
    assert watched.errors == []


def test_axes_have_si_ticks_and_units(watched):
    page = watched.open(golden_site() / "boards" / f"{H100_CHAT}.html")
    titles = page.eval_on_selector_all(
        "div.chart:not(#chart-explore) g.role-axis-title text", "ts => ts.map(t => t.textContent)"
    )
    assert titles
    for title in titles:
        assert re.search(r"\(.+\)$", title), title  # a unit in parentheses
    labels = page.eval_on_selector_all(
        "div.chart g.role-axis-label text", "ts => ts.map(t => t.textContent)"
    )
    assert labels and not [label for label in labels if re.search(r"e[+-]", label)]
    assert any(re.fullmatch(r"\d+(\.\d+)?k", label) for label in labels)  # 1k, 1.1k
    assert watched.errors == []


def test_front_and_dominated_marks_are_in_the_legend_and_the_sweep_sentence(watched):
    page = watched.open(golden_site() / "boards" / f"{H100_CHAT}.html")
    marks = page.inner_text(".legend-marks")
    assert "on the Pareto front" in marks and "dominated" in marks and "standard deviation" in marks
    assert len(page.query_selector_all(".legend-marks svg")) == 4  # each entry has its symbol
    # Three batch sizes here: a real sweep, one line per model.
    assert len(page.query_selector_all("#chart-sweep g.mark-line > path")) == 5
    page = watched.open(golden_site() / "boards" / "chat--cpu-synthetic-x86-64.html")
    assert "one batch size only (batch size 1)" in page.inner_text("#chart-sweep-box")


def test_the_explorer_does_not_repeat_a_pareto_chart(watched):
    page = watched.open(golden_site() / "boards" / f"{H100_CHAT}.html")
    axes = (page.input_value("#explore-x"), page.input_value("#explore-y"))
    pareto_axes = {
        ("energy_per_response_j", "accuracy_avg"),
        ("latency_s", "accuracy_avg"),
        ("latency_s", "energy_per_response_j"),
        ("latency_s", "throughput_tok_s"),
        ("throughput_tok_s", "energy_per_token_j"),
    }
    assert axes not in pareto_axes
    assert axes == ("params_b", "energy_per_token_j")
