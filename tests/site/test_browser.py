"""The built site in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Every page loads from file:// with zero console errors and no network request; every chart draws
marks; sorting, search, the custom formula column and the deadline control change the table as
expected; hostile names are shown as text and never run. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaderboard_site.build import build_site
from tests.support.site_support import (
    GOLDEN,
    HOSTILE_CONFIG,
    HOSTILE_NAME,
    REPO,
    add_hostile_record,
    copy_golden,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART_MARKS = "g.mark-symbol > path, g.mark-line > path, g.mark-rect > path"

if not CHROMIUM.is_file():
    pytest.skip(
        f"{CHROMIUM} not installed (scripts/ensure-chromium.sh could not install it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "_site"
    build_site(GOLDEN, out, strict=True)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


class Watched:
    """A page with its console errors, page errors, dialogs and network requests recorded."""

    def __init__(self, browser, color_scheme: str = "light") -> None:
        self.context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, color_scheme=color_scheme
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.network: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.context.route("**/*", self._route)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.network.append(url)
            route.abort()

    def open(self, path: Path, fragment: str = "") -> object:
        self.page.goto(path.as_uri() + fragment)
        self.wait_for_charts()
        return self.page

    def wait_for_charts(self) -> None:
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('div.chart'))"
            ".every(el => el.hasAttribute('data-rendered'))"
            " && !document.querySelector('[aria-busy=\"true\"]')",
            timeout=20_000,
        )

    def open_tools(self) -> None:
        """Unfold a board's folded controls (columns, deadline, budget, custom column)."""
        self.page.evaluate("document.getElementById('tools').open = true")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    page = Watched(browser)
    yield page
    page.close()


def board_path(site: Path, name: str = "chat--nvidia-h100-80gb-hbm3") -> Path:
    return site / "boards" / f"{name}.html"


def column_values(page, key: str) -> list[float | None]:
    return page.eval_on_selector_all(
        f'#board-table tbody td[data-key="{key}"]',
        "cells => cells.map(c => c.dataset.value === undefined ? null : Number(c.dataset.value))",
    )


def test_every_page_loads_without_errors_and_every_chart_draws(site, watched):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    charts_seen = 0
    for path in pages:
        page = watched.open(path)
        charts = page.query_selector_all("div.chart:not([data-rendered=empty])")
        for chart in charts:
            marks = chart.query_selector_all(CHART_MARKS)
            assert marks, f"{path.name}: chart {chart.get_attribute('id')} drew no marks"
        charts_seen += len(charts)
        assert watched.errors == [], f"{path.name}: {watched.errors}"
    assert charts_seen > 20
    assert watched.network == []
    assert watched.dialogs == []


def test_board_table_and_screenshot(site, watched):
    page = watched.open(board_path(site))
    rows = page.query_selector_all("#board-table tbody tr")
    assert len(rows) == 15  # 5 models x 3 batch sizes
    notes = page.eval_on_selector_all(
        ".chart-note[data-dropped]",
        "els => els.map(e => [e.closest('figure').id, e.dataset.dropped])",
    )
    assert ("chart-energy_accuracy-box", "3") in [tuple(n) for n in notes]  # SmolLM2: no accuracy
    assert "not measured" in page.inner_text('#board-table td[data-key="accuracy_avg"].nm')
    assert page.query_selector_all("#board-table .badge-random")
    assert page.query_selector_all("#board-table .badge-remote")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)
    assert watched.errors == []


def test_sorting(site, watched):
    page = watched.open(board_path(site))
    page.click('#board-table th[data-key="throughput_tok_s"] button')
    values = column_values(page, "throughput_tok_s")
    assert values == sorted(values, reverse=True)  # higher is better: descending first
    page.click('#board-table th[data-key="throughput_tok_s"] button')
    values = column_values(page, "throughput_tok_s")
    assert values == sorted(values)
    page.click('#board-table th[data-key="accuracy_avg"] button')
    accuracy = column_values(page, "accuracy_avg")
    present = [v for v in accuracy if v is not None]
    assert present == sorted(present, reverse=True)
    assert accuracy[len(present) :] == [None] * (len(accuracy) - len(present))  # missing last
    assert "sort=accuracy_avg.desc" in page.evaluate("location.hash")


