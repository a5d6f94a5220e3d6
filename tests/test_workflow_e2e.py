"""The PR loop, proven by running the workflows' own `run:` steps against a local origin.

The workflows in `.github/workflows/` are executed step by step as GitHub would run them
(tests/support/workflow_runner.py: the workflow file read from the ref GitHub reads, its triggers
and path filters, each step's shell, concurrency groups, and what a runner provides), against a
local bare origin, a DVC remote over HTTP on 127.0.0.1 (a remote hosted jobs reach), a GitHub
API on 127.0.0.1, and a `make setup-summary` venv built for real once (from wheels repacked from
this venv, no index). On CPU with the tiny model and the `cpu-rehearsal` entry of the runner
registry, which the test enables in its origin (with two tasks in its params.yaml, so a leg
takes seconds). Scenarios:

0. before any benchmark: Pages publishes main as shipped (the committed ML.ENERGY v1 records,
   no DVC pointer, no remote set), refuses an empty results tree, then publishes published
   records made by `leaderboard import`;
1. a contributor PR found by `pr-intake`, benchmarked, pushed, commented, its status current,
   merged, and its rows on the built site;
2. two PRs on the same hardware, the second branched before the first merged, both merged: no
   conflict, every record either pushed is on the site, one calibration per machine;
3. Pages with an unreachable remote, with a local-folder remote on a hosted runner, and with one
   object deleted from the remote: non-zero, and nothing published;
4. a runner whose detected hardware differs from its label fails before benchmarking, and the
   comment says which leg failed and why;
5. a PR that changes runner code, scripts, the workflow and params.yaml: none of it runs (its
   code would write a marker with the secret), the base's settings hold, configs that
   interpolate or need remote code are refused, and the comment says so;
6. "Update branch" while a leg runs: the pointer still lands on the new head;
7. a push after benchmarking (after `git pull --rebase`, as CONTRIBUTING says): the
   `benchmark-status` check goes stale;
8. three labels at once for one runner (one of them the stale PR again): no leg is cancelled,
   all land, and the stale check passes again; a leg cancelled anyway is reported as
   cancelled, with how to re-run it.

Run alone with `.venv/bin/python -m pytest tests/test_workflow_e2e.py`.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tests.support.pipeline_helpers import REPO_ROOT, env_for, run
from tests.support.wheels import wheelhouse
from tests.support.workflow_runner import (
    ConcurrencyQueue,
    JobResult,
    Runner,
    concurrency_groups,
    github_contexts,
    load_workflow_at,
    needs_context,
    run_workflow,
    triggered,
)

pytestmark = pytest.mark.slow

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
REPOSITORY = "energy-org/energy-leaderboard"
VENV = Path(sys.executable).parent.parent
LABEL = "cpu-rehearsal"
TASKS = ["chat", "instruct"]  # the rehearsal origin's params.yaml
MLENERGY = REPO_ROOT / "tests" / "fixtures" / "published" / "mlenergy_v1"


# --- a GitHub REST API on 127.0.0.1: issue comments and labels -------------------------------


@dataclass
class FakeGitHub:
    """What the workflows did to PRs through the API."""

    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[int, set[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    next_id: int = 1000


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            state.calls.append(f"{method} {url.path}")
            assert self.headers["Authorization"].startswith("Bearer ")
            prefix = f"/repos/{REPOSITORY}"
            path = url.path.removeprefix(prefix)
            if match := re.fullmatch(r"/issues/(\d+)/comments", path):
                pr = int(match.group(1))
                items = state.comments.setdefault(pr, [])
                if method == "GET":
                    query = parse_qs(url.query)
                    size, page = int(query["per_page"][0]), int(query["page"][0])
                    return self._reply(200, items[(page - 1) * size : page * size])
                state.next_id += 1
                items.append({"id": state.next_id, "body": self._body()["body"]})
                return self._reply(201, items[-1])
            if match := re.fullmatch(r"/issues/comments/(\d+)", path):
                for items in state.comments.values():
                    for item in items:
                        if item["id"] == int(match.group(1)):
                            item["body"] = self._body()["body"]
                            return self._reply(200, item)
                return self._reply(404, {"message": "Not Found"})
            if match := re.fullmatch(r"/issues/(\d+)/labels/([^/]+)", path):
                labels = state.labels.setdefault(int(match.group(1)), set())
                if match.group(2) not in labels:
                    return self._reply(404, {"message": "Label does not exist"})
                labels.discard(match.group(2))
                return self._reply(200, [])
            return self._reply(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


# --- a DVC remote over HTTP on 127.0.0.1 (what DVC's http remote needs: GET, HEAD, POST) --------


def _remote_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def _file(self) -> Path:
            path = (root / urlparse(self.path).path.lstrip("/")).resolve()
            if root.resolve() not in path.parents:
                raise PermissionError(self.path)
            return path

        def _send(self, code: int, body: bytes = b"") -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self._file()
            self._send(200, path.read_bytes()) if path.is_file() else self._send(404)

        do_HEAD = do_GET

        def do_POST(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
            else:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self._file()
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            partial.replace(path)
            self._send(200)

        do_PUT = do_POST

    return Handler


# --- the world: origin, remote, runner ---------------------------------------------------------


@dataclass
class World:
    """Everything the scenarios share."""

    root: Path
    origin: Path
    remote: Path
    remote_url: str
    runner: Runner
    github: FakeGitHub
    api_url: str
    maintainer: Path
    initial: str
    run_ids: Iterator[int]

    def contexts(
        self, event_name: str, event: dict[str, Any], ref: str, sha: str, **vars_: str | None
    ) -> dict[str, Any]:
        variables = {"DVC_REMOTE_URL": self.remote_url, "BENCHMARK_APP_ID": "12345", **vars_}
        return github_contexts(
            repository=REPOSITORY,
            event_name=event_name,
            event=event,
            ref=ref,
            sha=sha,
            variables={k: v for k, v in variables.items() if v is not None},
            secrets={"HF_TOKEN": "hf-secret", "BENCHMARK_APP_PRIVATE_KEY": "pem"},
            run_id=next(self.run_ids),
        )


def git(args: list[str], cwd: Path) -> str:
    return run(["git", *args], cwd, env_for(cwd)).stdout.strip()


def _stamp_is_current(repo: Path) -> bool:
    """The project's venv was set up from this pyproject.toml and constraints.txt."""
    script = REPO_ROOT / "scripts" / "setup-venv.sh"
    result = subprocess.run(
        ["sh", str(script), "--summary", str(VENV)],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env_for(repo), "PY": sys.executable, "PIP_NO_INDEX": "1"},
        timeout=60,
    )
    return result.returncode == 0 and "up to date" in result.stdout


