"""The GitHub Actions workflows: security rules read from the YAML, plus actionlint and zizmor."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
FULL_SHA = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
LABEL_GUARD = "github.event.label.name == 'benchmark'"
# (workflow, job) -> the write scopes it may hold; every other scope is read or absent. The
# benchmark legs push with a GitHub App's token, so their GITHUB_TOKEN stays read-only.
ALLOWED_WRITES = {
    ("benchmark.yml", "start"): {"pull-requests"},
    ("benchmark.yml", "comment"): {"pull-requests"},
    ("pages.yml", "deploy"): {"pages", "id-token"},
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def runs_on(job: dict[str, Any]) -> list[str]:
    value = job.get("runs-on", [])
    return [value] if isinstance(value, str) else list(value)


def text_of(value: Any) -> str:
    return yaml.safe_dump(value)


def test_the_three_workflows_exist() -> None:
    assert {"ci.yml", "benchmark.yml", "pages.yml"} <= set(all_workflows())


def test_triggers() -> None:
    ci = load("ci.yml")["on"]
    assert "push" in ci and "pull_request" in ci
    bench = load("benchmark.yml")["on"]
    # pull_request (not pull_request_target): a fork's code never sees secrets or a write token.
    assert set(bench) == {"pull_request"}
    assert bench["pull_request"]["paths"] == ["conf/model/**"]
    # Only the act of labelling starts it: a later push (synchronize) runs nothing.
    assert bench["pull_request"]["types"] == ["labeled"]
    pages = load("pages.yml")["on"]
    assert set(pages) <= {"push", "workflow_dispatch"}
    assert pages["push"]["branches"] == ["main"]


def guarded(workflow: dict[str, Any], job_name: str) -> bool:
    """The job's own condition, or a job it needs, holds both the fork and the label guard."""
    job = workflow["jobs"][job_name]
    condition = " ".join(str(job.get("if", "")).split())
    if FORK_GUARD in condition and LABEL_GUARD in condition and "||" not in condition:
        return True
    needs = job.get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return any(guarded(workflow, need) for need in needs)


def test_gpu_jobs_never_run_for_forks_and_need_the_label() -> None:
    found = 0
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if "self-hosted" not in runs_on(job):
                continue
            found += 1
            assert guarded(workflow, job_name), f"{name}:{job_name}: unlabelled or fork runs"
    assert found >= 1
    bench = load("benchmark.yml")
    gpu = bench["jobs"]["benchmark"]
    assert runs_on(gpu)[:2] == ["self-hosted", "gpu"] and "${{ matrix.label }}" in runs_on(gpu)
    # The matrix comes from the runner registry (conf/runners.yaml), through the start job.
    assert gpu["strategy"]["matrix"] == "${{ fromJSON(needs.start.outputs.matrix) }}"
    start_steps = " ".join(step.get("run", "") for step in bench["jobs"]["start"]["steps"])
    assert "runner-matrix" in start_steps and "pr-unlabel" in start_steps
    steps = [step.get("run", "") for step in gpu["steps"]]
    check = next(i for i, run in enumerate(steps) if "runner-check" in run)
    benchmark = next(i for i, run in enumerate(steps) if "pr-benchmark" in run)
    assert check < benchmark, "the machine is checked before anything is benchmarked"
    # The comment job runs when a leg failed, and says so.
    assert "always()" in bench["jobs"]["comment"]["if"]


def test_secrets_only_in_the_labelled_job_or_trusted_main() -> None:
    for name, workflow in all_workflows().items():
        pr_triggered = "pull_request" in workflow["on"] or "pull_request_target" in workflow["on"]
        assert "secrets." not in text_of({k: v for k, v in workflow.items() if k != "jobs"})
        for job_name, job in workflow["jobs"].items():
            if "secrets." not in text_of(job):
                continue
            if pr_triggered:
                assert guarded(workflow, job_name), (
                    f"{name}:{job_name} reads secrets without the label and fork guards"
                )
            else:
                assert set(workflow["on"]) <= {"push", "workflow_dispatch"}, name
    hf = [
        (name, job_name)
        for name, workflow in all_workflows().items()
        for job_name, job in workflow["jobs"].items()
        if "secrets.HF_TOKEN" in text_of(job)
    ]
    assert hf == [("benchmark.yml", "benchmark")]
    assert "secrets." not in (WORKFLOWS / "ci.yml").read_text()


def test_bot_pushes_use_an_app_token_not_github_token() -> None:
    """A push made with GITHUB_TOKEN starts no workflow, so CI would never run on it."""
    gpu = load("benchmark.yml")["jobs"]["benchmark"]
    token_steps = [s for s in gpu["steps"] if "create-github-app-token" in str(s.get("uses"))]
    assert len(token_steps) == 1
    push = next(s for s in gpu["steps"] if "git" in s.get("run", "") and " push " in s["run"])
    assert push["env"]["APP_TOKEN"] == "${{ steps.app-token.outputs.token }}"
    assert "github.token" not in text_of(push) and "GITHUB_TOKEN" not in text_of(push)
    # The bot commits only the new run folder's pointer files.
    assert 'git add -- "${folder}/records.dvc" "${folder}/.gitignore"' in push["run"]


def test_permissions_are_minimal() -> None:
    for name, workflow in all_workflows().items():
        top = workflow.get("permissions")
        assert (
            top == {}
            or top == "read-all"
            or (isinstance(top, dict) and set(top.values()) <= {"read", "none"})
        ), f"{name}: top-level permissions {top!r}"
        for job_name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}:{job_name} has no explicit permissions"
            scopes = job["permissions"]
            assert isinstance(scopes, dict), f"{name}:{job_name}: {scopes!r}"
            writes = {scope for scope, level in scopes.items() if level == "write"}
            assert writes <= ALLOWED_WRITES.get((name, job_name), set()), (
                f"{name}:{job_name} writes {sorted(writes)}"
            )
            assert set(scopes.values()) <= {"read", "write", "none"}


def test_every_action_is_pinned_by_a_full_sha() -> None:
    uses = []
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            uses += [(name, step["uses"]) for step in job.get("steps", []) if "uses" in step]
            if "uses" in job:
                uses.append((name, job["uses"]))
    assert uses
    for name, ref in uses:
        if ref.startswith("./"):
            continue
        assert FULL_SHA.match(ref), f"{name}: {ref} is not pinned by a 40-hex commit SHA"


def test_no_expression_inside_run_scripts() -> None:
    """`${{ }}` in a shell script is template injection; values come in through env."""
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{name}:{job_name}: {step['run']}"
                script = step.get("with", {}).get("script", "")
                assert "${{" not in script, f"{name}:{job_name}: expression in a script"


def test_checkouts_do_not_persist_credentials() -> None:
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, name


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_actionlint_has_no_findings() -> None:
    result = subprocess.run(
        [_tool("actionlint"), "-no-color"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_zizmor_has_no_findings() -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", ".github/workflows"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr
