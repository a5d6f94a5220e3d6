"""Issue 20 on the site: the shipped ML.ENERGY v1 release, sources' own tasks, several results
folders, the configuration columns and the GPU-count filter, and no empty default view.

The committed release (`results/published/mlenergy-v1/`) is checked against the release files
in `../shared/data/` where they are present (as on the build machine and in CI).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from leaderboard_site.aggregate import aggregate
from leaderboard_site.build import build_site, load_records, root_names
from runner.cli import main
from runner.errors import ConfigError, RecordError
from runner.ingest.importer import import_files
from runner.ingest.task_mapping import load_task_mapping
from runner.records.load import load_record, scan_results
from runner.validate import validate_results
from tests.support.site_support import GOLDEN, REPO

BUNDLE = "/* vega bundle stand-in for fast tests */"
SHIPPED = REPO / "results"
RELEASE = REPO.parent / "shared" / "data" / "mlenergy-v1-2024-02-18"
V1_MODELS = 23
V1_RECORDS = 260


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shipped") / "_site"
    build_site(SHIPPED, out, strict=True, bundle=BUNDLE)
    return out


def test_a_fresh_clone_ships_the_v1_release_as_published_records() -> None:
    scan = scan_results(SHIPPED)
    assert scan.problems == [] and scan.warnings == [] and scan.leftovers == []
    records = [r for _, r in scan.records]
    assert len(records) == V1_RECORDS
    assert {r.kind for r in records} == {"published"}
    assert {r.source.source_id for r in records} == {"mlenergy-v1"}
    assert len({r.identity.model_id for r in records}) == V1_MODELS
    source = records[0].source
    assert source.license == "Apache-2.0" and source.date == "2024-02-18"
    assert "tree/2024-02-18" in source.url  # pinned to the release, not the live site
    folder = SHIPPED / "published" / "mlenergy-v1"
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "710a6351f90352933c720612a1a67e5318165b94" in (folder / "SOURCE.md").read_text()
    problems, _, _, valid = validate_results(SHIPPED)
    assert problems == [] and valid == V1_RECORDS


@pytest.mark.skipif(not RELEASE.is_dir(), reason=f"{RELEASE} (the release files) not present")
def test_the_shipped_records_are_the_release_imported_with_the_pinned_card(tmp_path) -> None:
    assert (RELEASE / "LICENSE").read_bytes() == (
        SHIPPED / "published" / "mlenergy-v1" / "LICENSE"
    ).read_bytes()
    result = import_files("mlenergy-v1", [RELEASE], tmp_path / "results")
    fresh = {
        p.relative_to(tmp_path / "results"): json.loads(p.read_text())
        for p in result.report.written
    }
    shipped = {
        p.relative_to(SHIPPED): json.loads(p.read_text())
        for p in (SHIPPED / "published").rglob("*.json")
    }
    assert set(fresh) == set(shipped)
    for path, data in fresh.items():
        data["source"].pop("imported_utc")
        shipped[path]["source"].pop("imported_utc")
        assert data == shipped[path], path


def test_a_site_of_published_records_only_builds_with_a_page_per_model(shipped_site) -> None:
    models = sorted((shipped_site / "models").glob("*.html"))
    assert len(models) == V1_MODELS
    boards = sorted(p.stem for p in (shipped_site / "boards").glob("*.html"))
    # The source's own tasks, on the GPUs it names: 4 tasks x (A100, A40, V100).
    assert len(boards) == 12
    assert all(b.startswith("mlenergy-v1.") for b in boards)
    assert "mlenergy-v1.chat--nvidia-a100" in boards


def test_published_rows_sit_under_their_sources_own_task(shipped_site) -> None:
    page = (shipped_site / "boards" / "mlenergy-v1.chat--nvidia-a100.html").read_text()
    assert '<span class="hl">Chat (ML.ENERGY v1)</span>' in page
    workloads = page.split('id="workloads"')[1].split("</details>")[0]
    assert "ShareGPT" in workloads and "temperature 0.7" in workloads
    # Never under a description of this project's prompt set.
    assert "220 chat prompts" not in page and "workload-measured" not in page
    index = (shipped_site / "index.html").read_text()
    assert "A task of its source, not of this project" in index
    assert "220 chat prompts" not in index


def test_golden_and_published_folders_build_as_one_site(tmp_path, capsys) -> None:
    out = tmp_path / "_site"
    args = ["--results", str(GOLDEN), "--results", str(SHIPPED)]
    code = main(["build", *args, "--out", str(out), "--strict"])
    assert code == 0, capsys.readouterr().err
    items, _, _, _ = load_records([GOLDEN, SHIPPED], skip_invalid=False)
    data = aggregate(items)
    tasks = set(data.tasks)
    assert {"chat", "mlenergy-v1.chat"} <= tasks
    # Measured boards hold measured rows only; the release's rows stay on their own tasks.
    for board in data.boards:
        sources = {row["source"] for row in board.rows}
        assert sources == ({"published"} if board.task.startswith("mlenergy-v1.") else {"measured"})
    # Each folder's records are copied into a folder of its own, so their paths cannot clash.
    copied = {p.name for p in (out / "data" / "records").iterdir()}
    names = root_names([GOLDEN, SHIPPED])
    assert copied == set(names.values()) and len(copied) == 2
    assert (out / "data" / "records" / names[SHIPPED] / "published" / "mlenergy-v1").is_dir()
    assert main(["validate", *args]) == 0
    assert (
        f"{V1_RECORDS + len(list(GOLDEN.rglob('*.json')))} record(s) ok" in capsys.readouterr().out
    )


def test_a_repeated_or_nested_results_folder_is_never_dropped_silently(tmp_path, capsys) -> None:
    items, warnings, _, _ = load_records([SHIPPED, SHIPPED], skip_invalid=False)
    assert len(items) == V1_RECORDS
    assert warnings == [f"--results {SHIPPED}: given more than once; read once"]
    with pytest.raises(RecordError, match="inside --results"):
        load_records([SHIPPED, SHIPPED / "published"], skip_invalid=False)
    assert main(["validate", "--results", str(SHIPPED), "--results", str(tmp_path / "no")]) == 1
    assert "results folder not found" in capsys.readouterr().err
    # A record present in two folders is a duplicate, as within one folder.
    copy = tmp_path / "copy"
    shutil.copytree(SHIPPED / "published", copy / "published")
    problems, _, _, _ = validate_results([SHIPPED, copy])
    assert len(problems) == V1_RECORDS and all("duplicate run_id" in p for p in problems)


def test_a_board_filters_by_gpu_count_and_shows_the_configuration(tmp_path) -> None:
    results = tmp_path / "results"
    shutil.copytree(GOLDEN, results)
    source = sorted(results.glob("performance/nvidia-h100-80gb-hbm3/*/chat/bs8-eager/*.json"))[0]
    data = json.loads(source.read_text())
    record = load_record(source)
    # The same point as a 2-GPU tensor-parallel configuration (schema 3, its own folder).
    current = record.model_dump(mode="json")
    current["run_id"] = record.run_id[:-8] + "2c0ffee2"
    current["identity"]["configuration"].update(num_devices=2, tensor_parallel=2)
    folder = results / "performance" / "nvidia-h100-80gb-hbm3" / data["identity"]["model_name"]
    folder = folder / "chat" / "bs8-eager-g2-tp2"
    folder.mkdir(parents=True)
    shutil.copyfile(source.parent / record.raw_data.file, folder / record.raw_data.file)
    (folder / f"{current['run_id']}.json").write_text(json.dumps(current))
    assert validate_results(results)[0] == []
    items, _, _, _ = load_records(results, skip_invalid=False)
    site = aggregate(items)
    board = site.board("chat--nvidia-h100-80gb-hbm3")
    assert board is not None and board.gpu_counts == [1, 2]
    mine = [r for r in board.rows if r["model_name"] == data["identity"]["model_name"]]
    two = [r for r in mine if r["num_devices"] == 2]
    assert len(two) == 1 and two[0]["layout"] == "TP2"
    assert two[0]["configuration"] == "2 GPUs · TP2 · bs 8"
    one = next(r for r in mine if r["num_devices"] == 1 and r["batch_size"] == 8)
    assert one["row_id"] != two[0]["row_id"]
    assert two[0]["avg_power_per_gpu_w"] == pytest.approx(two[0]["avg_power_w"] / 2)
    assert two[0]["throughput_per_gpu_tok_s"] == pytest.approx(two[0]["throughput_tok_s"] / 2)
    out = tmp_path / "_site"
    build_site(results, out, strict=True, bundle=BUNDLE)
    page = (out / "boards" / "chat--nvidia-h100-80gb-hbm3.html").read_text()
    assert re.search(r'<select id="gpus">\s*<option value="">all</option>', page)
    assert '<option value="2">2</option>' in page
    downloaded = json.loads((out / "data" / "leaderboard.json").read_text())
    assert {r["configuration"] for r in downloaded if r["num_devices"] == 2} == {
        "2 GPUs · TP2 · bs 8"
    }


def test_the_task_mapping_is_checked(tmp_path) -> None:
    assert load_task_mapping().mappings == {}  # the shipped file maps nothing
    path = tmp_path / "task_mapping.yaml"
    path.write_text("mappings:\n  mlenergy-v1:\n    chat: {same_as: chat, reason: short}\n")
    with pytest.raises(
        ConfigError, match=r"task_mapping\.yaml: mappings\.mlenergy-v1\.chat\.reason"
    ):
        load_task_mapping(path)
    path.write_text(
        "mappings:\n  mlenergy-v1:\n    chat: {same_as: nosuch, reason: the same prompts exactly}\n"
    )
    with pytest.raises(ConfigError, match=r"chat\.same_as: expected one of this project's tasks"):
        load_task_mapping(path, known_tasks={"chat", "instruct"})


# ---------------------------------------------------------------------------------------------
# In headless Chromium: no view opens empty on the release's boards.


@pytest.mark.browser
def test_no_default_view_is_empty_on_the_published_site(tmp_path_factory) -> None:
    from tests.site.test_browser import CHROMIUM, Watched, sync_api

    out = tmp_path_factory.mktemp("shipped-browser") / "_site"
    build_site(SHIPPED, out, strict=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        watched = Watched(browser)
        page = watched.open(out / "boards" / "mlenergy-v1.chat--nvidia-a100.html")
        # The explorer's default axes are ones the rows have (v1 publishes no energy per token).
        assert page.get_attribute("#chart-explore", "data-rendered") != "empty"
        assert page.query_selector_all("#chart-explore g.mark-symbol > path")
        page = watched.open(out / "tasks" / "mlenergy-v1.chat.html")
        assert page.get_attribute("#chart-cross", "data-rendered") != "empty"
        assert "on 3 hardware" in page.inner_text("#chart-cross-note")
        model = next((out / "models").glob("*.html"))
        page = watched.open(model)
        assert page.get_attribute("#chart-gpu", "data-rendered") != "empty"
        assert watched.errors == []
        browser.close()


@pytest.fixture(scope="module")
def v3_site() -> tuple[Path, Path]:
    """The mlenergy-v3 sample imported and built once per session (shared with other modules)."""
    from tests.support.site_builds import v3_results
    from tests.support.site_builds import v3_site as built

    return v3_results(), built()


def test_v3_configurations_of_one_model_stay_apart_on_a_board(v3_site) -> None:
    items, _, _, _ = load_records(v3_site[0], skip_invalid=False)
    data = aggregate(items)
    board = next(b for b in data.boards if b.task.endswith(".gpqa") and b.hardware == "nvidia-h100")
    assert board.gpu_counts == [1, 2, 4, 8]
    assert data.task_name(board.task) == "GPQA Diamond"
    assert len({r["row_id"] for r in board.rows}) == len(board.rows)
    by_gpus: dict[int, list[dict]] = {}
    for row in board.rows:
        by_gpus.setdefault(row["num_devices"], []).append(row)
    assert {row["layout"] for row in by_gpus[8]} >= {"TP2 · EP8 · DP4"}
    assert all(row["batching"] == "continuous" and row["max_num_seqs"] for row in board.rows)
    # A configuration the source lists twice (repeat runs) is two rows, both shown.
    repeats = [r for r in board.rows if r["occurrence"]]
    assert sorted(r["occurrence"] for r in repeats) == [1, 2]
    model_pages = [p.read_text() for p in (v3_site[1] / "models").glob("*.html")]
    assert sum('id="chart-output-length"' in page for page in model_pages) >= 1


@pytest.mark.browser
def test_the_gpu_filter_keeps_one_gpu_count(v3_site) -> None:
    from tests.site.test_browser import CHROMIUM, Watched, sync_api

    board = next((v3_site[1] / "boards").glob("*.gpqa--nvidia-h100.html"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        watched = Watched(browser)
        page = watched.open(board)
        everything = len(page.query_selector_all("#board-table tbody tr"))
        page.select_option("#gpus", "8")
        cells = page.eval_on_selector_all(
            '#board-table tbody td[data-key="num_devices"]', "cs => cs.map(c => c.textContent)"
        )
        assert cells and set(cells) == {"8"} and len(cells) < everything
        assert "gpus=8" in page.evaluate("location.hash")
        again = watched.open(board, page.evaluate("location.hash"))
        assert again.input_value("#gpus") == "8"
        assert watched.errors == []
        browser.close()


def test_validate_checks_the_task_mapping(tmp_path, capsys) -> None:
    from tests.support.site_support import conf_with_task_mapping

    conf = conf_with_task_mapping(
        tmp_path / "conf",
        {"mlenergy-v1": {"chat": {"same_as": "gpqa", "reason": "not one of our tasks at all"}}},
    )
    from runner.validate import validate_configs

    problems = validate_configs(conf)
    assert [p for p in problems if "task_mapping.yaml" in p] == [
        f"{conf / 'task_mapping.yaml'}: mappings.mlenergy-v1.chat.same_as: expected one of this "
        "project's tasks (chat, chat-concise, instruct, instruct-concise), got 'gpqa'"
    ]


def test_published_reference_scores_leave_a_measured_average_alone() -> None:
    """The demo measures accuracy with the offline quick suite; the shipped release publishes
    the reference tasks. Adding the release must not take the demo rows' average away."""
    golden, _, _, _ = load_records(GOLDEN, skip_invalid=False)
    quick = []
    for item in golden:
        record = item.record
        if record.kind == "accuracy":
            identity = record.identity.model_copy(
                update={"eval_task": "lb_quick_" + record.identity.eval_task, "num_fewshot": 0}
            )
            record = record.model_copy(update={"identity": identity})
        quick.append(type(item)(item.relpath, record, item.requests))
    alone = {r["row_id"]: r["accuracy_avg"] for r in aggregate(quick).rows}
    assert any(value is not None for value in alone.values())
    published, _, _, _ = load_records(SHIPPED, skip_invalid=False)
    together = aggregate([*quick, *published]).rows
    measured = {r["row_id"]: r["accuracy_avg"] for r in together if r["source"] == "measured"}
    assert measured == alone
    # The release's rows average its own reference scores.
    assert any(r["accuracy_avg"] is not None for r in together if r["source"] == "published")
