"""The hardware-aware metrics on the site: columns, values, "not measured"/"not available", the
roofline per board against its calibration, the methodology page, and (in real headless Chromium)
the roofline drawing marks and a custom formula over `tokens_per_j`.

Values are checked against hand-computed figures for a small architecture (see
`test_row_values_match_hand_computed_figures`) and against `runner.hardware.derived.derive` for
pooled rows; the golden fixtures (synthetic, see their README) give the built-site checks.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import build_site, load_records
from leaderboard_site.columns import COLUMNS, DERIVED_KEYS, NOT_AVAILABLE, column
from leaderboard_site.pooling import pool_records
from leaderboard_site.site_data import LoadedRecord
from runner.hardware.derived import derive, load_settings
from runner.records.performance import Architecture
from tests.support.hwmetrics_records import make_calibration, make_record
from tests.support.site_support import GOLDEN, REPO, board_page_data, copy_golden

BUNDLE = "/* vega bundle stand-in for fast tests */"
H100_CHAT = "chat--nvidia-h100-80gb-hbm3"
CPU_CHAT = "chat--cpu-synthetic-x86-64"
H100_CALIBRATION = "20261031T120000Z-ca1b0000"

# A tiny Llama-like shape: N = 210000 - 128000 = 82000 non-embedding parameters, untied head.
TINY = Architecture(
    model_type="llama",
    num_layers=2,
    hidden_size=64,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=4,
    head_dim=16,
    vocab_size=1000,
    tie_word_embeddings=False,
    embedding_params=128000,
    bytes_per_param=4,
)


def tiny_record(**overrides):
    """batch 2, prompt 40, response 20 (C = 50), t = 10 ms, 80 J over 8 responses, 400 tokens."""
    arguments = dict(
        architecture=TINY,
        params=210_000,
        dtype="float32",
        batch_size=2,
        prompt_mean=40.0,
        response_mean=20.0,
        tpot_mean=0.01,
        energy_j=80.0,
        throughput=1000.0,
        calibration_id="cal-1",
    )
    arguments.update(overrides)
    return make_record(**arguments)


CALIBRATION = make_calibration(bandwidth=1e10, flop_s=1e11, dtype="float32")


def one_row(*records):
    items = [LoadedRecord(f"performance/r{i}.json", r) for i, r in enumerate(records)]
    items.append(LoadedRecord("calibration/test-gpu/cal-1.json", CALIBRATION))
    data = aggregate(items)
    assert len(data.rows) == 1
    return data.rows[0], data


# ---------------------------------------------------------------------------------------------
# Aggregation (no build)


def test_row_values_match_hand_computed_figures():
    row, data = one_row(tiny_record())
    # F = 2 N + 2 h V + 4 L H d C = 164000 + 128000 + 4*2*4*16*50 = 317600 FLOPs per token
    assert row["gflops_per_token"] == pytest.approx(317600 / 1e9)
    # M = (N + V h) b + B h b + 2 L Hkv d C b B = 584000 + 512 + 102400 = 686912 bytes
    moved = 686912
    assert row["arithmetic_intensity_flop_per_byte"] == pytest.approx(2 * 317600 / moved)
    assert row["bandwidth_floor_s"] == pytest.approx(moved / 1e10)
    assert row["x_floor"] == pytest.approx(0.01 / (moved / 1e10))
    assert row["achieved_bandwidth_gb_s"] == pytest.approx(moved / 0.01 / 1e9)
    assert row["achieved_bandwidth_share"] == pytest.approx(moved / 0.01 / 1e10)
    assert row["achieved_gflop_s"] == pytest.approx(2 * 317600 / 0.01 / 1e9)
    assert row["achieved_flop_s"] == pytest.approx(2 * 317600 / 0.01)
    assert row["achieved_flop_share"] == pytest.approx(2 * 317600 / 0.01 / 1e11)
    assert row["tokens_per_j"] == pytest.approx(400 / 80)
    settings = load_settings()
    grid = settings.grid_intensity_g_per_kwh
    assert row["carbon_g_per_response"] == pytest.approx(10 / 3.6e6 * grid)
    assert row["carbon_g_per_1k_tokens"] == pytest.approx(0.2 * 1000 / 3.6e6 * grid)
    assert row["cost_usd_per_1m_tokens"] == pytest.approx(
        settings.cost.gpu_hour_usd / 3600 / 1000 * 1e6
    )
    assert row["calibration_id"] == "cal-1"
    assert row["derived_notes"] is None
    assert data.calibrations["cal-1"].bandwidth_gb_s == pytest.approx(10)
    assert data.calibrations["cal-1"].matmul_tflop_s == pytest.approx(0.1)


def test_missing_inputs_stay_none_never_zero():
    record = tiny_record(architecture=None, energy_j=None, calibration_id=None, device="cpu")
    row, _ = one_row(record)
    for key in DERIVED_KEYS:
        if key == "cost_usd_per_1m_tokens":
            continue  # needs only the measured throughput and the assumed price
        assert row[key] is None, key
    assert row["cost_usd_per_1m_tokens"] == pytest.approx(
        load_settings().cost.cpu_hour_usd / 3600 / 1000 * 1e6
    )
    notes = row["derived_notes"]
    assert "energy not measured" in notes and "architecture unknown" in notes
    assert "no calibration linked" in notes


def test_a_link_to_a_calibration_not_in_the_results_is_said():
    row, _ = one_row(tiny_record(calibration_id="cal-gone"))
    assert row["x_floor"] is None and row["achieved_flop_share"] is None
    assert row["arithmetic_intensity_flop_per_byte"] is not None  # needs no calibration
    assert row["tokens_per_j"] is not None
    assert "calibration cal-gone is not in the results" in row["derived_notes"]
    assert "no calibration linked" not in row["derived_notes"]


def test_pooled_rows_are_derived_from_pooled_figures():
    first = tiny_record()
    second = tiny_record(energy_j=120.0, tpot_mean=0.03).model_copy(update={"run_id": "run-2"})
    row, _ = one_row(first, second)
    pooled = pool_records([first, second])
    assert row["runs"] == 2
    assert row["tokens_per_j"] == pytest.approx(800 / 200)
    assert row["tpot_s"] == pytest.approx(0.02)
    # Same formulas as derive() on one record with the pooled means:
    alone = derive(tiny_record(energy_j=100.0, tpot_mean=0.02), CALIBRATION, load_settings())
    assert row["x_floor"] == pytest.approx(alone.x_floor)
    assert row["carbon_g_per_response"] == pytest.approx(alone.carbon_g_per_response)
    assert pooled["energy_per_response_j"] == pytest.approx(12.5)


def test_column_table_has_the_hardware_columns():
    keys = [c.key for c in COLUMNS]
    for key in DERIVED_KEYS:
        assert key in keys
        assert column(key).kind == "number"  # usable in formulas and as a chart axis
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
    assert column("x_floor").level == "basic" and column("tokens_per_j").level == "basic"
    assert column("x_floor").missing == NOT_AVAILABLE
    assert column("tokens_per_j").missing == "not measured"
    assert column("carbon_g_per_response").better == "lower"


# ---------------------------------------------------------------------------------------------
# The built golden site


@pytest.fixture(scope="module")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hw") / "_site"
    build_site(GOLDEN, out, strict=True, bundle=BUNDLE)
    return out


def board_payload(site: Path, name: str) -> tuple[str, dict, dict]:
    """(html, payload with its rows decoded, specs) of a built board page."""
    html, payload, rows, specs, _ = board_page_data(site, name)
    return html, {**payload, "rows": rows}, specs


def test_golden_board_rows_carry_the_new_columns(golden_site):
    _, payload, _ = board_payload(golden_site, H100_CHAT)
    columns = {c["key"]: c for c in payload["columns"]}
    assert set(DERIVED_KEYS) <= set(columns)
    assert set(payload["derived_keys"]) == set(DERIVED_KEYS)
    rows = payload["rows"]
    llama = [r for r in rows if r["model_name"].startswith("meta-llama")]
    gptq = [r for r in rows if r["model_name"].endswith("GPTQ-Int4")]
    assert len(llama) == 3 and gptq
    for row in llama:
        assert row["calibration_id"] == H100_CALIBRATION
        for key in DERIVED_KEYS:
            assert isinstance(row[key], float) and row[key] > 0, key
        # the page carries 6 significant digits
        assert row["tokens_per_j"] == pytest.approx(1 / row["energy_per_token_j"], rel=1e-5)
    # Batching raises the intensity of a decode step.
    by_batch = sorted(llama, key=lambda r: r["batch_size"])
    intensity = [r["arithmetic_intensity_flop_per_byte"] for r in by_batch]
    assert intensity == sorted(intensity) and intensity[0] < intensity[-1]
    for row in gptq:  # no architecture facts: estimates not available, energy-based ones are
        assert row["x_floor"] is None and row["gflops_per_token"] is None
        assert row["tokens_per_j"] is not None and row["carbon_g_per_response"] is not None
        assert "architecture unknown" in row["derived_notes"]


def test_cpu_board_has_no_energy_metrics_but_a_roofline(golden_site):
    html, payload, specs = board_payload(golden_site, CPU_CHAT)
    for row in payload["rows"]:
        assert row.get("tokens_per_j") is None  # a column no row has is left out of the data
        assert row.get("carbon_g_per_response") is None
        assert row.get("carbon_g_per_1k_tokens") is None
        assert row["x_floor"] is not None and row["cost_usd_per_1m_tokens"] is not None
    assert "chart-roofline-0" in specs
    assert "copy bandwidth <strong>20.0 GB/s</strong>" in html


def test_roofline_spec_and_calibration_named_on_the_board(golden_site):
    html, payload, specs = board_payload(golden_site, H100_CHAT)
    spec = specs["chart-roofline-0"]
    assert H100_CALIBRATION in json.dumps(spec["title"])
    roof, points = spec["layer"]
    for layer in (roof, points["layer"][1]):
        assert layer["encoding"]["x"]["scale"]["type"] == "log"
        assert layer["encoding"]["y"]["scale"]["type"] == "log"
    # The points are the page's shared rows judged against this calibration, in the model's own
    # shape (as on every chart), the backend by line dash.
    assert points["data"] == {"name": "rows"}
    assert f'datum.calibration_id == "{H100_CALIBRATION}"' in points["transform"][0]["filter"]
    assert points["layer"][1]["encoding"]["shape"] == {
        "field": "shape",
        "type": "nominal",
        "scale": None,
        "legend": None,
    }
    assert points["layer"][0]["encoding"]["strokeDash"]["field"] == "backend"
    drawn = [
        p
        for p in payload["rows"]
        if p["gflops_per_token"] is not None and p["calibration_id"] == H100_CALIBRATION
    ]
    assert len(drawn) == 12  # 4 models with architecture x 3 batch sizes
    box = html.split('id="chart-roofline-0-box"', 1)[1].split("</figure>", 1)[0]
    assert H100_CALIBRATION in box and "2026-10-31 12:00 UTC" in box
    assert "3,000 GB/s" in box and "700 TFLOP/s" in box
    assert "12 point(s) drawn; dropped 3: 3 without model architecture" in box
    link = re.search(r'href="\.\./(data/records/calibration/[^"]+)"', box)
    assert link and (golden_site / link.group(1)).is_file()


def test_methodology_explains_the_metrics_and_assumptions(golden_site):
    text = (golden_site / "methodology.html").read_text()
    settings = load_settings()
    grid = settings.grid.regions[settings.grid.region]
    assert 'id="hardware-metrics"' in text and 'id="calibrations"' in text
    assert f"{grid.g_co2e_per_kwh:.0f} gCO2e/kWh" in text and grid.source in text
    assert f"${settings.cost.gpu_hour_usd:.2f} per GPU-hour" in text
    assert "assumption" in text
    for key in DERIVED_KEYS:
        assert f"<code>{key}</code>" in text, key
    listed = set(re.findall(r"<code>(20261031T12\d{4}Z-ca1b\d{4})</code>", text))
    assert len(listed) == 3  # the three synthetic calibrations


def test_downloads_leave_unmeasured_values_empty(golden_site):
    with (golden_site / "data" / "leaderboard.csv").open() as handle:
        table = list(csv.DictReader(handle))
    cpu = [r for r in table if r["hardware"].startswith("cpu-")]
    assert cpu and all(r["tokens_per_j"] == "" for r in cpu)
    assert all(r["x_floor"] not in ("", "0", "0.0") for r in cpu)
    assert all(float(r["tokens_per_j"]) > 0 for r in table if r["hardware"].startswith("nvidia"))


def without_calibrations(tmp_path: Path) -> Path:
    results = copy_golden(tmp_path / "results")
    shutil.rmtree(results / "calibration")
    return results


def test_no_calibration_says_so_and_draws_nothing(tmp_path):
    results = without_calibrations(tmp_path)
    out = tmp_path / "_site"
    build_site(results, out, strict=True, bundle=BUNDLE)
    html, payload, specs = board_payload(out, H100_CHAT)
    assert not any(key.startswith("chart-roofline") for key in specs)
    assert "No calibration for this hardware" in html
    assert f"{H100_CALIBRATION}, not in the results" in html
    for row in payload["rows"]:
        assert row.get("x_floor") is None and row.get("achieved_flop_share") is None
    items, warnings, _, _ = load_records(results, skip_invalid=False)
    assert aggregate(items, warnings).calibrations == {}


# ---------------------------------------------------------------------------------------------
# Real headless Chromium

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (scripts/ensure-chromium.sh could not install it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    from tests.site.test_browser import ARGS

    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def watched(browser):
    from tests.site.test_browser import Watched

    page = Watched(browser)
    yield page
    page.close()


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory, browser) -> Path:
    out = tmp_path_factory.mktemp("hw-browser") / "_site"
    build_site(GOLDEN, out, strict=True)  # the real Vega bundle
    return out


def cell_values(page, key: str) -> list[float | None]:
    return page.eval_on_selector_all(
        f'#board-table tbody td[data-key="{key}"]',
        "cs => cs.map(c => c.dataset.value === undefined ? null : Number(c.dataset.value))",
    )


@pytest.mark.browser
def test_roofline_draws_marks_with_zero_console_errors(real_site, watched):
    from tests.site.test_browser import CHART_MARKS

    page = watched.open(real_site / "boards" / f"{H100_CHAT}.html")
    chart = page.query_selector("#chart-roofline-0")
    assert chart is not None and chart.get_attribute("data-rendered") == "1"
    assert len(chart.query_selector_all("g.mark-symbol.role-mark > path")) == 12  # one per point
    assert len(chart.query_selector_all("g.mark-line.role-mark > path")) >= 2  # roof + sweep lines
    assert chart.query_selector_all(CHART_MARKS)
    page.hover("#chart-roofline-0 g.mark-symbol.role-mark > path >> nth=0", force=True)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=5000)
    assert "Achieved GFLOP/s" in page.inner_text("#vg-tooltip-element")
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.locator("#chart-roofline-0-box").screenshot(path=str(artifacts / "roofline.png"))
    page = watched.open(real_site / "boards" / f"{CPU_CHAT}.html")
    cpu_chart = page.query_selector("#chart-roofline-0")
    assert cpu_chart.query_selector_all("g.mark-symbol > path")
    assert watched.errors == [] and watched.network == [] and watched.dialogs == []


@pytest.mark.browser
def test_custom_formula_over_tokens_per_joule(real_site, watched):
    page = watched.open(real_site / "boards" / f"{H100_CHAT}.html")
    watched.open_tools()
    page.fill("#formula-name", "tokens_per_kj_per_floor")
    page.fill("#formula-text", "tokens_per_j * 1000 / x_floor")
    page.click("#formula-add")
    assert page.inner_text("#formula-error") == ""
    tokens = cell_values(page, "tokens_per_j")
    floor = cell_values(page, "x_floor")
    custom = cell_values(page, "tokens_per_kj_per_floor")
    assert len(custom) == 15
    for value, t, x in zip(custom, tokens, floor, strict=True):
        if t is None or x is None:
            assert value is None  # GPTQ rows: × floor not available
        else:
            assert value == pytest.approx(t * 1000 / x)
    assert page.select_option("#explore-x", "x_floor")  # a chart axis
    page.select_option("#explore-y", "tokens_per_j")
    watched.wait_for_charts()
    gptq = page.eval_on_selector_all(
        '#board-table tbody tr:has(td[data-key="model"] a:text("GPTQ")) td[data-key="x_floor"]',
        "cs => cs.map(c => [c.textContent, c.title])",
    )
    assert gptq and all(text == "not available" for text, _ in gptq)
    assert all("architecture unknown" in title for _, title in gptq)
    # On the CPU board the same formula gives "not measured" (no energy meter), never 0.
    page = watched.open(real_site / "boards" / f"{CPU_CHAT}.html")
    watched.open_tools()
    page.fill("#formula-name", "tpj")
    page.fill("#formula-text", "tokens_per_j * 1000 / x_floor")
    page.click("#formula-add")
    texts = page.eval_on_selector_all(
        '#board-table tbody td[data-key="tpj"]', "cs => cs.map(c => c.textContent)"
    )
    assert texts and all(t == "not measured" for t in texts)
    cells = page.eval_on_selector_all(
        '#board-table tbody td[data-key="tokens_per_j"]', "cs => cs.map(c => c.textContent)"
    )
    assert cells and all(t == "not measured" for t in cells)
    assert watched.errors == []
