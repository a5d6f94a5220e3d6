"""Every shipped config composes and validates; bad values give one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.compose import compose_run_config, hydra_context
from runner.config import RunConfig
from runner.errors import ConfigError
from runner.validate import validate_configs

CONF = Path(__file__).resolve().parent.parent / "conf"
MODEL_FILES = sorted((CONF / "model").glob("*.yaml"))
TASK_FILES = sorted((CONF / "task").glob("*.yaml"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_every_model_config_composes(path: Path) -> None:
    with hydra_context():
        config = compose_run_config([f"model={path.stem}"])
    assert isinstance(config, RunConfig)
    assert config.model.name == path.stem
    assert config.model.revision
    assert config.model.trust_remote_code is False


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: p.stem)
def test_every_task_config_composes(path: Path) -> None:
    with hydra_context():
        config = compose_run_config([f"task={path.stem}"])
    assert config.task.name == path.stem
    assert config.task.system_prompt.strip()
    assert config.task.sampling.do_sample is False  # deterministic by default


def test_the_four_tasks_and_three_real_models_ship() -> None:
    assert {p.stem for p in TASK_FILES} >= {"chat", "chat-concise", "instruct", "instruct-concise"}
    real = [p for p in MODEL_FILES if p.stem != "tiny-random"]
    assert len(real) >= 3


def test_validate_configs_reports_nothing_for_shipped_configs() -> None:
    assert validate_configs() == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.dtype=fp8", "model.dtype: expected one of float32, float16, bfloat16"),
        ("batch_size=-1", "batch_size: expected an integer from 1 to 4096"),
        ("batch_size=0", "batch_size: expected an integer from 1 to 4096"),
        ("model.revision=''", "model.revision: expected a non-empty string"),
        ("task.max_new_tokens=0", "task.max_new_tokens: expected an integer from 1"),
        ("backend.device=tpu", "backend.device: expected one of auto, cpu, cuda"),
        ("model.name=../../x", "model.name: expected a name of letters"),
    ],
)
def test_bad_values_name_the_field_and_the_expectation(override: str, expected: str) -> None:
    with hydra_context(), pytest.raises(ConfigError) as caught:
        compose_run_config([override])
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_wrong_type_names_the_field() -> None:
    with hydra_context(), pytest.raises(ConfigError) as caught:
        compose_run_config(["batch_size=many"])
    assert "batch_size" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_error_names_the_config_file(tmp_path: Path) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    bad = conf / "model" / "bad-model.yaml"
    bad.write_text(
        "name: bad-model\nhf_id: org/bad\nrevision: abc\ndisplay_name: Bad\ndtype: fp8\n"
    )
    problems = validate_configs(conf)
    assert len(problems) == 1
    assert problems[0].startswith("conf/model/bad-model.yaml: model.dtype")


def test_missing_revision_is_refused(tmp_path: Path) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "model" / "norev.yaml").write_text(
        "name: norev\nhf_id: org/norev\ndisplay_name: No revision\n"
    )
    problems = validate_configs(conf)
    assert len(problems) == 1
    assert "conf/model/norev.yaml" in problems[0]
    assert "revision" in problems[0]


def test_name_must_match_file_name(tmp_path: Path) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "model" / "file-name.yaml").write_text(
        "name: other-name\nhf_id: org/x\nrevision: abc\ndisplay_name: X\n"
    )
    problems = validate_configs(conf)
    assert problems == [
        "conf/model/file-name.yaml: model.name: expected 'file-name' (the file name), "
        "got 'other-name'"
    ]


def test_random_init_builds_a_real_architecture_without_download() -> None:
    from runner.workload.models import load_model

    with hydra_context():
        config = compose_run_config(["model=random__Qwen2.5-0.5B", "model.dtype=float32"])
    loaded = load_model(config.model, "cpu")
    assert loaded.params == 494_032_768  # Qwen2.5-0.5B's published parameter count
    architecture = loaded.architecture
    assert architecture is not None and architecture.num_key_value_heads == 2
    assert architecture.tie_word_embeddings is True
    assert architecture.embedding_params == 151_936 * 896  # tied: counted once


def test_a_random_init_revision_is_the_hash_of_its_shape() -> None:
    """Records of two shapes never share a revision, and each file says its true revision."""
    from runner.config import init_config_revision

    random_init = [
        path
        for path in sorted((CONF / "model").glob("*.yaml"))
        if yaml.safe_load(path.read_text()).get("source") == "random-init"
    ]
    assert len(random_init) >= 3
    revisions = set()
    for path in random_init:
        data = yaml.safe_load(path.read_text())
        with hydra_context():
            config = compose_run_config([f"model={path.stem}"])
        assert config.model.revision == init_config_revision(data["init_config"])
        assert data["revision"] == config.model.revision, f"{path}: revision is stale"
        revisions.add(config.model.revision)
    assert len(revisions) == len(random_init)
    # A shape changed on the command line is a new revision too.
    with hydra_context():
        smaller = compose_run_config(
            ["model=random__Llama-3.2-1B", "model.init_config.num_hidden_layers=1"]
        )
    assert smaller.model.revision not in revisions


def test_random_init_needs_init_config_and_the_random_label() -> None:
    with hydra_context(), pytest.raises(ConfigError, match="model.random_weights: expected true"):
        compose_run_config(["model=random__Llama-3.2-1B", "model.random_weights=false"])


def test_a_batch_size_larger_than_the_sample_is_refused() -> None:
    with hydra_context(), pytest.raises(ConfigError, match=r"num_prompts: expected at least"):
        compose_run_config(["batch_size=32", "num_prompts=16"])
