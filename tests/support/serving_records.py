"""Builders of valid serving records (synthetic timings, computed by the runner's own functions).

`synthetic_outcomes` makes a window with a chosen number of requests that meet the SLO (the
misses spread evenly over the window, so the load stays steady) and, optionally, window
requests still unfinished at the deadline (an overloaded point); `record_from_outcomes` turns a
driver result into a record exactly as the runner does; `write_sweep` writes a rate sweep of
records (with raw data) under a results root. Nothing here is a measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.measure.serving.driver import DriveResult
from runner.measure.serving.outcomes import Outcome, accounting
from runner.measure.serving.point import raw_data_rows
from runner.measure.serving.verdict import rate_verdict
from runner.measure.serving.window import Slice, window_figures
from runner.records.configuration import single_device
from runner.records.layout import serving_parts
from runner.records.performance import EnergyInfo, ModelInfo, Provenance, RawData, TaskInfo
from runner.records.serving import (
    SERVING_SCHEMA_VERSION,
    ArrivalInfo,
    EngineInfo,
    SearchInfo,
    ServingIdentity,
    ServingRecord,
    SLOInfo,
    WindowInfo,
)
from runner.records.serving_rules import sweep_hash
from runner.records.store import safe_subdir, write_record_with_raw_data

SLO = SLOInfo(ttft_s=1.0, tpot_s=0.1, itl_p90_s=None, e2e_s=None, attainment=0.9, reference=None)
WARMUP_S, DURATION_S, DRAIN_TIMEOUT_S = 1.0, 10.0, 10.0
MIN_REQUESTS = 30  # the sample-size rule of these synthetic records


def synthetic_outcomes(
    requests: int, met: int, *, tokens: int = 4, timed_out: int = 0
) -> list[Outcome]:
    """`requests` window requests evenly spread over the window, `met` of which meet `SLO`
    (TTFT 0.1 s) and the others, spread evenly among them, miss it (TTFT 1.2 s); one warm-up
    request before them. The last `timed_out` of the missing ones are instead still unfinished
    at the drain deadline (cancelled with 2 tokens)."""
    outcomes = [
        Outcome(0, "r0", "p0", "warmup", 0.5, 0.5, 10, "finished", 0.5, [0.6, 0.7], 2, ended_s=0.7)
    ]
    gap = DURATION_S / max(1, requests)
    missing = requests - met
    misses = [(k + 1) * missing // requests > k * missing // requests for k in range(requests)]
    cancelled = set([k for k in range(requests) if misses[k]][missing - timed_out :])
    deadline = WARMUP_S + DURATION_S + DRAIN_TIMEOUT_S
    for k in range(requests):
        arrival = WARMUP_S + k * gap
        ttft = 1.2 if misses[k] else 0.1
        times = [arrival + ttft + 0.05 * j for j in range(tokens)]
        status, ended = "finished", times[-1]
        if k in cancelled:
            times, status, ended = [deadline - 1.0, deadline - 0.5], "timed_out", deadline
        outcomes.append(
            Outcome(
                index=k + 1,
                request_id=f"r{k + 1}",
                prompt_id=f"p{k + 1}",
                phase="window",
                scheduled_s=arrival,
                arrival_s=arrival,
                prompt_tokens=10,
                status=status,
                started_s=arrival + min(ttft, 1.0) / 2,
                token_times_s=times,
                output_tokens=len(times),
                ended_s=ended,
            )
        )
    return outcomes


def synthetic_config(
    rate: float | None, max_new_tokens: int, max_num_seqs: int, slo: SLOInfo
) -> dict[str, Any]:
    """The part of a resolved config these records vary (the rest is left out)."""
    return {
        "synthetic": True,
        "task": {"max_new_tokens": max_new_tokens, "slo": slo.model_dump(mode="json")},
        "scenario": {"name": "serving", "request_rate": rate, "max_batch_requests": max_num_seqs},
    }


def drive_result(outcomes: list[Outcome], energy_j: float | None) -> DriveResult:
    """The driver result of a window [WARMUP_S, WARMUP_S + DURATION_S) with `energy_j`."""
    half = WARMUP_S + DURATION_S / 2
    share = None if energy_j is None else energy_j / 2
    return DriveResult(
        outcomes=outcomes,
        opened_s=WARMUP_S,
        closed_s=WARMUP_S + DURATION_S,
        measured_duration_s=DURATION_S,
        energy_j=energy_j,
        slices=[Slice(WARMUP_S, half, share), Slice(half, WARMUP_S + DURATION_S, share)],
        last_end_s=max(o.ended_s or 0.0 for o in outcomes),
    )


def record_from_outcomes(
    result: DriveResult,
    *,
    model_name: str = "tiny-random",
    model_id: str = "energy-leaderboard/tiny-random",
    revision: str = "builder-v1-seed0",
    display_name: str = "Tiny random Llama",
    task: str = "chat",
    hardware: str = "cpu-synthetic-x86-64",
    arrival: str = "poisson",
    rate: float | None = 2.0,
    slo: SLOInfo = SLO,
    run_id: str = "20261101T000000Z-5e000000",
    raw: RawData | None = None,
    ended_utc: str = "2026-11-01T00:00:10Z",
    gpu_name: str | None = None,
    max_new_tokens: int = 4,
    max_num_seqs: int = 64,
    search: SearchInfo | None = None,
    device: str = "cpu",
) -> ServingRecord:
    """A serving record built from a driver result by the runner's own functions."""
    metered = result.energy_j is not None
    figures = window_figures(
        result.outcomes,
        slo,
        opened_s=result.opened_s,
        closed_s=result.closed_s,
        measured_duration_s=result.measured_duration_s,
        energy_j=result.energy_j,
        slices=result.slices,
        max_new_tokens=max_new_tokens,
    )
    verdict = rate_verdict(
        figures,
        measured_duration_s=result.measured_duration_s,
        target=slo.attainment,
        confidence=0.95,
        min_requests=MIN_REQUESTS,
        on_gpu=device == "cuda",
    )
    config = synthetic_config(rate, max_new_tokens, max_num_seqs, slo)
    counts = accounting(result.outcomes, result.duplicates)
    identity = ServingIdentity(
        model_name=model_name,
        model_id=model_id,
        model_revision=revision,
        task=task,
        hardware_slug=hardware,
        engine="transformers-cb",
        arrival=arrival,  # type: ignore[arg-type]
        request_rate_rps=rate,
        cv=2.0 if arrival == "gamma" else None,
        trace_speedup=1.0 if arrival == "trace" else None,
        config_hash="0" * 64,
        sweep_hash=sweep_hash(config),
        configuration=single_device(
            batching="continuous",
            precision="float32",
            max_num_seqs=max_num_seqs,
            mean_running_batch=figures.summary.mean_running_requests,
        ),
    )
    return ServingRecord(
        schema_version=SERVING_SCHEMA_VERSION,
        kind="serving",
        run_id=run_id,
        identity=identity,
        model=ModelInfo(
            display_name=display_name,
            dtype="float32",
            params=210_000,
            params_source="counted",
            url="",
            license="Apache-2.0",
            trust_remote_code=False,
            random_weights=True,
            base_model=None,
            architecture=None,
        ),
        task=TaskInfo(
            name=task,
            system_prompt="synthetic",
            prompt_set="chat",
            prompt_set_sha256="0" * 64,
            prompt_seed=0,
            prompt_ids=[o.prompt_id for o in result.outcomes],
            max_new_tokens=max_new_tokens,
            sampling={"do_sample": False},
        ),
        arrival=ArrivalInfo(
            process=arrival,  # type: ignore[arg-type]
            seed=0,
            request_rate_rps=rate,
            cv=identity.cv,
            trace_file=None,
            trace_sha256=None,
            trace_speedup=identity.trace_speedup,
            dispatched=len(result.outcomes),
            offered_rate_rps=counts.window.dispatched / result.measured_duration_s,
        ),
        window=WindowInfo(
            warmup_s=result.opened_s,
            duration_s=result.measured_duration_s,
            measured_duration_s=result.measured_duration_s,
            opened_s=result.opened_s,
            closed_s=result.closed_s,
            drain_s=max(0.0, result.last_end_s - result.closed_s),
            drain_timeout_s=DRAIN_TIMEOUT_S,
            timeline_step_s=result.slices[0].end_s - result.slices[0].start_s,
        ),
        engine=EngineInfo(
            name="transformers-cb",
            transformers_version="5.23.0",
            attn_implementation="sdpa",
            max_batch_requests=max_num_seqs,
            max_batch_tokens=2048,
            num_blocks=128,
            page_size=256,
            warmup_time_s=0.1,
        ),
        slo=slo,
        energy=EnergyInfo(
            source="fake" if metered else "unavailable",
            reason=None if metered else "synthetic: no meter",
            devices=["fake:0"] if metered else [],
            idle_power_w=None,
            idle_window_s=None,
        ),
        accounting=counts,
        measurements=figures.measurements,
        summary=figures.summary,
        verdict=verdict,
        search=search,
        timeline=figures.timeline,
        provenance=Provenance(
            git_commit=None,
            git_dirty=None,
            library_versions={},
            python="3.11",
            platform="synthetic",
            gpu_name=gpu_name,
            gpu_driver=None,
            cuda_version=None,
            cpu="synthetic",
            device=device,
            started_utc="2026-11-01T00:00:00Z",
            ended_utc=ended_utc,
            seed=0,
            command_line=["synthetic"],
        ),
        raw_data=raw
        or RawData(file="x.requests.jsonl", sha256="0" * 64, rows=len(result.outcomes)),
        calibration_id=None,
        config=config,
    )


