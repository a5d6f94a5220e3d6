"""Faults and bad input on the accuracy path: kills around every write of `leaderboard eval`,
and property-based bad eval-suite configs."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.records.load import scan_results
from tests.reliability.test_runner import (
    assert_nothing_partial,
    assert_strict_build_succeeds,
    run_driver,
)
from tests.support.reliability_support import pytest_command
from tests.support.reliability_support import report as reliability_report
from tests.test_config_fuzz import bad_scalars

CONF = Path(__file__).resolve().parents[2] / "conf"
# One project task, four documents: the samples file is written first, then the record.
EVAL_ARGS = [
    "experiment=demo",
    "eval=quick",
    "~eval.tasks.lb_quick_commonsense",
    "~eval.tasks.lb_quick_truth",
    "eval.limit=4",
]
COMMAND = pytest_command("tests/reliability/test_accuracy.py")


@pytest.mark.slow
def test_sigkill_around_every_accuracy_write_loses_nothing(tmp_path: Path) -> None:
    """Mid-write and before/after the link of the samples file (1st) and the record (2nd)."""
    results = tmp_path / "results"
    targets = ["write1:mid", "link1:before", "link1:after", "write2:mid", "link2:before"]
    refused_builds = 0
    for target in targets:
        completed = run_driver(target, results, EVAL_ARGS, command=("eval",))
        assert completed.returncode == -signal.SIGKILL, completed.stderr[-2000:]
        # Killed before its record was linked, the eval wrote no record.
        assert assert_nothing_partial(results) == 0
        refused_builds += not assert_strict_build_succeeds(results, tmp_path / "_site")
    # The last kill point: the record itself was linked, so it is complete and counts.
    completed = run_driver("link2:after", results, EVAL_ARGS, command=("eval",))
    assert completed.returncode == -signal.SIGKILL
    assert assert_nothing_partial(results) == 1
    refused_builds += not assert_strict_build_succeeds(results, tmp_path / "_site")
    assert refused_builds == 0
    # And that record is honoured: the next eval of the same key is skipped, not repeated.
    before = sorted(p for p in results.rglob("*") if p.is_file())
    assert main(["eval", f"results_dir={results}", *EVAL_ARGS]) == 0
    assert sorted(p for p in results.rglob("*") if p.is_file()) == before
    assert main(["validate", "--results", str(results)]) == 0
    scan = scan_results(results)
    # link1:after, write2:mid, link2:before: complete samples files, leftovers, never warnings.
    assert len(scan.leftovers) == 3 and scan.warnings == []
    reliability_report(
        "faults",
        "sigkill around each accuracy write",
        tried=len(targets) + 1,
        lost=len(scan_results(results).problems),
        command=COMMAND,
        note=(
            "mid-write, before and after the link, of the samples file and of the record; "
            f"`build --strict` refused after {refused_builds} of {len(targets) + 1} kills"
        ),
    )


SUITE = {
    "name": "fuzz-suite",
    "tasks": {"lb_quick_truth": {"num_fewshot": 0, "metric": "acc", "limit": 4}},
    "task_dirs": ["eval/tasks"],
    "limit": None,
    "batch_size": 8,
    "fewshot_seed": 1234,
}
bad_values = bad_scalars  # the same bad values as the model and task config fuzzing


def mutate(data: st.DataObject) -> dict:
    suite = yaml.safe_load(yaml.safe_dump(SUITE))
    task = suite["tasks"]["lb_quick_truth"]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        where = data.draw(st.sampled_from(["suite", "task", "tasks"]))
        if where == "suite":
            key = data.draw(st.sampled_from([*sorted(SUITE), "surprise"]))
            if data.draw(st.booleans()):
                suite.pop(key, None)
            else:
                suite[key] = data.draw(bad_values)
        elif where == "task":
            key = data.draw(st.sampled_from(["num_fewshot", "metric", "limit", "surprise"]))
            task[key] = data.draw(bad_values)
        else:
            suite["tasks"] = data.draw(bad_values)
    return suite


@pytest.fixture(scope="module")
def conf_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(CONF, target)
    return target


tried = {"inputs": 0, "tracebacks": 0}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_eval_suite_configs_fail_cleanly(conf_copy: Path, data: st.DataObject) -> None:
    """A mutated eval suite is accepted or refused with one line naming the file/field."""
    from runner.accuracy.evaluate import validate_eval_configs

    path = conf_copy / "eval" / "fuzz-suite.yaml"
    path.write_text(yaml.safe_dump(mutate(data), allow_unicode=True))
    tried["inputs"] += 1
    try:
        problems = validate_eval_configs(conf_copy)
    except Exception:
        tried["tracebacks"] += 1
        raise
    finally:
        path.unlink(missing_ok=True)
    for problem in problems:
        assert "\n" not in problem
        assert "eval" in problem


def test_eval_fuzz_figures() -> None:
    """Report the property test's counts (runs after it in file order)."""
    reliability_report(
        "bad-input",
        "hypothesis: eval suite configs",
        tried=tried["inputs"],
        tracebacks=tried["tracebacks"],
        command=COMMAND,
        note="wrong types, missing fields, huge values, unicode, empty strings, tags",
    )
