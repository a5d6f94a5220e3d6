"""The data behind what the site shows (no browser): spread and percentiles from the raw
per-request data, accuracy reasons, one look per model, the busiest board, the no-energy charts,
power timelines where a record has one, readable config tables and the front page's answers."""

from __future__ import annotations

import itertools
import json
import math
import random
import statistics
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from leaderboard_site.aggregate import aggregate, busiest_boards
from leaderboard_site.build import front_page_answers, load_records
from leaderboard_site.charts.board import board_charts, sweep_chart
from leaderboard_site.charts.model_page import power_timeline_chart
from leaderboard_site.columns import columns_for
from leaderboard_site.model_pages import power_timelines
from leaderboard_site.render import facts
from leaderboard_site.site_data import LoadedRecord
from leaderboard_site.spread import percentile, pooled_stdev
from leaderboard_site.style import DISTINCT_STYLES, SI_LABELS, model_styles
from runner.records.load import load_record
from tests.support.site_support import GOLDEN, first_record


@pytest.fixture(scope="module")
def loaded():
    items, warnings, _, _ = load_records(GOLDEN, skip_invalid=False)
    return items, aggregate(items, warnings)


def _raw(path: Path) -> list[dict]:
    record = json.loads(path.read_text())
    raw = path.parent / record["raw_data"]["file"]
    return [json.loads(line) for line in raw.read_text().splitlines()]


def test_percentiles_come_from_every_request_not_an_average_of_percentiles(tmp_path):
    path = first_record(GOLDEN)
    record = load_record(path)
    raw = _raw(path)
    # A second record of the same point, with slower requests.
    slow = [{**r, "latency_s": r["latency_s"] * 3 + 1} for r in raw]
    second = record.model_copy(update={"run_id": record.run_id[:-1] + "z"})
    items = [
        LoadedRecord("a.json", record, tuple(raw)),
        LoadedRecord("b.json", second, tuple(slow)),
    ]
    row = aggregate(items).rows[0]
    union = [r["latency_s"] for r in raw + slow]
    for q in (50, 90, 99):
        assert row[f"latency_p{q}_s"] == pytest.approx(np.percentile(union, q))
    mean_of_p90s = record.measurements.latency_s.p90  # both records store the same p90
    assert row["latency_p90_s"] != pytest.approx(mean_of_p90s)
    # One record: exactly its own raw percentile (and its stored p90).
    alone = aggregate([LoadedRecord("a.json", record, tuple(raw))]).rows[0]
    assert alone["latency_p90_s"] == pytest.approx(np.percentile([r["latency_s"] for r in raw], 90))
    assert alone["latency_p90_s"] == pytest.approx(record.measurements.latency_s.p90)
    # Pooled without the raw data: not available (None), never an average of percentiles.
    blind = aggregate([LoadedRecord("a.json", record), LoadedRecord("b.json", second)]).rows[0]
    assert blind["latency_p90_s"] is None and blind["ttft_p99_s"] is None
    assert blind["latency_s_sd"] is not None  # the stdev pools exactly from the stats


def test_pooled_stdev_is_the_stdev_of_the_union():
    rng = random.Random(3)
    for _ in range(50):
        groups = [[rng.gauss(5, 2) for _ in range(rng.randint(1, 9))] for _ in range(3)]
        stats = [
            (len(g), statistics.fmean(g), statistics.stdev(g) if len(g) > 1 else 0.0)
            for g in groups
        ]
        n, sd = pooled_stdev(stats)
        union = [v for g in groups for v in g]
        assert n == len(union)
        assert sd == pytest.approx(statistics.stdev(union))
    assert pooled_stdev([(1, 3.0, 0.0)]) == (1, None)