def write_record(root: Path, result: DriveResult, **kwargs: object) -> Path:
    """Write a synthetic serving record and its raw data where its identity places it."""
    probe = record_from_outcomes(result, **kwargs)  # type: ignore[arg-type]
    folder = safe_subdir(root, *serving_parts(probe.identity))
    rows = raw_data_rows(probe.run_id, result.outcomes, probe.slo, probe.task.max_new_tokens)
    return write_record_with_raw_data(
        folder,
        probe.run_id,
        ".requests.jsonl",
        rows,
        lambda raw: record_from_outcomes(result, raw=raw, **kwargs),  # type: ignore[arg-type]
    )[0]


def write_sweep(
    root: Path,
    points: Sequence[tuple[float, float, float | None]],
    *,
    run_prefix: str = "20261101T0000",
    timed_out: dict[float, float] | None = None,
    **kwargs: object,
) -> list[Path]:
    """One record per (rate, share of window requests meeting the SLO, window energy J) point,
    with rate x 10 s window requests (so the offered rate is the rate); `timed_out` maps a rate
    to the share of its window requests unfinished at the deadline (an overloaded point)."""
    paths = []
    for number, (rate, share, energy) in enumerate(points):
        requests = round(rate * DURATION_S)
        met = round(share * requests)
        late = round((timed_out or {}).get(rate, 0.0) * requests)
        result = drive_result(synthetic_outcomes(requests, met, timed_out=late), energy)
        run_id = f"{run_prefix}{number:02d}Z-5e{number:06x}"
        paths.append(write_record(root, result, rate=rate, run_id=run_id, **kwargs))
    return paths
