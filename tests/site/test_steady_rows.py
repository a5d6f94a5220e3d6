"""Steady records on the site: rows in the measured rows' shape, headlined, pooled by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.site_data import LoadedRecord
from leaderboard_site.steady_rows import (
    STATIC_METHOD,
    STEADY_METHOD,
    pool_steady,
    steady_model_summaries,
)
from runner.cli import main
from runner.records.load import scan_results
from runner.records.steady import SteadyRecord
from tests.support.site_support import GOLDEN

MODEL = "tiny-random-m"  # not among the golden fixtures' performance models


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden fixtures plus one steady record of a model that has no static record."""
    root = tmp_path_factory.mktemp("steady-site") / "results"
    shutil.copytree(GOLDEN, root)
    code = main(
        [
            "run",
            "--no-progress",
            "experiment=demo",
            f"model={MODEL}",
            "scenario=steady",
            "scenario.max_num_seqs=4",
            "scenario.num_requests=16",
            "task.max_new_tokens=8",
            "calibrate=false",
            f"results_dir={root}",
        ]
    )
    assert code == 0
    return root


def loaded(root: Path) -> list[LoadedRecord]:
    scan = scan_results(root)
    assert scan.problems == []
    return [LoadedRecord(path.relative_to(root).as_posix(), r) for path, r in scan.records]


def test_steady_rows_join_the_boards_in_the_measured_rows_shape(results: Path) -> None:
    data = aggregate(loaded(results))
    steady = [row for row in data.rows if row.get("method") == STEADY_METHOD]
    static = [row for row in data.rows if row.get("method") == STATIC_METHOD]
    assert len(steady) == 1 and static
    [row] = steady
    measured = next(r for r in static if r["source"] == "measured")
    # the same keys as a measured row, and the configuration and ITL keys
    assert set(measured) - set(row) == set()
    assert row["row_id"].endswith("|cap4-float32|steady") and row["model_name"] == MODEL
    assert row["batching"] == "continuous" and row["max_num_seqs"] == 4
    assert row["num_devices"] == 1 and 0 < row["mean_running_batch"] <= 4
    assert row["itl_median_s"] is not None and row["itl_p99_s"] >= row["itl_median_s"]
    assert row["energy_per_token_j"] is None and "RAPL" in row["energy_reason"]
    assert row["throughput_tok_s"] > 0 and row["response_tokens"] > 0
    assert measured["batching"] == "static" and measured["max_num_seqs"] is None
    # a CPU machine is named by its CPU, as on static rows, not by its slug
    assert row["hardware_label"] != row["hardware"]
    assert "cpu" in row["hardware_label"].casefold()
    keys = [column.key for column in data.columns]
    assert keys.index("method") == keys.index("model") + 1
    assert {"max_num_seqs", "mean_running_batch", "itl_p95_s"} <= set(keys)
    board = next(b for b in data.boards if row in b.rows)
    assert board.slug == row["board_slug"]
    # a model with steady records only still gets a page, so its rows' links lead somewhere
    page = next(m for m in data.models if m.model_name == MODEL)
    assert page.rows == [row] and page.performance_files[0]["batch_size"] == "cap 4"


def test_pooled_steady_figures_by_hand(results: Path) -> None:
    """Two windows: 100 J over 50 tokens in 2 s and 300 J over 100 tokens in 4 s, mean output
    lengths 10 (n = 20) and 16 (n = 40): energy per token 400 / 150, per response that x 14."""
    [record] = [r for _, r in scan_results(results).records if isinstance(r, SteadyRecord)]

    def variant(energy: float, tokens: int, seconds: float, length: float, n: int):
        window = record.window.model_copy(update={"output_tokens": tokens, "duration_s": seconds})
        output = record.measurements.output_tokens.model_copy(update={"mean": length, "n": n})
        measurements = record.measurements.model_copy(update={"output_tokens": output})
        summary = record.summary.model_copy(update={"energy_j": energy})
        return record.model_copy(
            update={"window": window, "measurements": measurements, "summary": summary}
        )

    pooled = pool_steady([variant(100.0, 50, 2.0, 10.0, 20), variant(300.0, 100, 4.0, 16.0, 40)])
    assert pooled["energy_per_token_j"] == pytest.approx(400.0 / 150)
    assert pooled["response_tokens"] == pytest.approx(14.0)
    assert pooled["energy_per_response_j"] == pytest.approx(400.0 / 150 * 14.0)
    assert pooled["throughput_tok_s"] == pytest.approx(150 / 6.0)
    assert pooled["avg_power_w"] == pytest.approx(400.0 / 6.0)
    assert pooled["runs"] == 2
    unmeasured = pool_steady([variant(100.0, 50, 2.0, 10.0, 20), record])
    assert unmeasured["energy_j"] is None and unmeasured["energy_per_response_j"] is None


def test_models_with_static_records_keep_their_own_page(results: Path) -> None:
    items = loaded(results)
    data = aggregate(items)
    assert steady_model_summaries(items, data.models, data.rows) == []


def test_the_board_headlines_steady_rows(results: Path, tmp_path: Path) -> None:
    from leaderboard_site.build import build_site

    [row] = [r for r in aggregate(loaded(results)).rows if r.get("method") == STEADY_METHOD]
    out = tmp_path / "site"
    build_site(results, out, bundle="/* no vega in this test */")
    text = (out / "boards" / f"{row['board_slug']}.html").read_text()
    assert 'id="method-note"' in text and "They are listed first" in text
    model_page = (out / "models" / f"{MODEL}.html").read_text()
    # the results table's batch column gives the batch cap of a steady row, never "None"
    assert '<td class="n">cap 4</td>' in model_page and ">None<" not in model_page


def test_steady_rows_stay_out_of_the_batch_size_sweep_and_the_roofline(results: Path) -> None:
    from leaderboard_site.charts.board import sweep_chart
    from leaderboard_site.charts.roofline import roofline_views

    data = aggregate(loaded(results))
    [steady] = [r for r in data.rows if r.get("method") == STEADY_METHOD]
    by_size = {
        r["batch_size"]: dict(r, model_name=MODEL, task=steady["task"], hardware=steady["hardware"])
        for r in data.rows
        if r.get("method") == STATIC_METHOD and r["model_name"] == "tiny-random"
    }
    static = [by_size[size] for size in sorted(by_size)[:2]]
    assert len(static) == 2
    columns = {c.key: c for c in data.columns}
    chart = sweep_chart("chart-sweep", [steady, *static], columns)
    assert chart.points == 2  # the two static batch sizes, not the steady row
    # Without energy on the board the x axis is the batch size, which a steady row's cap is
    # not: it is left out as such, not as "not measured".
    unmetered = [{**r, "energy_per_token_j": None} for r in (steady, *static)]
    chart = sweep_chart("chart-sweep", unmetered, columns)
    assert chart.points == 2 and chart.dropped == 1
    assert "batch cap" in chart.drop_reason and "not measured" not in chart.drop_reason
    assert steady["linked_calibration_id"] is None and steady["calibration_id"] is None
    [view] = roofline_views([steady], data.calibrations)
    assert "they link" not in view.message
