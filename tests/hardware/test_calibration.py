"""Machine calibration: a real (small) CPU calibration, the record, reuse, the CLI, the link from
`leaderboard run`, and the H100 and H200 bounds (GPU only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import RecordError, UserError
from runner.hardware.calibration import (
    ensure_calibration,
    load_calibrations,
    newest_calibration,
    run_calibration,
)
from runner.machine.energy import FakeEnergyMeter, NullEnergyMeter
from runner.machine.provenance import hardware_slug
from runner.records.calibration import CalibrationRecord
from runner.records.load import load_record, scan_results


@pytest.fixture(scope="module")
def cpu_calibration(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, CalibrationRecord]:
    """One real small float32 CPU calibration, shared by the tests below (no meter here)."""
    root = tmp_path_factory.mktemp("results")
    path, record = run_calibration(
        root, device="cpu", dtype="float32", size="small", meter=NullEnergyMeter("no meter")
    )
    return root, path, record


def test_cpu_calibration_measures_real_ceilings(cpu_calibration) -> None:
    root, path, record = cpu_calibration
    slug = hardware_slug("cpu")
    assert path == root / "calibration" / slug / f"{record.run_id}.json"
    assert record.hardware_slug == slug and record.device == "cpu" and record.dtype == "float32"
    bandwidth = record.memory_bandwidth
    assert bandwidth.bytes_moved == 2 * bandwidth.buffer_bytes
    assert len(bandwidth.times_s) == bandwidth.repeats
    assert bandwidth.bytes_s == pytest.approx(bandwidth.bytes_moved / min(bandwidth.times_s))
    # any machine this runs on copies faster than 100 MB/s and multiplies faster than 10 MFLOP/s
    assert bandwidth.bytes_s > 1e8
    matmul = record.matmul
    assert matmul.flops_per_matmul == 2 * matmul.n**3
    assert matmul.flop_s == pytest.approx(matmul.flops_per_matmul / min(matmul.times_s))
    assert matmul.flop_s > 1e7
    assert record.threads is not None and record.threads >= 1
    # no meter: idle power is null with a reason, never 0
    assert record.idle_power.power_w is None
    assert record.idle_power.source == "unavailable" and record.idle_power.reason == "no meter"
    assert record.provenance.device == "cpu"


def test_calibration_record_validates_and_is_immutable(cpu_calibration) -> None:
    root, path, record = cpu_calibration
    loaded = load_record(path)
    assert isinstance(loaded, CalibrationRecord) and loaded == record
    scan = scan_results(root)
    assert scan.problems == []
    assert [r.run_id for _, r in scan.records] == [record.run_id]
    data = json.loads(path.read_text())
    data["memory_bandwidth"]["bytes_s"] = 0
    forged = path.with_name("forged.json")
    forged.write_text(json.dumps(data))
    try:
        with pytest.raises(RecordError, match=r"memory_bandwidth\.bytes_s"):
            load_record(forged)
    finally:
        forged.unlink()


def test_idle_power_from_a_readable_meter(tmp_path: Path) -> None:
    _, record = run_calibration(
        tmp_path, device="cpu", dtype="float32", size="small", meter=FakeEnergyMeter(50.0)
    )
    assert record.idle_power.power_w == pytest.approx(50.0)
    assert record.idle_power.window_s == pytest.approx(1.0, abs=0.2)
    assert record.idle_power.reason is None


def test_ensure_reuses_the_newest_calibration_of_the_dtype(cpu_calibration, tmp_path) -> None:
    root, _, record = cpu_calibration
    slug = record.hardware_slug
    assert ensure_calibration(root, "cpu", "float32") == record.run_id
    assert newest_calibration(root, slug, "bfloat16") is None
    # a newer float32 calibration becomes the one runs link to
    other = tmp_path / "results"
    _, first = run_calibration(other, device="cpu", dtype="float32", size="small")
    _, second = run_calibration(other, device="cpu", dtype="float32", size="small")
    assert ensure_calibration(other, "cpu", "float32") == second.run_id != first.run_id
    assert len(load_calibrations(other, slug)) == 2


def test_a_foreign_file_in_the_calibration_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "calibration" / hardware_slug("cpu")
    folder.mkdir(parents=True)
    (folder / "junk.json").write_text("{}")
    with pytest.raises(RecordError, match=r"junk\.json: not a leaderboard record"):
        ensure_calibration(tmp_path, "cpu", "float32")


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--dtype: expected one of"):
        run_calibration(tmp_path, device="cpu", dtype="int8")
    with pytest.raises(UserError, match="--size: expected one of"):
        run_calibration(tmp_path, device="cpu", dtype="float32", size="huge")
    assert not (tmp_path / "calibration").exists()


def test_cli_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["calibrate", "--results", str(tmp_path), "--device", "cpu", "--dtype", "float32"]
    assert main([*args, "--size", "small"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("calibrate: cpu-") and "GB/s" in out and "TFLOP/s" in out
    assert len(load_calibrations(tmp_path)) == 1
    with pytest.raises(SystemExit):
        main([*args, "--size", "enormous"])


def test_run_links_its_record_to_the_calibration(cpu_calibration) -> None:
    """`leaderboard run` reuses this machine's calibration and stores its run id."""
    from runner.hardware.derived import derive_rows
    from runner.records.performance import PerformanceRecord

    root, _, calibration = cpu_calibration
    args = [
        "run",
        "-m",
        "--no-progress",
        "experiment=demo",
        f"results_dir={root}",
        "num_prompts=2",
        "repeats=1",
        "idle_seconds=0",
        "task.max_new_tokens=8",
        "calibrate=true,false",
    ]
    assert main(args) == 0
    assert len(load_calibrations(root)) == 1  # reused, not measured again
    scan = scan_results(root)
    assert scan.problems == []
    performance = [r for _, r in scan.records if isinstance(r, PerformanceRecord)]
    links = sorted(str(r.calibration_id) for r in performance)
    assert links == sorted([calibration.run_id, "None"])

    rows = [row for row in derive_rows(scan.records) if row["calibration_id"]]
    assert len(rows) == 1
    row = rows[0]
    assert row["x_floor"] is not None and row["x_floor"] > 0
    assert row["arithmetic_intensity_flop_per_byte"] > 0
    assert row["tokens_per_j"] is None  # energy is not measured on this machine's CPU runs
    assert row["cost_usd_per_1m_tokens"] > 0


