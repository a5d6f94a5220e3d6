"""The ranking across GPUs, the model detail and the compare page's guard, in headless Chromium.

- the ranking across GPUs of a task page (the mlenergy-v3 sample: 1, 2, 4 and 8 H100s and a
  B200): per model, the lowest-energy configuration on the ticked GPUs and GPU counts that meets
  the latency deadline (at the statistic chosen) and the energy budget, the same as computed
  here from the page's own rows; the URL reproduces it and Reset restores the default;
- a model's detail: one time–energy chart per GPU type over every configuration it ran, the
  published output-length distribution, and "Add to compare", which opens the compare page on
  that model;
- the compare page opens on the board's top models and refuses model keys that are not models
  of the board (`__proto__`, `constructor`), naming them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import load_records
from leaderboard_site.page_data import decode_rows
from leaderboard_site.pages import top_models
from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.support.site_builds import golden_site, v3_site
from tests.support.site_support import GOLDEN

pytestmark = pytest.mark.browser

GPQA = "mlenergy-v3-2029-07-14.gpqa"
MIXER = "example-org__Mixer-30B-A3B"


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    yield page
    page.close()


def task_rows(path: Path) -> list[dict]:
    """The rows a task page carries (decoded as the page decodes them)."""
    html = path.read_text(encoding="utf-8")
    payload = json.loads(re.search(r'id="cross-data">(.*?)</script>', html, re.S).group(1))
    return decode_rows(payload["rows"])


def expected(rows, hardware=None, counts=None, key=None, deadline=None, budget=None) -> set[str]:
    """Per model (and published source), the row id the ranking should show."""
    best: dict[str, dict] = {}
    for row in rows:
        if hardware is not None and row["hardware"] not in hardware:
            continue
        if counts is not None and row["num_devices"] not in counts:
            continue
        if deadline is not None and not (row.get(key) is not None and row[key] <= deadline):
            continue
        energy = row.get("energy_per_response_j")
        if budget is not None and not (energy is not None and energy <= budget):
            continue
        group = row["model_name"] + "|" + str(row.get("source_id"))
        current = best.get(group)
        if current is None or energy < current["energy_per_response_j"]:
            best[group] = row
    return {row["row_id"] for row in best.values()}


def shown(page) -> list[str]:
    return page.eval_on_selector_all(
        "#rank-table tbody tr", "rs => rs.map(r => r.getAttribute('data-row-id'))"
    )


def test_ranking_across_gpus_follows_the_ticks_the_limits_and_the_url(watched):
    path = v3_site() / "tasks" / f"{GPQA}.html"
    rows = task_rows(path)
    page = watched.open(path)
    assert {r["num_devices"] for r in rows} == {1, 2, 4, 8}
    # Every GPU and count ticked: each model once, at its lowest energy per response.
    assert set(shown(page)) == expected(rows) and len(shown(page)) == 2
    energies = page.eval_on_selector_all(
        '#rank-table td[data-key="energy_per_response_j"]', "cs => cs.map(c => +c.dataset.value)"
    )
    assert energies == sorted(energies)  # best first
    # 8 GPUs only: the one model with an 8-GPU configuration, the other named as missing.
    for count in ("1", "2", "4"):
        page.uncheck(f'.count-toggle[value="{count}"]')
    assert set(shown(page)) == expected(rows, counts={8})
    assert page.eval_on_selector_all(
        "#rank-table tbody tr td:nth-child(4)", "cs => cs.map(c => c.textContent)"
    ) == ["8"]
    status = page.inner_text("#rank-status")
    assert "No configuration of Alpha 8B Instruct on these GPUs meets these limits" in status
    # Back to every count, on the H100 only, with a p90 inter-token deadline and a budget.
    for count in ("1", "2", "4"):
        page.check(f'.count-toggle[value="{count}"]')
    page.uncheck('.hw-toggle[value="nvidia-b200"]')
    page.select_option("#rank-latency", "itl.p90")
    h100 = [r for r in rows if r["hardware"] == "nvidia-h100"]
    itl = sorted(r["itl_p90_s"] for r in h100)
    deadline = itl[len(itl) // 2]
    budget = sorted(r["energy_per_response_j"] for r in h100)[-2]
    page.fill("#rank-deadline", str(deadline))
    page.fill("#rank-budget", str(budget))
    want = expected(rows, {"nvidia-h100"}, None, "itl_p90_s", deadline, budget)
    assert want and set(shown(page)) == want
    params = parse_qs(page.evaluate("location.hash")[1:])
    assert params["hw"] == ["nvidia-h100"] and params["lat"] == ["itl.p90"]
    assert float(params["deadline"][0]) == deadline and float(params["budget"][0]) == budget
    # The link alone gives the same ranking in a fresh page.
    again = watched.context.new_page()
    again.goto(path.as_uri() + page.evaluate("location.hash"))
    again.wait_for_selector("#rank-table tbody tr")
    assert set(shown(again)) == want
    assert again.input_value("#rank-latency") == "itl.p90"
    assert not again.is_checked('.hw-toggle[value="nvidia-b200"]')
    again.close()
    # Reset: every GPU and count, no limits, the default ranking and a clean link.
    page.click("#rank-reset")
    assert set(shown(page)) == expected(rows)
    assert page.input_value("#rank-deadline") == "" and page.input_value("#rank-budget") == ""
    assert not {"hw", "n", "lat", "deadline", "budget"} & set(
        parse_qs(page.evaluate("location.hash")[1:])
    )
    # The chart of every hardware follows the ticks, and never opens empty on these rows.
    assert page.get_attribute("#chart-cross", "data-rendered") == "1"
    assert watched.errors == []


def test_model_detail_trade_off_per_gpu_output_lengths_and_add_to_compare(watched):
    site = v3_site()
    page = watched.open(site / "models" / f"{MIXER}.html")
    rows = [r for r in task_rows(site / "tasks" / f"{GPQA}.html") if r["model_name"] == MIXER]
    gpus = sorted({r["hardware_label"] for r in rows})
    charts = page.eval_on_selector_all(
        "div.chart[id^='chart-tradeoff-']",
        "cs => cs.map(c => [c.getAttribute('aria-label'), c.querySelectorAll("
        "'g.mark-symbol.role-mark > path').length])",
    )
    assert len(charts) == len(gpus) == 2  # one chart per GPU type
    for label, marks in charts:
        gpu = next(g for g in gpus if label.startswith(g))
        # Every configuration of the model on that GPU (every GPU count, every cap), here of
        # the GPQA task (the model's only task in the sample).
        assert marks == sum(1 for r in rows if r["hardware_label"] == gpu)
    h100 = next(marks for label, marks in charts if label.startswith("NVIDIA H100"))
    assert h100 == 6  # 1 GPU (cap 64 twice: a repeat run, cap 128), 2, 4 and 8 GPUs
    assert page.query_selector_all("#chart-output-length g.mark-line > path")
    # "Add to compare" opens the compare page on this model, beside the board's top model.
    page.click("#add-to-compare")
    page.wait_for_url(re.compile(r"compare\.html#"))
    watched.wait_for_charts()
    models = page.evaluate("LBCompare.state.models")
    assert models[0] == MIXER and len(models) >= 2
    headers = page.eval_on_selector_all("#cmp-table thead th", "ts => ts.map(t => t.textContent)")
    assert headers[1] == "Mixer 30B A3B"
    assert watched.errors == []


def test_compare_opens_on_the_top_models_and_refuses_unknown_keys(watched):
    site = golden_site()
    items, _, _, _ = load_records(GOLDEN, skip_invalid=False)
    data = aggregate(items)
    board = data.board(data.busiest[""])
    page = watched.open(site / "compare.html")
    top = top_models(board)
    assert page.evaluate("LBCompare.state.models") == top and len(top) == 3
    assert len(page.query_selector_all("#cmp-charts div.chart[data-rendered='1']")) == 3
    # Keys that are no model of the board (JavaScript's own names among them) are refused.
    page = watched.open(site / "compare.html", "#m=__proto__&m=constructor&m=toString")
    assert page.evaluate("LBCompare.state.models") == top
    status = page.inner_text("#cmp-status")
    assert "left out: __proto__, constructor, toString" in status
    headers = page.eval_on_selector_all("#cmp-table thead th", "ts => ts.map(t => t.textContent)")
    assert not {"__proto__", "constructor", "toString"} & set(headers)
    assert "m=__proto__" not in page.evaluate("location.hash")
    page = watched.open(site / "compare.html", "#board=__proto__&m=hasOwnProperty")
    assert page.evaluate("LBCompare.state.board") == data.busiest[""]
    assert watched.errors == []
    assert watched.dialogs == []
