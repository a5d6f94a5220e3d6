"""CI workflow rules beyond tests/publish/test_workflows.py, and the workflow figures.

tests/publish/test_workflows.py holds the core rules (fork guard, label guard, secrets, permissions,
SHA pins, no expressions in scripts, a PR's content only as data, bash with pipefail, actionlint,
zizmor). This file adds: no `workflow_run` or `issue_comment` trigger, `pull_request_target` only
where the PR is read as data and never run, no `secrets: inherit`, deploy only from main, and a
per-job DVC site cache wherever a self-hosted job pushes to DVC; then it runs every rule of both
files once more to count the violations for benchmarks/RELIABILITY.md.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import tests.publish.test_workflows as core
from tests.support.reliability_support import pytest_command, report

PRIVILEGED_TRIGGERS = {"workflow_run", "issue_comment"}


def test_privileged_triggers_never_run_pr_code() -> None:
    """Triggers that run with the base repository's secrets never meet code a PR author controls.

    `workflow_run` and `issue_comment` are not used at all. `pull_request_target` (the base
    branch's workflow, with secrets) only where every job checks the PR out beside the base code,
    into `pr/`, and only reads it (core.test_a_prs_content_is_only_ever_data).
    """
    for name, workflow in core.all_workflows().items():
        assert not PRIVILEGED_TRIGGERS & set(workflow["on"]), f"{name}: {sorted(workflow['on'])}"
    core.test_a_prs_content_is_only_ever_data()


def test_no_secrets_inherit() -> None:
    for name, workflow in core.all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            assert job.get("secrets") != "inherit", f"{name}:{job_name} passes every secret on"


def test_deploy_only_from_main() -> None:
    pages = core.load("pages.yml")
    assert set(pages["on"]) <= {"push", "workflow_dispatch"}
    assert pages["on"]["push"]["branches"] == ["main"]
    for job_name, job in pages["jobs"].items():
        if any("deploy-pages" in str(step.get("uses", "")) for step in job.get("steps", [])):
            condition = " ".join(str(job.get("if", "")).split())
            assert "github.ref == 'refs/heads/main'" in condition, f"pages.yml:{job_name}"


def test_self_hosted_dvc_pushes_use_a_per_job_site_cache() -> None:
    """An interrupted push leaves a stale index in DVC's site cache (docs/reliability.md)."""
    found = 0
    for name, workflow in core.all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if "self-hosted" not in core.runs_on(job):
                continue
            per_job = False
            for step in job.get("steps", []):
                run = step.get("run", "")
                env = {**job.get("env", {}), **step.get("env", {})}
                if "DVC_SITE_CACHE_DIR=${RUNNER_TEMP}" in run and "GITHUB_ENV" in run:
                    per_job = True
                if "runner.temp" in str(env.get("DVC_SITE_CACHE_DIR", "")):
                    per_job = True
                if "dvc push" in run or '/dvc" push' in run:
                    found += 1
                    assert per_job, f"{name}:{job_name}: dvc push without a per-job site cache"
    assert found >= 1


RULES: list[tuple[str, Callable[[], None]]] = [
    ("triggers", core.test_triggers),
    ("GPU job: never a fork, needs the label",
     core.test_gpu_jobs_never_run_for_forks_and_need_the_label),
    ("secrets only behind the guards",
     core.test_secrets_only_in_the_labelled_job_or_trusted_main),
    ("minimal permissions per job", core.test_permissions_are_minimal),
    ("third-party actions pinned by SHA", core.test_every_action_is_pinned_by_a_full_sha),
    ("no expressions in run scripts", core.test_no_expression_inside_run_scripts),
    ("checkouts keep no credentials", core.test_checkouts_do_not_persist_credentials),
    ("privileged triggers never run PR code", test_privileged_triggers_never_run_pr_code),
    ("a PR's content only as data", core.test_a_prs_content_is_only_ever_data),
    ("bash with pipefail everywhere", core.test_every_workflow_runs_bash_with_pipefail),
    ("no secrets: inherit", test_no_secrets_inherit),
    ("deploy only from main", test_deploy_only_from_main),
    ("per-job DVC site cache", test_self_hosted_dvc_pushes_use_a_per_job_site_cache),
    ("bot pushes start CI (App token)", core.test_bot_pushes_use_an_app_token_not_github_token),
]  # fmt: skip


def linter_findings() -> tuple[int, int]:
    """(actionlint findings, zizmor findings) over .github/workflows."""
    lint = subprocess.run(
        [core._tool("actionlint"), "-no-color", "-format", "{{range $err := .}}x\n{{end}}"],
        cwd=core.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    actionlint = lint.stdout.count("x\n") if lint.returncode else 0
    zizmor = subprocess.run(
        [core._tool("zizmor"), "--offline", "--no-progress", "--format", "plain",
         ".github/workflows"],
        cwd=core.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    text = zizmor.stdout + zizmor.stderr
    zizmor_count = 0 if "No findings to report" in text else max(1, text.count("\n --> "))
    return actionlint, zizmor_count


def test_workflow_figures() -> None:
    violated = []
    for label, rule in RULES:
        try:
            rule()
        except AssertionError as error:
            violated.append(f"{label}: {str(error).splitlines()[0]}")
    actionlint, zizmor = linter_findings()
    jobs = sum(len(w["jobs"]) for w in core.all_workflows().values())
    report(
        "workflows",
        "workflow rules, actionlint, zizmor",
        tried=len(RULES) + 2,
        executed=len(violated) + actionlint + zizmor,
        command=pytest_command(
            "tests/publish/test_workflows.py tests/reliability/test_workflows.py"
        ),
        note=(
            f"{len(RULES)} rules over {len(core.all_workflows())} workflows / {jobs} jobs; "
            f"violations {len(violated)}, actionlint findings {actionlint}, zizmor findings "
            f"{zizmor}"
        ),
    )
    assert violated == []
    assert (actionlint, zizmor) == (0, 0)
