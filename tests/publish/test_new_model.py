"""`leaderboard new-model`: a pinned, valid config in conf/model/, the PR's only file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from runner.cli import main
from runner.config import init_config_revision
from runner.errors import ConfigError
from runner.publish.new_model import scaffold_model
from runner.validate import validate_configs

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def repo(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copytree(repo_root / "conf", tmp_path / "conf")
    shutil.copy(repo_root / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


def test_scaffold_writes_a_valid_pinned_config(repo: Path) -> None:
    before = (repo / "params.yaml").read_text()
    path = scaffold_model(
        repo, "SomeOrg/Some-Model-1.5B", SHA.upper(), display_name="Some: Model | 1.5B"
    )
    assert path == repo / "conf" / "model" / "SomeOrg__Some-Model-1.5B.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["name"] == "SomeOrg__Some-Model-1.5B"
    assert data["hf_id"] == "SomeOrg/Some-Model-1.5B"
    assert data["revision"] == SHA
    assert data["display_name"] == "Some: Model | 1.5B"
    assert data["url"] == "https://huggingface.co/SomeOrg/Some-Model-1.5B"
    assert validate_configs(repo / "conf") == []
    # The config is the PR's only file: params.yaml is not touched.
    assert (repo / "params.yaml").read_text() == before


def test_random_init_config_from_an_architecture_file(repo: Path, tmp_path: Path) -> None:
    """The architecture with random weights: no revision needed, records say random_weights."""
    architecture = tmp_path / "config.json"
    architecture.write_text(
        '{"model_type": "llama", "vocab_size": 1000, "hidden_size": 64, '
        '"intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, '
        '"torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]}'
    )
    code = main(["new-model", "acme/Tiny-Llama", "--random-init", "--init-config",
                 str(architecture), "--repo", str(repo)])  # fmt: skip
    assert code == 0
    data = yaml.safe_load((repo / "conf/model/random__Tiny-Llama.yaml").read_text())
    assert data["source"] == "random-init" and data["random_weights"] is True
    assert data["init_config"] == {
        "model_type": "llama",
        "vocab_size": 1000,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
    }
    assert data["display_name"] == "Tiny-Llama shape (random weights)"
    # The revision is the hash of the shape (and the seed): a changed shape is a new revision.
    assert re.fullmatch(r"init-[0-9a-f]{16}", data["revision"])
    assert data["revision"] == init_config_revision(data["init_config"])
    wider = {**data["init_config"], "hidden_size": 128}
    assert init_config_revision(wider) != data["revision"]
    assert validate_configs(repo / "conf") == []


def test_random_init_needs_its_architecture_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-model", "acme/x", "--random-init", "--repo", str(repo)]) == 1
    assert "--init-config" in capsys.readouterr().err


def test_cli_validate_accepts_it(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["new-model", "acme/tiny-chat", "--revision", SHA, "--dtype", "float16",
                 "--repo", str(repo)])  # fmt: skip
    assert code == 0
    assert "conf/model/acme__tiny-chat.yaml" in capsys.readouterr().out
    assert validate_configs(repo / "conf") == []


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        (None, "--revision: required"),
        ("main", "--revision: expected a full 40-hex commit SHA"),
        ("v1.0", "--revision: expected a full 40-hex commit SHA"),
        ("0123456", "--revision: expected a full 40-hex commit SHA"),
        ("g" * 40, "--revision: expected a full 40-hex commit SHA"),
    ],
)
def test_unpinned_revision_is_refused(repo: Path, revision: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        scaffold_model(repo, "acme/model", revision)
    assert not (repo / "conf" / "model" / "acme__model.yaml").exists()


@pytest.mark.parametrize(
    "hf_id",
    ["../../x", "/abs/path", "a\x00b", "C:\\x", "C:/x", "org/name/extra", "org/..", ".hidden/x",
     "org/", ""],
)  # fmt: skip
def test_names_that_escape_are_refused(repo: Path, hf_id: str) -> None:
    files = sorted((repo / "conf").rglob("*"))
    with pytest.raises(ConfigError, match="hf-id"):
        scaffold_model(repo, hf_id, SHA)
    assert sorted((repo / "conf").rglob("*")) == files


def test_existing_file_is_refused_and_kept(repo: Path) -> None:
    existing = repo / "conf" / "model" / "Qwen__Qwen2.5-0.5B-Instruct.yaml"
    text = existing.read_text()
    params = (repo / "params.yaml").read_text()
    with pytest.raises(ConfigError, match="already exists"):
        scaffold_model(repo, "Qwen/Qwen2.5-0.5B-Instruct", SHA)
    assert existing.read_text() == text
    assert (repo / "params.yaml").read_text() == params


def test_bad_dtype_is_refused(repo: Path) -> None:
    with pytest.raises(ConfigError, match="--dtype"):
        scaffold_model(repo, "acme/model", SHA, dtype="int3")


def test_cli_errors_are_one_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-model", "acme/model", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --revision: required") and err.count("\n") == 1
    assert main(["new-model", "../../etc/passwd", "--revision", SHA, "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: hf-id:") and err.count("\n") == 1
