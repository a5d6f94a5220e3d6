"""Property-based bad input over model and task configs: always one clear line, never a traceback.

Each generated YAML file replaces one config in a copy of conf/. `validate_configs` must either
accept it or return exactly one single-line problem that names the file; any other exception is a
bug (a traceback) and fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.compose import hydra_context
from runner.validate import check_config_file, validate_configs
from tests.support.reliability_support import pytest_command, report

CONF = Path(__file__).resolve().parent.parent / "conf"

MODEL_FIELDS = {
    "name": "fuzz-model",
    "hf_id": "org/fuzz",
    "revision": "abc123",
    "display_name": "Fuzz",
    "dtype": "bfloat16",
    "source": "hub",
    "url": "",
    "license": "MIT",
    "params": 1000,
    "trust_remote_code": False,
    "random_weights": False,
    "base_model": None,
}
TASK_FIELDS = {
    "name": "fuzz-task",
    "system_prompt": "Be helpful.",
    "prompt_set": "chat",
    "prompt_format": "jsonl",
    "max_new_tokens": 16,
    "sampling": {"do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": 0},
}

bad_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "../../x",
            "/etc/passwd",
            "C:\\x",
            "a\x00b",
            "ünïcødé",
            "💥" * 30,
            "x" * 5000,
            "${oc.env:HOME}",
            "???",
            "<script>alert(1)</script>",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def mutated(base: dict, data: st.DataObject) -> dict:
    config = dict(base)
    for key in data.draw(st.lists(st.sampled_from(sorted(base)), max_size=3, unique=True)):
        action = data.draw(st.sampled_from(["replace", "delete"]))
        if action == "delete":
            config.pop(key, None)
        else:
            config[key] = data.draw(bad_scalars)
    if data.draw(st.booleans()):
        config[data.draw(st.text(min_size=1, max_size=8))] = data.draw(bad_scalars)
    return config


@pytest.fixture(scope="module")
def conf_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(CONF, target)
    return target


# group -> [configs tried, refused with one line, tracebacks or multi-line answers]
COUNTS: dict[str, list[int]] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    for group, (tried, refused, bad) in sorted(COUNTS.items()):
        report(
            "bad-input",
            f"hypothesis: {group} configs",
            tried=tried,
            tracebacks=bad,
            command=pytest_command("tests/test_config_fuzz.py"),
            note=f"{refused} refused with one line naming the file, the rest valid",
        )


def check(conf: Path, group: str, name: str, config: dict) -> None:
    path = conf / group / f"{name}.yaml"
    counts = COUNTS.setdefault(group, [0, 0, 0])
    counts[0] += 1
    try:
        path.write_text(yaml.safe_dump(config, allow_unicode=True))
        with hydra_context(conf):
            problem = check_config_file(group, name)
    except Exception:
        counts[2] += 1
        raise
    finally:
        path.unlink(missing_ok=True)
    if problem is not None:
        counts[1] += 1
        if "\n" in problem or not problem.startswith(f"conf/{group}/{name}.yaml: "):
            counts[2] += 1
        assert "\n" not in problem
        assert problem.startswith(f"conf/{group}/{name}.yaml: ")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_model_configs_fail_cleanly(conf_copy: Path, data: st.DataObject) -> None:
    check(conf_copy, "model", "fuzz-model", mutated(MODEL_FIELDS, data))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_task_configs_fail_cleanly(conf_copy: Path, data: st.DataObject) -> None:
    check(conf_copy, "task", "fuzz-task", mutated(TASK_FIELDS, data))


def test_python_object_tags_are_refused_not_run(conf_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = conf_copy / "model" / "evil.yaml"
    path.write_text(
        "name: evil\nhf_id: org/evil\nrevision: abc\ndisplay_name: !!python/object/apply:os.system"
        f" ['touch {marker}']\n"
    )
    try:
        problems = validate_configs(conf_copy)
    finally:
        path.unlink()
    assert not marker.exists()
    assert len(problems) == 1 and "conf/model/evil.yaml" in problems[0]
    report(
        "bad-input",
        "YAML python object tag in a model config",
        tried=1,
        executed=int(marker.exists()),
        tracebacks=int(len(problems) != 1),
        command=pytest_command("tests/test_config_fuzz.py"),
    )


@pytest.mark.parametrize("value", ["yes", "1", "on", "'true'", "1.0"])
def test_trust_remote_code_needs_a_real_boolean(conf_copy: Path, value: str) -> None:
    path = conf_copy / "model" / "loose.yaml"
    path.write_text(
        f"name: loose\nhf_id: org/loose\nrevision: abc\ndisplay_name: L\n"
        f"trust_remote_code: {value}\n"
    )
    try:
        problems = validate_configs(conf_copy)
    finally:
        path.unlink()
    assert len(problems) == 1
    assert problems[0].startswith("conf/model/loose.yaml: model.trust_remote_code: ")
    report(
        "bad-input",
        "trust_remote_code: not a real boolean",
        tried=1,
        executed=0,  # refused, so never turned on (asserted above)
        tracebacks=0,
        command=pytest_command("tests/test_config_fuzz.py"),
        note="yes, 1, on, 'true', 1.0",
        instance=value,
    )


def test_trust_remote_code_is_off_unless_explicit(conf_copy: Path) -> None:
    from runner.compose import compose_run_config, hydra_context

    plain = conf_copy / "model" / "plain.yaml"
    plain.write_text("name: plain\nhf_id: org/plain\nrevision: abc\ndisplay_name: Plain\n")
    trusted = conf_copy / "model" / "trusted.yaml"
    trusted.write_text(
        "name: trusted\nhf_id: org/t\nrevision: abc\ndisplay_name: T\ntrust_remote_code: true\n"
    )
    try:
        with hydra_context(conf_copy):
            assert compose_run_config(["model=plain"]).model.trust_remote_code is False
            assert compose_run_config(["model=trusted"]).model.trust_remote_code is True
    finally:
        plain.unlink()
        trusted.unlink()