def _summary_venv(seed: Path, root: Path) -> Path:
    """`make setup-summary` for real, once, from wheels of this venv's packages (no index)."""
    script = (seed / "scripts" / "setup-venv.sh").read_text()
    roots = re.search(r"-c constraints\.txt ([a-z0-9 -]+)$", script, re.MULTILINE)
    assert roots, "the summary install line of scripts/setup-venv.sh"
    wheels = root / "wheels"
    wheelhouse(roots.group(1).split(), wheels)
    venv = root / "summary-venv"
    env = {
        **env_for(seed),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_NO_COMPILE": "1",
        "PY": getattr(sys, "_base_executable", sys.executable),
    }
    env.pop("PYTHONPATH")
    run(["make", "setup-summary", f"VENV={venv}"], seed, env)
    return venv


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("e2e")
    seed = root / "seed"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, files):
        source = REPO_ROOT / raw.decode()
        if source.is_file() and not source.is_symlink():
            target = seed / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if not _stamp_is_current(seed):
        pytest.skip("the project's venv is not set up from this checkout (run `make setup`)")
    # The maintainers' registry for this rehearsal: the CPU runner on, the GPU runners off.
    registry = yaml.safe_load((seed / "conf" / "runners.yaml").read_text())
    for label, entry in registry["runners"].items():
        entry["enabled"] = label == LABEL
    (seed / "conf" / "runners.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    params = yaml.safe_load((seed / "params.yaml").read_text())
    params["tasks"] = TASKS
    (seed / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    summary_venv = _summary_venv(seed, root)
    origin = root / "origin.git"
    run(["git", "init", "-q", "-b", "main"], seed)
    run(["git", "add", "-A"], seed)
    run(["git", "commit", "-q", "-m", "the project"], seed)
    run(["git", "clone", "-q", "--bare", str(seed), str(origin)], root)
    remote = root / "dvc-remote"
    remote.mkdir()
    tool_cache = root / "toolcache"
    (tool_cache / "energy-leaderboard").mkdir(parents=True)
    (tool_cache / "energy-leaderboard" / "venv").symlink_to(VENV)

    state = FakeGitHub()
    servers = [
        ThreadingHTTPServer(("127.0.0.1", 0), _handler(state)),
        ThreadingHTTPServer(("127.0.0.1", 0), _remote_handler(remote)),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{servers[0].server_address[1]}"
    remote_url = f"http://127.0.0.1:{servers[1].server_address[1]}/store"
    base_env = env_for(seed)
    base_env.pop("PYTHONPATH")  # each job sets it to its own workspace: the checked-out code runs
    for name in ("GITHUB_ACTIONS", "RUNNER_ENVIRONMENT", "CI"):  # each job sets its own
        base_env.pop(name, None)
    base_env.update(
        {
            "RUNNER_TOOL_CACHE": str(tool_cache),
            "GITHUB_API_URL": api_url,
            "PIP_NO_INDEX": "1",  # a step that would install anything fails instead
            "HOME": str(root / "home"),
        }
    )
    (root / "home").mkdir()
    runner = Runner(
        root=root / "runner",
        origin=origin,
        base_env=base_env,
        venv=VENV,
        artifacts=root / "artifacts",
        published=root / "published",
        summary_venv=summary_venv,
    )
    runner.root.mkdir()
    maintainer = root / "maintainer"
    run(["git", "clone", "-q", str(origin), str(maintainer)], root)
    initial = git(["rev-parse", "main"], origin)
    world = World(
        root, origin, remote / "store", remote_url, runner, state, api_url, maintainer, initial,
        iter(range(100, 999)),
    )  # fmt: skip
    yield world
    for server in servers:
        server.shutdown()


# --- the actors ----------------------------------------------------------------------------


def open_pr(
    world: World,
    branch: str,
    model: str,
    base: str = "main",
    files: dict[str, str] | None = None,
) -> tuple[Path, int]:
    """A contributor branches from `base`, adds one model config (and `files`), pushes."""
    contributor = world.root / f"contributor-{branch}"
    run(["git", "clone", "-q", str(world.origin), str(contributor)], world.root)
    git(["checkout", "-q", "-b", branch, base], contributor)
    config = (contributor / "conf" / "model" / "tiny-random.yaml").read_text()
    config = re.sub(r"(?m)^name: .*$", f"name: {model}", config)
    config = re.sub(r"(?m)^display_name: .*$", f"display_name: {model} (tiny)", config)
    (contributor / "conf" / "model" / f"{model}.yaml").write_text(config)
    for path, text in (files or {}).items():
        (contributor / path).parent.mkdir(parents=True, exist_ok=True)
        (contributor / path).write_text(text)
    git(["add", "-A"], contributor)
    git(["commit", "-q", "-m", f"Add {model}"], contributor)
    git(["push", "-q", "origin", branch], contributor)
    number = 10 + len(world.github.labels)
    world.github.labels[number] = {"benchmark"}
    return contributor, number


def pr_event(
    world: World, branch: str, number: int, action: str = "labeled", labels: tuple[str, ...] = ()
) -> dict[str, Any]:
    sha = git(["rev-parse", branch], world.origin)
    return {
        "action": action,
        "label": {"name": "benchmark"},
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": branch, "sha": sha, "repo": {"full_name": REPOSITORY}},
            "base": {"ref": "main", "sha": git(["rev-parse", "main"], world.origin)},
            "labels": [{"name": name} for name in ("benchmark", *labels)],
        },
    }


def changed_files(world: World, branch: str) -> list[str]:
    return git(["diff", "--name-only", f"main...{branch}"], world.origin).split()


def pr_run(
    world: World, workflow_name: str, branch: str, number: int, **event: Any
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(workflow, contexts) of a `pull_request_target` event, or None when it would not start.

    GitHub reads a `pull_request_target` workflow from the base branch, never from the PR.
    """
    payload = pr_event(world, branch, number, **event)
    workflow = load_workflow_at(world.origin, "main", workflow_name)
    if not triggered(workflow, "pull_request_target", payload, changed_files(world, branch)):
        return None
    base = git(["rev-parse", "main"], world.origin)
    return workflow, world.contexts("pull_request_target", payload, "refs/heads/main", base)


def label_pr(
    world: World, branch: str, number: int, *, labels: tuple[str, ...] = (), **options: Any
) -> dict[str, list[JobResult]]:
    """A maintainer labels the PR `benchmark`: the benchmark workflow runs (if it starts)."""
    world.github.labels[number] = {"benchmark", *labels}
    started = pr_run(world, "benchmark.yml", branch, number, labels=labels)
    if started is None:
        return {}
    workflow, contexts = started
    return run_workflow(world.runner, workflow, contexts, **options)


def status_check(world: World, branch: str, number: int) -> JobResult:
    """A push to the PR: the `benchmark-status` check runs on its new head."""
    started = pr_run(world, "benchmark-status.yml", branch, number, action="synchronize")
    assert started is not None, "benchmark-status must run on every push to a PR"
    workflow, contexts = started
    [check] = run_workflow(world.runner, workflow, contexts)["fresh"]
    return check


def merge(world: World, branch: str) -> str:
    """The maintainer merges the PR into main (a merge commit, as GitHub's button makes)."""
    git(["fetch", "-q", "origin"], world.maintainer)
    git(["checkout", "-q", "main"], world.maintainer)
    git(["reset", "-q", "--hard", "origin/main"], world.maintainer)
    git(["merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}"], world.maintainer)
    git(["push", "-q", "origin", "main"], world.maintainer)
    return git(["rev-parse", "HEAD"], world.maintainer)


def update_branch(world: World, branch: str) -> str:
    """GitHub's "Update branch" button: main merged into the PR branch, pushed."""
    git(["fetch", "-q", "origin"], world.maintainer)
    git(["checkout", "-q", "-B", branch, f"origin/{branch}"], world.maintainer)
    git(["merge", "-q", "--no-ff", "-m", f"Merge main into {branch}", "origin/main"],
        world.maintainer)  # fmt: skip
    git(["push", "-q", "origin", branch], world.maintainer)
    git(["checkout", "-q", "main"], world.maintainer)
    return git(["rev-parse", branch], world.maintainer)


def publish(world: World, **vars_: str | None) -> dict[str, list[JobResult]]:
    """A push to main: the pages workflow runs, as the pushed commit defines it."""
    sha = git(["rev-parse", "main"], world.origin)
    event = {"ref": "refs/heads/main"}
    workflow = load_workflow_at(world.origin, sha, "pages.yml")
    assert triggered(workflow, "push", event, [])
    contexts = world.contexts("push", event, "refs/heads/main", sha, **vars_)
    return run_workflow(world.runner, workflow, contexts)


def comment_of(world: World, number: int) -> str:
    [comment] = world.github.comments[number]
    return comment["body"]


def site_rows(world: World) -> list[dict[str, str]]:
    with (world.runner.published / "data" / "leaderboard.csv").open() as handle:
        return list(csv.DictReader(handle))


def assert_ok(jobs: dict[str, list[JobResult]]) -> None:
    assert jobs, "the workflow did not start"
    for legs in jobs.values():
        for leg in legs:
            assert leg.result in ("success", "skipped"), f"{leg.name} failed:\n{leg.log()}"


def added_files(world: World, branch: str, base: str) -> list[str]:
    return git(["diff", "--name-only", f"{base}...{branch}"], world.origin).split()


def leg_records(jobs: dict[str, list[JobResult]]) -> list[dict[str, Any]]:
    """The performance records the (first) benchmark leg wrote (its new run folder)."""
    [leg] = jobs["benchmark"][:1]
    assert leg.workspace is not None
    run_id = leg.step("Benchmark every task").outputs["run_id"]
    paths = (leg.workspace / "results" / "runs").glob(f"*/{run_id}/records/performance/**/*.json")
    return [json.loads(path.read_text()) for path in sorted(paths)]


# --- the scenarios -------------------------------------------------------------------------


def test_pages_publishes_committed_published_records_before_any_benchmark(world: World) -> None:
    # Main as shipped: the committed ML.ENERGY v1 records publish before any benchmark has run.
    env = env_for(world.maintainer)
    shipped = publish(world, DVC_REMOTE_URL=None)
    assert_ok(shipped)
    assert shipped["deploy"][0].result == "success"
    site = world.runner.published / "data" / "records" / "published" / "mlenergy-v1"
    assert len(list(site.rglob("*.json"))) == 260
    # Nothing measured, nothing published: refused, nothing deployed.
    git(["rm", "-q", "-r", "results/published"], world.maintainer)
    git(["commit", "-q", "-m", "No published records"], world.maintainer)
    git(["push", "-q", "origin", "main"], world.maintainer)
    deployed = sorted(p.name for p in world.runner.published.iterdir())
    empty = publish(world, DVC_REMOTE_URL=None)
    [build] = empty["build"]
    assert build.result == "failure"
    assert "no DVC pointer" in build.step("Pull the results").output
    assert "refusing to publish an empty site" in build.step("Check every declared").output
    assert empty["deploy"][0].result == "skipped"
    assert sorted(p.name for p in world.runner.published.iterdir()) == deployed  # untouched
    # The lead commits imported published records (plain git, no DVC pointer, no remote set).
    run([str(VENV / "bin" / "leaderboard"), "import", "mlenergy-v1", str(MLENERGY),
         "--results", "results"], world.maintainer, env)  # fmt: skip
    git(["add", "results/published"], world.maintainer)
    git(["commit", "-q", "-m", "Published ML.ENERGY v1 records"], world.maintainer)
    git(["push", "-q", "origin", "main"], world.maintainer)
    pages = publish(world, DVC_REMOTE_URL=None)
    assert_ok(pages)
    assert pages["deploy"][0].result == "success"
    assert len(list(site.rglob("*.json"))) == 8


def test_contributor_pr_is_benchmarked_commented_merged_and_published(world: World) -> None:
    _, number = open_pr(world, "add-tiny-a", "tiny-a")
    base = git(["rev-parse", "main"], world.origin)
    head = git(["rev-parse", "add-tiny-a"], world.origin)
    jobs = label_pr(world, "add-tiny-a", number)
    assert_ok(jobs)
    [start] = jobs["start"]
    assert start.outputs["models"] == "tiny-a"
    assert start.outputs["head_sha"] == head and start.outputs["code_sha"] == base
    assert json.loads(start.outputs["matrix"]) == {"include": [{"label": LABEL, "accuracy": True}]}
    # The label came off when the run started: a new push runs nothing until it is put back.
    assert world.github.labels[number] == set()
    # The bot added exactly one run folder's pointer and .gitignore, nothing else.
    added = added_files(world, "add-tiny-a", base)
    assert sorted(Path(p).name for p in added) == [".gitignore", "records.dvc", "tiny-a.yaml"]
    pointer = next(p for p in added if p.endswith("records.dvc"))
    assert re.fullmatch(r"results/runs/cpu-[^/]+/\d{8}T\d{6}Z-\d+\.1/records\.dvc", pointer)
    # One comment, with the new rows, placed against the whole leaderboard, full revision, and
    # the PR commit that was benchmarked with the base's code.
    body = comment_of(world, number)
    assert body.startswith("<!-- leaderboard-benchmark-summary -->")
    revision = yaml.safe_load((REPO_ROOT / "conf/model/tiny-random.yaml").read_text())["revision"]
    assert "| tiny-a | chat |" in body and f"| `{revision}` |" in body
    assert f"- {LABEL} on `cpu-" in body and ": done" in body
    assert f"Benchmarked this PR at `{head}`" in body and f"code and settings at `{base}`" in body
    assert "by energy per response" in body or "energy not measured" in body
    # The bot's commit started the status check: current.
    check = status_check(world, "add-tiny-a", number)
    assert check.result == "success", check.log()
    assert "benchmarked as it is now" in check.step("Were the changed").output
    # Labelling again edits the same comment instead of adding one.
    assert_ok(label_pr(world, "add-tiny-a", number))
    assert len(world.github.comments[number]) == 1
    merge(world, "add-tiny-a")
    pages = publish(world)
    assert_ok(pages)
    models = {row["model_name"] for row in site_rows(world)}
    assert "tiny-a" in models, models


def test_two_prs_on_the_same_hardware_merge_without_conflict(world: World) -> None:
    main_before = git(["rev-parse", "main"], world.origin)
    _, first = open_pr(world, "add-tiny-b", "tiny-b", base=f"{main_before}")
    _, second = open_pr(world, "add-tiny-c", "tiny-c", base=f"{main_before}")
    assert_ok(label_pr(world, "add-tiny-b", first))
    merge(world, "add-tiny-b")
    # The second PR was branched before the first merged; it is benchmarked and merged after.
    assert_ok(label_pr(world, "add-tiny-c", second))
    merge(world, "add-tiny-c")  # a conflict would fail here
    pages = publish(world)
    assert_ok(pages)
    models = {row["model_name"] for row in site_rows(world)}
    assert {"tiny-a", "tiny-b", "tiny-c"} <= models, models
    # Every record any job pushed is on the site, byte for byte.
    [build] = pages["build"]
    results = build.workspace / "results"
    published = world.runner.published / "data" / "records"
    records = [
        p for p in results.rglob("*.json") if "performance" in p.parts or "accuracy" in p.parts
    ]
    assert len(records) >= 3 * len(TASKS)
    for record in records:
        copy = published / record.relative_to(results)
        assert copy.read_bytes() == record.read_bytes(), record
    # One calibration for the machine: later legs reused the first one from main.
    calibrations = [p for p in results.rglob("*.json") if "calibration" in p.parts]
    assert len(calibrations) == 1, calibrations


def test_pages_never_publishes_from_a_missing_remote_or_object(world: World) -> None:
    before = (world.runner.published / "index.html").read_bytes()
    unreachable = publish(world, DVC_REMOTE_URL="http://127.0.0.1:9/store")
    [build] = unreachable["build"]
    assert build.result == "failure"
    assert build.step("Pull the results").outcome == "failure", build.log()
    assert unreachable["deploy"][0].result == "skipped"
    # A folder that a hosted runner cannot reach: refused at once, in one line naming the variable.
    local = publish(world, DVC_REMOTE_URL=str(world.remote))
    [build] = local["build"]
    pull = build.step("Pull the results")
    assert pull.outcome == "failure"
    [line] = [line for line in pull.output.splitlines() if line.startswith("error:")]
    assert "DVC_REMOTE_URL is a local folder" in line and "GitHub-hosted" in line
    # One object gone from the remote: the pull fails, nothing is deployed.
    objects = sorted(p for p in world.remote.rglob("*") if p.is_file())
    victim = next(p for p in objects if not p.name.endswith(".dir"))
    saved = victim.read_bytes()
    victim.unlink()
    missing = publish(world)
    [build] = missing["build"]
    assert build.result == "failure", build.log()
    assert missing["deploy"][0].result == "skipped"
    assert (world.runner.published / "index.html").read_bytes() == before
    victim.write_bytes(saved)  # the later scenarios pull main's records again


def test_a_runner_that_is_not_what_its_label_says_fails_before_benchmarking(world: World) -> None:
    _, number = open_pr(world, "add-tiny-d", "tiny-d")
    started = pr_run(world, "benchmark.yml", "add-tiny-d", number)
    assert started is not None
    workflow, contexts = started
    # The plan runs for real; then an "h100" leg lands on this CPU machine.
    jobs = run_workflow(world.runner, workflow, contexts, only=["start"])
    assert_ok(jobs)
    h100 = json.dumps({"include": [{"label": "h100", "accuracy": False}]})
    jobs["start"][0].outputs["matrix"] = h100
    jobs = run_workflow(world.runner, workflow, contexts, done=jobs)
    [leg] = jobs["benchmark"]
    assert leg.result == "failure"
    check = leg.step("Check this machine")
    assert check.outcome == "failure"
    assert "runner h100: expected a usable CUDA device" in check.output
    assert check.output.count("\n") <= 2, check.output  # one line, no traceback
    assert leg.step("Benchmark every task").outcome == "skipped"
    assert not list((leg.workspace / "results").glob("runs/*/*/records"))
    artifacts = world.runner.artifacts_of(contexts)
    status = json.loads((artifacts / "leg-status-h100" / "h100.json").read_text())
    assert status["outcome"] == "failure" and "expected a usable CUDA device" in status["message"]
    # The comment job still runs and says which leg failed and why.
    [comment] = jobs["comment"]
    assert comment.result == "success", comment.log()
    body = comment_of(world, number)
    assert "**h100: failure**" in body and "expected a usable CUDA device" in body


def test_a_pr_that_changes_runner_code_and_params_runs_none_of_it(world: World) -> None:
    marker = world.root / "pr-code-ran"
    python_marker = (
        "import os as _os, pathlib as _pathlib\n"
        f"_pathlib.Path({str(marker)!r} + '-python').write_text(_os.environ.get('HF_TOKEN', ''))\n"
    )
    shell_marker = f'echo "${{HF_TOKEN:-}}" > {marker}-shell\n'
    base = world.origin
    show = lambda path: git(["show", f"main:{path}"], base) + "\n"  # noqa: E731
    setup_script = show("scripts/setup-venv.sh").replace("set -eu\n", "set -eu\n" + shell_marker)
    workflow = show(".github/workflows/benchmark.yml").replace(
        'run: make setup VENV="$VENV"', f'run: echo "$HF_TOKEN" > {marker}-workflow'
    )
    remote_code = show("conf/model/tiny-random.yaml").replace(
        "name: tiny-random", "name: tiny-e-rc"
    )
    files = {
        "runner/__init__.py": python_marker + show("runner/__init__.py"),
        "runner/publish/leg.py": python_marker + show("runner/publish/leg.py"),
        "scripts/setup-venv.sh": setup_script,
        "scripts/dvc-remote.sh": show("scripts/dvc-remote.sh").replace(
            "set -euo pipefail\n", "set -euo pipefail\n" + shell_marker
        ),
        ".github/workflows/benchmark.yml": workflow,
        "params.yaml": "benchmark: {batch_sizes: '1', num_prompts: 2}\ntasks: [chat]\n",
        "conf/model/tiny-e-env.yaml": show("conf/model/tiny-random.yaml")
        .replace("name: tiny-random", "name: tiny-e-env")
        .replace("license: Apache-2.0", "license: ${oc.env:HF_TOKEN}"),
        "conf/model/tiny-e-rc.yaml": remote_code + "trust_remote_code: true\n",
    }
    _, number = open_pr(world, "add-tiny-e", "tiny-e", files=files)
    head = git(["rev-parse", "add-tiny-e"], world.origin)
    code = git(["rev-parse", "main"], world.origin)
    jobs = label_pr(world, "add-tiny-e", number)
    assert_ok(jobs)
    # Nothing of the PR's ran: no marker from its Python, its scripts or its workflow.
    assert not list(world.root.glob("pr-code-ran*"))
    [start] = jobs["start"]
    assert start.outputs["models"] == "tiny-e"  # the two unsafe configs were refused
    [leg] = jobs["benchmark"]
    assert "other changed file(s) do not run here" in leg.step("Take the PR's model").output
    # The base's settings held (both of its tasks), and every record says the base's code ran.
    records = leg_records(jobs)
    assert {r["identity"]["task"] for r in records} == set(TASKS)
    assert {r["provenance"]["git_commit"] for r in records} == {code}
    body = comment_of(world, number)
    assert f"Benchmarked this PR at `{head}`" in body and f"settings at `{code}`" in body
    assert "none of it ran here" in body
    for path in ("params.yaml", "runner/__init__.py", "scripts/setup-venv.sh",
                 ".github/workflows/benchmark.yml"):  # fmt: skip
        assert f"`{path}`" in body, path
    assert "`conf/model/tiny-e-env.yaml`: license: interpolation" in body
    assert "`conf/model/tiny-e-rc.yaml`: trust_remote_code: true" in body
    assert "`trust-remote-code` label" in body
    assert "hf-secret" not in body
    assert "| tiny-e | chat |" in body and "| tiny-e | instruct |" in body


def test_update_branch_during_a_leg_still_lands_the_pointer(world: World) -> None:
    # Branched from the first commit: main has since gained run folders and published records.
    _, number = open_pr(world, "add-tiny-g", "tiny-g", base=world.initial)
    updated: list[str] = []

    def meanwhile(job: str, step: str) -> None:
        if job == "benchmark" and step.startswith("Commit the run folder") and not updated:
            updated.append(update_branch(world, "add-tiny-g"))

    jobs = label_pr(world, "add-tiny-g", number, before_step=meanwhile)
    assert_ok(jobs)
    [leg] = jobs["benchmark"]
    assert "landed on add-tiny-g" in leg.step("Commit the run folder").output
    # The pointer commit sits on top of the updated head: nothing of it was lost.
    head = git(["rev-parse", "add-tiny-g"], world.origin)
    assert git(["rev-parse", f"{head}^"], world.origin) == updated[0]
    added = git(["show", "--name-only", "--format=", head], world.origin).split()
    assert sorted(Path(p).name for p in added) == [".gitignore", "records.dvc"]
    assert ": done" in comment_of(world, number)
    check = status_check(world, "add-tiny-g", number)
    assert check.result == "success", check.log()


def test_a_push_after_benchmarking_makes_the_status_stale(world: World) -> None:
    contributor = world.root / "contributor-add-tiny-g"
    number = next(n for n in world.github.comments if "tiny-g" in comment_of(world, n))
    # The contributor follows CONTRIBUTING: pull the bot's commits with --rebase, change, push.
    git(["pull", "-q", "--rebase", "origin", "add-tiny-g"], contributor)
    config = contributor / "conf" / "model" / "tiny-g.yaml"
    config.write_text(config.read_text().replace("dtype: float32", "dtype: bfloat16"))
    git(["commit", "-q", "-am", "tiny-g in bfloat16"], contributor)
    git(["push", "-q", "origin", "add-tiny-g"], contributor)
    stale = status_check(world, "add-tiny-g", number)
    assert stale.result == "failure"
    output = stale.step("Were the changed").output
    assert f"conf/model/tiny-g.yaml on {LABEL}: stale" in output
    assert "labels the PR `benchmark`" in output
    # It stays stale until the PR is labelled again: the next scenario does (and it passes).


def test_queued_legs_are_never_cancelled(world: World) -> None:
    """Three labels while the one runner is busy: every leg waits, none is cancelled.

    One of them labels the stale PR of the previous scenario again, whose check then passes.
    """
    runs = []
    queue = ConcurrencyQueue()
    stale = next(n for n in world.github.comments if "tiny-g" in comment_of(world, n))
    for branch, model in (("add-tiny-g", None), ("add-tiny-i", "tiny-i"),
                          ("add-tiny-j", "tiny-j")):  # fmt: skip
        number = open_pr(world, branch, model)[1] if model else stale
        world.github.labels[number] = {"benchmark"}
        started = pr_run(world, "benchmark.yml", branch, number)
        assert started is not None
        workflow, contexts = started
        queue.arrive(f"run {number}", concurrency_groups(workflow.get("concurrency"), contexts))
        runs.append((number, workflow, contexts))
    # Every plan runs (hosted); then every leg queues for the one runner.
    plans = []
    for number, workflow, contexts in runs:
        done = run_workflow(world.runner, workflow, contexts, only=["start"])
        assert_ok(done)
        plans.append(done)
        legs = json.loads(done["start"][0].outputs["matrix"])["include"]
        ctx = {**contexts, "needs": needs_context(done, ["start"])}
        job = workflow["jobs"]["benchmark"]
        for leg in legs:
            groups = concurrency_groups(job.get("concurrency"), {**ctx, "matrix": leg})
            queue.arrive(f"run {number} benchmark/{leg['label']}", groups)
    assert queue.cancelled == []
    for (number, workflow, contexts), done in zip(runs, plans, strict=True):
        assert_ok(run_workflow(world.runner, workflow, contexts, done=done))
        assert f"- {LABEL} on `cpu-" in comment_of(world, number)
        assert ": done" in comment_of(world, number)
    fresh = status_check(world, "add-tiny-g", stale)
    assert fresh.result == "success", fresh.log()
    # A leg cancelled anyway (by hand, or never started): the comment says so and how to re-run.
    number, workflow, _ = runs[-1]
    world.github.labels[number] = {"benchmark"}
    started = pr_run(world, "benchmark.yml", "add-tiny-j", number)
    assert started is not None
    jobs = run_workflow(world.runner, started[0], started[1], cancelled={"benchmark"})
    assert jobs["benchmark"][0].result == "cancelled"
    assert jobs["comment"][0].result == "success", jobs["comment"][0].log()
    body = comment_of(world, number)
    assert f"**{LABEL}: cancelled or never started**" in body
    assert "label the PR `benchmark` again" in body and "/actions/runs/" in body