def test_search(site, watched):
    page = watched.open(board_path(site))
    page.fill("#search", "qwen")
    models = page.eval_on_selector_all(
        '#board-table tbody td[data-key="model"] a', "links => links.map(a => a.textContent)"
    )
    assert len(models) == 6 and all("Qwen" in m for m in models)
    page.fill("#search", "no-such-model")
    assert page.query_selector_all("#board-table tbody tr") == []
    assert "0 of 15 rows" in page.inner_text("#row-count")


def test_basic_and_all_columns(site, watched):
    page = watched.open(board_path(site))
    watched.open_tools()
    basic = len(page.query_selector_all("#board-table thead th"))
    page.check("#all-columns")
    every = len(page.query_selector_all("#board-table thead th"))
    assert every > basic
    assert page.query_selector('#board-table th[data-key="acc_hellaswag"]')


def test_custom_formula_column_and_shared_url(site, watched):
    page = watched.open(board_path(site))
    watched.open_tools()
    page.fill("#formula-name", "eff")
    page.fill("#formula-text", "accuracy_avg / energy_per_response_j * 1000")
    page.click("#formula-add")
    assert page.query_selector('#board-table th[data-key="eff"]')
    rows = page.eval_on_selector_all(
        "#board-table tbody tr",
        """rows => rows.map(r => {
            const v = k => {
                const c = r.querySelector(`td[data-key="${k}"]`);
                return c.dataset.value === undefined ? null : Number(c.dataset.value);
            };
            return [v('eff'), v('accuracy_avg'), v('energy_per_response_j')];
        })""",
    )
    for eff, accuracy, energy in rows:
        if accuracy is None or energy is None:
            assert eff is None
        else:
            assert eff == pytest.approx(accuracy / energy * 1000)
    computed = [r[0] for r in rows if r[0] is not None]
    assert computed == sorted(computed, reverse=True)  # sorted by the new column
    assert page.select_option("#explore-y", "eff")  # usable as a chart axis
    watched.wait_for_charts()
    fragment = page.evaluate("location.hash")
    assert "c=eff" in fragment
    # The link restores the view in a fresh page.
    again = watched.context.new_page()
    again.goto(board_path(site).as_uri() + fragment)
    again.wait_for_selector('#board-table th[data-key="eff"]')
    assert again.input_value("#explore-y") == "eff"
    again.close()
    assert watched.errors == []


BAD_FORMULAS = [
    ("alert(1)", "unknown column 'alert'"),
    ("constructor", "unknown column 'constructor'"),
    ("__proto__ * 2", "unknown column '__proto__'"),
    ("latency_s; alert(1)", "unexpected character ';'"),
    ("latency_s +", "ends too early"),
    ("(latency_s", "missing ')'"),
    ("window.alert", "unexpected character '.'"),
    ("`x`", "unexpected character '`'"),
    ("", "empty"),
]


def test_bad_formulas_are_refused(site, watched):
    page = watched.open(board_path(site))
    watched.open_tools()
    headers = len(page.query_selector_all("#board-table thead th"))
    page.fill("#formula-name", "bad")
    for formula, message in BAD_FORMULAS:
        page.fill("#formula-text", formula)
        page.click("#formula-add")
        assert message in page.inner_text("#formula-error"), formula
        assert len(page.query_selector_all("#board-table thead th")) == headers
    page.fill("#formula-name", "latency_s")
    page.fill("#formula-text", "1")
    page.click("#formula-add")
    assert "already exists" in page.inner_text("#formula-error")
    # Nor a name the rows (shared with the charts) already carry or the charts compute.
    for name in ("source", "color", "row_id", "frontier_front_energy_accuracy"):
        page.fill("#formula-name", name)
        page.click("#formula-add")
        assert "rows already use" in page.inner_text("#formula-error"), name
    assert len(page.query_selector_all("#board-table thead th")) == headers
    assert watched.dialogs == []
    assert watched.errors == []


