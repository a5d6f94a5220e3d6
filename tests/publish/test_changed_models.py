"""`leaderboard changed-models --base REF`: model configs changed since the merge base."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import ConfigError, UserError
from runner.publish.changed_models import changed_models, models_in

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "PATH": "/usr/bin:/bin",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)


def write(repo: Path, relative: str, text: str = "x: 1\n") -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: models a, old; branch `pr`: a changed, b and c added, old deleted, a task changed;
    meanwhile main gained z (not the PR's change)."""
    write(tmp_path, "params.yaml", "tasks:\n  - chat\nmodels:\n  - a\n  - b\n  - old\n  - z\n")
    write(tmp_path, "conf/model/a.yaml")
    write(tmp_path, "conf/model/old.yaml")
    write(tmp_path, "conf/task/chat.yaml")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    git(tmp_path, "checkout", "-q", "-b", "pr")
    write(tmp_path, "conf/model/a.yaml", "x: 2\n")
    write(tmp_path, "conf/model/b.yaml")
    write(tmp_path, "conf/model/notes.md", "not a config\n")
    write(tmp_path, "conf/model/sub/c.yaml")
    write(tmp_path, "conf/task/chat.yaml", "x: 3\n")
    (tmp_path / "conf/model/old.yaml").unlink()
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "pr")
    git(tmp_path, "checkout", "-q", "main")
    write(tmp_path, "conf/model/z.yaml")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "main moves on")
    git(tmp_path, "checkout", "-q", "pr")
    return tmp_path


def test_changed_added_only_since_the_merge_base(repo: Path) -> None:
    assert changed_models(repo, "main") == ["a", "b"]


def test_cli_lines_and_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["changed-models", "--base", "main", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == "a\nb\n"
    assert main(["changed-models", "--base", "main", "--repo", str(repo), "--format", "json"]) == 0
    assert capsys.readouterr().out.strip() == '["a", "b"]'


def test_nothing_changed(repo: Path) -> None:
    assert changed_models(repo, "HEAD") == []


def test_unlisted_model_is_an_error_naming_the_file(repo: Path) -> None:
    write(repo, "conf/model/c.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "c")
    with pytest.raises(ConfigError, match=r"conf/model/c\.yaml: not listed in params\.yaml"):
        changed_models(repo, "main")
    assert changed_models(repo, "main", require_listed=False) == ["a", "b", "c"]


@pytest.mark.parametrize("base", ["--output=/tmp/x", "a..b", "no-such-ref", "", "main;rm"])
def test_bad_base_is_one_line(repo: Path, base: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError):
        changed_models(repo, base)
    assert main(["changed-models", "--repo", str(repo), f"--base={base}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --base") and err.count("\n") == 1


def test_models_in_ignores_other_paths() -> None:
    paths = ["conf/model/x.yaml", "conf/model/y.yml", "conf/task/t.yaml", "a/conf/model/q.yaml"]
    assert models_in(paths) == ["x"]


def test_the_real_repository_has_every_model_listed(repo_root: Path) -> None:
    """Every real model config in this repository has DVC stages (params.yaml lists it).

    Random-weight configs (the tiny default and the random-init architecture shapes) are
    diagnostic: they are run by hand, e.g. on a GPU machine without hub access.
    """
    import yaml

    from runner.publish.pipeline import load_params

    listed = set(load_params(repo_root)["models"])
    configs = {
        path.stem
        for path in (repo_root / "conf" / "model").glob("*.yaml")
        if not yaml.safe_load(path.read_text()).get("random_weights", False)
    }
    assert configs <= listed
    assert "tiny-random" not in configs
