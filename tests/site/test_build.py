"""leaderboard build: aggregation, escaping, strict/skip-invalid, atomic replace, CLI, serve."""

from __future__ import annotations

import csv
import json
import re
import threading
import urllib.request
from pathlib import Path

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import MARKER, build_site, load_records
from leaderboard_site.columns import COLUMNS, REFERENCE_EVAL_TASKS, accuracy_key, columns_for
from leaderboard_site.pooling import pool_records
from leaderboard_site.render import format_number
from leaderboard_site.serve import make_server
from leaderboard_site.site_data import LoadedRecord
from runner.cli import main
from runner.errors import UserError
from runner.records.layout import expected_parts
from runner.records.load import load_record
from tests.support.site_support import (
    GOLDEN,
    HOSTILE_CONFIG,
    HOSTILE_NAME,
    add_hostile_record,
    break_record,
    copy_golden,
    first_record,
)

BUNDLE = "/* vega bundle stand-in for fast tests */"
TASKS = {"chat", "chat-concise", "instruct", "instruct-concise"}


@pytest.fixture(scope="module")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "_site"
    build_site(GOLDEN, out, strict=True, bundle=BUNDLE)
    return out


@pytest.fixture(scope="module")
def golden_data():
    items, warnings, skipped, _ = load_records(GOLDEN, skip_invalid=False)
    assert not skipped
    return aggregate(items, warnings)


def test_golden_fixtures_are_complete(golden_data):
    assert set(golden_data.tasks) == TASKS
    gpus = [slug for slug, _ in golden_data.hardware if slug.startswith("nvidia")]
    assert len(gpus) == 2
    assert len(golden_data.models) >= 4
    assert golden_data.accuracy_count > 0
    sizes = {r["batch_size"] for r in golden_data.rows if r["model_name"].startswith("meta-llama")}
    assert len(sizes) >= 3  # a batch sweep
    assert golden_data.warnings == []


def test_rows_join_accuracy_by_model_and_revision(golden_data):
    llama = next(r for r in golden_data.rows if r["model_name"].startswith("meta-llama"))
    scores = [llama[accuracy_key(t)] for t in REFERENCE_EVAL_TASKS]
    assert all(isinstance(s, float) for s in scores)
    assert llama["accuracy_avg"] == pytest.approx(sum(scores) / 3)
    smol = next(r for r in golden_data.rows if r["model_name"].startswith("HuggingFaceTB"))
    assert smol["accuracy_avg"] is None  # no accuracy records: missing, never 0
    assert smol[accuracy_key("arc_challenge")] is None


def test_cpu_rows_have_no_energy(golden_data):
    cpu = [r for r in golden_data.rows if r["hardware"].startswith("cpu-")]
    assert cpu
    for row in cpu:
        assert row["energy_source"] == "unavailable"
        assert row["energy_per_response_j"] is None
        assert row["energy_per_token_j"] is None
        assert row["avg_power_w"] is None


def test_pareto_flags_are_set_per_board(golden_data):
    for board in golden_data.boards:
        for name, members in board.fronts.items():
            flagged = {r["row_id"] for r in board.rows if r[f"front_{name}"]}
            assert flagged == set(members)
        gpu = not board.hardware.startswith("cpu-")
        assert bool(board.fronts["energy_accuracy"]) == gpu


def test_pooling_two_runs_sums_energy_and_weights_latency(golden_data):
    record = load_record(first_record(GOLDEN))
    pooled = pool_records([record, record])
    assert pooled["runs"] == 2
    assert pooled["energy_per_response_j"] == pytest.approx(record.summary.energy_per_response_j)
    assert pooled["latency_s"] == pytest.approx(record.measurements.latency_s.mean)
    assert pooled["throughput_tok_s"] == pytest.approx(record.summary.throughput_tok_s)
    unmetered = record.model_copy(
        update={"summary": record.summary.model_copy(update={"energy_j": None})}
    )
    assert pool_records([record, unmetered])["energy_per_response_j"] is None


def older_revision_of(newer):
    """The same point measured earlier on another model revision (a warning on the board)."""
    return newer.model_copy(
        update={
            "run_id": "20200101T000000Z-old00000",
            "identity": newer.identity.model_copy(update={"model_revision": "old"}),
            "provenance": newer.provenance.model_copy(update={"ended_utc": "2020-01-01T00:00:00Z"}),
        }
    )


def test_older_revision_is_left_out_with_a_warning():
    path = first_record(GOLDEN)
    newer = load_record(path)
    older = older_revision_of(newer)
    data = aggregate([LoadedRecord("a.json", newer), LoadedRecord("b.json", older)])
    assert [r["revision"] for r in data.rows] == [newer.identity.model_revision]
    assert len(data.warnings) == 1 and "older revisions" in data.warnings[0]


def test_column_table_is_consistent():
    keys = [c.key for c in COLUMNS]
    assert len(keys) == len(set(keys))
    for column in columns_for(["arc_challenge", "my-task/v2"]):
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column.key)
        assert column.better in ("lower", "higher", "none")
        assert column.level in ("basic", "all")
    assert accuracy_key("my-task/v2") == "acc_my_task_v2"


def test_format_number_never_shows_zero_for_missing():
    assert format_number(None) == "not measured"
    assert format_number(float("nan")) == "not measured"
    assert format_number(0.0) == "0"
    assert format_number(1234.5678) == "1,235"
    assert format_number(0.012345) == "0.0123"


def test_site_layout(golden_site, golden_data):
    assert (golden_site / MARKER).is_file()
    assert (golden_site / "static" / "vega-bundle.js").read_text() == BUNDLE
    for name in ("index.html", "methodology.html", "downloads.html", "static/leaderboard.js"):
        assert (golden_site / name).is_file(), name
    assert len(list((golden_site / "boards").glob("*.html"))) == len(golden_data.boards)
    assert len(list((golden_site / "models").glob("*.html"))) == len(golden_data.models)
    copied = list((golden_site / "data" / "records").rglob("*.json"))
    with_raw = golden_data.performance_count + golden_data.accuracy_count
    assert len(copied) == with_raw + len(golden_data.calibrations)  # calibrations have no raw
    assert len(list((golden_site / "data" / "records").rglob("*.requests.jsonl"))) == with_raw


def test_pages_use_relative_urls_only_and_no_fetch(golden_site):
    for page in golden_site.rglob("*.html"):
        text = page.read_text()
        for url in re.findall(r'(?:href|src)="([^"]*)"', text):
            assert not url.startswith("/"), (page, url)
            assert not re.match(r"https?://", url) or 'rel="nofollow noopener"' in text, (page, url)
        assert "cdn" not in text.lower()
    for script in (golden_site / "static").glob("*.js"):
        if script.name != "vega-bundle.js":
            js = script.read_text()
            assert "fetch(" not in js and "XMLHttpRequest" not in js
            assert "eval(" not in js and "Function(" not in js


def test_index_shows_counts_and_last_update(golden_site, golden_data):
    text = (golden_site / "index.html").read_text()
    assert f'<strong id="model-count">{len(golden_data.models)}</strong>' in text
    assert f'<strong id="result-count">{golden_data.performance_count}</strong>' in text
    assert golden_data.last_updated_utc in text