def test_percentile_matches_numpy():
    rng = random.Random(1)
    values = sorted(rng.random() for _ in range(37))
    for q in (0, 10, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_rows_carry_spread_and_n_matching_the_records(loaded):
    items, data = loaded
    row = next(r for r in data.rows if r["runs"] == 1 and r["energy_per_response_j"])
    record = next(i.record for i in items if getattr(i.record, "run_id", None) in row["run_ids"])
    assert row["latency_s_n"] == record.measurements.latency_s.n
    assert row["latency_s_sd"] == pytest.approx(record.measurements.latency_s.stdev)
    assert row["energy_per_response_j_n"] == record.measurements.energy_per_response_j.n
    assert row["latency_p99_s"] == pytest.approx(record.measurements.latency_s.p99)


def test_accuracy_reasons(loaded):
    _, data = loaded
    smol = next(r for r in data.rows if r["model_name"].startswith("HuggingFaceTB"))
    assert smol["accuracy_avg"] is None
    assert smol["accuracy_reason"].startswith(
        f"no accuracy record for {smol['model_id']} at revision {smol['revision']}"
    )
    llama = next(r for r in data.rows if r["model_name"].startswith("meta-llama"))
    assert llama["accuracy_reason"] is None


def test_accuracy_of_another_revision_is_named_but_not_joined(tmp_path):
    items, _, _, _ = load_records(GOLDEN, skip_invalid=False)
    moved = []
    for item in items:
        record = item.record
        if record.kind == "performance" and record.identity.model_name.startswith("meta-llama"):
            ident = record.identity.model_copy(update={"model_revision": "f" * 40})
            record = record.model_copy(update={"identity": ident})
        moved.append(LoadedRecord(item.relpath, record, item.requests))
    row = next(r for r in aggregate(moved).rows if r["model_name"].startswith("meta-llama"))
    assert row["accuracy_avg"] is None
    assert (
        "revision(s) 9213176726f574b556790deb65791e0c5aa438b6 are not joined"
        in (row["accuracy_reason"])
    )


def test_published_rows_have_no_spread_or_percentile():
    from tests.support.site_builds import mixed_results

    items, warnings, _, _ = load_records(mixed_results(), skip_invalid=False)
    published = [r for r in aggregate(items, warnings).rows if r["source"] == "published"]
    assert published
    for row in published:
        for key in ("latency_s_sd", "latency_s_n", "energy_per_response_j_sd", "latency_p50_s"):
            assert row[key] is None, (row["row_id"], key)


def test_model_styles_stay_distinct_past_twenty_models():
    names = [f"org__model-{i:03d}" for i in range(DISTINCT_STYLES)]
    styles = model_styles(reversed(names))
    pairs = {(s["color"], s["shape"]) for s in styles.values()}
    assert len(pairs) == DISTINCT_STYLES  # every one of 70 models looks different
    ordered = [styles[n] for n in sorted(names)]
    for a, b in itertools.pairwise(ordered):
        assert a["color"] != b["color"] and a["shape"] != b["shape"]
    assert model_styles(names) == styles  # the order names come in does not matter


def test_busiest_board_most_models_then_rows(loaded):
    _, data = loaded
    busiest = busiest_boards(data.boards)
    for task, slug in busiest.items():
        board = data.board(slug)
        candidates = [b for b in data.boards if not task or b.task == task]
        assert len(board.model_names) == max(len(b.model_names) for b in candidates)
    assert busiest[""] == "chat--nvidia-a100-sxm4-40gb"  # a tie of 5 models and 15 rows: by name
    assert not busiest["chat"].startswith("chat--cpu")


def test_boards_without_energy_draw_no_energy_chart(loaded):
    _, data = loaded
    cpu = data.board("chat--cpu-synthetic-x86-64")
    assert not cpu.has_energy
    assert cpu.energy_reasons == ["no GPU and no RAPL on this machine (synthetic fixture)"]
    charts = board_charts(cpu.rows, data.columns)
    ids = [c.chart_id for c in charts]
    assert ids == ["chart-latency_accuracy", "chart-throughput_latency", "chart-sweep"]
    sweep = charts[-1]
    assert sweep.spec is None and "one batch size only (batch size 1)" in sweep.note
    gpu = data.board("chat--nvidia-h100-80gb-hbm3")
    assert len(board_charts(gpu.rows, data.columns)) == 5


def test_sweep_without_energy_is_throughput_against_batch_size(loaded):
    _, data = loaded
    rows = [
        dict(r, energy_per_token_j=None) for r in data.board("chat--nvidia-h100-80gb-hbm3").rows
    ]
    chart = sweep_chart("s", rows, {c.key: c for c in data.columns})
    assert chart.title == "Batch-size sweep: throughput vs batch size"
    assert chart.points == 15


def test_every_chart_axis_has_si_labels_and_a_title(loaded):
    _, data = loaded
    gpu = data.board("chat--nvidia-h100-80gb-hbm3")
    for chart in board_charts(gpu.rows, data.columns):
        for layer in chart.spec["layer"]:
            for channel in ("x", "y"):
                axis = layer["encoding"][channel]["axis"]
                assert axis["title"] and SI_LABELS in axis["labelExpr"]
        # No data of its own: every chart reads the page's one dataset of rows, and draws each
        # row in its model's colour and shape (the page adds them to the rows from the styles).
        assert chart.spec["data"] == {"name": "rows"} and "datasets" not in chart.spec
        marks = [layer for layer in chart.spec["layer"] if layer["mark"]["type"] == "point"]
        for channel in ("color", "shape"):
            assert marks[0]["encoding"][channel]["field"] == channel
            assert marks[0]["encoding"][channel]["scale"] is None


def test_power_timelines_only_where_a_record_has_one():
    assert power_timelines(SimpleNamespace()) == []  # today's records: none
    window = SimpleNamespace(
        index=0, timeline=SimpleNamespace(t_s=[0.05, 0.15, 0.25], power_w=[120.0, 310.5, 298.0])
    )
    empty = SimpleNamespace(index=1, timeline=None)
    record = SimpleNamespace(energy_windows=SimpleNamespace(windows=[window, empty]))
    lines = power_timelines(record)
    assert lines == [{"window": 0, "t_s": [0.05, 0.15, 0.25], "power_w": [120.0, 310.5, 298.0]}]
    chart = power_timeline_chart("p", [{"label": "chat · bs 1", **lines[0]}])
    assert chart.points == 3
    assert chart.spec["encoding"]["y"]["axis"]["title"] == "Power (W)"
    assert chart.table["rows"] == [["chat · bs 1", "3", "242.8", "310.5"]]
    assert power_timeline_chart("p", []).spec is None


def test_config_and_provenance_read_as_tables():
    rows = dict(facts({"a": True, "b": {"c": None, "d": [1, "x"]}, "e": 0.5, "f": False}))
    assert rows == {"a": "yes", "b.c": "—", "b.d": "1, x", "e": "0.500000", "f": "no"}


def test_x_floor_says_its_unit_once():
    column = next(c for c in columns_for([]) if c.key == "x_floor")
    assert column.title == "× floor"
    latency = next(c for c in columns_for([]) if c.key == "latency_p90_s")
    assert latency.title == "Latency p90 (s)"


def test_front_page_answers(loaded):
    _, data = loaded
    answers = {a["task"]: a for a in front_page_answers(data)}
    assert set(answers) == set(data.tasks)
    chat = answers["chat"]
    board = data.board(data.busiest["chat"])
    assert chat["board"] is board and chat["metric"] == "energy_per_response_j"
    front = {r["row_id"] for r in board.rows if r["front_energy_accuracy"]}
    assert len(chat["front"]) == len(front)
    accuracies = [c["accuracy"] for c in chat["front"]]
    assert accuracies == sorted(accuracies, reverse=True)
    meeting = [c for c in chat["candidates"] if c["accuracy"] >= chat["threshold"]]
    assert chat["answer"]["value"] == min(c["value"] for c in meeting)
    assert not math.isnan(chat["threshold"])
    # rounded down, so the most accurate point on the front always reaches the starting bar
    assert chat["threshold"] <= max(accuracies)


def test_front_page_answers_without_energy_use_latency():
    from tests.support.site_builds import small_results

    items, warnings, _, _ = load_records(small_results(), skip_invalid=False)
    data = aggregate(items, warnings)
    for answer in front_page_answers(data):
        assert answer["metric"] == "latency_s" and not answer["has_energy"]


def test_the_default_table_tells_a_compiled_row_from_an_eager_one() -> None:
    """A model measured with two backends at one batch size gives two rows that differ only
    in the backend: the backend is among the columns shown by default."""
    basic = [c.key for c in columns_for([]) if c.level == "basic"]
    assert {"model", "batch_size", "backend"} <= set(basic)
