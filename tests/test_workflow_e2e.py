"""The PR loop, proven by running the workflows' own `run:` steps against a local origin.

`.github/workflows/benchmark.yml` and `pages.yml` are executed step by step
(tests/support/workflow_runner.py fills in what GitHub provides), against a local bare origin, a
local-folder DVC remote and a GitHub API on 127.0.0.1, on CPU with the tiny model and the tiny
settings of the `cpu-rehearsal` entry of the runner registry (conf/runners.yaml), which the test
enables in its origin. Scenarios:

1. a contributor PR found by `changed-models`, benchmarked, pushed, commented, merged, and its
   rows on the built site;
2. two PRs on the same hardware, the second branched before the first merged, both merged: no
   conflict, every record either pushed is on the site, one calibration per machine;
3. pages with an unreachable remote, and with one object deleted from the remote: non-zero, and
   nothing published;
4. a runner whose detected hardware differs from its label fails before benchmarking, and the
   comment says which leg failed and why.

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
from tests.support.workflow_runner import JobResult, Runner, github_contexts, run_job, run_workflow

pytestmark = pytest.mark.slow

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
REPOSITORY = "energy-org/energy-leaderboard"
VENV = Path(sys.executable).parent.parent
LABEL = "cpu-rehearsal"


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


# --- the world: origin, remote, runner ---------------------------------------------------------


@dataclass
class World:
    """Everything the scenarios share."""

    root: Path
    origin: Path
    remote: Path
    runner: Runner
    github: FakeGitHub
    api_url: str
    maintainer: Path
    run_ids: Iterator[int]

    def contexts(
        self, event_name: str, event: dict[str, Any], ref: str, sha: str, **vars_: str
    ) -> dict[str, Any]:
        variables = {"DVC_REMOTE_URL": str(self.remote), "BENCHMARK_APP_ID": "12345", **vars_}
        return github_contexts(
            repository=REPOSITORY,
            event_name=event_name,
            event=event,
            ref=ref,
            sha=sha,
            variables=variables,
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
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api_url = f"http://127.0.0.1:{server.server_address[1]}"
    base_env = env_for(seed)
    base_env.pop("PYTHONPATH")  # each job sets it to its own workspace: the checked-out code runs
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
    )
    runner.root.mkdir()
    maintainer = root / "maintainer"
    run(["git", "clone", "-q", str(origin), str(maintainer)], root)
    world = World(root, origin, remote, runner, state, api_url, maintainer, iter(range(100, 999)))
    yield world
    server.shutdown()


# --- the actors ----------------------------------------------------------------------------


def open_pr(world: World, branch: str, model: str, base: str = "main") -> tuple[Path, int]:
    """A contributor branches from `base`, adds one model config, commits and pushes."""
    contributor = world.root / f"contributor-{branch}"
    run(["git", "clone", "-q", str(world.origin), str(contributor)], world.root)
    git(["checkout", "-q", "-b", branch, base], contributor)
    config = (contributor / "conf" / "model" / "tiny-random.yaml").read_text()
    config = re.sub(r"(?m)^name: .*$", f"name: {model}", config)
    config = re.sub(r"(?m)^display_name: .*$", f"display_name: {model} (tiny)", config)
    (contributor / "conf" / "model" / f"{model}.yaml").write_text(config)
    git(["add", f"conf/model/{model}.yaml"], contributor)
    git(["commit", "-q", "-m", f"Add {model}"], contributor)
    git(["push", "-q", "origin", branch], contributor)
    number = 10 + len(world.github.labels)
    world.github.labels[number] = {"benchmark"}
    return contributor, number


def pr_event(world: World, branch: str, number: int) -> dict[str, Any]:
    sha = git(["rev-parse", branch], world.origin)
    return {
        "action": "labeled",
        "label": {"name": "benchmark"},
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": branch, "sha": sha, "repo": {"full_name": REPOSITORY}},
            "base": {"ref": "main"},
            "labels": [{"name": "benchmark"}],
        },
    }


def label_pr(world: World, branch: str, number: int) -> dict[str, list[JobResult]]:
    """A maintainer labels the PR `benchmark`: the benchmark workflow runs."""
    event = pr_event(world, branch, number)
    sha = event["pull_request"]["head"]["sha"]
    contexts = world.contexts("pull_request", event, f"refs/pull/{number}/merge", sha)
    return run_workflow(world.runner, WORKFLOWS / "benchmark.yml", contexts)


def merge(world: World, branch: str) -> str:
    """The maintainer merges the PR into main (a merge commit, as GitHub's button makes)."""
    git(["fetch", "-q", "origin"], world.maintainer)
    git(["checkout", "-q", "main"], world.maintainer)
    git(["reset", "-q", "--hard", "origin/main"], world.maintainer)
    git(["merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}"], world.maintainer)
    git(["push", "-q", "origin", "main"], world.maintainer)
    return git(["rev-parse", "HEAD"], world.maintainer)


def publish(world: World, **vars_: str) -> dict[str, list[JobResult]]:
    """A push to main: the pages workflow runs."""
    sha = git(["rev-parse", "main"], world.origin)
    contexts = world.contexts("push", {"ref": "refs/heads/main"}, "refs/heads/main", sha, **vars_)
    return run_workflow(world.runner, WORKFLOWS / "pages.yml", contexts)


def comment_of(world: World, number: int) -> str:
    [comment] = world.github.comments[number]
    return comment["body"]


def site_rows(world: World) -> list[dict[str, str]]:
    with (world.runner.published / "data" / "leaderboard.csv").open() as handle:
        return list(csv.DictReader(handle))


def assert_ok(jobs: dict[str, list[JobResult]]) -> None:
    for legs in jobs.values():
        for leg in legs:
            assert leg.result in ("success", "skipped"), f"{leg.name} failed:\n{leg.log()}"


def added_files(world: World, branch: str, base: str) -> list[str]:
    return git(["diff", "--name-only", f"{base}...{branch}"], world.origin).split()


# --- the scenarios -------------------------------------------------------------------------


def test_contributor_pr_is_benchmarked_commented_merged_and_published(world: World) -> None:
    _, number = open_pr(world, "add-tiny-a", "tiny-a")
    base = git(["rev-parse", "main"], world.origin)
    jobs = label_pr(world, "add-tiny-a", number)
    assert_ok(jobs)
    [start] = jobs["start"]
    assert start.outputs["models"] == "tiny-a"
    assert json.loads(start.outputs["matrix"]) == {"include": [{"label": LABEL, "accuracy": True}]}
    # The label came off when the run started: a new push runs nothing until it is put back.
    assert world.github.labels[number] == set()
    # The bot added exactly one run folder's pointer and .gitignore, nothing else.
    added = added_files(world, "add-tiny-a", base)
    assert sorted(Path(p).name for p in added) == [".gitignore", "records.dvc", "tiny-a.yaml"]
    pointer = next(p for p in added if p.endswith("records.dvc"))
    assert re.fullmatch(r"results/runs/cpu-[^/]+/\d{8}T\d{6}Z-\d+\.1/records\.dvc", pointer)
    # One comment, with the new rows, placed against the whole leaderboard, full revision.
    body = comment_of(world, number)
    assert body.startswith("<!-- leaderboard-benchmark-summary -->")
    revision = yaml.safe_load((REPO_ROOT / "conf/model/tiny-random.yaml").read_text())["revision"]
    assert "| tiny-a | chat |" in body and f"| `{revision}` |" in body
    assert f"- {LABEL} on `cpu-" in body and ": done" in body
    assert "by energy per response" in body or "energy not measured" in body
    # Labelling again edits the same comment instead of adding one.
    world.github.labels[number] = {"benchmark"}
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
    assert len(records) >= 3 * 4
    for record in records:
        copy = published / record.relative_to(results)
        assert copy.read_bytes() == record.read_bytes(), record
    # One calibration for the machine: later legs reused the first one from main.
    calibrations = [p for p in results.rglob("*.json") if "calibration" in p.parts]
    assert len(calibrations) == 1, calibrations


def test_pages_never_publishes_from_a_missing_remote_or_object(world: World) -> None:
    before = (world.runner.published / "index.html").read_bytes()
    unreachable = publish(world, DVC_REMOTE_URL=str(world.root / "no-such-remote"))
    [build] = unreachable["build"]
    assert build.result == "failure"
    assert build.step("Pull the results").outcome == "failure", build.log()
    assert unreachable["deploy"][0].result == "skipped"
    # One object gone from the remote: the pull fails, nothing is deployed.
    objects = sorted(p for p in world.remote.rglob("*") if p.is_file())
    victim = next(p for p in objects if not p.name.endswith(".dir"))
    victim.unlink()
    shutil.rmtree(world.root / "toolcache" / "energy-leaderboard" / "dvc-cache", ignore_errors=True)
    missing = publish(world)
    [build] = missing["build"]
    assert build.result == "failure", build.log()
    assert missing["deploy"][0].result == "skipped"
    assert (world.runner.published / "index.html").read_bytes() == before


def test_a_runner_that_is_not_what_its_label_says_fails_before_benchmarking(world: World) -> None:
    _, number = open_pr(world, "add-tiny-d", "tiny-d")
    event = pr_event(world, "add-tiny-d", number)
    contexts = world.contexts(
        "pull_request", event, f"refs/pull/{number}/merge", event["pull_request"]["head"]["sha"]
    )
    workflow = yaml.safe_load((WORKFLOWS / "benchmark.yml").read_text())
    workflow["on"] = workflow.pop(True)
    needs = {"start": {"result": "success", "outputs": {"models": "tiny-d", "matrix": ""}}}
    shutil.rmtree(world.runner.artifacts, ignore_errors=True)
    # An "h100" leg that landed on this CPU machine.
    leg = run_job(
        world.runner, workflow, "benchmark", {**contexts, "needs": needs},
        matrix={"label": "h100", "accuracy": False},
    )  # fmt: skip
    assert leg.result == "failure"
    check = leg.step("Check this machine")
    assert check.outcome == "failure"
    assert "runner h100: expected a usable CUDA device" in check.output
    assert check.output.count("\n") <= 2, check.output  # one line, no traceback
    assert leg.step("Benchmark every task").outcome == "skipped"
    assert not list((leg.workspace / "results").glob("runs/*/*/records"))
    status = json.loads((world.runner.artifacts / "leg-status-h100" / "h100.json").read_text())
    assert status["outcome"] == "failure" and "expected a usable CUDA device" in status["message"]
    # The comment job still runs and says which leg failed and why.
    needs["benchmark"] = {"result": "failure", "outputs": {}}
    comment = run_job(world.runner, workflow, "comment", {**contexts, "needs": needs})
    assert comment.result == "success", comment.log()
    body = comment_of(world, number)
    assert "**h100: failure**" in body and "expected a usable CUDA device" in body
