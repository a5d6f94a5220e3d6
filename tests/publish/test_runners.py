"""The runner registry (conf/runners.yaml): validation, the matrix, and the machine check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import ConfigError, UserError
from runner.publish.runners import (
    check_machine,
    entry_for,
    eval_overrides,
    gpu_name_matches,
    load_registry,
    matrix,
    run_overrides,
)

H100 = ("cuda", "NVIDIA H100 80GB HBM3", "")
A100 = ("cuda", "NVIDIA A100-SXM4-40GB", "")
NO_CUDA = ("cpu", None, "torch 2.13.0 (CUDA 12.8) sees no usable CUDA device (no GPU, or a driver")


def registry(tmp_path: Path, text: str) -> Path:
    (tmp_path / "conf").mkdir(exist_ok=True)
    (tmp_path / "conf" / "runners.yaml").write_text(text)
    return tmp_path


def test_the_committed_registry_is_valid(repo_root: Path) -> None:
    entries = load_registry(repo_root)
    assert entries["h100"].device == "cuda" and entries["h100"].gpu_name == "H100"
    assert matrix(repo_root) == {"include": [{"label": "h100", "accuracy": True}]}


def test_one_gpu_kind_makes_a_one_leg_matrix(tmp_path: Path) -> None:
    text = (
        "runners:\n  l40s: {enabled: true, device: cuda, gpu_name: L40S, accuracy: true}\n"
        "  a100: {device: cuda, gpu_name: A100}\n"
    )
    repo = registry(tmp_path, text)
    assert matrix(repo) == {"include": [{"label": "l40s", "accuracy": True}]}
    assert main(["runner-matrix", "--repo", str(repo)]) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runners: []\n", "runners: expected a mapping"),
        ("runners:\n  x: {device: tpu}\n", "runners.x.device: expected cuda or cpu, got 'tpu'"),
        ("runners:\n  x: {device: cuda}\n", "runners.x.gpu_name: expected a part of the GPU"),
        ("runners:\n  x: {device: cpu, colour: red}\n", "runners.x.colour: unknown key"),
        ("runners:\n  x: {device: cpu, enabled: yes please}\n", "runners.x.enabled: expected"),
        ("runners:\n  x: {device: cpu, overrides: [backend.device=cuda]}\n",
         "backend.device comes from `device:`"),
        ("runners:\n  x: {device: cpu, enabled: true}\n", "exactly one enabled entry"),
        ("runners:\n  ../x: {device: cpu}\n", "runners label"),
        ("runners: !!python/object/apply:os.system [echo]\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_registry_is_one_line_naming_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    repo = registry(tmp_path, text)
    with pytest.raises(ConfigError, match="conf/runners.yaml") as error:
        load_registry(repo)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unknown_label_is_named(repo_root: Path) -> None:
    with pytest.raises(ConfigError, match="no entry for runner label 'v100'"):
        entry_for(repo_root, "v100")


def test_the_machine_must_be_what_the_label_says(repo_root: Path) -> None:
    h100 = entry_for(repo_root, "h100")
    assert check_machine(h100, H100) == "cuda"
    with pytest.raises(UserError, match="expected a GPU whose name contains 'H100'.*A100"):
        check_machine(h100, A100)
    with pytest.raises(UserError, match="runner h100: expected a usable CUDA device .*driver"):
        check_machine(h100, NO_CUDA)
    assert check_machine(entry_for(repo_root, "cpu-rehearsal"), NO_CUDA) == "cpu"


@pytest.mark.parametrize(
    ("gpu_name", "device_name", "matches"),
    [
        ("H200", "NVIDIA H200", True),
        ("H200", "NVIDIA GH200 480GB", False),  # a Grace Hopper superchip is not an H200
        ("GH200", "NVIDIA GH200 480GB", True),
        ("H100", "NVIDIA H100 80GB HBM3", True),
        ("H100", "NVIDIA H100 NVL", True),  # an H100 part; pin the variant to tell it apart
        ("H100", "NVIDIA H200", False),
        ("H100", "NVIDIA GH100", False),
        ("H100 NVL", "NVIDIA H100 NVL", True),
        ("H100 NVL", "NVIDIA H100 80GB HBM3", False),
        ("H100 80GB HBM3", "NVIDIA H100 80GB HBM3", True),
        ("A100", "NVIDIA A100-SXM4-40GB", True),
        ("A10", "NVIDIA A100-SXM4-40GB", False),
        ("L40S", "NVIDIA L40S", True),
        ("L40", "NVIDIA L40S", False),
        ("h100", "NVIDIA H100 PCIe", True),  # case-insensitive
        ("H100(?! NVL)", "NVIDIA H100 NVL", False),  # a pattern may exclude a variant
        ("H100(?! NVL)", "NVIDIA H100 PCIe", True),
    ],
)
def test_gpu_names_match_as_whole_words(gpu_name: str, device_name: str, matches: bool) -> None:
    assert gpu_name_matches(gpu_name, device_name) is matches


def test_an_h200_runner_refuses_a_gh200(tmp_path: Path) -> None:
    text = "runners:\n  h200: {enabled: true, device: cuda, gpu_name: H200, accuracy: true}\n"
    h200 = entry_for(registry(tmp_path, text), "h200")
    assert check_machine(h200, ("cuda", "NVIDIA H200", "")) == "cuda"
    with pytest.raises(UserError, match="'H200' as whole words, this machine has 'NVIDIA GH200"):
        check_machine(h200, ("cuda", "NVIDIA GH200 480GB", ""))
    bad = "runners:\n  x: {enabled: true, device: cuda, gpu_name: 'H100(', accuracy: true}\n"
    with pytest.raises(ConfigError, match="runners.x.gpu_name: expected a regular expression"):
        load_registry(registry(tmp_path, bad))


def test_runner_check_on_this_cpu_machine(repo_root: Path, capsys) -> None:
    assert main(["runner-check", "--label", "h100", "--repo", str(repo_root)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "runner h100: expected a usable CUDA device" in err
    assert main(["runner-check", "--label", "cpu-rehearsal", "--repo", str(repo_root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == "device=cpu" and out[1].startswith("hardware=cpu-") and out[2] == "accuracy=true"
    )


def test_runner_settings_override_params_and_never_come_from_the_pr(repo_root: Path) -> None:
    from runner.publish.pipeline import load_params

    params = load_params(repo_root)
    rehearsal = entry_for(repo_root, "cpu-rehearsal")
    overrides = run_overrides(rehearsal, params)
    assert "batch_size=1" in overrides and "num_prompts=2" in overrides
    assert overrides[-3:] == ["backend.device=cpu", "task.max_new_tokens=4", "min_window_s=0"]
    h100 = run_overrides(entry_for(repo_root, "h100"), params)
    assert "batch_size=1" in h100  # the runner's own setting: steady points have no batch size
    assert eval_overrides(rehearsal, params) == ["backend.device=cpu", "eval=quick", "eval.limit=4"]
    assert json.dumps(params).count("cpu-rehearsal") == 0


def test_gpu_legs_publish_steady_points_with_60_s_windows(repo_root: Path) -> None:
    """Every enabled GPU leg (and the H200 entry, ready to enable) runs the reference's steady
    state (scenario=steady) at its batch caps, with the publishing window rule of 60 s; each
    composed point is one cap."""
    from runner.compose import compose_run_config, expand_sweep, hydra_context
    from runner.publish.pipeline import load_params

    params = load_params(repo_root)
    entries = load_registry(repo_root)
    gpu_legs = [
        e for e in entries.values() if e.device == "cuda" and (e.enabled or e.label == "h200")
    ]
    assert {"h100", "h200"} <= {e.label for e in gpu_legs}
    assert entries["h200"].gpu_name == "H200"
    for entry in gpu_legs:
        overrides = ["model=tiny-random", "task=chat", *run_overrides(entry, params)]
        with hydra_context():
            configs = [compose_run_config(job) for job in expand_sweep(overrides)]
        assert {c.scenario.name for c in configs} == {"steady"}, entry.label
        assert {c.min_window_s for c in configs} == {60.0}, entry.label
        caps = sorted(c.scenario.max_num_seqs for c in configs)
        assert len(caps) == len(set(caps)) >= 2, (entry.label, caps)  # one point per cap
