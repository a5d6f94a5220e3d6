"""`leaderboard pr-intake` and `benchmark-status`: a PR read as data, and stale results caught."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runner.cli import main
from runner.config import init_config_revision
from runner.errors import ConfigError
from runner.publish.freshness import check_freshness
from runner.publish.intake import check_model_data, check_pointer, install, read_intake

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "PATH": "/usr/bin:/bin",
}
GOOD = (REPO_ROOT / "conf" / "model" / "tiny-random.yaml").read_text()
RUN = "results/runs/cpu-x/20260101T000000Z-7.1"
POINTER = (
    "outs:\n- md5: 3ecece5b497a4cc7b783d837c439dd95.dir\n  size: 3\n  nfiles: 1\n"
    "  hash: md5\n  path: records\n"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def write(repo: Path, relative: str, text: str) -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def model(name: str, extra: str = "") -> str:
    return GOOD.replace("name: tiny-random", f"name: {name}") + extra


@pytest.fixture
def pr(tmp_path: Path) -> Path:
    """A base with one model; a PR branch that adds good and bad configs, code and a pointer."""
    repo = tmp_path / "pr"
    write(repo, "conf/model/base.yaml", model("base"))
    write(repo, "runner/cli.py", "print('base')\n")
    write(repo, "params.yaml", "tasks: [chat, instruct]\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "pr")
    write(repo, "conf/model/good.yaml", model("good"))
    write(repo, "conf/model/base.yaml", model("base", "params: 1000\n"))  # changed
    write(repo, "conf/model/env.yaml", model("env").replace('url: ""', "url: ${oc.env:X}"))
    write(repo, "conf/model/defaults.yaml", "defaults:\n  - /model/base\n" + model("defaults"))
    write(repo, "conf/model/named.yaml", model("other"))
    write(repo, "conf/model/rc.yaml", model("rc", "trust_remote_code: true\n"))
    write(repo, "runner/cli.py", "print('the PR')\n")
    write(repo, "params.yaml", "tasks: [chat]\n")
    write(repo, f"{RUN}/records.dvc", POINTER)
    write(repo, f"{RUN}/.gitignore", "/records\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the PR")
    return repo


def test_only_safe_configs_and_pointers_are_taken(pr: Path, tmp_path: Path) -> None:
    intake = read_intake(pr, "main")
    assert intake.models == ["base", "good"]
    assert intake.head == git(pr, "rev-parse", "HEAD")
    assert intake.blobs["good"] == git(pr, "rev-parse", "HEAD:conf/model/good.yaml")
    assert intake.pointers == [f"{RUN}/.gitignore", f"{RUN}/records.dvc"]
    assert intake.other_changes == ["params.yaml", "runner/cli.py"]
    refused = intake.refused
    assert set(refused) == {f"conf/model/{n}.yaml" for n in ("env", "defaults", "named", "rc")}
    assert refused["conf/model/env.yaml"].startswith("url: interpolation")
    assert refused["conf/model/defaults.yaml"].startswith("defaults: not allowed")
    assert refused["conf/model/named.yaml"] == "name: expected 'named' (the file name), got 'other'"
    assert "`trust-remote-code` label" in refused["conf/model/rc.yaml"]
    # With the maintainer's label, the remote-code config is taken.
    assert "rc" in read_intake(pr, "main", allow_remote_code=True).models
    # Installing copies the accepted configs and the pointers, nothing else.
    trusted = tmp_path / "trusted"
    shutil.copytree(pr, trusted)
    git(trusted, "checkout", "-q", "main")
    shutil.rmtree(trusted / "results", ignore_errors=True)
    written = install(intake, pr, trusted, configs=True, results=True)
    assert sorted(written) == sorted(
        ["conf/model/base.yaml", "conf/model/good.yaml", *intake.pointers]
    )
    assert (trusted / "runner/cli.py").read_text() == "print('base')\n"
    assert (trusted / "params.yaml").read_text() == "tasks: [chat, instruct]\n"
    assert not (trusted / "conf/model/env.yaml").exists()


def test_the_cli_prints_outputs_and_writes_the_intake(pr: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "intake" / "intake.json"
    assert main(["pr-intake", "--pr-tree", str(pr), "--base", "main", "--repo", str(pr),
                 "--json", str(out)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["models=base good", f"head={git(pr, 'rev-parse', 'HEAD')}"]
    assert "pr-intake: refused conf/model/env.yaml: url: interpolation" in captured.err
    assert "2 other changed file(s) do not run here: params.yaml, runner/cli.py" in captured.err
    data = json.loads(out.read_text())
    assert data["code"] == data["head"] and data["models"] == ["base", "good"]
    assert main(["pr-intake", "--pr-tree", str(pr), "--base=--upload-pack=x"]) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]\n", "expected a mapping of model fields"),
        ("name: m\ncolour: red\n", "colour: unknown key"),
        ("name: m\ninit_config: {'${x}': 1}\n", "init_config.${x}: interpolation"),
        ("name: m\ninit_config: {a: [ok, '${oc.env:HF_TOKEN}']}\n", "init_config.a[1]: interp"),
        ("name: m\nhf_id: ../x\nrevision: a\ndisplay_name: M\n", "model.hf_id"),
        ("name: !!python/object/apply:os.system [echo]\n", "not valid YAML"),
        ("name: m\n" + "# padding\n" * 8000, "larger than 64 KiB"),
    ],
)
def test_a_bad_config_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("$", r"\$")) as err:
        check_model_data(text, "m")
    assert "\n" not in str(err.value)


def test_a_random_init_config_must_carry_the_hash_of_its_shape() -> None:
    text = (REPO_ROOT / "conf" / "model" / "random__Llama-3.2-1B.yaml").read_text()
    data = check_model_data(text, "random__Llama-3.2-1B")
    assert data["revision"] == init_config_revision(data["init_config"])
    wider = text.replace("hidden_size: 2048", "hidden_size: 4096")
    with pytest.raises(
        ConfigError, match="revision: expected 'init-[0-9a-f]{16}'.*a changed shape"
    ):
        check_model_data(wider, "random__Llama-3.2-1B")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (".gitignore", "*\n", "expected exactly '/records'"),
        ("records.dvc", "outs: []\n", "exactly one output"),
        ("records.dvc", POINTER.replace("path: records", "path: ../../x"), "path: records"),
        ("records.dvc", POINTER.replace(".dir", ""), "md5: expected a directory hash"),
        ("records.dvc", POINTER + "deps: []\n", "exactly one output"),
        ("records.dvc", POINTER.replace("nfiles: 1", "nfiles: x"), "nfiles: expected an int"),
    ],
)
def test_a_pointer_must_be_what_dvc_add_writes(name: str, text: str, message: str) -> None:
    from pathlib import PurePosixPath

    check_pointer(PurePosixPath(f"{RUN}/records.dvc"), POINTER)
    with pytest.raises(ConfigError, match=message):
        check_pointer(PurePosixPath(f"{RUN}/{name}"), text)


def trailers(repo: Path, runner: str, configs: list[str], head: str = "h" * 40) -> str:
    lines = [f"Benchmarked-Head: {head}", "Benchmarked-Code: " + "c" * 40,
             f"Benchmarked-Runner: {runner}"]  # fmt: skip
    for path in configs:
        lines.append(f"Benchmarked-Config: {path} {git(repo, 'rev-parse', f'HEAD:{path}')}")
    return "benchmark: a run\n\n" + "\n".join(lines) + "\n"


def test_benchmark_status_is_current_then_stale_then_current(pr: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    cpu = "runners:\n  cpu: {enabled: true, device: cpu, accuracy: true}\n"
    write(trusted, "conf/runners.yaml", cpu)
    current, problems = check_freshness(trusted, pr, "main")
    assert current == [] and "conf/model/good.yaml on cpu: not benchmarked yet" in problems
    # The bot's pointer commit names the configs it benchmarked (refused ones stay missing).
    configs = ["conf/model/base.yaml", "conf/model/good.yaml"]
    for path in ("env", "defaults", "named", "rc"):
        git(pr, "rm", "-q", f"conf/model/{path}.yaml")
    git(pr, "commit", "-q", "-m", "drop the refused configs")
    write(pr, "results/runs/cpu-x/20260101T000001Z-8.1/records.dvc", POINTER)
    git(pr, "add", "-A")
    message = tmp_path / "message.txt"
    message.write_text(trailers(pr, "cpu", configs))
    git(pr, "commit", "-q", "-F", str(message))
    current, problems = check_freshness(trusted, pr, "main")
    assert problems == [] and len(current) == 2
    assert main(["benchmark-status", "--pr-tree", str(pr), "--base", "main",
                 "--repo", str(trusted)]) == 0  # fmt: skip
    # A push after benchmarking changes a config: stale, and the check fails.
    write(pr, "conf/model/good.yaml", model("good", "params: 7\n"))
    git(pr, "commit", "-q", "-am", "change good")
    current, problems = check_freshness(trusted, pr, "main")
    assert problems == ["conf/model/good.yaml on cpu: stale: benchmarked at PR head hhhhhhhhhhhh, "
                        "changed since"]  # fmt: skip
    assert main(["benchmark-status", "--pr-tree", str(pr), "--base", "main",
                 "--repo", str(trusted)]) == 1  # fmt: skip
    # A second runner enabled: it has benchmarked nothing yet.
    write(trusted, "conf/runners.yaml", yaml.safe_dump({"runners": {
        "cpu": {"enabled": True, "device": "cpu", "accuracy": True},
        "h100": {"enabled": True, "device": "cuda", "gpu_name": "H100"},
    }}))  # fmt: skip
    message.write_text(trailers(pr, "cpu", ["conf/model/good.yaml"], head="g" * 40))
    git(pr, "commit", "-q", "--allow-empty", "-F", str(message))
    current, problems = check_freshness(trusted, pr, "main")
    assert len(current) == 2 and problems == [
        "conf/model/base.yaml on h100: not benchmarked yet",
        "conf/model/good.yaml on h100: not benchmarked yet",
    ]
