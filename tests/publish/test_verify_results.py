"""`leaderboard verify-results`: nothing is published unless every declared record arrived."""

from __future__ import annotations

import shutil
from pathlib import Path

from runner.cli import main
from runner.publish.verify import verify_results
from tests.support.pipeline_helpers import BIN, env_for, run
from tests.support.site_support import GOLDEN

MLENERGY = Path(__file__).resolve().parents[1] / "fixtures" / "published" / "mlenergy_v1"


def tracked_repo(tmp_path: Path) -> Path:
    """A git + DVC repo whose results/runs/x/1/records folder is tracked by a pointer."""
    repo = tmp_path / "repo"
    records = repo / "results" / "runs" / "cpu-x" / "20260101T000000Z-1.1" / "records"
    shutil.copytree(GOLDEN, records)
    env = env_for(repo)
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run([str(BIN / "dvc"), "init", "-q"], repo, env)
    run([str(BIN / "dvc"), "add", "-q", str(records.relative_to(repo))], repo, env)
    return repo


def test_a_complete_pull_passes(tmp_path: Path, capsys) -> None:
    repo = tracked_repo(tmp_path)
    problems, pointers = verify_results(repo, repo / "results", dvc=str(BIN / "dvc"))
    assert problems == [] and pointers == 1
    code = main(["verify-results", "--repo", str(repo), "--results", str(repo / "results"),
                 "--dvc", str(BIN / "dvc")])  # fmt: skip
    assert code == 0 and "every declared record is present" in capsys.readouterr().out


def test_a_missing_or_changed_record_is_named_and_refused(tmp_path: Path, capsys) -> None:
    repo = tracked_repo(tmp_path)
    records = next((repo / "results").rglob("records"))
    victim = next(records.rglob("*.json"))
    victim.unlink()
    problems, _ = verify_results(repo, repo / "results", dvc=str(BIN / "dvc"))
    assert len(problems) == 1 and "records.dvc" in problems[0] and "not pulled" in problems[0]
    shutil.rmtree(records)
    code = main(["verify-results", "--repo", str(repo), "--results", str(repo / "results"),
                 "--dvc", str(BIN / "dvc")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "is missing (not pulled)" in err and "nothing may be published" in err


def test_an_empty_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    problems, pointers = verify_results(tmp_path, tmp_path / "results")
    assert pointers == 0 and "refusing to publish an empty site" in problems[0]


def test_committed_published_records_without_any_pointer_pass(tmp_path: Path, capsys) -> None:
    """Before any benchmark: imported published records (plain git), no DVC pointer at all."""
    results = tmp_path / "results"
    assert main(["import", "mlenergy-v1", str(MLENERGY), "--results", str(results)]) == 0
    problems, pointers = verify_results(tmp_path, results)
    assert problems == [] and pointers == 0
    capsys.readouterr()
    assert main(["verify-results", "--repo", str(tmp_path), "--results", str(results)]) == 0
    assert "no DVC pointer yet; the records committed to git" in capsys.readouterr().out
