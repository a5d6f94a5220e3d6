"""Run folders: a benchmark job's records in a new DVC-tracked folder, found by every reader.

The whole loop (two PRs on one machine, merged in turn, no conflict) is
tests/test_workflow_e2e.py; this file checks the pieces: the round trip through the remote, and
that readers find calibrations and accuracy records inside run folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.compose import compose_run_config, hydra_context
from runner.errors import ConfigError
from runner.hardware.calibration import ensure_calibration, load_calibrations, run_calibration
from runner.hardware.derived import derive_rows
from runner.machine.provenance import hardware_slug
from runner.records.load import scan_results
from tests.support.pipeline_helpers import file_digests, run, tracked_repo

pytestmark = pytest.mark.slow


def test_push_delete_pull_gives_byte_identical_records(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    repo = tracked_repo(tmp_path_factory)
    run(["dvc", "push"], repo)
    results = repo / "results"
    before = file_digests(results)
    assert any("/performance/" in path and path.endswith(".json") for path in before)
    assert any("/calibration/" in path for path in before)
    [folder] = list(results.glob("runs/*/*/records"))
    # Only new files: the pointer and its .gitignore, in the run's own folder.
    tracked = run(["git", "ls-files", "results"], repo).stdout.split()
    assert sorted(Path(p).name for p in tracked if "runs" in p) == [".gitignore", "records.dvc"]
    shutil.rmtree(folder)
    shutil.rmtree(repo / ".dvc" / "cache")
    run(["dvc", "pull"], repo)
    assert file_digests(results) == before
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    # The pulled tree resolves every calibration_id, so the ceiling-based metrics exist.
    rows = derive_rows(scan_results(results).records)
    assert rows and all(row["bandwidth_floor_s"] is not None for row in rows)
    site = tmp_path / "_site"
    run(["leaderboard", "build", "--results", "results", "--out", str(site), "--strict"], repo)
    copied = site / "data" / "records" / folder.relative_to(results)
    assert file_digests(copied) == file_digests(folder)


def test_a_calibration_in_any_run_folder_is_reused(tmp_path: Path) -> None:
    results = tmp_path / "results"
    first = results / "runs" / "x" / "20260101T000000Z-1.1" / "records"
    _, record = run_calibration(first, device="cpu", dtype="float32", size="small")
    second = results / "runs" / "x" / "20260102T000000Z-2.1" / "records"
    assert ensure_calibration(results, "cpu", "float32", write_root=second) == record.run_id
    assert not second.exists()  # nothing measured again
    assert [c.run_id for c in load_calibrations(results, hardware_slug("cpu"))] == [record.run_id]
    # A dtype with none yet is measured into the new run folder, not at the top.
    new_id = ensure_calibration(results, "cpu", "bfloat16", write_root=second)
    assert (second / "calibration" / hardware_slug("cpu") / f"{new_id}.json").is_file()


def test_results_subdir_is_a_relative_path_of_safe_names(tmp_path: Path) -> None:
    with hydra_context():
        config = compose_run_config(["results_subdir=runs/cpu-x/20260101T000000Z-1.1/records"])
        assert config.results_subdir.endswith("/records")
        for bad in ("../x", "/abs", "runs//x", "a/../b"):
            with pytest.raises(ConfigError, match="results_subdir"):
                compose_run_config([f"results_subdir={bad}"])


def test_the_config_hash_does_not_depend_on_the_run_folder(tmp_path: Path) -> None:
    from runner.measure.point import config_hash

    with hydra_context():
        a = compose_run_config(["results_subdir=runs/x/20260101T000000Z-1.1/records"])
        b = compose_run_config([])
    assert config_hash(a) == config_hash(b)
    assert json.dumps(a.results_subdir)