def test_legend_click_highlights_a_model_in_every_chart(site, watched):
    page = watched.open(board_path(site))
    button = page.query_selector(".legend-item >> nth=0")
    name = button.inner_text().strip()
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    page.mouse.move(0, 0)  # the pressed entry stays highlighted once the pointer leaves
    page.wait_for_timeout(300)
    marks = page.eval_on_selector_all(
        "div.chart[id^='chart-'] g.mark-symbol > path",
        "ps => ps.map(p => [p.getAttribute('aria-label') || '', p.getAttribute('opacity')])",
    )
    mine = [opacity for label, opacity in marks if f"Model: {name};" in label]
    others = [o for label, o in marks if "Model: " in label and f"Model: {name};" not in label]
    assert mine and set(mine) == {"1"}
    assert others and set(others) == {"0.15"}
    button.click()  # pressed again, and the pointer gone: nothing highlighted
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    page.wait_for_timeout(300)
    opacities = page.eval_on_selector_all(
        "#chart-energy_latency g.mark-symbol > path",
        "ps => ps.map(p => p.getAttribute('opacity'))",
    )
    assert set(opacities) == {"1"}
    # On an accuracy axis a random-weight model stays faded: its accuracy means nothing.
    accuracy = page.eval_on_selector_all(
        "#chart-energy_accuracy g.mark-symbol > path",
        "ps => ps.map(p => [p.getAttribute('aria-label') || '', p.getAttribute('opacity')])",
    )
    faded = {o for label, o in accuracy if "Model: Tiny random" in label}
    assert faded == {"0.35"}
    assert {o for label, o in accuracy if "Model: Tiny random" not in label} == {"1"}


def test_tooltip_on_hover(site, watched):
    page = watched.open(board_path(site))
    page.hover("#chart-energy_latency g.mark-symbol > path >> nth=0", force=True)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=5000)
    assert "Model" in page.inner_text("#vg-tooltip-element")


def test_formula_parser_precedence_and_missing_values(site, watched):
    page = watched.open(board_path(site))
    result = page.evaluate(
        """() => {
            const known = new Set(['a', 'b']);
            const run = (f, row) => LB.evaluate(LB.parse(f, known), row);
            return [run('1 + 2 * 3', {}), run('(1 + 2) * 3', {}), run('-a - -b', {a: 2, b: 5}),
                    run('a / b', {a: 1, b: 0}), run('a * 2', {a: null}), run('2e3 / .5', {})];
        }"""
    )
    assert result == [7, 9, 3, None, None, 4000]