def test_downloads_csv_and_json(golden_site, golden_data):
    rows = json.loads((golden_site / "data" / "leaderboard.json").read_text())
    assert len(rows) == len(golden_data.rows)
    with (golden_site / "data" / "leaderboard.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(rows)
    cpu = [r for r in table if r["hardware"].startswith("cpu-")]
    assert cpu and all(r["energy_per_response_j"] == "" for r in cpu)  # not measured, not 0


def test_hostile_names_are_escaped(tmp_path):
    results = copy_golden(tmp_path / "results")
    add_hostile_record(results)
    out = tmp_path / "_site"
    build_site(results, out, bundle=BUNDLE)
    pages = [out / "index.html", *out.glob("boards/*.html"), *out.glob("models/*.html")]
    for page in pages:
        text = page.read_text()
        assert HOSTILE_NAME not in text, page
        assert "<img src=x" not in text, page
        assert HOSTILE_CONFIG not in text, page
        # exactly one closing script tag per script element: none injected
        assert text.count("</script>") == text.count("<script"), page
    index = (out / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index


def test_broken_record_fails_with_its_file_name(tmp_path):
    results = copy_golden(tmp_path / "results")
    broken = break_record(results)
    with pytest.raises(UserError, match=re.escape(str(broken)) + ".*summary.requests"):
        build_site(results, tmp_path / "_site", bundle=BUNDLE)
    assert not (tmp_path / "_site").exists()


def test_skip_invalid_lists_the_record_on_the_site(tmp_path):
    results = copy_golden(tmp_path / "results")
    broken = break_record(results)
    report = build_site(results, tmp_path / "_site", skip_invalid=True, bundle=BUNDLE)
    assert len(report.skipped) == 1
    index = (tmp_path / "_site" / "index.html").read_text()
    assert 'id="skipped"' in index and broken.name in index
    with pytest.raises(UserError, match="--strict"):
        build_site(results, tmp_path / "_site2", skip_invalid=True, strict=True, bundle=BUNDLE)


def test_strict_fails_on_a_warning(tmp_path):
    results = copy_golden(tmp_path / "results")
    path = first_record(results)
    newer = load_record(path)
    older = older_revision_of(newer)
    old_path = results.joinpath(*expected_parts(older))
    old_path.parent.mkdir(parents=True, exist_ok=True)
    old_path.write_text(older.model_dump_json())
    build_site(results, tmp_path / "_site", bundle=BUNDLE)  # a warning only
    with pytest.raises(UserError, match="--strict: 1 warning.*older revisions") as refused:
        build_site(results, tmp_path / "_site", strict=True, bundle=BUNDLE)
    # The one line says what stopped the build and the command that shows the problems.
    assert "nothing was built" in str(refused.value)
    assert f"leaderboard validate --results {results}" in str(refused.value)


def test_leftovers_of_interrupted_runs_never_stop_a_strict_build(tmp_path, capsys):
    """Raw data whose record was never linked and temp files: ignored, with one note."""
    results = copy_golden(tmp_path / "results")
    folder = first_record(results).parent
    (folder / ".x.json.abcd1234.partial").write_text("{")
    (folder / "20990101T000000Z-killed00.requests.jsonl").write_text('{"request": 0}\n')
    report = build_site(results, tmp_path / "_site", strict=True, bundle=BUNDLE)
    assert report.warnings == [] and len(report.notes) == 1
    assert "2 leftover file(s)" in report.notes[0] and "clean-interrupted" in report.notes[0]
    published = {p.name for p in (tmp_path / "_site" / "data" / "records").rglob("*")}
    assert "20990101T000000Z-killed00.requests.jsonl" not in published
    assert main(["build", "--results", str(results), "--out", str(tmp_path / "s"), "--strict"]) == 0
    assert "note: 2 leftover file(s)" in capsys.readouterr().err


def test_failed_build_leaves_the_old_site(tmp_path):
    results = copy_golden(tmp_path / "results")
    out = tmp_path / "_site"
    build_site(results, out, bundle=BUNDLE)
    before = (out / "index.html").read_text()
    break_record(results)
    with pytest.raises(UserError):
        build_site(results, out, bundle=BUNDLE)
    assert (out / "index.html").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rebuild_replaces_a_previous_site(tmp_path, golden_site):
    out = tmp_path / "_site"
    build_site(GOLDEN, out, bundle=BUNDLE)
    (out / "stale.html").write_text("old")
    build_site(GOLDEN, out, bundle=BUNDLE)
    assert not (out / "stale.html").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a built site"):
        build_site(GOLDEN, out, bundle=BUNDLE)
    assert (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(UserError, match="overlap"):
        build_site(GOLDEN, GOLDEN / "site", bundle=BUNDLE)


def test_missing_results_folder(tmp_path):
    with pytest.raises(UserError, match="results folder not found"):
        build_site(tmp_path / "nope", tmp_path / "_site", bundle=BUNDLE)


def test_cli_build_and_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("leaderboard_site.build.vega_bundle", lambda: BUNDLE)
    out = tmp_path / "_site"
    assert main(["build", "--results", str(GOLDEN), "--out", str(out), "--strict"]) == 0
    assert f"{out}/index.html" in capsys.readouterr().out
    results = copy_golden(tmp_path / "results")
    broken = break_record(results)
    assert main(["build", "--results", str(results), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(broken) in err[0]


def test_serve_binds_loopback(golden_site):
    server = make_server(golden_site, 0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
            assert b"LLM energy leaderboard" in response.read()
    finally:
        server.shutdown()
        server.server_close()


def test_serve_needs_a_built_site(tmp_path):
    with pytest.raises(UserError, match=r"no index\.html"):
        make_server(tmp_path, 0)


def test_empty_results_build_an_empty_site(tmp_path):
    (tmp_path / "results").mkdir()
    report = build_site(tmp_path / "results", tmp_path / "_site", strict=True, bundle=BUNDLE)
    assert report.rows == 0
    assert "No results yet." in (tmp_path / "_site" / "index.html").read_text()


def test_page_slugs_never_collide():
    from leaderboard_site.site_data import slugify

    names = ["Qwen__Qwen2.5-0.5B", "a b", "a-b", "a/b", "a?b", "<script>", "script", ""]
    slugs = [slugify(name) for name in names]
    assert len(set(slugs)) == len(names)
    assert slugify("Qwen__Qwen2.5-0.5B") == "Qwen__Qwen2.5-0.5B"  # safe names are their own slug
    assert all(slug not in (".", "..") and "/" not in slug for slug in slugs)
