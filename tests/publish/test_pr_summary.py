"""`leaderboard pr-summary`: rows, Pareto placement (on the front / dominated by whom), and
missing energy shown as "not measured".

One real record is made on the tiny offline model (fake meter, so energy is known); variants of
it with set energy and latency build a board whose Pareto front is known by construction.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from runner.cli import main
from runner.errors import UserError
from runner.publish.pr_summary import render_summary
from runner.records.store import new_run_id

# model -> (energy per response in J, or None; mean latency in s)
BOARD: dict[str, tuple[float | None, float]] = {
    "alpha": (10.0, 1.0),  # dominated by beta
    "beta": (5.0, 0.5),  # on the front
    "gamma": (2.0, 2.0),  # on the front
    "delta": (None, 0.1),  # energy not measured
}


@pytest.fixture(scope="module")
def base_record(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    from runner.compose import compose_run_config, hydra_context
    from runner.hardware.calibration import ensure_calibration
    from runner.machine.energy import FakeEnergyMeter
    from runner.measure.point import run_point

    results = tmp_path_factory.mktemp("made") / "results"
    with hydra_context():
        config = compose_run_config(
            [
                "model=tiny-random",
                "task=chat",
                "num_prompts=2",
                "warmup_batches=0",
                "idle_seconds=0",
                "min_window_s=0",
                "task.max_new_tokens=4",
                f"results_dir={results}",
            ]
        )
    path = run_point(
        config,
        calibration=ensure_calibration,
        meter=FakeEnergyMeter(power_w=50.0),
        progress=False,
    )
    return json.loads(path.read_text()), path.parent / f"{path.stem}.requests.jsonl"


def write_variant(
    results: Path,
    base: tuple[dict[str, Any], Path],
    model: str,
    energy: float | None,
    latency: float,
) -> None:
    data, raw = json.loads(json.dumps(base[0])), base[1]
    run_id = new_run_id()
    data["run_id"] = run_id
    data["identity"]["model_name"] = model
    data["identity"]["model_id"] = f"test/{model}"
    requests = data["summary"]["requests"]
    data["measurements"]["latency_s"]["mean"] = latency
    if energy is None:
        data["energy"].update(source="unavailable", reason="no meter on this machine")
        for key in ("energy_per_response_j", "energy_per_token_j", "avg_power_w"):
            data["measurements"][key] = None
        for key in ("energy_j", "energy_per_response_j", "energy_per_token_j", "avg_power_w"):
            data["summary"][key] = None
        data["summary"]["energy_above_idle_per_response_j"] = None
    else:
        data["summary"]["energy_j"] = energy * requests
    identity = data["identity"]
    folder = (
        results
        / "performance"
        / identity["hardware_slug"]
        / model
        / identity["task"]
        / f"bs{identity['batch_size']}-{identity['backend']}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    data["raw_data"]["file"] = f"{run_id}.requests.jsonl"
    shutil.copyfile(raw, folder / data["raw_data"]["file"])
    (folder / f"{run_id}.json").write_text(json.dumps(data, indent=2))


@pytest.fixture
def results(tmp_path: Path, base_record: tuple[dict[str, Any], Path]) -> Path:
    root = tmp_path / "results"
    for model, (energy, latency) in BOARD.items():
        write_variant(root, base_record, model, energy, latency)
    return root


def test_rows_and_pareto_placement(results: Path) -> None:
    text = render_summary(results, ["alpha", "gamma", "delta"])
    lines = text.splitlines()
    rows = {
        line.split("|")[1].strip(): line
        for line in lines
        if line.startswith("| ") and "|---" not in line
    }
    assert set(rows) == {"Model", "alpha", "gamma", "delta"}  # beta is not a PR model
    assert "| 10 |" in rows["alpha"] and "| 1 |" in rows["alpha"]
    assert rows["delta"].count("not measured") == 2  # energy per response and per token
    placements = {line.split(" (1 ")[0][2:]: line for line in lines if line.startswith("- ")}
    # Rows are named with their configuration: GPUs, batch and precision.
    assert "dominated by beta (1 CPU · bs 1 · float32, eager)" in placements["alpha"]
    assert "on the Pareto front" in placements["gamma"]
    assert "not measured" in placements["delta"] and "front" in placements["delta"]
    assert "4 rows" in text
    # No accuracy records: said so, never a number.
    assert "accuracy not measured" in text


def test_a_model_without_records_is_named(results: Path) -> None:
    text = render_summary(results, ["alpha", "nobody"])
    assert "- nobody: no performance records" in text


def test_cli_prints_markdown(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pr-summary", "--results", str(results), "--models", "gamma"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(
        "<!-- leaderboard-benchmark-summary -->\n## Benchmark results"
    )
    assert "gamma (1 CPU · bs 1 · float32, eager): **on the Pareto front**" in out


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pr-summary", "--results", str(tmp_path / "nope"), "--models", "a"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(UserError):
        render_summary(tmp_path, ["../etc"])


def test_rank_by_energy_status_of_each_leg_and_full_revision(results: Path, tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.mkdir()
    (status / "h100.json").write_text(
        json.dumps({"label": "h100", "outcome": "failure", "hardware": "",
                    "message": "error: runner h100: expected a usable CUDA device"})
    )  # fmt: skip
    (status / "cpu.json").write_text(
        json.dumps({"label": "cpu", "outcome": "success", "hardware": "cpu-x", "message": ""})
    )
    text = render_summary(results, ["gamma", "alpha"], status_dir=status)
    assert "- cpu on `cpu-x`: done" in text
    assert "- **h100: failure**: error: runner h100: expected a usable CUDA device" in text
    # No reference accuracy here: ranked among every row of the board that has energy.
    alpha = next(line for line in text.splitlines() if line.startswith("- alpha"))
    gamma = next(line for line in text.splitlines() if line.startswith("- gamma"))
    energies = sorted(e for e, _ in BOARD.values() if e is not None)
    assert f"#{energies.index(BOARD['alpha'][0]) + 1} of {len(energies)} by energy" in alpha
    assert f"#{energies.index(BOARD['gamma'][0]) + 1} of {len(energies)} by energy" in gamma
    revision = json.loads(next(results.rglob("*.json")).read_text())["identity"]["model_revision"]
    assert f"| `{revision}` |" in text


def test_a_board_without_energy_says_so_once(results: Path) -> None:
    text = render_summary(results, ["delta"])
    assert text.count("energy not measured on") == 1
    assert "no meter on this machine" in text and "NVML" in text


def test_a_bad_status_file_is_one_line(results: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x.json").write_text("[1]")
    code = main(["pr-summary", "--results", str(results), "--models", "a",
                 "--status-dir", str(tmp_path / "s")])  # fmt: skip
    assert code == 1 and "not a leg status file" in capsys.readouterr().err


def test_configurations_are_rows_of_their_own(results: Path) -> None:
    from runner.publish.pr_summary import build_rows
    from runner.records.load import load_record

    record = load_record(sorted(results.rglob("*.json"))[0])
    configuration = record.identity.configuration.model_copy(
        update={"num_devices": 2, "tensor_parallel": 2}
    )
    split = record.model_copy(
        update={
            "run_id": record.run_id + "-tp2",
            "identity": record.identity.model_copy(update={"configuration": configuration}),
        }
    )
    rows = build_rows([record, split])
    assert len(rows) == 2  # never pooled
    assert sorted(key[3] for key in rows) == [
        "1 CPU · bs 1 · float32",
        "2 CPUs · TP2 · bs 1 · float32",
    ]


def test_cancelled_and_silent_legs_are_named_with_how_to_rerun(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = tmp_path / "status"
    status.mkdir()
    (status / "a100.json").write_text(
        json.dumps({"label": "a100", "outcome": "cancelled", "hardware": "nvidia-a100"})
    )
    run_url = "https://github.com/o/r/actions/runs/7"
    code = main([
        "pr-summary", "--results", str(results), "--models", "alpha", "--status-dir", str(status),
        "--matrix", json.dumps({"include": [{"label": "a100"}, {"label": "h100"}]}),
        "--run-url", run_url,
    ])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    rerun = f"to re-run it, label the PR `benchmark` again, or re-run its job from {run_url}"
    assert f"- **a100 on `nvidia-a100`: cancelled**: {rerun}" in text
    assert f"- **h100: cancelled or never started** (it wrote no status): {rerun}" in text
    bad = ["pr-summary", "--results", str(results), "--models", "alpha", "--matrix", "[1]"]
    assert main(bad) == 1
    assert "--matrix: not the benchmark matrix JSON" in capsys.readouterr().err


def test_the_intake_names_what_was_benchmarked_and_what_did_not_run(results: Path) -> None:
    intake = {
        "head": "a" * 40,
        "code": "b" * 40,
        "models": ["alpha"],
        "refused": {"conf/model/x.yaml": "license: interpolation (${...}) is not allowed"},
        "other_changes": ["params.yaml", "runner/cli.py"],
    }
    text = render_summary(results, ["alpha"], intake=intake)
    assert f"Benchmarked this PR at `{'a' * 40}`" in text and f"at `{'b' * 40}`." in text
    assert "changes 2 file(s) that are not model configs (`params.yaml`, `runner/cli.py`)" in text
    assert "none of it ran here" in text
    assert "### Not benchmarked\n\n- `conf/model/x.yaml`: license: interpolation" in text
    assert "the `benchmark-status` check fails until the PR is labelled `benchmark` again" in text


def test_a_pr_whose_every_config_was_refused_says_so(results: Path) -> None:
    intake = {"head": "a" * 40, "refused": {"conf/model/x.yaml": "defaults: not allowed"}}
    text = render_summary(results, [], intake=intake)
    assert "No model config was accepted: nothing was benchmarked." in text
    assert "No model config changed" not in text and "stale" not in text
