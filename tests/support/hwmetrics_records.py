"""Builders of valid performance and calibration records for the hwmetrics tests."""

from __future__ import annotations

from typing import Any

from runner.records.calibration import CalibrationRecord
from runner.records.configuration import single_device
from runner.records.performance import SCHEMA_VERSION, Architecture, PerformanceRecord


def stat(value: float) -> dict[str, Any]:
    return {
        "n": 1,
        "mean": value,
        "median": value,
        "p90": value,
        "p99": value,
        "stdev": 0.0,
        "min": value,
        "max": value,
    }


def make_record(
    *,
    architecture: Architecture | None,
    params: int,
    dtype: str,
    batch_size: int,
    prompt_mean: float,
    response_mean: float,
    tpot_mean: float | None,
    energy_j: float | None,
    requests: int = 8,
    output_tokens: int = 400,
    throughput: float = 1000.0,
    device: str = "cuda",
    slug: str = "test-gpu",
    calibration_id: str | None = "cal-1",
) -> PerformanceRecord:
    """A valid performance record with the given inputs (everything else plausible)."""
    measured = energy_j is not None
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "performance",
        "run_id": f"run-bs{batch_size}",
        "source": {"type": "measured"},
        "identity": {
            "model_name": "m",
            "model_id": "org/m",
            "model_revision": "r1",
            "task": "chat",
            "hardware_slug": slug,
            "batch_size": batch_size,
            "backend": "eager",
            "config_hash": "0" * 64,
            "configuration": single_device(
                batching="static", precision=dtype, batch_size=batch_size
            ).model_dump(),
        },
        "model": {
            "display_name": "Model M",
            "dtype": dtype,
            "params": params,
            "params_source": "counted",
            "url": "",
            "license": "",
            "trust_remote_code": False,
            "random_weights": True,
            "base_model": None,
            "architecture": None if architecture is None else architecture.model_dump(),
        },
        "task": {
            "name": "chat",
            "system_prompt": "s",
            "prompt_set": "chat",
            "prompt_set_sha256": "0" * 64,
            "prompt_seed": 0,
            "prompt_ids": ["p"],
            "max_new_tokens": 64,
            "sampling": {},
        },
        "energy": {
            "source": "fake" if measured else "unavailable",
            "reason": None if measured else "no meter in this test",
            "devices": [],
            "idle_power_w": None,
            "idle_window_s": None,
        },
        "measurements": {
            "latency_s": stat(1.0),
            "ttft_s": stat(0.1),
            "tpot_s": None if tpot_mean is None else stat(tpot_mean),
            "prompt_tokens": stat(prompt_mean),
            "response_tokens": stat(response_mean),
            "batch_time_s": stat(1.0),
            "throughput_tok_s": stat(throughput),
            "energy_per_response_j": stat(energy_j / requests) if measured else None,
            "energy_per_token_j": stat(energy_j / output_tokens) if measured else None,
            "avg_power_w": stat(100.0) if measured else None,
        },
        "summary": {
            "requests": requests,
            "batches": 1,
            "output_tokens": output_tokens,
            "measured_time_s": output_tokens / throughput,
            "throughput_tok_s": throughput,
            "energy_j": energy_j,
            "energy_per_response_j": energy_j / requests if measured else None,
            "energy_per_token_j": energy_j / output_tokens if measured else None,
            "avg_power_w": 100.0 if measured else None,
            "energy_above_idle_per_response_j": None,
            "peak_memory_bytes": None,
            "peak_memory_kind": None,
            "load_time_s": 0.0,
            "warmup_time_s": 0.0,
        },
        "provenance": provenance(device),
        "raw_data": {"file": "x.requests.jsonl", "sha256": "0" * 64, "rows": 1},
        "calibration_id": calibration_id,
        "config": {},
    }
    return PerformanceRecord.model_validate(data)


def provenance(device: str) -> dict[str, Any]:
    return {
        "git_commit": None,
        "git_dirty": None,
        "library_versions": {},
        "python": "3.11",
        "platform": "linux",
        "gpu_name": None,
        "gpu_driver": None,
        "cuda_version": None,
        "cpu": "cpu",
        "device": device,
        "started_utc": "2026-01-01T00:00:00.000000Z",
        "ended_utc": "2026-01-01T00:00:01.000000Z",
        "seed": 0,
        "command_line": [],
    }


def make_calibration(
    *, bandwidth: float, flop_s: float, dtype: str, slug: str = "test-gpu", run_id: str = "cal-1"
) -> CalibrationRecord:
    return CalibrationRecord.model_validate(
        {
            "schema_version": 1,
            "kind": "calibration",
            "run_id": run_id,
            "hardware_slug": slug,
            "device": "cuda",
            "device_name": "Test GPU",
            "dtype": dtype,
            "size": "small",
            "threads": None,
            "memory_bandwidth": {
                "bytes_s": bandwidth,
                "buffer_bytes": 100,
                "bytes_moved": 200,
                "warmup": 0,
                "repeats": 1,
                "inner": 1,
                "times_s": [200 / bandwidth],
                "method": "test",
            },
            "matmul": {
                "flop_s": flop_s,
                "dtype": dtype,
                "n": 10,
                "flops_per_matmul": 2000,
                "warmup": 0,
                "repeats": 1,
                "inner": 1,
                "times_s": [2000 / flop_s],
                "method": "test",
            },
            "idle_power": {
                "power_w": None,
                "window_s": None,
                "source": "unavailable",
                "reason": "test",
                "devices": [],
            },
            "duration_s": 1.0,
            "provenance": provenance("cuda"),
            "config": {},
        }
    )
