"""Run the `run:` steps of this repository's GitHub workflows, in order, as a runner would.

Used by tests/test_workflow_e2e.py. What a GitHub runner provides is filled in here:

- the contexts `github`, `vars`, `secrets`, `matrix`, `needs`, `steps`, `job`, `runner`, and
  `${{ }}` expressions over them (literals, dotted access, `==`, `!=`, `&&`, `||`, `!`,
  parentheses, `always()`, `success()`, `failure()`, `cancelled()`, `fromJSON()`,
  `contains()`);
- `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY`, `$RUNNER_TEMP`, `$RUNNER_TOOL_CACHE`,
  `GITHUB_ACTIONS=true` and `RUNNER_ENVIRONMENT` (`github-hosted` unless `runs-on` names
  `self-hosted`);
- each `run:` script executed with the shell GitHub would use for it (`shell_command`): the
  step's `shell:`, else the job's or the workflow's `defaults.run.shell`, else `bash -e {0}`
  (no pipefail); `bash` is `bash --noprofile --norc -eo pipefail {0}`;
- the workflow file as GitHub reads it (`load_workflow_at`: the base branch's for
  `pull_request_target`, the pushed commit's for `push`), and whether an event starts it at all
  (`triggered`: event, activity types, branches, paths filters);
- concurrency groups as GitHub applies them to queued runs and jobs (`ConcurrencyQueue`: one
  running and one pending per group; a newer pending one cancels the older);
- the actions the workflows use, emulated by small local stand-ins (`ACTIONS`): checkout clones
  the local origin (into `path:` when given), artifacts and the Pages artifact are folders, the
  App token is a fixed string, setup-python does nothing (a venv made beforehand stands in for
  the runner's Python: the one `make setup-summary` built for jobs that run it, else the
  project's).

Nothing reaches the network: the origin is a local bare repository, the DVC remote a local
folder, and the GitHub API a server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_*][A-Za-z0-9_\-]*)*))"
)


class ExpressionError(Exception):
    """An expression the emulator does not understand (a bug in the test or the workflow)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"cannot parse {text!r} at {position}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _lookup(contexts: dict[str, Any], dotted: str) -> Any:
    """`a.b.c`, and object filters: `labels.*.name` is the list of every label's name."""
    values: list[Any] = [contexts]
    spread = False
    for part in dotted.split("."):
        if part == "*":
            spread = True
            values = [
                item
                for value in values
                for item in (value if isinstance(value, list) else list((value or {}).values()))
            ]
            continue
        values = [value.get(part) if isinstance(value, dict) else None for value in values]
    if spread:
        return [value for value in values if value is not None]
    return values[0]


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", [])


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return left == right


def evaluate(text: str, contexts: dict[str, Any], status: str = "success") -> Any:
    """Evaluate one expression (the part inside `${{ }}`)."""
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        token = tokens[position]
        position += 1
        return token

    def primary() -> Any:
        kind, value = take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "op" and value == "(":
            result = disjunction()
            take()
            return result
        if kind == "op" and value == "!":
            return not _truthy(primary())
        if kind == "name":
            following = peek()
            if following == ("op", "("):
                take()
                args: list[Any] = []
                while peek() != ("op", ")"):
                    args.append(disjunction())
                    if peek() == ("op", ","):
                        take()
                take()
                return call(value, args)
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            return _lookup(contexts, value)
        raise ExpressionError(f"unexpected {value!r} in {text!r}")

    def call(name: str, args: list[Any]) -> Any:
        if name == "always":
            return True
        if name == "success":
            return status == "success"
        if name == "failure":
            return status == "failure"
        if name == "cancelled":
            return status == "cancelled"
        if name == "fromJSON":
            return json.loads(args[0])
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return str(needle).lower() in str(haystack).lower()
        raise ExpressionError(f"function {name}() is not emulated")

    def comparison() -> Any:
        left = primary()
        while peek() in (("op", "=="), ("op", "!=")):
            _, op = take()
            right = primary()
            left = _equal(left, right) if op == "==" else not _equal(left, right)
        return left

    def conjunction() -> Any:
        left = comparison()
        while peek() == ("op", "&&"):
            take()
            right = comparison()
            left = right if _truthy(left) else left
        return left

    def disjunction() -> Any:
        left = conjunction()
        while peek() == ("op", "||"):
            take()
            right = conjunction()
            left = left if _truthy(left) else right
        return left

    result = disjunction()
    if position != len(tokens):
        raise ExpressionError(f"trailing tokens in {text!r}")
    return result


