"""What a reader meets, in real headless Chromium: the details of issue 14, spread, the latency
percentile and the energy budget, the front page's answers, the cross-hardware view, compare,
and the model page's readable config and energy distribution.

Values shown are checked against the build's own rows (or the raw per-request data), never
against constants copied from the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import load_records
from leaderboard_site.page_data import compact
from tests.site.test_browser import Watched, browser  # noqa: F401  (fixture)
from tests.support.site_builds import golden_site, small_results, small_site
from tests.support.site_support import GOLDEN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

H100_CHAT = "chat--nvidia-h100-80gb-hbm3"
LLAMA = "meta-llama__Llama-3.2-1B-Instruct"
QWEN = "Qwen__Qwen2.5-0.5B-Instruct"


@pytest.fixture(scope="module")
def golden():
    items, warnings, _, _ = load_records(GOLDEN, skip_invalid=False)
    return aggregate(items, warnings)


@pytest.fixture
def watched(browser) -> Iterator[Watched]:  # noqa: F811
    page = Watched(browser)
    yield page
    page.close()


def board(watched: Watched, slug: str = H100_CHAT, fragment: str = ""):
    """A golden board page, its folded controls unfolded."""
    page = watched.open(golden_site() / "boards" / f"{slug}.html", fragment)
    watched.open_tools()
    return page


def hash_params(page) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.hash").lstrip("#"))


def cells(page, key: str) -> list[str]:
    return page.eval_on_selector_all(
        f'#board-table tbody td[data-key="{key}"]', "cs => cs.map(c => c.textContent)"
    )


def values(page, key: str) -> dict[str, float | None]:
    rows = page.eval_on_selector_all(
        "#board-table tbody tr",
        f"""rs => rs.map(r => {{
            const c = r.querySelector('td[data-key="{key}"]');
            return [r.dataset.rowId, c && c.dataset.value !== undefined ? Number(c.dataset.value)
                    : null];
        }})""",
    )
    return dict(rows)


# ---------------------------------------------------------------- issue 14's details


def test_x_floor_says_its_unit_once(watched):
    page = board(watched)
    header = page.inner_text('#board-table th[data-key="x_floor"] button')
    assert header.replace(" ▲", "").replace(" ▼", "") == "× floor"
    assert "(×)" not in page.inner_text("#board-table thead")


def test_accuracy_not_measured_says_why_on_hover(watched, golden):
    page = board(watched)
    titles = page.eval_on_selector_all(
        '#board-table td[data-key="accuracy_avg"].nm', "cs => cs.map(c => c.title)"
    )
    smol = next(r for r in golden.rows if r["model_name"].startswith("HuggingFaceTB"))
    assert titles and set(titles) == {smol["accuracy_reason"]}
    assert "no accuracy record for HuggingFaceTB/SmolLM2-360M-Instruct" in titles[0]
    assert "leaderboard eval model=HuggingFaceTB__SmolLM2-360M-Instruct" in titles[0]
    page.check("#all-columns")
    arc = page.eval_on_selector_all(
        '#board-table td[data-key="acc_arc_challenge"].nm', "cs => cs.map(c => c.title)"
    )
    assert arc and all("no accuracy record" in t for t in arc)


def test_removing_a_custom_column_leaves_no_stale_sort_and_keeps_the_axes(watched):
    page = board(watched)
    page.fill("#formula-name", "eff")
    page.fill("#formula-text", "accuracy_avg / energy_per_response_j")
    page.click("#formula-add")
    assert hash_params(page)["sort"] == ["eff.desc"]
    page.select_option("#explore-x", "latency_s")
    page.select_option("#explore-y", "throughput_tok_s")
    page.click("#formula-list button")
    params = hash_params(page)
    assert "c" not in params
    assert params["sort"] == ["energy_per_response_j.asc"]  # the default, not a dead column
    assert (params["x"], params["y"]) == (["latency_s"], ["throughput_tok_s"])  # not moved
    assert (page.input_value("#explore-x"), page.input_value("#explore-y")) == (
        "latency_s",
        "throughput_tok_s",
    )
    # An axis on the removed column goes back to its default, the other stays.
    page.fill("#formula-name", "eff2")
    page.fill("#formula-text", "1 / latency_s")
    page.click("#formula-add")  # puts y on eff2
    page.select_option("#explore-x", "ttft_s")
    page.click("#formula-list button")
    params = hash_params(page)
    assert (params["x"], params["y"]) == (["ttft_s"], ["energy_per_token_j"])
    # A link carrying a sort on a column that does not exist falls back to the default.
    page = board(watched, fragment="#sort=nothere.desc&x=nothere")
    assert hash_params(page)["sort"] == ["energy_per_response_j.asc"]
    assert hash_params(page)["x"] == ["params_b"]
    assert watched.errors == []


@pytest.mark.parametrize(
    "name", ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "__x"]
)
def test_reserved_javascript_names_are_refused_as_column_names(watched, name):
    page = board(watched)
    headers = len(page.query_selector_all("#board-table thead th"))
    page.fill("#formula-name", name)
    page.fill("#formula-text", "latency_s * 2")
    page.click("#formula-add")
    assert "cannot be a column name" in page.inner_text("#formula-error")
    assert len(page.query_selector_all("#board-table thead th")) == headers
    # Nor through a shared link.
    page = board(watched, fragment=f"#c={name}~higher~latency_s")
    assert "cannot be a column name" in page.inner_text("#formula-error")
    assert page.evaluate("Object.prototype.hasOwnProperty.call(Object.prototype, 'x')") is False
    assert watched.dialogs == []


def test_model_page_shows_readable_tables_not_raw_values(watched):
    page = watched.open(golden_site() / "models" / f"{LLAMA}.html")
    facts = page.inner_text("dl.model-facts")
    assert "Loads remote code\nno" in facts and "Random weights\nno" in facts
    assert "False" not in facts and "True" not in facts
    config = page.inner_text("#model-config")
    assert "synthetic_fixture\tyes" in config
    assert "{" not in config and "False" not in config
    assert page.query_selector("pre.json") is None
    provenance = dict(
        page.eval_on_selector_all(
            "#model-provenance tbody tr",
            "rs => rs.map(r => [r.querySelector('th').textContent, r.querySelector('td')"
            ".textContent])",
        )
    )
    assert provenance["git_dirty"] == "—" and provenance["device"] == "cuda"
    assert provenance["library_versions.synthetic"] == "fixture"
    assert provenance["command_line"].startswith("SYNTHETIC-FIXTURE, ")


# ---------------------------------------------------------------- energy not measured


def test_a_site_without_energy_says_why_once_per_board_and_on_the_front_page(watched):
    site = small_site()
    records = sorted((small_results() / "performance").rglob("*.json"))
    reasons = {json.loads(p.read_text())["energy"]["reason"] for p in records}
    for path in sorted((site / "boards").glob("*.html")):
        page = watched.open(path)
        assert len(page.query_selector_all("#no-energy")) == 1
        notice = page.inner_text("#no-energy")
        assert all(reason in notice for reason in reasons)
        assert page.get_attribute("#no-energy a", "href") == "../methodology.html#measure-energy"
        assert page.query_selector_all("#chart-throughput_latency g.mark-symbol > path")
        assert page.query_selector("#chart-energy_accuracy-box") is None
        assert "no points to draw" not in page.inner_text("main")
    methodology = watched.open(site / "methodology.html").inner_text("main")
    assert "/sys/class/powercap" in methodology and "nvidia-smi" in methodology  # the how-to
    page = watched.open(site / "index.html")
    assert "Energy was not measured on this hardware" in page.inner_text("#answers ~ .answers")
    assert watched.errors == []


# ---------------------------------------------------------------- spread and percentiles


WHISKER_DATA = """id => {
    const view = LBCharts.views().find(v => v.container().closest('div.chart').id === id);
    const out = [];
    const walk = item => {
        const whiskers = item.marktype === 'rule' && item.role === 'mark';
        if (whiskers) item.items.forEach(i => out.push(i.datum));
        (item.items || []).forEach(walk);
    };
    walk(view.scenegraph().root);
    return out.map(d => Object.fromEntries(Object.keys(d).filter(k => typeof d[k] !== 'object'
        || d[k] === null).map(k => [k, d[k]])));
}"""


def test_pareto_and_sweep_whiskers_are_one_stdev_from_the_rows(watched, golden):
    """The whiskers drawn (read from the charts' scene graphs) end at value ∓ one stdev."""
    page = board(watched)
    rows = {r["row_id"]: r for r in golden.rows}
    checked = 0
    for chart, keys in (
        ("chart-energy_latency", ("latency_s", "energy_per_response_j")),
        ("chart-sweep", ("throughput_tok_s", "energy_per_token_j")),
    ):
        drawn = page.evaluate(WHISKER_DATA, chart)
        assert drawn, chart
        for datum in drawn:
            row = rows[datum["row_id"]]
            for key in keys:
                sd = row[f"{key}_sd"]
                if not sd:  # one batch or request: no spread known, no whisker
                    assert datum.get(f"{key}_lo") is None
                    continue
                assert datum[f"{key}_lo"] == pytest.approx(row[key] - sd, rel=1e-5)  # 6 digits
                assert datum[f"{key}_hi"] == pytest.approx(row[key] + sd, rel=1e-5)
                checked += 1
    assert checked >= 40


def test_spread_toggle_shows_stdev_and_n(watched, golden):
    page = board(watched)
    assert "±" not in page.inner_text("#board-table tbody")
    page.check("#show-spread")
    assert hash_params(page)["spread"] == ["1"]
    rows = {r["row_id"]: r for r in golden.rows}
    texts = page.eval_on_selector_all(
        "#board-table tbody tr",
        """rs => rs.map(r => [r.dataset.rowId,
            r.querySelector('td[data-key="latency_s"] .sd').textContent])""",
    )
    assert len(texts) == 15
    for row_id, text in texts:
        row = rows[row_id]
        match = re.fullmatch(r" ± ([\d.,]+) \(n = (\d+)\)", text)
        assert match, text
        assert float(match.group(1).replace(",", "")) == pytest.approx(
            row["latency_s_sd"], rel=0.05
        )
        assert int(match.group(2)) == row["latency_s_n"]


def test_percentile_selector_drives_the_latency_columns_and_the_deadline(watched, golden):
    page = board(watched)
    page.select_option("#pct", "p90")
    headers = page.eval_on_selector_all(
        "#board-table thead th", "ths => ths.map(t => t.dataset.key)"
    )
    assert "latency_p90_s" in headers and "ttft_p90_s" in headers and "latency_s" not in headers
    rows = {r["row_id"]: r for r in golden.rows if r["board_slug"] == H100_CHAT}
    shown = values(page, "latency_p90_s")
    assert shown == {k: pytest.approx(rows[k]["latency_p90_s"], rel=1e-5) for k in shown}
    assert "p90" in page.inner_text("fieldset.deadline legend + label")
    # The deadline now compares p90 latencies.
    # (the page carries 6 significant digits: compare as it does)
    p90s = sorted(compact(r["latency_p90_s"]) for r in rows.values())
    deadline = p90s[len(p90s) // 2]
    page = board(watched, fragment=f"#pct=p90&deadline={deadline}")
    shown_ids = set(values(page, "latency_p90_s"))
    expected = {}
    for row in rows.values():
        if compact(row["latency_p90_s"]) <= deadline:
            best = expected.get(row["model_name"])
            if best is None or row["energy_per_response_j"] < best["energy_per_response_j"]:
                expected[row["model_name"]] = row
    assert shown_ids == {r["row_id"] for r in expected.values()}
    assert "(p90 latency)" in page.inner_text("#deadline-status")
    assert page.input_value("#pct") == "p90"  # restored from the link
    assert watched.errors == []


def test_energy_budget_keeps_configurations_within_it(watched, golden):
    rows = [r for r in golden.rows if r["board_slug"] == H100_CHAT]
    energies = sorted(compact(r["energy_per_response_j"]) for r in rows)  # as the page has them
    budget = energies[len(energies) // 2]
    page = board(watched, fragment=f"#budget={budget}")
    shown = values(page, "energy_per_response_j")
    assert set(shown) == {
        r["row_id"] for r in rows if compact(r["energy_per_response_j"]) <= budget
    }
    assert page.is_checked("#budget-on")
    assert f"{len(shown)} configuration(s) within" in page.inner_text("#budget-status")
    # Budget and deadline together: per model, the cheapest configuration meeting both.
    page = board(watched, fragment=f"#budget={budget}&deadline=100")
    models = page.eval_on_selector_all(
        '#board-table tbody td[data-key="model"] a', "as => as.map(a => a.textContent)"
    )
    assert len(models) == len(set(models))
    assert watched.errors == []


# ---------------------------------------------------------------- front page


def test_front_page_answers_per_task_and_leaderboard_opens_the_busiest_board(watched, golden):
    page = watched.open(golden_site() / "index.html")
    busiest = golden.busiest[""]
    assert page.get_attribute("#nav-leaderboard", "href") == f"boards/{busiest}.html"
    for task in golden.tasks:
        section = f"#answer-{task}"
        text = page.inner_text(section)
        assert "What it stresses" in text
        assert golden.system_prompts[task] in page.text_content(f"{section} .system-prompt")
        slug = golden.busiest[task]
        board_rows = golden.board(slug).rows
        front = {r["model"] for r in board_rows if r["front_energy_accuracy"]}
        listed = page.eval_on_selector_all(
            f"{section} .front-list a", "as => as.map(a => a.textContent)"
        )
        assert set(listed) == front
        # The threshold control: lowest energy per response at or above the accuracy typed.
        for threshold in (0.3, 0.45, 0.49, 0.9):
            page.fill(f"{section} input.acc-threshold", str(threshold))
            answer = page.inner_text(f"{section} output.acc-answer")
            meeting = [
                r
                for r in board_rows
                if r["accuracy_avg"] is not None and r["accuracy_avg"] >= threshold
            ]
            if not meeting:
                assert "no configuration reaches" in answer
                continue
            best = min(meeting, key=lambda r: r["energy_per_response_j"])
            assert answer.startswith(best["model"]), (task, threshold, answer)
            assert f"{best['configuration']}, " in answer and f"bs {best['batch_size']}" in answer
    assert watched.errors == []


def test_faq_and_citation(watched):
    page = watched.open(golden_site() / "faq.html")
    text = page.inner_text("main")
    assert "chat-concise" in text and "not measured" in text
    assert "@misc{" in page.inner_text("#cite ~ .table-wrap pre")
    assert watched.errors == []


# ---------------------------------------------------------------- cross-hardware view


def test_cross_hardware_view_with_checkboxes_and_lines(watched, golden):
    page = watched.open(golden_site() / "tasks" / "chat.html")
    chat = [r for r in golden.rows if r["task"] == "chat"]
    gpus = {r["hardware"] for r in chat if r["energy_per_response_j"] is not None}
    models = {r["model_name"] for r in chat if r["energy_per_response_j"] is not None}
    points = page.eval_on_selector_all(
        "#chart-cross g.mark-symbol > path", "ps => ps.map(p => p.getAttribute('aria-label'))"
    )
    assert len(points) == len(gpus) * len(models) == 10
    # One line per model joins its points on the two GPUs.
    assert len(page.query_selector_all("#chart-cross g.mark-line > path")) == len(models)
    assert "nothing to draw for synthetic CPU" in page.inner_text("#chart-cross-note")
    # The best y per (model, hardware): the lowest energy per response.
    table = page.eval_on_selector_all(
        "#chart-cross-table tbody tr", "rs => rs.map(r => r.textContent)"
    )
    assert len(table) == 10
    page.uncheck('.hw-toggle[value="nvidia-a100-sxm4-40gb"]')
    watched.wait_for_charts()
    assert len(page.query_selector_all("#chart-cross g.mark-symbol > path")) == len(models)
    assert hash_params(page)["hw"] == ["cpu-synthetic-x86-64", "nvidia-h100-80gb-hbm3"]
    page.select_option("#cross-config", "4")
    watched.wait_for_charts()
    fragment = page.evaluate("location.hash")
    again = watched.open(golden_site() / "tasks" / "chat.html", fragment)
    assert again.input_value("#cross-config") == "4"
    assert not again.is_checked('.hw-toggle[value="nvidia-a100-sxm4-40gb"]')
    batches = again.eval_on_selector_all(
        "#chart-cross-table tbody tr td:nth-child(3)", "cs => cs.map(c => c.textContent)"
    )
    assert batches and set(batches) == {"1 GPU · bs 4"}  # the configuration column
    assert watched.errors == []


# ---------------------------------------------------------------- compare


def test_compare_two_models_from_the_table_with_a_shareable_url(watched, golden):
    page = board(watched)
    assert page.is_disabled("#compare-go")
    page.check(f'#board-table input.cmp[data-model="{LLAMA}"] >> nth=0')
    page.check(f'#board-table input.cmp[data-model="{QWEN}"] >> nth=0')
    assert page.is_enabled("#compare-go")
    page.click("#compare-go")
    page.wait_for_url(re.compile(r"compare\.html#"))
    watched.wait_for_charts()
    url = page.url
    params = parse_qs(url.split("#", 1)[1])
    assert params == {"board": [H100_CHAT], "m": [LLAMA, QWEN]}
    headers = page.eval_on_selector_all("#cmp-table thead th", "ts => ts.map(t => t.textContent)")
    rows = [r for r in golden.rows if r["board_slug"] == H100_CHAT]
    best = {
        name: min(
            (r for r in rows if r["model_name"] == name), key=lambda r: r["energy_per_response_j"]
        )
        for name in (LLAMA, QWEN)
    }
    assert headers == ["Metric", best[LLAMA]["model"], best[QWEN]["model"]]
    energy = page.eval_on_selector_all(
        '#cmp-table tr[data-key="energy_per_response_j"] td',
        "cs => cs.map(c => [Number(c.dataset.value), c.textContent])",
    )
    assert energy[0][0] == pytest.approx(best[LLAMA]["energy_per_response_j"])
    assert energy[1][0] == pytest.approx(best[QWEN]["energy_per_response_j"])
    change = (energy[1][0] - energy[0][0]) / energy[0][0] * 100
    assert f"{change:+.0f}" in energy[1][1].replace(",", "")  # the difference is shown
    assert len(page.query_selector_all("#cmp-charts div.chart[data-rendered='1']")) == 3
    # The URL alone reproduces the comparison in a fresh page.
    again = watched.context.new_page()
    again.goto(url)
    again.wait_for_selector("#cmp-table tbody tr")
    assert (
        again.eval_on_selector_all("#cmp-table thead th", "ts => ts.map(t => t.textContent)")
        == headers
    )
    again.close()
    # More than 4 models is refused.
    page.goto(url.split("#")[0] + f"#board={H100_CHAT}")
    watched.wait_for_charts()
    for box in page.query_selector_all("input.cmp-model:checked"):
        box.click()  # the preselected top models, unticked
    for box in page.query_selector_all("input.cmp-model"):
        box.click()  # the fifth is refused
    assert len([b for b in page.query_selector_all("input.cmp-model") if b.is_checked()]) == 4
    assert "At most 4 models" in page.inner_text("#cmp-status")
    assert watched.errors == []


# ---------------------------------------------------------------- model page charts


def test_model_page_energy_distribution_from_raw_per_request_data(watched):
    import collections

    site = golden_site()
    page = watched.open(site / "models" / f"{LLAMA}.html")
    assert page.query_selector_all(
        "#chart-energy-dist-0 g.mark-rect > path, #chart-energy-dist-0 g.mark-rule > path"
    )
    # The table behind the chart: per configuration, the count and extremes of the raw values.
    raw: dict[tuple[str, str, int], list[float]] = collections.defaultdict(list)
    for path in (GOLDEN / "performance" / "nvidia-h100-80gb-hbm3" / LLAMA).rglob(
        "*.requests.jsonl"
    ):
        record = json.loads(
            path.with_name(path.name.replace(".requests.jsonl", ".json")).read_text()
        )
        ident = record["identity"]
        for line in path.read_text().splitlines():
            raw[(ident["task"], ident["backend"], ident["batch_size"])].append(
                json.loads(line)["energy_share_j"]
            )
    h100 = page.eval_on_selector_all(
        ".chart-group:has(h3:text('H100')) details.chart-data tbody tr",
        "rs => rs.map(r => Array.from(r.cells).map(c => c.textContent))",
    )
    assert len(h100) == len(raw) == 12
    for label, count, low, _, high in h100:
        task, batch, backend = re.fullmatch(r"(.+) · bs (\d+) · (\w+)", label).groups()
        values = raw[(task, backend, int(batch))]
        assert int(count) == len(values)
        assert float(low.replace(",", "")) == pytest.approx(min(values), rel=1e-3)
        assert float(high.replace(",", "")) == pytest.approx(max(values), rel=1e-3)
    assert page.query_selector("#power-timeline") is None  # no record has a timeline yet
    assert watched.errors == []
