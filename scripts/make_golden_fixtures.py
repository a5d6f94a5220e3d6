"""Write the golden fixture results: SYNTHETIC records (not measurements) for the site tests.

The records are schema-valid `PerformanceRecord`s, `AccuracyRecord`s and `CalibrationRecord`s
(performance and accuracy with raw-data files and correct sha256), with plausible made-up values
from a seeded generator. Every record says so: its `provenance.command_line` starts with
"SYNTHETIC-FIXTURE" and its `config` carries `"synthetic_fixture": true`. Real H100 records may
replace them later.

    python scripts/make_golden_fixtures.py [--out tests/fixtures/golden_results]

The benchmark `benchmarks/site_build.py` imports `write_synthetic_results` from here.

Performance records are written in schema version 1 on purpose (built with the current schema,
then written without its `source` block): the fixtures are the old records that must keep
loading through the migration (`runner.records.migrate`), and regenerating them changes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.measure.stats import summarize
from runner.records.accuracy import (
    AccuracyIdentity,
    AccuracyRecord,
    EvalCost,
    Loyalty,
)
from runner.records.calibration import (
    BandwidthCeiling,
    CalibrationRecord,
    IdlePower,
    MatmulCeiling,
)
from runner.records.configuration import single_device
from runner.records.layout import accuracy_parts, calibration_parts, performance_parts
from runner.records.performance import (
    SCHEMA_VERSION,
    Architecture,
    EnergyInfo,
    Identity,
    MeasuredSource,
    Measurements,
    ModelInfo,
    PerformanceRecord,
    Provenance,
    RawData,
    Summary,
    TaskInfo,
)
from runner.records.store import canonical_json, sha256_bytes

SYNTHETIC_LABEL = "SYNTHETIC-FIXTURE"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "golden_results"
TASKS = ("chat", "chat-concise", "instruct", "instruct-concise")
EVALS = (
    ("arc_challenge", 25, "acc_norm"),
    ("hellaswag", 10, "acc_norm"),
    ("truthfulqa_mc2", 0, "acc"),
)


@dataclass(frozen=True)
class FakeModel:
    """A model as the fixtures describe it (accuracy None: no accuracy records for it)."""

    name: str
    hf_id: str
    display_name: str
    params: int
    revision: str
    accuracy: tuple[float, float, float] | None
    random_weights: bool = False
    trust_remote_code: bool = False
    base_model: str | None = None
    # Architecture facts (as in the model's config.json) without bytes_per_param, which
    # follows the run's dtype; None: unknown (the hardware-aware metrics are then not available).
    architecture: dict[str, Any] | None = None


@dataclass(frozen=True)
class FakeHardware:
    """A machine: its slug, GPU name and relative speed/power (1.0 = H100)."""

    slug: str
    gpu_name: str | None
    speed: float
    power_w: float | None
    # Synthetic calibration ceilings (bytes/s, FLOP/s); None: no calibration record.
    bandwidth_bytes_s: float | None = None
    matmul_flop_s: float | None = None


def _arch(
    model_type: str,
    layers: int,
    hidden: int,
    inter: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    vocab: int,
    *,
    tied: bool,
) -> dict[str, Any]:
    """Architecture facts as in a config.json (embedding params: input table, + head if untied)."""
    return {
        "model_type": model_type, "num_layers": layers, "hidden_size": hidden,
        "intermediate_size": inter, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "head_dim": head_dim, "vocab_size": vocab, "tie_word_embeddings": tied,
        "embedding_params": vocab * hidden * (1 if tied else 2),
    }  # fmt: skip


GOLDEN_MODELS = (
    FakeModel("meta-llama__Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct",
              "Llama 3.2 1B Instruct", 1_235_814_400, "9213176726f574b556790deb65791e0c5aa438b6",
              (0.41, 0.61, 0.44),
              architecture=_arch("llama", 16, 2048, 8192, 32, 8, 64, 128256, tied=True)),
    FakeModel("Qwen__Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "Qwen2.5 0.5B Instruct",
              494_032_768, "7ae557604adf67be50417f59c2c2f167def9a775", (0.33, 0.52, 0.42),
              architecture=_arch("qwen2", 24, 896, 4864, 14, 2, 64, 151936, tied=True)),
    FakeModel("Qwen__Qwen2.5-0.5B-Instruct-GPTQ-Int4", "Qwen/Qwen2.5-0.5B-Instruct-GPTQ-Int4",
              "Qwen2.5 0.5B Instruct GPTQ-Int4", 494_032_768,
              "0a5e2bb2d9c1a2f2e0a5d0c8b1f7c7a0b9e2d4f1", (0.31, 0.50, 0.41),
              trust_remote_code=True, base_model="Qwen__Qwen2.5-0.5B-Instruct"),
    FakeModel("HuggingFaceTB__SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct",
              "SmolLM2 360M Instruct", 361_821_120, "a10cc1512eabd3dde888204e902eca88bddb4951",
              None,
              architecture=_arch("llama", 32, 960, 2560, 15, 5, 64, 49152, tied=True)),
    FakeModel("tiny-random", "local/tiny-random-llama", "Tiny random Llama (offline demo)",
              210_000, "local", (0.26, 0.25, 0.49), random_weights=True,
              architecture=_arch("llama", 2, 64, 128, 4, 4, 16, 1000, tied=False)),
)  # fmt: skip

GOLDEN_HARDWARE = (
    FakeHardware("nvidia-h100-80gb-hbm3", "NVIDIA H100 80GB HBM3", 1.0, 120.0, 3.0e12, 7.0e14),
    FakeHardware("nvidia-a100-sxm4-40gb", "NVIDIA A100-SXM4-40GB", 0.6, 60.0, 1.4e12, 2.8e14),
)
CPU_HARDWARE = FakeHardware("cpu-synthetic-x86-64", None, 0.05, None, 2.0e10, 1.0e11)


def _stamp(index: int) -> tuple[str, str, str]:
    """(run_id, started_utc, ended_utc) for the index-th record (deterministic)."""
    minute = index % 60
    hour = (index // 60) % 24
    day = 1 + (index // 1440) % 28
    start = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"
    end = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:30Z"
    return f"202611{day:02d}T{hour:02d}{minute:02d}00Z-{index:08x}", start, end


def _provenance(hardware: FakeHardware, started: str, ended: str) -> Provenance:
    return Provenance(
        git_commit=None,
        git_dirty=None,
        library_versions={"synthetic": "fixture"},
        python="3.11 (synthetic fixture)",
        platform="synthetic fixture",
        gpu_name=hardware.gpu_name,
        gpu_driver="580.00 (synthetic)" if hardware.gpu_name else None,
        cuda_version="12.8 (synthetic)" if hardware.gpu_name else None,
        cpu="synthetic CPU",
        device="cuda" if hardware.gpu_name else "cpu",
        started_utc=started,
        ended_utc=ended,
        seed=0,
        command_line=[SYNTHETIC_LABEL, "scripts/make_golden_fixtures.py", "(not a measurement)"],
    )


def calibration_record(out: Path, index: int, hardware: FakeHardware) -> str | None:
    """Write a synthetic calibration record of `hardware` (None when it has no ceilings).

    Returns its run id (what the performance records link as `calibration_id`).
    """
    if hardware.bandwidth_bytes_s is None or hardware.matmul_flop_s is None:
        return None
    run_id = f"20261031T12{index:02d}00Z-ca1b{index:04x}"
    started, ended = f"2026-10-31T12:{index:02d}:00Z", f"2026-10-31T12:{index:02d}:30Z"
    gpu = hardware.gpu_name is not None
    buffer_bytes, n = 1 << 28, 4096 if gpu else 1024
    copy_s = 2 * buffer_bytes / hardware.bandwidth_bytes_s
    matmul_s = 2 * n**3 / hardware.matmul_flop_s
    record = CalibrationRecord(
        schema_version=1,
        kind="calibration",
        run_id=run_id,
        hardware_slug=hardware.slug,
        device="cuda" if gpu else "cpu",
        device_name=hardware.gpu_name or "synthetic CPU",
        dtype="bfloat16" if gpu else "float32",
        size="standard",
        threads=None if gpu else 8,
        memory_bandwidth=BandwidthCeiling(
            bytes_s=hardware.bandwidth_bytes_s,
            buffer_bytes=buffer_bytes,
            bytes_moved=2 * buffer_bytes,
            warmup=1,
            repeats=3,
            inner=1,
            times_s=[copy_s, copy_s * 1.02, copy_s * 1.01],
            method="(synthetic fixture: not measured)",
        ),
        matmul=MatmulCeiling(
            flop_s=hardware.matmul_flop_s,
            dtype="bfloat16" if gpu else "float32",
            n=n,
            flops_per_matmul=2 * n**3,
            warmup=1,
            repeats=3,
            inner=1,
            times_s=[matmul_s, matmul_s * 1.03, matmul_s * 1.01],
            method="(synthetic fixture: not measured)",
        ),
        idle_power=IdlePower(
            power_w=hardware.power_w,
            window_s=5.0 if hardware.power_w is not None else None,
            source="zeus-nvml" if hardware.power_w is not None else "unavailable",
            reason=None if hardware.power_w is not None else "no meter (synthetic fixture)",
            devices=["gpu:0"] if gpu else [],
        ),
        duration_s=30.0,
        provenance=_provenance(hardware, started, ended),
        config={"synthetic_fixture": True},
    )
    folder = out.joinpath(*calibration_parts(hardware.slug))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    path.write_text(json.dumps(record.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return run_id


def _write(folder: Path, run_id: str, record_data: dict[str, Any], raw: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{run_id}.requests.jsonl").write_bytes(raw)
    path = folder / f"{run_id}.json"
    path.write_text(json.dumps(record_data, indent=2) + "\n", encoding="utf-8")
    return path


def performance_record(
    out: Path,
    index: int,
    model: FakeModel,
    hardware: FakeHardware,
    task: str,
    batch_size: int,
    rng: random.Random,
    requests: int = 16,
    calibration_id: str | None = None,
) -> Path:
    """Write one synthetic performance record (and its raw data) under `out`; return its path."""
    run_id, started, ended = _stamp(index)
    concise = task.endswith("concise")
    mean_tokens = (90 if concise else 220) * (0.8 + 0.4 * rng.random())
    # Decode step time: launch-bound floor plus a size term, faster GPUs faster.
    step_s = (0.012 + model.params / 1e9 * 0.004 + batch_size * 0.0002) / hardware.speed
    rows: list[dict[str, Any]] = []
    batch_energies: list[float | None] = []
    batch_times: list[float] = []
    batch_tokens: list[int] = []
    for batch_index in range(math.ceil(requests / batch_size)):
        size = min(batch_size, requests - batch_index * batch_size)
        tokens = [max(2, int(rng.gauss(mean_tokens, mean_tokens * 0.2))) for _ in range(size)]
        ttft = step_s * (3 + rng.random())
        latencies = [ttft + step_s * (n - 1) * (0.95 + 0.1 * rng.random()) for n in tokens]
        batch_time = max(latencies) + 0.001
        energy = None
        if hardware.power_w is not None:
            watts = hardware.power_w * (1.2 + 0.15 * math.log2(batch_size) + model.params / 2e9)
            energy = watts * batch_time
        share = None if energy is None else energy / size
        for position in range(size):
            rows.append(
                {
                    "run_id": run_id,
                    "repeat": 0,
                    "batch_index": batch_index,
                    "position": position,
                    "prompt_id": f"{task}-{batch_index * batch_size + position:04d}",
                    "prompt_tokens": 40 + position,
                    "response_tokens": tokens[position],
                    "ttft_s": ttft,
                    "latency_s": latencies[position],
                    "tpot_s": (latencies[position] - ttft) / (tokens[position] - 1),
                    "batch_time_s": batch_time,
                    "batch_energy_j": energy,
                    "energy_share_j": share,
                    "response_text": "(synthetic fixture: no text was generated)",
                }
            )
        batch_energies.append(energy)
        batch_times.append(batch_time)
        batch_tokens.append(sum(tokens))
    raw = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode("utf-8")
    metered = hardware.power_w is not None
    total_tokens = sum(batch_tokens)
    total_time = sum(batch_times)
    total_energy = sum(e for e in batch_energies if e is not None) if metered else None
    idle = hardware.power_w
    sizes = [
        min(batch_size, requests - i * batch_size) for i in range(math.ceil(requests / batch_size))
    ]
    measurements = Measurements(
        latency_s=summarize([r["latency_s"] for r in rows]),
        ttft_s=summarize([r["ttft_s"] for r in rows]),
        tpot_s=summarize([r["tpot_s"] for r in rows]),
        prompt_tokens=summarize([r["prompt_tokens"] for r in rows]),
        response_tokens=summarize([r["response_tokens"] for r in rows]),
        batch_time_s=summarize(batch_times),
        throughput_tok_s=summarize([n / t for n, t in zip(batch_tokens, batch_times, strict=True)]),
        energy_per_response_j=summarize(
            [e / s for e, s in zip(batch_energies, sizes, strict=True)]  # type: ignore[operator]
        )
        if metered
        else None,
        energy_per_token_j=summarize(
            [e / n for e, n in zip(batch_energies, batch_tokens, strict=True)]  # type: ignore[operator]
        )
        if metered
        else None,
        avg_power_w=summarize(
            [e / t for e, t in zip(batch_energies, batch_times, strict=True)]  # type: ignore[operator]
        )
        if metered
        else None,
    )
    summary = Summary(
        requests=requests,
        batches=len(batch_times),
        output_tokens=total_tokens,
        measured_time_s=total_time,
        throughput_tok_s=total_tokens / total_time,
        energy_j=total_energy,
        energy_per_response_j=None if total_energy is None else total_energy / requests,
        energy_per_token_j=None if total_energy is None else total_energy / total_tokens,
        avg_power_w=None if total_energy is None else total_energy / total_time,
        energy_above_idle_per_response_j=None
        if total_energy is None or idle is None
        else (total_energy - idle * total_time) / requests,
        peak_memory_bytes=int(model.params * 2 + batch_size * 50_000_000),
        peak_memory_kind="cuda_max_allocated" if hardware.gpu_name else "process_max_rss",
        load_time_s=2.0,
        warmup_time_s=1.0,
    )
    dtype = "bfloat16" if hardware.gpu_name else "float32"
    architecture = None
    if model.architecture is not None:
        architecture = Architecture(
            **model.architecture, bytes_per_param=2 if dtype != "float32" else 4
        )
    config = {
        "synthetic_fixture": True,
        "model": {"name": model.name, "hf_id": model.hf_id, "revision": model.revision},
        "task": {"name": task, "max_new_tokens": 256},
        "batch_size": batch_size,
        "backend": {"name": "eager"},
    }
    identity = Identity(
        model_name=model.name,
        model_id=model.hf_id,
        model_revision=model.revision,
        task=task,
        hardware_slug=hardware.slug,
        batch_size=batch_size,
        backend="eager",
        config_hash=sha256_bytes(canonical_json(config).encode("utf-8")),
        configuration=single_device(batching="static", precision=dtype, batch_size=batch_size),
    )
    record = PerformanceRecord(
        schema_version=SCHEMA_VERSION,
        kind="performance",
        run_id=run_id,
        source=MeasuredSource(),
        identity=identity,
        model=ModelInfo(
            display_name=model.display_name,
            dtype=dtype,
            params=model.params,
            params_source="config",
            url=f"https://huggingface.co/{model.hf_id}",
            license="synthetic-fixture",
            trust_remote_code=model.trust_remote_code,
            random_weights=model.random_weights,
            base_model=model.base_model,
            architecture=architecture,
        ),
        task=TaskInfo(
            name=task,
            system_prompt=f"(synthetic fixture) system prompt of task {task}",
            prompt_set=task.split("-")[0],
            prompt_set_sha256="0" * 64,
            prompt_seed=0,
            prompt_ids=[r["prompt_id"] for r in rows],
            max_new_tokens=256,
            sampling={"do_sample": False},
        ),
        energy=EnergyInfo(
            source="zeus-nvml" if metered else "unavailable",
            reason=None if metered else "no GPU and no RAPL on this machine (synthetic fixture)",
            devices=["gpu:0"] if hardware.gpu_name else [],
            idle_power_w=idle,
            idle_window_s=5.0 if idle is not None else None,
        ),
        measurements=measurements,
        summary=summary,
        provenance=_provenance(hardware, started, ended),
        raw_data=RawData(file=f"{run_id}.requests.jsonl", sha256=sha256_bytes(raw), rows=len(rows)),
        calibration_id=calibration_id,
        config=config,
    )
    folder = out.joinpath(*performance_parts(record.identity))
    return _write(folder, run_id, as_schema_1(record.model_dump(mode="json")), raw)


def as_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """A current (v2) performance record's JSON as schema version 1 wrote it (no `source`)."""
    assert data["source"] == {"type": "measured"}
    return {
        key: (1 if key == "schema_version" else value)
        for key, value in data.items()
        if key != "source"
    }


