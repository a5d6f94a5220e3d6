"""The DVC pipeline, for real and offline: repro, re-run only what changed, push/pull, merge.

Every command runs on a git-initialised copy of the repository with the tiny offline model
(tests/pipeline_helpers.py). The site build is checked only where `leaderboard build` exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import (
    env_for,
    file_digests,
    has_subcommand,
    make_repo_copy,
    reproduce,
    reproduced_repo,
    run,
    set_local_remote,
)

from runner.record import PerformanceRecord
from runner.records import scan_results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reproduced_repo(tmp_path_factory)


def _slug(repo: Path) -> str:
    return next((repo / "pipelines").iterdir()).name


def _stages(lock: Path) -> dict[str, dict]:
    return yaml.safe_load(lock.read_text())["stages"]


def test_repro_writes_valid_records_and_a_per_hardware_lock(repo: Path) -> None:
    slug = _slug(repo)
    lock = repo / "pipelines" / slug / "dvc.lock"
    assert set(_stages(lock)) == {"benchmark@tiny-random-chat", "benchmark@tiny-random-instruct"}
    scan = scan_results(repo / "results")
    assert scan.problems == []
    records = [r for _, r in scan.records if isinstance(r, PerformanceRecord)]
    assert {(r.identity.task, r.identity.hardware_slug) for r in records} == {
        ("chat", slug),
        ("instruct", slug),
    }
    # Records are ignored by git (DVC's .gitignore) and the workspace matches the lock.
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    status = run(["dvc", "status", f"pipelines/{slug}/dvc.yaml"], repo).stdout
    assert "changed" not in status and "modified" not in status
    validate = run(["leaderboard", "validate", "--results", "results"], repo)
    # 2 performance records + the machine calibration they link to. The calibration is written
    # under results/calibration/<hardware>/, outside the benchmark stages' DVC outs (follow-up:
    # a per-hardware calibrate stage, see docs/hardware-metrics.md).
    assert "3 record(s) ok" in validate.stdout


def test_repro_reruns_only_the_changed_config_and_keeps_old_records(repo: Path) -> None:
    slug = _slug(repo)
    perf = repo / "results" / "performance" / slug / "tiny-random"
    before = file_digests(perf)
    task = repo / "conf" / "task" / "instruct.yaml"
    task.write_text(task.read_text() + "# reworded: forces a new instruct run\n")
    result = run(["dvc", "repro", f"pipelines/{slug}/dvc.yaml"], repo)
    assert "benchmark@tiny-random-instruct" in result.stdout
    assert "Running stage 'pipelines/" + slug + "/dvc.yaml:benchmark@tiny-random-chat'" not in (
        result.stdout
    )
    after = file_digests(perf)
    # Nothing deleted or changed; the instruct stage added one record and its raw data.
    assert all(after[path] == digest for path, digest in before.items())
    added = sorted(set(after) - set(before))
    assert len(added) == 2 and all(p.startswith("instruct/bs1-eager/") for p in added)
    lock = _stages(repo / "pipelines" / slug / "dvc.lock")
    assert lock["benchmark@tiny-random-instruct"]["outs"][0]["nfiles"] == 4
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "instruct reworded"], repo)


def test_push_delete_pull_gives_byte_identical_records(repo: Path, tmp_path: Path) -> None:
    run(["dvc", "push"], repo)
    results = repo / "results"
    before = file_digests(results)
    assert any(path.endswith(".json") and "performance/" in path for path in before)
    shutil.rmtree(results / "performance")
    shutil.rmtree(repo / ".dvc" / "cache")
    run(["git", "checkout", "--", "results"], repo)
    # Strict for the benchmark stages; --allow-missing (as pages.yml) for stages never run yet
    # (accuracy needs `leaderboard eval`), which have no lock entry and so nothing to pull.
    pulled = run(["dvc", "pull", f"pipelines/{_slug(repo)}/dvc.yaml"], repo)
    assert "fetched" in pulled.stdout.lower() or "added" in pulled.stdout.lower()
    assert file_digests(results) == before
    run(["dvc", "pull", "--allow-missing"], repo)
    assert file_digests(results) == before
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    if not has_subcommand("build"):
        pytest.skip("`leaderboard build` is not in this checkout yet; site rebuild not checked")
    site = tmp_path / "_site"
    run(["leaderboard", "build", "--results", "results", "--out", str(site)], repo)
    assert (site / "index.html").is_file()


def test_two_runners_merge_without_conflicts(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two runners (different hardware slugs) benchmark, commit, push; the merge is clean."""
    base = tmp_path_factory.mktemp("two-runners")
    remote = base / "remote"
    clones: dict[str, Path] = {}
    slugs: dict[str, str] = {}
    for name in ("runner-a", "runner-b"):
        clone = base / name
        run(["git", "clone", "-q", str(repo), str(clone)], base)
        set_local_remote(clone, remote)
        run(["git", "checkout", "-q", "-b", name], clone)
        env = env_for(clone, LEADERBOARD_HARDWARE_SUFFIX=name)
        slugs[name] = reproduce(clone, ["tiny-random"], env, first_only=True)
        run(["git", "add", "-A"], clone)
        run(["git", "commit", "-q", "-m", f"results from {name}"], clone)
        run(["dvc", "push"], clone)
        clones[name] = clone
    assert slugs["runner-a"] != slugs["runner-b"]
    a, b = clones["runner-a"], clones["runner-b"]
    run(["git", "fetch", "-q", str(b), "runner-b"], a)
    merge = run(["git", "merge", "--no-edit", "FETCH_HEAD"], a, check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    stages = [f"pipelines/{slug}/dvc.yaml:benchmark@tiny-random-chat" for slug in slugs.values()]
    run(["dvc", "pull", *stages], a)
    status = run(["dvc", "status", *stages], a).stdout
    assert "changed" not in status and "modified" not in status and "deleted" not in status
    assert run(["git", "status", "--porcelain"], a).stdout == ""
    scan = scan_results(a / "results")
    assert scan.problems == []
    hardware = {
        r.identity.hardware_slug for _, r in scan.records if isinstance(r, PerformanceRecord)
    }
    assert set(slugs.values()) <= hardware
    # The records B produced arrived byte-identical through the shared remote.
    b_perf = b / "results" / "performance" / slugs["runner-b"]
    a_perf = a / "results" / "performance" / slugs["runner-b"]
    assert file_digests(a_perf) == file_digests(b_perf)


def test_two_prs_adding_models_merge_params_with_the_union_driver(tmp_path: Path) -> None:
    """Two PRs each append a model to params.yaml: .gitattributes' union keeps both lines."""
    repo = make_repo_copy(tmp_path / "origin")
    for name in ("model-a", "model-b"):
        run(["git", "checkout", "-q", "-b", name, "main"], repo)
        params = repo / "params.yaml"
        params.write_text(params.read_text() + f"  - {name}\n")
        ignore = repo / "results" / "accuracy" / ".gitignore"
        ignore.parent.mkdir(parents=True, exist_ok=True)
        ignore.write_text(f"/{name}\n")
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-q", "-m", f"add {name}"], repo)
    run(["git", "checkout", "-q", "model-a"], repo)
    merge = run(["git", "merge", "--no-edit", "model-b"], repo, check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    models = yaml.safe_load((repo / "params.yaml").read_text())["models"]
    assert models == ["tiny-random", "model-a", "model-b"]
    ignored = (repo / "results" / "accuracy" / ".gitignore").read_text().split()
    assert sorted(ignored) == ["/model-a", "/model-b"]
