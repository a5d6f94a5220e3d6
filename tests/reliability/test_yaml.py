"""Every YAML reader is safe, and trust_remote_code is off unless a config says so.

The readers: Hydra/OmegaConf for conf/ (every group and the root config), `yaml.compose` with
SafeLoader for the strict-boolean check, and `yaml.safe_load` for params.yaml (pr-benchmark) and
the runner registry conf/runners.yaml (runner-matrix, runner-check, pr-benchmark). A python
object tag in any of them is refused in one line and never runs; no module of ours calls an
unsafe loader.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from leaderboard_site.build import build_site
from runner.cli import main
from runner.compose import compose_run_config, hydra_context
from runner.errors import UserError
from tests.support.reliability_support import pytest_command, report
from tests.support.site_support import GOLDEN

COMMAND = pytest_command("tests/reliability/test_yaml.py")
REPO = Path(__file__).resolve().parents[2]
UNSAFE_CALLS = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
UNSAFE_LOADERS = {"Loader", "UnsafeLoader", "FullLoader", "UnsafeConstructor", "FullConstructor"}


def tag_payload(marker: Path) -> str:
    return f"!!python/object/apply:os.system ['touch {marker}']"


def test_no_module_calls_an_unsafe_yaml_loader() -> None:
    """An AST scan of our Python: no yaml.load/full_load/unsafe_load, no Loader=yaml.Loader."""
    offenders = []
    files = [
        *REPO.glob("runner/**/*.py"),
        *REPO.glob("leaderboard_site/**/*.py"),
        *REPO.glob("scripts/*.py"),
        *REPO.glob("benchmarks/*.py"),
        *REPO.glob("tests/**/*.py"),
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "yaml"
                and node.attr in UNSAFE_CALLS | UNSAFE_LOADERS
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: yaml.{node.attr}")
    report(
        "bad-input",
        "no unsafe YAML loader in the code (AST scan)",
        tried=len(files),
        executed=len(offenders),
        command=COMMAND,
        note="files scanned for yaml.load/full_load/unsafe_load and Loader/FullLoader",
    )
    assert offenders == []


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copytree(REPO / "conf", work / "conf")
    shutil.copy(REPO / "params.yaml", work / "params.yaml")
    return work


def test_python_tags_in_every_yaml_reader_are_refused(
    repo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    conf = repo_copy / "conf"
    cases: list[tuple[str, Path, str, list[str]]] = [
        ("task config", conf / "task" / "chat.yaml", "system_prompt", ["task=chat"]),
        ("backend config", conf / "backend" / "eager.yaml", "device", ["backend=eager"]),
        ("experiment config", conf / "experiment" / "demo.yaml", "seed", ["experiment=demo"]),
        ("root config", conf / "config.yaml", "seed", []),
        ("model config", conf / "model" / "tiny-random.yaml", "license", ["model=tiny-random"]),
    ]
    executed = unclear = 0
    for _label, path, key, overrides in cases:
        original = path.read_text()
        path.write_text(original + f"\n{key}: {tag_payload(marker)}\n")
        try:
            with hydra_context(conf):
                compose_run_config(overrides)
            unclear += 1  # accepted: the tag was read as something
        except UserError as error:
            unclear += "\n" in str(error)
        except Exception:
            unclear += 1  # a traceback
        finally:
            path.write_text(original)
        executed += marker.exists()
    # params.yaml (runner.publish.pipeline.load_params, read by pr-benchmark) and the runner
    # registry (runner.publish.runners.load_registry, read by runner-matrix and runner-check).
    params = repo_copy / "params.yaml"
    params.write_text(params.read_text() + f"evil: {tag_payload(marker)}\n")
    registry = repo_copy / "conf" / "runners.yaml"
    original_registry = registry.read_text()
    readers = [
        (["pr-benchmark", "--repo", str(repo_copy), "--label", "cpu-rehearsal", "--models",
          "tiny-random", "--hardware", "cpu-x", "--run-id", "20260101T000000Z-1.1"], "params.yaml"),
        (["runner-matrix", "--repo", str(repo_copy)], "runners.yaml"),
    ]  # fmt: skip
    for number, (argv, name) in enumerate(readers):
        if number == 1:
            registry.write_text(original_registry + f"evil: {tag_payload(marker)}\n")
        code = main(argv)
        err = capsys.readouterr().err
        unclear += code != 1 or "Traceback" in err or name not in err
        executed += marker.exists()
    report(
        "bad-input",
        "YAML python object tags in every YAML reader",
        tried=len(cases) + 2,
        executed=executed,
        tracebacks=unclear,
        command=COMMAND,
        note="task, backend, experiment, root and model configs; params.yaml",
    )
    assert executed == 0
    assert unclear == 0


@pytest.mark.parametrize("value", ["yes", "on", "1", "'true'", "y", "'1'", "1.0"])
def test_trust_remote_code_override_needs_a_real_boolean(value: str) -> None:
    """A command-line override is as strict as the file: only true/false turns it on."""
    with hydra_context():
        try:
            config = compose_run_config(["model=tiny-random", f"model.trust_remote_code={value}"])
        except UserError:
            turned_on = False
        else:
            turned_on = config.model.trust_remote_code is True
    report(
        "bad-input",
        "trust_remote_code: loose override on the command line",
        tried=1,
        executed=int(turned_on),
        command=COMMAND,
        note="yes, on, 1, 'true', y, '1', 1.0",
        instance=value,
    )
    assert not turned_on


def test_remote_code_badge_only_on_models_that_need_it(tmp_path: Path) -> None:
    """The site marks every model loaded with trust_remote_code, and only those."""
    from runner.records.load import scan_results

    out = tmp_path / "_site"
    build_site(GOLDEN, out, bundle="/* */")
    needs = {
        r.identity.model_name: r.model.trust_remote_code
        for _, r in scan_results(GOLDEN).records
        if getattr(r, "kind", "") == "performance"
    }
    assert any(needs.values()) and not all(needs.values())
    from leaderboard_site.site_data import slugify

    wrong = []
    index = (out / "index.html").read_text()
    for name, remote in needs.items():
        page = (out / "models" / f"{slugify(name)}.html").read_text()
        title = page.split('id="model-title"', 1)[1].split("</h1>", 1)[0]
        if ("badge-remote" in title) != remote:
            wrong.append(f"model page {name}")
        item = next(li for li in index.split("<li>") if f"models/{slugify(name)}.html" in li)
        if ("badge-remote" in item.split("</li>", 1)[0]) != remote:
            wrong.append(f"index {name}")
    assert wrong == []


@pytest.mark.parametrize("key", ["\n", "a\tb", "\r", "x\u2028y", "\x1b[31m"])
def test_keys_with_control_characters_give_one_line(repo_copy: Path, key: str) -> None:
    """Found by the hypothesis fuzz: an unknown key "\\n" made a two-line error."""
    import yaml

    from runner.validate import validate_configs

    path = repo_copy / "conf" / "model" / "odd.yaml"
    data = {"name": "odd", "hf_id": "org/odd", "revision": "abc", "display_name": "Odd"}
    path.write_text(yaml.safe_dump({**data, key: 1}))
    problems = validate_configs(repo_copy / "conf")
    report(
        "bad-input",
        "config keys with control characters",
        tried=1,
        tracebacks=int(len(problems) != 1 or "\n" in problems[0]),
        command=COMMAND,
        instance=repr(key),
    )
    assert len(problems) == 1 and "\n" not in problems[0]
    assert problems[0].startswith("conf/model/odd.yaml: ")