def test_run_measures_a_calibration_when_none_exists(tmp_path: Path) -> None:
    from runner.compose import compose_run_config, hydra_context
    from runner.measure.point import run_point

    with hydra_context():
        config = compose_run_config(
            [
                "experiment=demo",
                f"results_dir={tmp_path}",
                "num_prompts=2",
                "repeats=1",
                "idle_seconds=0",
                "task.max_new_tokens=4",
            ]
        )
    record = load_record(run_point(config, calibration=ensure_calibration, progress=False))
    [calibration] = load_calibrations(tmp_path)
    assert record.calibration_id == calibration.run_id
    assert calibration.dtype == record.model.dtype == "float32"
    assert calibration.size == "small"  # the cheap CPU preset for runs


# Datasheet peaks of the GPUs the GPU proof runs on (name substring -> HBM bytes/s, dense bf16
# FLOP/s). The bounds below are shares of them: the H100's measured copy bandwidth was 0.90 of
# its peak (3.02 of 3.35 TB/s, FACTS.md); the H200's has not been measured, and its bound is the
# same share, to be checked by its first run.
GPU_PEAKS = {
    "H200": (4.8e12, 989e12),
    "H100 80GB HBM3": (3.35e12, 989e12),
}


@pytest.mark.gpu
def test_calibration_bounds_on_a_known_gpu(tmp_path: Path) -> None:
    """On an H100 SXM or an H200: copy bandwidth 0.8-1.0 of the HBM peak, bf16 GEMM above
    0.6 of the dense peak (600 TFLOP/s on both)."""
    _, record = run_calibration(tmp_path, device="cuda", dtype="bfloat16", size="standard")
    assert record.device == "cuda"
    assert record.memory_bandwidth.bytes_s > 0 and record.matmul.flop_s > 0
    known = [name for name in GPU_PEAKS if name in record.device_name]
    if not known:
        pytest.skip(f"bounds are for {', '.join(GPU_PEAKS)}; this GPU is {record.device_name}")
    bandwidth, flop_s = GPU_PEAKS[known[0]]
    assert 0.8 * bandwidth <= record.memory_bandwidth.bytes_s <= 1.0 * bandwidth
    assert record.matmul.flop_s > 0.6 * flop_s


def test_site_builds_with_calibration_records(cpu_calibration, tmp_path: Path) -> None:
    """Calibration records beside the golden results: the site builds and publishes them."""
    import shutil

    from leaderboard_site.build import build_site

    root, path, _ = cpu_calibration
    results = tmp_path / "results"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "golden_results", results)
    target = results / path.relative_to(root)
    target.parent.mkdir(parents=True)
    shutil.copyfile(path, target)
    out = tmp_path / "site"
    build_site(results, out, strict=True, skip_invalid=False)
    published = out / "data" / "records" / path.relative_to(root)
    assert published.read_bytes() == path.read_bytes()