def substitute(value: Any, contexts: dict[str, Any]) -> Any:
    """Replace every `${{ }}` in a string (a whole-string expression keeps its type)."""
    if not isinstance(value, str):
        return value
    whole = EXPRESSION.fullmatch(value.strip())
    if whole and "}}" not in whole.group(1):
        return evaluate(whole.group(1), contexts)

    def text(match: re.Match[str]) -> str:
        result = evaluate(match.group(1), contexts)
        if isinstance(result, bool):
            return "true" if result else "false"
        return "" if result is None else str(result)

    return EXPRESSION.sub(text, value)


def env_value(value: Any, contexts: dict[str, Any]) -> str:
    """An `env:` value as the runner sets it: null is empty, booleans are `true`/`false`."""
    result = substitute(value, contexts)
    if result is None:
        return ""
    if isinstance(result, bool):
        return "true" if result else "false"
    return str(result)


def condition(expression: Any, contexts: dict[str, Any], status: str) -> bool:
    """An `if:` (bare or wrapped in `${{ }}`); without a status function, `success() &&`."""
    if expression is None:
        return status == "success"
    text = str(expression).strip()
    whole = EXPRESSION.fullmatch(text)
    if whole:
        text = whole.group(1)
    if not re.search(r"\b(always|success|failure|cancelled)\(\)", text):
        text = f"success() && ({text})"
    return _truthy(evaluate(text, contexts, status))


def parse_outputs(path: Path) -> dict[str, str]:
    """`key=value` lines and `key<<DELIM` blocks of a $GITHUB_OUTPUT / $GITHUB_ENV file."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block: list[str] = []
            index += 1
            while index < len(lines) and lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            outputs[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
        index += 1
    return outputs


@dataclass
class StepResult:
    """One step: its outcome (`success`, `failure`, `skipped`) and its output."""

    name: str
    outcome: str
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class JobResult:
    """One job (one matrix leg): its result, outputs and steps."""

    name: str
    result: str
    outputs: dict[str, str]
    steps: list[StepResult]
    workspace: Path | None = None

    def step(self, fragment: str) -> StepResult:
        """The step whose name contains `fragment`."""
        return next(step for step in self.steps if fragment in step.name)

    def log(self) -> str:
        """Every step's name, outcome and output (for assertion messages)."""
        return "\n".join(
            f"== {s.name}: {s.outcome} ({s.seconds:.1f} s)\n{s.output[-3000:]}" for s in self.steps
        )


@dataclass
class Runner:
    """The machine and GitHub around a job: folders, environment, origin, artifacts, API."""

    root: Path
    origin: Path
    base_env: dict[str, str]
    venv: Path
    artifacts: Path
    published: Path
    summary_venv: Path | None = None

    def artifacts_of(self, ctx: dict[str, Any]) -> Path:
        """The artifacts of one workflow run (a run sees only its own)."""
        return self.artifacts / str(ctx["github"]["run_id"])

    def new_dir(self, name: str) -> Path:
        """A fresh folder under the runner's root."""
        path = self.root / name
        counter = 1
        while path.exists():
            counter += 1
            path = self.root / f"{name}-{counter}"
        path.mkdir(parents=True)
        return path


ActionHandler = Callable[[Runner, Path, dict[str, Any], dict[str, Any]], dict[str, str]]


