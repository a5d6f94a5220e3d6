"""Runners with several GPUs: the registry's `gpus`, the machine check, and what a model needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.cli import main
from runner.config import ModelConfig, gpus_needed
from runner.errors import ConfigError, UserError
from runner.publish.leg import tensor_parallel_for
from runner.publish.runners import RunnerEntry, check_machine, load_registry

H100 = "NVIDIA H100 80GB HBM3"
GIB = 2**30


def entry(gpus: int) -> RunnerEntry:
    return RunnerEntry(
        label="h100x4", enabled=True, device="cuda", gpu_name="H100", accuracy=True, gpus=gpus
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runners:\n  x: {device: cpu, gpus: 2}\n", "runners.x.gpus: expected 1 (or none)"),
        ("runners:\n  x: {device: cuda, gpu_name: H100, gpus: 0}\n", "runners.x.gpus: expected a"),
        ("runners:\n  x: {device: cuda, gpu_name: H100, gpus: two}\n", "runners.x.gpus: expected"),
    ],
)
def test_a_bad_gpu_count_is_one_line_naming_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "runners.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_registry(tmp_path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_registry_knows_each_runners_gpus(repo_root: Path) -> None:
    registry = load_registry(repo_root)
    assert registry["h100"].gpus == 1 and registry["cpu-rehearsal"].gpus == 1


def test_the_check_wants_every_gpu_of_the_leg_visible_and_of_the_named_kind() -> None:
    detected = ("cuda", H100, "")
    assert check_machine(entry(4), detected, [H100] * 4) == "cuda"
    assert check_machine(entry(2), detected, [H100] * 4) == "cuda"  # a leg may use fewer
    with pytest.raises(UserError, match=r"expected 4 visible GPUs .* shows 2 \(CUDA_VISIBLE"):
        check_machine(entry(4), detected, [H100] * 2)
    with pytest.raises(UserError, match="also has 'NVIDIA A100-SXM4-40GB' among them"):
        check_machine(entry(2), detected, [H100, "NVIDIA A100-SXM4-40GB"])


def test_runner_check_says_how_many_gpus_the_leg_uses(repo_root: Path, capsys) -> None:
    assert main(["runner-check", "--label", "cpu-rehearsal", "--repo", str(repo_root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "gpus=1"


def _model(**fields) -> ModelConfig:
    base = {"name": "m", "hf_id": "org/m", "revision": "abc", "display_name": "M"}
    return ModelConfig(**{**base, **fields})


def test_gpus_needed_from_weights_against_one_gpus_memory() -> None:
    h100 = 80 * GIB
    # Weights may fill 80% of each GPU; the count is the next power of two.
    assert gpus_needed(_model(params=8_000_000_000), h100) == 1  # 16 GB
    assert gpus_needed(_model(params=70_000_000_000), h100) == 4  # 140 GB > 2 x 68.7 GB
    assert gpus_needed(_model(params=70_000_000_000, dtype="float32"), h100) == 8
    assert gpus_needed(_model(params=405_000_000_000), h100) == 16
    assert gpus_needed(_model(params=70_000_000_000, min_gpus=8), h100) == 8  # stated wins
    assert gpus_needed(_model(), h100) == 1  # no params stated: nothing to estimate
    assert gpus_needed(_model(params=70_000_000_000), None) == 1  # a CPU runner


def test_a_leg_gives_a_model_the_gpus_it_needs_or_refuses_it_in_one_line(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(repo_root / "conf", conf)
    text = (conf / "model" / "tiny-random.yaml").read_text().replace("name: tiny-random\n", "")
    (conf / "model" / "big.yaml").write_text(f"name: big\nmin_gpus: 2\n{text}")
    monkeypatch.setenv("LEADERBOARD_CONF", str(conf))
    assert tensor_parallel_for("tiny-random", entry(1), 80 * GIB) == 1
    assert tensor_parallel_for("big", entry(4), 80 * GIB) == 2
    with pytest.raises(UserError) as refused:
        tensor_parallel_for("big", entry(1), 80 * GIB)
    assert str(refused.value) == (
        "big needs 2 GPUs (min_gpus: 2); runner h100x4 has 1 (conf/runners.yaml gpus): "
        "not benchmarked here"
    )


def test_the_pr_summary_keeps_a_tensor_parallel_row_apart_from_one_gpu(repo_root: Path) -> None:
    from runner.publish.pr_summary import build_rows
    from runner.records.configuration import single_device
    from runner.records.load import load_record

    golden = repo_root / "tests/fixtures/golden_results/performance/nvidia-h100-80gb-hbm3"
    one = load_record(next((golden / "tiny-random/chat-concise/bs4-eager").glob("*.json")))
    configuration = single_device(
        batching="static", precision=one.model.dtype, batch_size=4, tensor_parallel=2
    )
    identity = one.identity.model_copy(update={"configuration": configuration})
    two = one.model_copy(update={"identity": identity, "run_id": one.run_id + "-tp2"})
    rows = build_rows([one, two])
    assert len(rows) == 2
    labels = sorted(row.label for row in rows.values())
    assert labels == [
        "tiny-random (1 GPU · bs 4 · bfloat16, eager)",
        "tiny-random (2 GPUs · TP2 · bs 4 · bfloat16, eager)",
    ]
    assert all(row.runs == 1 for row in rows.values())


def test_a_model_on_several_gpus_falls_back_to_static_batches_with_a_note() -> None:
    from runner.publish.leg import scenario_for_tensor

    steady = ["scenario=steady", "scenario.max_num_seqs=8,32,128", "min_window_s=60"]
    assert scenario_for_tensor(steady, 1) == (steady, None)
    settings, note = scenario_for_tensor(steady, 4)
    assert settings == ["min_window_s=60", "scenario=static"]
    assert (
        note is not None and "needs 4 GPUs and scenario=steady cannot run tensor-parallel" in note
    )
    static = ["min_window_s=60"]
    assert scenario_for_tensor(static, 4) == (static, None)