def accuracy_record(
    out: Path, index: int, model: FakeModel, which: int, loyalty_base: str | None
) -> Path:
    """Write one synthetic accuracy record (eval task number `which`) under `out`."""
    assert model.accuracy is not None
    eval_task, shots, metric = EVALS[which]
    run_id, started, ended = _stamp(index)
    samples = 20
    raw_rows = [
        {"doc_id": i, "choice_logprobs": [-1.0, -1.5, -2.0, -2.5], "target": 0, "synthetic": True}
        for i in range(samples)
    ]
    raw = "".join(json.dumps(row, sort_keys=True) + "\n" for row in raw_rows).encode("utf-8")
    loyalty = None
    if loyalty_base is not None:
        loyalty = Loyalty(
            base_model_name=loyalty_base,
            base_run_id=f"(synthetic) base run of {eval_task}",
            samples=samples,
            label_loyalty=0.92,
            probability_loyalty=0.88,
        )
    record = AccuracyRecord(
        schema_version=1,
        kind="accuracy",
        run_id=run_id,
        identity=AccuracyIdentity(
            model_name=model.name,
            model_id=model.hf_id,
            model_revision=model.revision,
            eval_task=eval_task,
            num_fewshot=shots,
            limit=samples,
        ),
        metric=metric,
        score=model.accuracy[which],
        stderr=0.02,
        samples=samples,
        lm_eval_version="0.4.13",
        task_version="1.0",
        random_weights=model.random_weights,
        cost=EvalCost(
            energy_source="zeus-nvml",
            energy_reason=None,
            energy_j=1500.0,
            duration_s=12.0,
            hardware_slug=GOLDEN_HARDWARE[0].slug,
        ),
        loyalty=loyalty,
        raw_data=RawData(file=f"{run_id}.requests.jsonl", sha256=sha256_bytes(raw), rows=samples),
        provenance=_provenance(GOLDEN_HARDWARE[0], started, ended),
        config={"synthetic_fixture": True, "eval_task": eval_task, "num_fewshot": shots},
    )
    folder = out.joinpath(*accuracy_parts(record.identity))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / record.raw_data.file).write_bytes(raw)
    path = folder / f"{run_id}.json"
    path.write_text(json.dumps(record.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return path


def write_synthetic_results(
    out: Path,
    models: tuple[FakeModel, ...],
    hardware: tuple[FakeHardware, ...],
    batch_sizes: tuple[int, ...],
    *,
    cpu_model: FakeModel | None = None,
    requests: int = 16,
    seed: int = 0,
) -> int:
    """Write every (model, hardware, task, batch size) record plus accuracy; return the count."""
    rng = random.Random(seed)
    machines = (*hardware, CPU_HARDWARE) if cpu_model is not None else hardware
    calibrations = {m.slug: calibration_record(out, n, m) for n, m in enumerate(machines)}
    index = 0
    for model in models:
        for machine in hardware:
            for task in TASKS:
                for batch_size in batch_sizes:
                    performance_record(
                        out, index, model, machine, task, batch_size, rng, requests,
                        calibrations[machine.slug],
                    )  # fmt: skip
                    index += 1
    if cpu_model is not None:
        for task in TASKS:
            performance_record(
                out, index, cpu_model, CPU_HARDWARE, task, 1, rng, requests,
                calibrations[CPU_HARDWARE.slug],
            )  # fmt: skip
            index += 1
    for model in models:
        if model.accuracy is None:
            continue
        for which in range(len(EVALS)):
            accuracy_record(out, index, model, which, model.base_model)
            index += 1
    return index


def main(argv: list[str] | None = None) -> int:
    """Regenerate the golden fixtures (replacing their performance/, accuracy/, calibration/)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for sub in ("performance", "accuracy", "calibration"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
    count = write_synthetic_results(
        args.out,
        GOLDEN_MODELS,
        GOLDEN_HARDWARE,
        (1, 4, 8),
        cpu_model=GOLDEN_MODELS[-1],
        requests=8,
    )
    print(f"wrote {count} synthetic fixture records under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