def _checkout(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    ref = inputs.get("ref") or ctx["github"]["sha"]
    path = str(inputs.get("path") or "").strip()
    target = workspace / path if path else workspace
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise ValueError(f"checkout path {path!r} is outside the workspace")
    if target.exists():
        shutil.rmtree(target)  # actions/checkout cleans the folder it checks out into
    env = runner.base_env
    subprocess.run(["git", "clone", "-q", str(runner.origin), str(target)], check=True, env=env)
    subprocess.run(["git", "checkout", "-q", str(ref)], cwd=target, check=True, env=env)
    if not path:
        # The runner's Python (setup-python with a pip cache hit, or the tool cache): a venv
        # made beforehand, so `make setup` / `make setup-summary` find it up to date.
        summary = ctx.get("uses_summary_venv") and runner.summary_venv is not None
        (workspace / ".venv").symlink_to(runner.summary_venv if summary else runner.venv)
    return {}


def _nothing(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    return {}


def _app_token(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    assert inputs.get("permission-contents") == "write"
    return {"token": "app-installation-token"}


def _upload_artifact(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    source = Path(str(inputs["path"]).strip())
    source = source if source.is_absolute() else workspace / source
    target = runner.artifacts_of(ctx) / str(inputs["name"])
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    return {}


def _download_artifact(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    artifacts = runner.artifacts_of(ctx)
    target = workspace / str(inputs["path"])
    target.mkdir(parents=True, exist_ok=True)
    if "name" in inputs:  # one artifact by name: it must exist
        source = artifacts / str(inputs["name"])
        if not source.is_dir():
            raise FileNotFoundError(f"artifact {inputs['name']!r} not found")
        shutil.copytree(source, target, dirs_exist_ok=True)
        return {}
    pattern = re.compile("^" + re.escape(str(inputs["pattern"])).replace(r"\*", ".*") + "$")
    for folder in sorted(artifacts.iterdir()) if artifacts.is_dir() else []:
        if pattern.match(folder.name):
            shutil.copytree(folder, target, dirs_exist_ok=True)
    return {}


def _upload_pages(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    staged = runner.artifacts_of(ctx) / "github-pages"
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(workspace / str(inputs["path"]), staged)
    return {}


def _deploy_pages(
    runner: Runner, workspace: Path, inputs: dict[str, Any], ctx: dict[str, Any]
) -> dict[str, str]:
    if runner.published.exists():
        shutil.rmtree(runner.published)
    shutil.copytree(runner.artifacts_of(ctx) / "github-pages", runner.published)
    return {"page_url": "https://example.invalid/"}


ACTIONS: dict[str, ActionHandler] = {
    "actions/checkout": _checkout,
    "actions/setup-python": _nothing,
    "actions/create-github-app-token": _app_token,
    "actions/upload-artifact": _upload_artifact,
    "actions/download-artifact": _download_artifact,
    "actions/upload-pages-artifact": _upload_pages,
    "actions/deploy-pages": _deploy_pages,
}


SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": ["python", "{0}"],
}
# What GitHub runs a `run:` step with when no shell is declared anywhere (no pipefail).
UNDECLARED_SHELL = ["bash", "-e", "{0}"]


def shell_command(
    step: dict[str, Any], job: dict[str, Any], workflow: dict[str, Any], script: Path
) -> list[str]:
    """The command GitHub runs a `run:` step's script with (docs: jobs.<id>.steps[*].shell)."""
    shell = (
        step.get("shell")
        or ((job.get("defaults") or {}).get("run") or {}).get("shell")
        or ((workflow.get("defaults") or {}).get("run") or {}).get("shell")
    )
    if shell is None:
        template = UNDECLARED_SHELL
    elif shell in SHELLS:
        template = SHELLS[shell]
    else:
        template = str(shell).split()  # a custom shell: "bash -eux {0}"
    return [str(script) if part == "{0}" else part for part in template]


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file (YAML 1.1 reads the key `on` as True)."""
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def self_hosted(job: dict[str, Any]) -> bool:
    """Whether the job's `runs-on` asks for a self-hosted runner."""
    runs_on = job.get("runs-on", [])
    return "self-hosted" in ([runs_on] if isinstance(runs_on, str) else list(runs_on))


StepHook = Callable[[str, str], None]


def run_job(
    runner: Runner,
    workflow: dict[str, Any],
    job_name: str,
    contexts: dict[str, Any],
    *,
    matrix: dict[str, Any] | None = None,
    before_step: StepHook | None = None,
) -> JobResult:
    """Run one job (one matrix leg) the way a runner does; never raises on a failing step.

    `before_step(job name, step name)` is called before each step that runs (a test makes
    something happen meanwhile, e.g. a push to the PR branch).
    """
    job = workflow["jobs"][job_name]
    ctx = {**contexts, "matrix": matrix or {}, "steps": {}, "job": {"status": "success"}}
    ctx["uses_summary_venv"] = any(
        "make setup-summary" in str(step.get("run", "")) for step in job["steps"]
    )
    workspace = runner.new_dir(f"work-{job_name}")
    temp = runner.new_dir(f"temp-{job_name}")
    env: dict[str, str] = dict(runner.base_env)
    ctx["runner"] = {"temp": str(temp), "tool_cache": runner.base_env["RUNNER_TOOL_CACHE"]}
    github = ctx["github"]
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "RUNNER_ENVIRONMENT": "self-hosted" if self_hosted(job) else "github-hosted",
            "RUNNER_TEMP": str(temp),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_ATTEMPT": github["run_attempt"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_REF": github["ref"],
            "GITHUB_SHA": github["sha"],
            # The checked-out code runs, not the code the venv was installed from.
            "PYTHONPATH": str(workspace),
        }
    )
    env.update({k: env_value(v, ctx) for k, v in (workflow.get("env") or {}).items()})
    env.update({k: env_value(v, ctx) for k, v in (job.get("env") or {}).items()})
    status = "success"
    results: list[StepResult] = []
    for number, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {number}"
        ctx["job"]["status"] = status
        if not condition(step.get("if"), ctx, status):
            results.append(StepResult(name, "skipped"))
            if "id" in step:
                ctx["steps"][step["id"]] = {"outcome": "skipped", "outputs": {}}
            continue
        if before_step is not None:
            before_step(job_name, name)
        step_env = {
            **env,
            **{k: env_value(v, ctx) for k, v in (step.get("env") or {}).items()},
        }
        started = time.monotonic()
        if "uses" in step:
            action = str(step["uses"]).split("@")[0]
            inputs = {k: substitute(v, ctx) for k, v in (step.get("with") or {}).items()}
            try:
                outputs = ACTIONS[action](runner, workspace, inputs, ctx)
                outcome, output = "success", ""
            except Exception as error:  # a failed action fails its step, like on GitHub
                outputs, outcome, output = {}, "failure", repr(error)
        else:
            files = {n: temp / f"{n}-{number}" for n in ("output", "env", "summary")}
            for path in files.values():
                path.touch()
            step_env.update(
                {
                    "GITHUB_OUTPUT": str(files["output"]),
                    "GITHUB_ENV": str(files["env"]),
                    "GITHUB_STEP_SUMMARY": str(files["summary"]),
                }
            )
            script = temp / f"step-{number}.sh"
            script.write_text(step["run"])
            completed = subprocess.run(
                shell_command(step, job, workflow, script),
                cwd=workspace,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            outcome = "success" if completed.returncode == 0 else "failure"
            output = completed.stdout + completed.stderr
            outputs = parse_outputs(files["output"])
            env.update(parse_outputs(files["env"]))
        results.append(StepResult(name, outcome, output, outputs, time.monotonic() - started))
        if "id" in step:
            ctx["steps"][step["id"]] = {"outcome": outcome, "outputs": outputs}
        if outcome == "failure":
            status = "failure"
    ctx["job"]["status"] = status
    job_outputs = {k: env_value(v, ctx) for k, v in (job.get("outputs") or {}).items()}
    return JobResult(job_name, status, job_outputs, results, workspace)


def run_workflow(
    runner: Runner,
    workflow: Path | dict[str, Any],
    contexts: dict[str, Any],
    *,
    only: list[str] | None = None,
    done: dict[str, list[JobResult]] | None = None,
    cancelled: set[str] | None = None,
    before_step: StepHook | None = None,
) -> dict[str, list[JobResult]]:
    """Run a workflow's jobs in `needs` order (each matrix leg in turn); job name -> its legs.

    `done`: jobs that already ran (a run continued in stages); `cancelled`: `job` or
    `job/<matrix label>` ids that GitHub cancelled before they started (their result is
    `cancelled`, and they write nothing).
    """
    workflow = load_workflow(workflow) if isinstance(workflow, Path) else workflow
    done = dict(done or {})
    pending = [
        name for name in workflow["jobs"] if name not in done and (only is None or name in only)
    ]
    while pending:
        for name in list(pending):
            job = workflow["jobs"][name]
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else list(needs)
            if any(need in pending for need in needs):
                continue
            pending.remove(name)
            needs_ctx = needs_context(done, needs)
            ctx = {**contexts, "needs": needs_ctx}
            results = {n["result"] for n in needs_ctx.values()}
            upstream = (
                "success"
                if results <= {"success"}
                else "cancelled"
                if "cancelled" in results and "failure" not in results
                else "failure"
            )
            if not condition(job.get("if"), ctx, upstream):
                done[name] = [JobResult(name, "skipped", {}, [])]
                continue
            strategy = substitute((job.get("strategy") or {}).get("matrix"), ctx)
            legs = strategy.get("include", []) if isinstance(strategy, dict) else [None]
            done[name] = []
            for leg in legs:
                leg_id = f"{name}/{leg['label']}" if leg and "label" in leg else name
                if cancelled and (name in cancelled or leg_id in cancelled):
                    done[name].append(JobResult(leg_id, "cancelled", {}, []))
                    continue
                done[name].append(
                    run_job(runner, workflow, name, ctx, matrix=leg, before_step=before_step)
                )
    return done


def needs_context(done: dict[str, list[JobResult]], needs: list[str]) -> dict[str, Any]:
    """The `needs` context of a job from the jobs that ran."""
    return {
        need: {
            "result": _combined(done.get(need, [])),
            "outputs": {k: v for leg in done.get(need, []) for k, v in leg.outputs.items()},
        }
        for need in needs
    }


def _combined(legs: list[JobResult]) -> str:
    if not legs:
        return "skipped"
    if any(leg.result == "failure" for leg in legs):
        return "failure"
    if any(leg.result == "cancelled" for leg in legs):
        return "cancelled"
    if all(leg.result == "skipped" for leg in legs):
        return "skipped"
    return "success"


def load_workflow_at(repository: Path, ref: str, name: str) -> dict[str, Any]:
    """The workflow `.github/workflows/<name>` as it is at `ref` of a (bare) repository.

    GitHub reads a `pull_request_target` workflow from the base branch, a `push` workflow from
    the pushed commit and a `pull_request` workflow from the PR's merge commit: a test passes the
    ref GitHub would read.
    """
    text = subprocess.run(
        ["git", "-C", str(repository), "show", f"{ref}:.github/workflows/{name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = yaml.safe_load(text)
    data["on"] = data.pop(True, data.get("on"))
    return data


def _glob(pattern: str) -> re.Pattern[str]:
    """A GitHub filter pattern: `*` within a path segment, `**` across segments."""
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(f"^{out}$")


def _filtered(values: list[str], include: list[str] | None, exclude: list[str] | None) -> bool:
    """Whether any value passes an include/exclude filter (GitHub's branches/paths filters)."""
    if include is None and exclude is None:
        return True
    for value in values:
        if include is not None and not any(_glob(p).match(value) for p in include):
            continue
        if exclude is not None and any(_glob(p).match(value) for p in exclude):
            continue
        return True
    return False


DEFAULT_PR_TYPES = ["opened", "synchronize", "reopened"]


def triggered(
    workflow: dict[str, Any], event_name: str, event: dict[str, Any], changed: list[str]
) -> bool:
    """Whether GitHub starts `workflow` for this event (its type, branch and changed files)."""
    on = workflow["on"]
    if isinstance(on, str | list):
        on = {name: None for name in ([on] if isinstance(on, str) else on)}
    if event_name not in on:
        return False
    spec = on[event_name] or {}
    if event_name in ("pull_request", "pull_request_target"):
        if event.get("action") not in spec.get("types", DEFAULT_PR_TYPES):
            return False
        branch = event["pull_request"]["base"]["ref"]
    elif event_name == "push":
        branch = str(event.get("ref", "")).removeprefix("refs/heads/")
    else:
        return True
    if not _filtered([branch], spec.get("branches"), spec.get("branches-ignore")):
        return False
    return _filtered(changed, spec.get("paths"), spec.get("paths-ignore"))


def concurrency_groups(spec: Any, ctx: dict[str, Any]) -> list[tuple[str, bool]]:
    """A `concurrency:` value as [(group, cancel-in-progress)] (empty without one)."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [(str(substitute(spec, ctx)), False)]
    cancel = substitute(spec.get("cancel-in-progress", False), ctx)
    return [(str(substitute(spec["group"], ctx)), cancel in (True, "true"))]


@dataclass
class ConcurrencyQueue:
    """GitHub's concurrency rule over runs and jobs, in the order they are queued.

    Per group: at most one running and one pending. A newcomer waits as the pending one and
    cancels the older pending one; with cancel-in-progress it cancels the running one instead.
    Nothing is ever freed here: every item is taken as queued while the first still runs.
    """

    running: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    def arrive(self, item: str, groups: list[tuple[str, bool]]) -> None:
        """Queue `item` (a run or a job) with its concurrency groups."""
        for group, cancel_in_progress in groups:
            if group not in self.running:
                self.running[group] = item
            elif cancel_in_progress:
                self.cancelled.append(self.running[group])
                self.running[group] = item
            else:
                if group in self.pending:
                    self.cancelled.append(self.pending[group])
                self.pending[group] = item


def github_contexts(
    *,
    repository: str,
    event_name: str,
    event: dict[str, Any],
    ref: str,
    sha: str,
    variables: dict[str, str],
    secrets: dict[str, str],
    run_id: int,
) -> dict[str, Any]:
    """The contexts of one workflow run."""
    return {
        "github": {
            "repository": repository,
            "event_name": event_name,
            "event": event,
            "ref": ref,
            "sha": sha,
            "run_id": str(run_id),
            "run_attempt": "1",
            "server_url": "https://github.com",
            "token": "github-token-of-the-run",
        },
        "vars": variables,
        "secrets": secrets,
        "runner": {"temp": "/tmp", "tool_cache": "/opt/hostedtoolcache"},
        "env": dict(os.environ),
    }