def test_deadline_picks_lowest_energy_config_per_model(site, watched):
    page = watched.open(board_path(site))
    data = page.evaluate("LB.rows()")
    latencies = sorted(r["latency_s"] for r in data)
    deadline = latencies[len(latencies) // 2]
    page.goto(board_path(site).as_uri() + f"#deadline={deadline}")
    watched.wait_for_charts()
    shown = page.eval_on_selector_all(
        "#board-table tbody tr", "rows => rows.map(r => r.dataset.rowId)"
    )
    by_id = {r["row_id"]: r for r in data}
    models = [by_id[i]["model_name"] for i in shown]
    assert len(models) == len(set(models))  # one configuration per model
    expected = {}
    for row in data:
        if row["latency_s"] <= deadline:
            best = expected.get(row["model_name"])
            if best is None or row["energy_per_response_j"] < best["energy_per_response_j"]:
                expected[row["model_name"]] = row
    assert set(shown) == {r["row_id"] for r in expected.values()}
    status = page.inner_text("#deadline-status")
    assert f"{len(expected)} model(s) meet" in status
    missed = len({r["model_name"] for r in data}) - len(expected)
    if missed:
        assert f"{missed} cannot" in status
    # Moving the slider to its top shows every model again.
    page.eval_on_selector(
        "#deadline", "el => { el.value = el.max; el.dispatchEvent(new Event('input')); }"
    )
    rows = page.query_selector_all("#board-table tbody tr")
    assert len(rows) == len({r["model_name"] for r in data})
    page.uncheck("#deadline-on")
    assert len(page.query_selector_all("#board-table tbody tr")) == len(data)


def test_cpu_board_says_not_measured_once_and_keeps_the_other_views(site, watched):
    page = watched.open(board_path(site, "chat--cpu-synthetic-x86-64"))
    cells = page.eval_on_selector_all(
        '#board-table tbody td[data-key="energy_per_response_j"]',
        "cs => cs.map(c => c.textContent)",
    )
    assert cells and all(c == "not measured" for c in cells)
    notice = page.inner_text("#no-energy")
    assert "Energy was not measured on this hardware" in notice
    assert "no GPU and no RAPL on this machine (synthetic fixture)" in notice  # the records' reason
    # One line, above the table, linking to how to enable a meter (RAPL, NVML).
    assert page.evaluate(
        "document.getElementById('no-energy').getBoundingClientRect().top"
        " < document.getElementById('board-table').getBoundingClientRect().top"
    )
    howto = page.get_attribute("#no-energy a", "href")
    assert howto == "../methodology.html#measure-energy"
    methodology = (site / "methodology.html").read_text()
    assert 'id="measure-energy"' in methodology and "RAPL" in methodology and "NVML" in methodology
    assert len(page.query_selector_all("#no-energy")) == 1
    # No energy chart says "no points to draw"; the latency and throughput views are drawn.
    assert page.query_selector("#chart-energy_accuracy-box") is None
    assert page.query_selector("#chart-energy_latency-box") is None
    for chart in ("chart-latency_accuracy", "chart-throughput_latency"):
        assert page.query_selector_all(f"#{chart} g.mark-symbol > path"), chart
    assert "no points to draw" not in page.inner_text("main")
    # One batch size only: the sweep is a sentence, not a loose scatter.
    assert "No sweep to draw" in page.inner_text("#chart-sweep-box")
    assert page.query_selector("#chart-sweep") is None
    assert page.query_selector("#budget") is None  # no energy budget without energy
    assert watched.errors == []


def test_model_page_and_screenshot(site, watched):
    page = watched.open(site / "models" / "meta-llama__Llama-3.2-1B-Instruct.html")
    assert page.query_selector_all("#model-results tbody tr")
    assert page.query_selector_all("#model-accuracy tbody tr")
    link = page.get_attribute("#model-files tbody tr a", "href")
    assert link and (site / "models" / link).resolve().is_file()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "model.png"), full_page=True)
    assert watched.errors == []


def test_hostile_names_never_run(tmp_path, watched):
    results = copy_golden(tmp_path / "results")
    add_hostile_record(results)
    out = tmp_path / "_site"
    build_site(results, out)
    pages = [out / "index.html", board_path(out), *sorted((out / "models").glob("*.html"))]
    for path in pages:
        page = watched.open(path)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert watched.dialogs == []
    assert watched.errors == []
    page = watched.open(board_path(out))
    texts = page.eval_on_selector_all(
        '#board-table td[data-key="model"] a', "links => links.map(a => a.textContent)"
    )
    assert HOSTILE_NAME in texts
    assert page.query_selector("img[src=x]") is None
    model = next(p for p in (out / "models").glob("*.html") if "onerror" in p.name)
    page = watched.open(model)
    assert HOSTILE_NAME in page.inner_text("#model-title")
    assert HOSTILE_CONFIG in page.inner_text("#model-config")
    assert watched.dialogs == []
