"""`leaderboard eval` end to end on the tiny offline model and project-written lm-eval tasks.

Runs the real lm-eval path (HFLM around the loaded model, simple_evaluate) with the hub and
datasets offline and the datasets cache in a temp folder.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runner.accuracy.evaluate as accuracy
from runner.accuracy.evaluate import (
    AccuracyKey,
    accuracy_folder,
    compose_eval_config,
    evaluate_suite,
    find_existing,
    validate_eval_configs,
)
from runner.accuracy.loyalty import loyalty_from_rows
from runner.accuracy.suites import EvalRunConfig, EvalSuiteConfig, EvalTaskConfig
from runner.accuracy.tasks import materialize_task_dirs
from runner.cli import main
from runner.compose import conf_dir, hydra_context
from runner.errors import ConfigError
from runner.machine.energy import FakeEnergyMeter
from runner.records.accuracy import AccuracyRecord
from runner.records.load import scan_results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lm_eval_tasks"
TASK = "lb_test_arith"


@pytest.fixture(scope="module", autouse=True)
def _datasets_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the `datasets` cache in a temp folder (it is read at import, so patch both)."""
    cache = tmp_path_factory.mktemp("hf-datasets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_DATASETS_CACHE", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        import datasets.config

        patch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
        yield


def make_suite(limit: int | None = None, shots: int = 2) -> EvalSuiteConfig:
    """The fixture task, `shots`-shot, acc_norm."""
    return EvalSuiteConfig(
        name="test",
        tasks={TASK: EvalTaskConfig(num_fewshot=shots, metric="acc_norm", limit=limit)},
        task_dirs=[str(FIXTURES)],
        batch_size=4,
    )


def eval_config(results: Path, suite: EvalSuiteConfig, **model: Any) -> EvalRunConfig:
    """The demo eval config (tiny model, CPU) with `suite`, writing into `results`."""
    with hydra_context():
        config = compose_eval_config(["experiment=demo", f"results_dir={results}"])
    return dataclasses.replace(config, eval=suite, model=dataclasses.replace(config.model, **model))


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every dict `simple_evaluate` returns during the test, in order."""
    results: list[Any] = []
    real = accuracy._simple_evaluate

    def spy(*args: Any, **kwargs: Any) -> Any:
        res = real(*args, **kwargs)
        results.append(res)
        return res

    monkeypatch.setattr(accuracy, "_simple_evaluate", spy)
    return results


def read_rows(path: Path, record: AccuracyRecord) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in (path.parent / record.raw_data.file).read_text().splitlines()
    ]


def test_record_holds_lm_eval_numbers(tmp_path: Path, captured: list[Any]) -> None:
    config = eval_config(tmp_path, make_suite())
    meter = FakeEnergyMeter(power_w=10.0)
    [outcome] = evaluate_suite(config, meter=meter, echo=lambda line: None)
    assert outcome.status == "written"
    [res] = captured
    results = res["results"][TASK]
    record = outcome.record
    assert record.score == results["acc_norm,none"]
    assert record.stderr == results["acc_norm_stderr,none"]
    assert record.metric == "acc_norm"
    assert record.samples == len(res["samples"][TASK]) == res["n-samples"][TASK]["effective"] == 12
    assert record.task_version == str(res["versions"][TASK]) == "2.0"
    assert record.lm_eval_version == res["lm_eval_version"]
    assert record.identity.num_fewshot == res["n-shot"][TASK] == 2
    assert record.identity.limit is None
    assert record.random_weights is True
    # The layout and the raw data beside the record.
    key = AccuracyKey.of(config.model, config.eval, TASK)
    assert outcome.path.parent == accuracy_folder(tmp_path, key)
    assert outcome.path.parent == tmp_path / "accuracy/tiny-random" / TASK / "2shot-all" / (
        config.model.revision
    )
    rows = read_rows(outcome.path, record)
    by_doc = {sample["doc_id"]: sample for sample in res["samples"][TASK]}
    assert [row["doc_id"] for row in rows] == sorted(by_doc)
    for row in rows:
        sample = by_doc[row["doc_id"]]
        assert row["choice_logliks"] == [float(ll) for ll, _ in sample["filtered_resps"]]
        assert row["prompt_hash"] == sample["prompt_hash"]
        assert row["acc_norm"] == sample["acc_norm"]
    assert sum(row["acc_norm"] for row in rows) / len(rows) == pytest.approx(record.score)
    # The eval's own cost, from the meter given.
    assert record.cost.energy_source == "fake"
    assert record.cost.energy_j == pytest.approx(10.0 * record.cost.duration_s)
    assert record.cost.duration_s > 0
    # `leaderboard validate` accepts it (schema, raw data sha256 and row count).
    scan = scan_results(tmp_path)
    assert scan.problems == [] and scan.warnings == []
    assert [path for path, _ in scan.records] == [outcome.path]


def test_unmetered_energy_is_null_with_reason(tmp_path: Path) -> None:
    config = eval_config(tmp_path, make_suite(limit=3))
    config = dataclasses.replace(config, energy_meter="none")
    [outcome] = evaluate_suite(config, echo=lambda line: None)
    cost = outcome.record.cost
    assert cost.energy_source == "unavailable"
    assert cost.energy_j is None
    assert cost.energy_reason
    assert outcome.record.samples == 3
    assert outcome.path.parent.parent.name == "2shot-3"


def test_existing_record_is_skipped_whatever_hardware_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_root = tmp_path / "first"
    [first] = evaluate_suite(eval_config(first_root, make_suite()), echo=lambda line: None)
    # Another runner (a GPU) wrote the record: same key, other hardware and run id.
    gpu_root = tmp_path / "gpu"
    data = json.loads(first.path.read_text())
    data["cost"]["hardware_slug"] = "nvidia-h100-80gb-hbm3"
    folder = accuracy_folder(gpu_root, first.key)
    folder.mkdir(parents=True)
    (folder / first.path.name).write_text(json.dumps(data))
    shutil.copy(first.path.parent / first.record.raw_data.file, folder)

    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model must not be loaded when every task is scored")

    monkeypatch.setattr("runner.workload.models.load_model", no_load)
    for root in (first_root, gpu_root):
        lines: list[str] = []
        [again] = evaluate_suite(eval_config(root, make_suite()), echo=lines.append)
        assert again.status == "skipped"
        assert again.record.run_id == first.record.run_id
        assert len(lines) == 1 and lines[0].startswith("eval: skipped")
        assert len(list(accuracy_folder(root, first.key).glob("*.json"))) == 1


def test_another_limit_or_revision_is_another_key(tmp_path: Path) -> None:
    [full] = evaluate_suite(eval_config(tmp_path, make_suite()), echo=lambda line: None)
    [limited] = evaluate_suite(eval_config(tmp_path, make_suite(limit=4)), echo=lambda line: None)
    assert limited.status == "written" and limited.record.samples == 4
    assert find_existing(tmp_path, full.key) is not None
    other_revision = dataclasses.replace(full.key, model_revision="another-rev")
    assert find_existing(tmp_path, other_revision) is None


def test_loyalty_of_identical_and_bf16_variants(tmp_path: Path, captured: list[Any]) -> None:
    suite = make_suite(limit=8)
    [base] = evaluate_suite(eval_config(tmp_path, suite), echo=lambda line: None)
    base_model = eval_config(tmp_path, suite).model
    base_rows = read_rows(base.path, base.record)

    # The same weights under another id: both loyalties are exactly 1.
    copy = eval_config(
        tmp_path,
        suite,
        name="tiny-copy",
        hf_id="energy-leaderboard/tiny-copy",
        base_model="tiny-random",
    )
    lines: list[str] = []
    [same] = evaluate_suite(copy, base=base_model, echo=lines.append)
    loyalty = same.record.loyalty
    assert loyalty is not None
    assert (loyalty.label_loyalty, loyalty.probability_loyalty) == (1.0, 1.0)
    assert loyalty.base_model_name == "tiny-random"
    assert loyalty.base_run_id == base.record.run_id
    assert loyalty.samples == 8
    assert same.record.score == base.record.score
    assert any("loyalty of tiny-copy to tiny-random" in line for line in lines)

    # The same weights in bfloat16: loyalty is what the two sample files say.
    bf16 = eval_config(
        tmp_path,
        suite,
        name="tiny-bf16",
        hf_id="energy-leaderboard/tiny-bf16",
        dtype="bfloat16",
        base_model="tiny-random",
    )
    [variant] = evaluate_suite(bf16, base=base_model, echo=lambda line: None)
    expected = loyalty_from_rows(base_rows, read_rows(variant.path, variant.record))
    assert not isinstance(expected, str)
    assert variant.record.loyalty is not None
    assert variant.record.loyalty.label_loyalty == expected.label_loyalty
    assert variant.record.loyalty.probability_loyalty == expected.probability_loyalty
    assert 0.0 <= variant.record.loyalty.probability_loyalty <= 1.0
    assert scan_results(tmp_path).problems == []


def test_variant_without_base_record_has_null_loyalty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = make_suite(limit=2)
    base_model = eval_config(tmp_path, suite).model
    copy = eval_config(
        tmp_path,
        suite,
        name="tiny-copy",
        hf_id="energy-leaderboard/tiny-copy",
        base_model="tiny-random",
    )
    [outcome] = evaluate_suite(copy, base=base_model, echo=lambda line: None)
    assert outcome.record.loyalty is None
    err = capsys.readouterr().err
    assert "loyalty" in err and "no accuracy record of base model tiny-random" in err


def test_variant_with_the_base_models_id_is_refused(tmp_path: Path) -> None:
    suite = make_suite(limit=2)
    base_model = eval_config(tmp_path, suite).model
    same_id = eval_config(tmp_path, suite, name="tiny-int8", base_model="tiny-random")
    with pytest.raises(ConfigError, match=r"model\.hf_id: a variant needs its own hf_id"):
        evaluate_suite(same_id, base=base_model, echo=lambda line: None)


def test_shots_fixed_by_the_task_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    text = (FIXTURES / f"{TASK}.yaml").read_text()
    (folder / "fixed.yaml").write_text(
        text.replace(f"task: {TASK}", "task: lb_test_fixed") + "num_fewshot: 0\n"
    )
    for name in (f"{TASK}.jsonl", f"{TASK}.train.jsonl"):
        shutil.copy(FIXTURES / name, folder)
    suite = EvalSuiteConfig(
        name="test",
        tasks={"lb_test_fixed": EvalTaskConfig(num_fewshot=2, metric="acc", limit=2)},
        task_dirs=[str(folder)],
    )
    with pytest.raises(ConfigError, match="num_fewshot: lm-eval's task fixes 0 shots"):
        evaluate_suite(eval_config(tmp_path / "results", suite), echo=lambda line: None)
    assert not (tmp_path / "results").exists()


def test_cli_quick_suite_twice_then_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    args = ["eval", "experiment=demo", "eval=quick", "eval.limit=6", f"results_dir={results}"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.count(" -> ") == 3
    assert main(args) == 0
    second = capsys.readouterr().out
    assert second.count("eval: skipped") == 3
    assert main(["validate", "--results", str(results)]) == 0
    assert "3 record(s) ok" in capsys.readouterr().out
    tasks = sorted(p.name for p in (results / "accuracy" / "tiny-random").iterdir())
    assert tasks == ["lb_quick_commonsense", "lb_quick_science", "lb_quick_truth"]


def test_cli_bad_eval_value_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "eval=quick", "eval.tasks.lb_quick_truth.metric=f1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: conf/eval/quick.yaml: eval.tasks.lb_quick_truth.metric: "
        "expected one of acc, acc_norm, got 'f1'"
    )


def test_shipped_suites_compose_and_validate() -> None:
    with hydra_context():
        standard = compose_eval_config(["eval=standard"]).eval
        quick = compose_eval_config(["eval=quick", "eval.limit=5"]).eval
    assert {name: (t.num_fewshot, t.metric) for name, t in standard.tasks.items()} == {
        "arc_challenge": (25, "acc_norm"),
        "hellaswag": (10, "acc_norm"),
        "truthfulqa_mc2": (0, "acc"),
    }
    assert all(standard.effective_limit(name) is None for name in standard.tasks)
    assert all(quick.effective_limit(name) == 5 for name in quick.tasks)
    assert validate_eval_configs(conf_dir()) == []


def test_materialized_tasks_use_absolute_data_files(tmp_path: Path) -> None:
    import yaml

    [written] = materialize_task_dirs([FIXTURES], tmp_path)
    data = yaml.safe_load(written.read_text())
    files = data["dataset_kwargs"]["data_files"]
    assert files["test"] == str(FIXTURES / f"{TASK}.jsonl")
    assert Path(files["train"]).is_absolute()

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "t.yaml").write_text(
        "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: missing.jsonl\n"
    )
    with pytest.raises(ConfigError, match=r"t\.yaml: dataset_kwargs.data_files: expected"):
        materialize_task_dirs([broken], tmp_path / "out")


def test_validate_reports_a_missing_base_model_once(tmp_path: Path) -> None:
    from runner.validate import validate_configs

    conf = tmp_path / "conf"
    shutil.copytree(conf_dir(), conf)
    (conf / "model" / "tiny-int4.yaml").write_text(
        "name: tiny-int4\nhf_id: org/tiny-int4\nrevision: abc\ndisplay_name: Tiny int4\n"
        "base_model: no-such-model\n"
    )
    (conf / "eval" / "broken.yaml").write_text(
        "name: broken\ntasks:\n  lb_quick_truth:\n    metric: f1\n"
    )
    assert validate_configs(conf) == [
        "conf/eval/broken.yaml: eval.tasks.lb_quick_truth.metric: expected one of acc, "
        "acc_norm, got 'f1'",
        "conf/model/tiny-int4.yaml: model.base_model: expected a config name in conf/model/, "
        "got 'no-such-model'",
    ]
