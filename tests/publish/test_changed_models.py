"""`leaderboard changed-models --base REF`: model configs changed since the merge base."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import UserError
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


def test_an_uncommitted_config_is_named_with_the_fix(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """changed-models reads commits: a config not yet committed is not listed, and it says so."""
    write(repo, "conf/model/c.yaml")
    assert main(["changed-models", "--base", "main", "--repo", str(repo)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "a\nb\n"
    assert "conf/model/c.yaml is not committed" in captured.err
    assert "commit it first" in captured.err
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "c")
    assert changed_models(repo, "main") == ["a", "b", "c"]


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
