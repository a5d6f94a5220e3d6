"""The GitHub Actions workflows: rules read from the YAML, actionlint and zizmor, and the emulator.

The rules: least permissions, SHA-pinned actions, no expression inside a script, secrets only
behind the label and fork guards, a PR's content only ever read as data by the base branch's
code, bash with pipefail as every workflow's default shell. The emulator
(tests/support/workflow_runner.py) is checked where a wrong emulation would make the end-to-end
test pass for the wrong reason: shells, triggers and concurrency.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.workflow_runner import (
    ConcurrencyQueue,
    concurrency_groups,
    shell_command,
    triggered,
)

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


def test_the_workflows_exist() -> None:
    assert {"ci.yml", "benchmark.yml", "benchmark-status.yml", "pages.yml"} <= set(all_workflows())


def test_triggers() -> None:
    ci = load("ci.yml")["on"]
    assert "push" in ci and "pull_request" in ci
    bench = load("benchmark.yml")["on"]
    # pull_request_target: the base branch's workflow and code run, so a PR cannot change what
    # runs next to the secrets; the PR's content is read as data only (see below).
    assert set(bench) == {"pull_request_target"}
    assert bench["pull_request_target"]["paths"] == ["conf/model/**"]
    # Only the act of labelling starts it: a later push (synchronize) runs nothing.
    assert bench["pull_request_target"]["types"] == ["labeled"]
    # The status check runs on every push to every PR (a required check must always report).
    status = load("benchmark-status.yml")["on"]
    assert set(status) == {"pull_request_target"}
    assert status["pull_request_target"] == {"types": ["opened", "synchronize", "reopened"]}
    pages = load("pages.yml")["on"]
    assert set(pages) <= {"push", "workflow_dispatch"}
    assert pages["push"]["branches"] == ["main"]


def pr_event(action: str = "labeled") -> dict[str, Any]:
    return {"action": action, "pull_request": {"base": {"ref": "main"}}}


def test_the_emulated_triggers_follow_the_filters() -> None:
    """A PR that changes only code starts no benchmark; one that adds a config does."""
    bench = load("benchmark.yml")
    assert triggered(bench, "pull_request_target", pr_event(), ["conf/model/x.yaml", "README.md"])
    assert not triggered(bench, "pull_request_target", pr_event(), ["runner/cli.py"])
    assert not triggered(bench, "pull_request_target", pr_event("synchronize"), ["conf/model/x"])
    assert not triggered(bench, "pull_request", pr_event(), ["conf/model/x.yaml"])
    status = load("benchmark-status.yml")
    assert triggered(status, "pull_request_target", pr_event("synchronize"), ["README.md"])
    pages = load("pages.yml")
    assert triggered(pages, "push", {"ref": "refs/heads/main"}, [])
    assert not triggered(pages, "push", {"ref": "refs/heads/feature"}, [])


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
    push = next(s for s in gpu["steps"] if "land-run-folder.sh" in s.get("run", ""))
    assert push["env"]["APP_TOKEN"] == "${{ steps.app-token.outputs.token }}"
    assert "github.token" not in text_of(push) and "GITHUB_TOKEN" not in text_of(push)
    # The bot commits only the new run folder's pointer files, onto the branch as it is then.
    script = (REPO_ROOT / "scripts" / "land-run-folder.sh").read_text()
    assert 'add -- "${folder}/records.dvc" "${folder}/.gitignore"' in script
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any("pull --rebase" in line or "git rebase" in line for line in commands)


PR_REFS = (
    "${{ github.event.pull_request.head.sha }}",
    "${{ github.event.pull_request.head.ref }}",
    "${{ needs.start.outputs.head_sha }}",
)
BASE_REFS = (None, "${{ needs.start.outputs.code_sha }}")


def test_a_prs_content_is_only_ever_data() -> None:
    """pull_request_target jobs check the PR out beside the base code and never run it."""
    for name, workflow in all_workflows().items():
        if "pull_request_target" not in workflow["on"]:
            continue
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                where = f"{name}:{job_name}: {step.get('name') or step.get('uses')}"
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    inputs = step.get("with", {})
                    if inputs.get("path") == "pr":
                        assert inputs.get("ref") in PR_REFS, where
                    else:
                        assert "path" not in inputs and inputs.get("ref") in BASE_REFS, where
                run = step.get("run", "")
                # The PR's tree is only read: by pr-intake, benchmark-status, git -C pr, and
                # the script that commits onto the PR branch.
                rest = run.replace("--pr-tree pr", "").replace("git -C pr ", "")
                rest = rest.replace("land-run-folder.sh pr ", "")
                assert not re.findall(r"(?<![\w$-])pr(?![\w-])", rest), f"{where}: {rest}"


def test_every_workflow_runs_bash_with_pipefail() -> None:
    for name, workflow in all_workflows().items():
        assert workflow.get("defaults") == {"run": {"shell": "bash"}}, name
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert step.get("shell", "bash") == "bash", name


def test_an_undeclared_shell_hides_a_failing_pipe(tmp_path: Path) -> None:
    """What GitHub does, and why every workflow declares its shell (the emulator follows)."""
    script = tmp_path / "step.sh"
    script.write_text("false | cat\necho reached\n")
    step = {"run": script.read_text()}
    undeclared = shell_command(step, {}, {}, script)
    declared = shell_command(step, {}, {"defaults": {"run": {"shell": "bash"}}}, script)
    assert undeclared == ["bash", "-e", str(script)]
    assert declared == ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    silent = subprocess.run(undeclared, capture_output=True, text=True, check=False)
    assert silent.returncode == 0 and "reached" in silent.stdout
    loud = subprocess.run(declared, capture_output=True, text=True, check=False)
    assert loud.returncode != 0 and "reached" not in loud.stdout


def test_the_emulator_cancels_queued_work_as_github_does() -> None:
    """One running and one pending per group: a third cancels the pending one, silently."""
    job = {"concurrency": {"group": "runner-${{ matrix.label }}", "cancel-in-progress": False}}
    queue = ConcurrencyQueue()
    for item in ("a", "b", "c"):
        queue.arrive(item, concurrency_groups(job["concurrency"], {"matrix": {"label": "h100"}}))
    assert queue.cancelled == ["b"]
    queue = ConcurrencyQueue()
    for item in ("a", "b"):
        queue.arrive(item, concurrency_groups({"group": "g", "cancel-in-progress": True}, {}))
    assert queue.cancelled == ["a"]
    # The benchmark workflow has no group at all, at run or job level: nothing is cancelled.
    bench = load("benchmark.yml")
    assert "concurrency" not in bench
    assert all("concurrency" not in job for job in bench["jobs"].values())


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


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_has_no_findings(persona: str) -> None:
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}",
         ".github/workflows"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_the_pipeline_extra_brings_every_remote_plugin_the_docs_name() -> None:
    """`pip install .[pipeline]` is enough for a runner or a hosted job to reach the remote."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extra = set(project["optional-dependencies"]["pipeline"])
    docs = (REPO_ROOT / "docs" / "pipeline.md").read_text()
    named = set(re.findall(r"\| `(dvc-[a-z0-9]+)`", docs))
    assert {"dvc-s3", "dvc-gs", "dvc-azure", "dvc-ssh"} <= named
    assert named <= extra
    constraints = (REPO_ROOT / "constraints.txt").read_text().split()
    for plugin in named - {"dvc-ssh"}:
        assert any(line.startswith(f"{plugin}==") for line in constraints), plugin
