"""The DVC pipeline, for real and offline: repro, re-run only what changed, push/pull, merge.

The calibrate stage of each hardware runs first and owns `results/calibration/<hardware>/`;
the tests check that every file under results/ is some stage's output and that pulled trees
resolve every record's `calibration_id`.

Every command runs on a git-initialised copy of the repository with the tiny offline model
(tests/support/pipeline_helpers.py). The site build is checked only where `leaderboard build`
exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from runner.hardware.derived import derive_rows
from runner.records.calibration import CalibrationRecord
from runner.records.load import scan_results
from runner.records.performance import PerformanceRecord
from tests.support.pipeline_helpers import (
    env_for,
    file_digests,
    make_repo_copy,
    reproduce,
    reproduced_repo,
    run,
    set_local_remote,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reproduced_repo(tmp_path_factory)


def _slug(repo: Path) -> str:
    return next((repo / "pipelines").iterdir()).name


def _stages(lock: Path) -> dict[str, dict]:
    return yaml.safe_load(lock.read_text())["stages"]


def _untracked_results(repo: Path) -> list[str]:
    """Files under results/ that no stage's output (in any dvc.lock) covers."""
    outs = [
        out["path"]
        for lock in [repo / "dvc.lock", *(repo / "pipelines").glob("*/dvc.lock")]
        if lock.is_file()
        for stage in _stages(lock).values()
        for out in stage.get("outs", [])
    ]
    return [
        f"results/{path}"
        for path in file_digests(repo / "results")
        if path != ".gitkeep" and not any(f"results/{path}".startswith(f"{o}/") for o in outs)
    ]


def _check_calibrations_resolve(results: Path) -> list[CalibrationRecord]:
    """Every performance record's calibration_id names a calibration record of its hardware."""
    scan = scan_results(results)
    assert scan.problems == []
    calibrations = {r.run_id: r for _, r in scan.records if isinstance(r, CalibrationRecord)}
    performance = [r for _, r in scan.records if isinstance(r, PerformanceRecord)]
    assert performance
    for record in performance:
        assert record.calibration_id in calibrations, record.run_id
        linked = calibrations[record.calibration_id]
        assert linked.hardware_slug == record.identity.hardware_slug
        assert linked.dtype == record.model.dtype
    return list(calibrations.values())


def test_repro_writes_valid_records_and_a_per_hardware_lock(repo: Path) -> None:
    slug = _slug(repo)
    lock = repo / "pipelines" / slug / "dvc.lock"
    assert set(_stages(lock)) == {
        "calibrate",
        "benchmark@tiny-random-chat",
        "benchmark@tiny-random-instruct",
    }
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
    # 2 performance records + the one machine calibration (float32, the tiny model's dtype) the
    # calibrate stage measured and both benchmark stages reused.
    assert "3 record(s) ok" in validate.stdout
    assert [c.dtype for c in _check_calibrations_resolve(repo / "results")] == ["float32"]
    # Every file under results/ is some stage's output: the calibrate stage owns the
    # calibration folder, so no benchmark stage wrote a file outside its own outs.
    assert _untracked_results(repo) == []
    calibrate = _stages(lock)["calibrate"]
    assert calibrate["outs"][0]["path"] == f"results/calibration/{slug}"
    assert calibrate["outs"][0]["nfiles"] == 1
    for name in ("benchmark@tiny-random-chat", "benchmark@tiny-random-instruct"):
        deps = {dep["path"]: dep for dep in _stages(lock)[name]["deps"]}
        assert deps[f"results/calibration/{slug}"]["md5"] == calibrate["outs"][0]["md5"]


def test_repro_reruns_only_the_changed_config_and_keeps_old_records(repo: Path) -> None:
    slug = _slug(repo)
    perf = repo / "results" / "performance" / slug / "tiny-random"
    before = file_digests(perf)
    calibrations = file_digests(repo / "results" / "calibration")
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
    # The calibrate stage did not re-run and the new run reused its calibration.
    assert f"Stage 'pipelines/{slug}/dvc.yaml:calibrate' didn't change" in result.stdout
    assert file_digests(repo / "results" / "calibration") == calibrations
    assert _untracked_results(repo) == []
    _check_calibrations_resolve(repo / "results")
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "instruct reworded"], repo)


def test_push_delete_pull_gives_byte_identical_records(repo: Path, tmp_path: Path) -> None:
    run(["dvc", "push"], repo)
    results = repo / "results"
    before = file_digests(results)
    assert any(path.endswith(".json") and "performance/" in path for path in before)
    assert any(path.endswith(".json") and "calibration/" in path for path in before)
    shutil.rmtree(results / "performance")
    shutil.rmtree(results / "calibration")
    shutil.rmtree(repo / ".dvc" / "cache")
    run(["git", "checkout", "--", "results"], repo)
    # Strict for the benchmark stages; --allow-missing (as pages.yml) for stages never run yet
    # (accuracy needs `leaderboard eval`), which have no lock entry and so nothing to pull.
    pulled = run(["dvc", "pull", f"pipelines/{_slug(repo)}/dvc.yaml"], repo)
    assert "fetched" in pulled.stdout.lower() or "added" in pulled.stdout.lower()
    assert file_digests(results) == before  # calibration records included, byte-identical
    run(["dvc", "pull", "--allow-missing"], repo)
    assert file_digests(results) == before
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    # The pulled tree resolves every calibration_id, so the ceiling-based metrics exist.
    (calibration,) = _check_calibrations_resolve(results)
    rows = derive_rows(scan_results(results).records)
    assert rows and all(row["calibration_id"] == calibration.run_id for row in rows)
    assert all(row["bandwidth_floor_s"] is not None for row in rows), rows[0]["notes"]
    site = tmp_path / "_site"
    run(["leaderboard", "build", "--results", "results", "--out", str(site)], repo)
    assert (site / "index.html").is_file()
    published = site / "data" / "records" / "calibration" / calibration.hardware_slug
    assert (published / f"{calibration.run_id}.json").read_bytes() == (
        results / "calibration" / calibration.hardware_slug / f"{calibration.run_id}.json"
    ).read_bytes()


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
    stages = [
        f"pipelines/{slug}/dvc.yaml:{stage}"
        for slug in slugs.values()
        for stage in ("calibrate", "benchmark@tiny-random-chat")
    ]
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
    # The records B produced, and its calibration, arrived byte-identical through the remote.
    for kind in ("performance", "calibration"):
        b_files = file_digests(b / "results" / kind / slugs["runner-b"])
        assert b_files and file_digests(a / "results" / kind / slugs["runner-b"]) == b_files
    assert _untracked_results(a) == []
    _check_calibrations_resolve(a / "results")


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
