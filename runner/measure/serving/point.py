"""One serving point: schedule the load, serve the model, measure the window, write the record.

One serving point (`leaderboard run scenario=serving ...`):

1. Arrival times are drawn from the configured process (`runner.measure.arrivals`, seeded) and
   each arrival gets the next prompt of the task's seeded prompt sample, rendered with the task's
   system prompt through the chat template (the same rendering as the static scenario).
2. The model is served by `model.init_continuous_batching(...)` (a `ContinuousBatchingManager`
   running its own generation thread); `add_request` is called at each arrival time and every
   request records per-token timestamps.
3. One loop on the calling thread sends requests on time, opens and closes the energy meter's
   windows (the measured window, and its timeline slices), and collects finished results.
4. Warm-up requests (scheduled before `warmup_s`) and drain requests (scheduled after the
   window, sent so that the window's last requests are served under the same load) are recorded
   in the raw data and excluded from every window figure. Once every window request has ended,
   the outstanding drain requests are cancelled; window requests still running
   `drain_timeout_s` after the window are cancelled and counted as timed out (they miss the
   SLO, their tokens so far are kept and their latencies are censored).
5. The rate is judged (`verdict`): steady state and sample size.

Definitions of every figure: `runner.records.serving`. The computations are pure functions of
`Outcome`s (`outcomes`, `window`, `verdict`; tested on hand-made timings); the engine (`engine`)
is behind the small `Engine` protocol so the load driver (`driver`) can be tested with a fake
one, and `make_engine` is where a point gets its engine. A search over rates (`search`) runs
one point per probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.config import RunConfig, SLOConfig, write_root
from runner.errors import ConfigError
from runner.machine.device import resolve_device
from runner.machine.energy import EnergyMeter, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
from runner.measure.arrivals import arrival_times, read_trace
from runner.measure.generation import render_prompts
from runner.measure.point import (
    IDLE_NOTE,
    CalibrationLookup,
    calibration_for,
    config_hash,
    config_to_dict,
    measure_idle,
    model_info,
    peak_memory,
    task_info,
)
from runner.measure.serving.driver import DriveResult, drive_load
from runner.measure.serving.engine import TransformersEngine
from runner.measure.serving.outcomes import (
    Engine,
    Outcome,
    ScheduledRequest,
    accounting,
    latency_observations,
    meets_slo,
    phase_of,
)
from runner.measure.serving.verdict import rate_verdict
from runner.measure.serving.window import window_figures
from runner.records.configuration import single_device
from runner.records.layout import serving_parts
from runner.records.load import RAW_DATA_SUFFIX
from runner.records.performance import EnergyInfo
from runner.records.serving import (
    ENGINE,
    SERVING_KIND,
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
from runner.records.store import new_run_id, safe_subdir, sha256_file, write_record_with_raw_data
from runner.workload.models import LoadedModel, load_model
from runner.workload.prompts import Prompt, load_prompt_set, sample_prompts


def schedule(config: RunConfig) -> tuple[list[float], str | None, str | None]:
    """(arrival times over warm-up + window + drain timeout, trace path, trace sha256).

    Raises:
        ConfigError: no request would arrive in the window, or a trace is too short or unreadable.
    """
    scenario = config.scenario
    horizon = scenario.warmup_s + scenario.duration_s + scenario.drain_timeout_s
    trace_path = trace_sha = None
    trace: list[float] | None = None
    if scenario.arrival == "trace":
        path = Path(scenario.trace_file)
        trace = read_trace(path)
        trace_path, trace_sha = str(path), sha256_file(path)
        span = (max(trace) - min(trace)) / scenario.trace_speedup
        needed = scenario.warmup_s + scenario.duration_s
        if span < needed:
            raise ConfigError(
                f"scenario.trace_file: {trace_path!r} spans {span:.3g} s after "
                f"trace_speedup, shorter than warmup_s + duration_s = {needed:g} s"
            )
    times = arrival_times(
        scenario.arrival,
        horizon_s=horizon,
        seed=config.seed,
        rate_rps=scenario.request_rate,
        cv=scenario.cv,
        trace_s=trace,
        speedup=scenario.trace_speedup,
    )
    window = [t for t in times if phase_of(t, scenario.warmup_s, scenario.duration_s) == "window"]
    if not window:
        raise ConfigError(
            f"scenario: no request arrives in the {scenario.duration_s:g} s window "
            f"(arrival={scenario.arrival}); raise scenario.request_rate or scenario.duration_s"
        )
    return times, trace_path, trace_sha


def tokenize_prompts(
    loaded: LoadedModel, system_prompt: str, prompts: Sequence[Prompt], max_prompt_tokens: int
) -> list[list[int]]:
    """Each prompt rendered with the system prompt and chat template, tokenized, left-truncated
    to `max_prompt_tokens`."""
    rendered = render_prompts(loaded.tokenizer, system_prompt, [p.text for p in prompts])
    encoded = loaded.tokenizer(
        rendered, add_special_tokens=False, truncation=True, max_length=max_prompt_tokens
    )["input_ids"]
    return [list(ids) for ids in encoded]


def record_folder(results_root: Path, identity: ServingIdentity) -> Path:
    """`results/serving/<hardware>/<model>/<task>/<arrival>-<rate>/` (every part checked)."""
    return safe_subdir(results_root, *serving_parts(identity))


def make_engine(loaded: LoadedModel, config: RunConfig, max_prompt_tokens: int) -> Engine:
    """The serving engine of a point: transformers' continuous batching (tests replace it)."""
    return TransformersEngine(loaded, config, max_prompt_tokens)


def run_serving_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
    loaded: LoadedModel | None = None,
    search: SearchInfo | None = None,
) -> Path:
    """Serve the model under the configured load, measure the window, write the record.

    Args:
        config: the validated run config with `scenario.name == "serving"`.
        calibration: finds (or measures) the calibration the record links to; required when
            `config.calibrate` is true.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        progress: show a progress bar over the load's time.
        loaded: the model, already loaded for this config (a rate search loads it once).
        search: the rate search this point is a probe of, recorded with it.

    Raises:
        UserError: bad input, model not loadable, out of memory, engine stopped, disk full. No
            record is written.
    """
    import torch
    import transformers

    scenario = config.scenario
    started_utc = utc_now()
    times, trace_path, trace_sha = schedule(config)
    device = resolve_device(config.backend.device)
    torch.manual_seed(config.seed)
    prompt_set = load_prompt_set(config.task.prompt_set, config.task.prompt_format)
    prompts = sample_prompts(prompt_set.prompts, len(times), config.seed)
    calibration_id = calibration_for(config, calibration, device)
    if loaded is None:
        loaded = load_model(config.model, device)
    if meter is None:
        meter = make_energy_meter(config.energy_meter, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    idle_power_w, idle_window_s = measure_idle(meter, config.idle_seconds, config.idle_settle_s)
    input_ids = tokenize_prompts(
        loaded, config.task.system_prompt, prompts, config.max_prompt_tokens
    )
    requests = [
        ScheduledRequest(index, at, prompt, ids)
        for index, (at, prompt, ids) in enumerate(zip(times, prompts, input_ids, strict=True))
    ]
    engine = make_engine(loaded, config, max(len(ids) for ids in input_ids))
    try:
        result = _drive_with_progress(engine, requests, meter, config, loaded, progress)
    finally:
        engine.close()
    ended_utc = utc_now()
    memory, memory_kind = peak_memory(device)
    slo = config.task.slo
    figures = window_figures(
        result.outcomes,
        slo,
        opened_s=result.opened_s,
        closed_s=result.closed_s,
        measured_duration_s=result.measured_duration_s,
        energy_j=result.energy_j,
        slices=result.slices,
        max_new_tokens=config.task.max_new_tokens,
        idle_power_w=idle_power_w,
        peak_memory_bytes=memory,
        peak_memory_kind=memory_kind,
        load_time_s=loaded.load_time_s,
    )
    verdict = rate_verdict(
        figures,
        measured_duration_s=result.measured_duration_s,
        target=slo.attainment,
        confidence=scenario.confidence,
        min_requests=scenario.min_requests,
        on_gpu=device == "cuda",
    )
    counts = accounting(result.outcomes, result.duplicates)
    identity = ServingIdentity(
        model_name=config.model.name,
        model_id=config.model.hf_id,
        model_revision=config.model.revision,
        task=config.task.name,
        hardware_slug=hardware_slug(device),
        engine=ENGINE,
        arrival=scenario.arrival,  # type: ignore[arg-type]
        request_rate_rps=None if scenario.arrival == "trace" else scenario.request_rate,
        cv=scenario.cv if scenario.arrival == "gamma" else None,
        trace_speedup=scenario.trace_speedup if scenario.arrival == "trace" else None,
        config_hash=config_hash(config),
        sweep_hash=sweep_hash(config_to_dict(config)),
        configuration=single_device(
            batching="continuous",
            precision=config.model.dtype,
            max_num_seqs=engine.info["max_batch_requests"],
            mean_running_batch=figures.summary.mean_running_requests,
        ),
    )
    run_id = new_run_id()
    dispatched = result.outcomes
    return write_record_with_raw_data(
        record_folder(write_root(config), identity),
        run_id,
        RAW_DATA_SUFFIX,
        raw_data_rows(run_id, result.outcomes, slo, config.task.max_new_tokens),
        lambda raw_data: ServingRecord(
            schema_version=SERVING_SCHEMA_VERSION,
            kind=SERVING_KIND,
            run_id=run_id,
            identity=identity,
            model=model_info(config, loaded),
            task=task_info(config, prompt_set.sha256, [o.prompt_id for o in dispatched]),
            arrival=ArrivalInfo(
                process=scenario.arrival,  # type: ignore[arg-type]
                seed=config.seed,
                request_rate_rps=identity.request_rate_rps,
                cv=identity.cv,
                trace_file=trace_path,
                trace_sha256=trace_sha,
                trace_speedup=identity.trace_speedup,
                dispatched=len(dispatched),
                offered_rate_rps=counts.window.dispatched / scenario.duration_s,
            ),
            window=WindowInfo(
                warmup_s=scenario.warmup_s,
                duration_s=scenario.duration_s,
                measured_duration_s=result.measured_duration_s,
                opened_s=result.opened_s,
                closed_s=result.closed_s,
                drain_s=max(0.0, result.last_end_s - result.closed_s),
                drain_timeout_s=scenario.drain_timeout_s,
                timeline_step_s=scenario.timeline_step_s,
            ),
            engine=EngineInfo(
                name=ENGINE,
                transformers_version=transformers.__version__,
                warmup_time_s=engine.warmup_time_s,
                **engine.info,
            ),
            slo=slo_info(slo),
            energy=EnergyInfo(
                source=meter.source,  # type: ignore[arg-type]
                reason=meter.reason,
                devices=list(meter.devices),
                idle_power_w=idle_power_w,
                idle_window_s=idle_window_s,
                idle_settle_s=config.idle_settle_s if idle_window_s is not None else None,
                idle_note=IDLE_NOTE if idle_window_s is not None else None,
            ),
            accounting=counts,
            measurements=figures.measurements,
            summary=figures.summary,
            verdict=verdict,
            search=search,
            timeline=figures.timeline,
            provenance=collect_provenance(device, config.seed, started_utc, ended_utc),
            raw_data=raw_data,
            calibration_id=calibration_id,
            config=config_to_dict(config),
        ),
    )[0]


def slo_info(slo: SLOConfig) -> SLOInfo:
    """The record's SLO block from the task's SLO config."""
    return SLOInfo(
        ttft_s=slo.ttft_s,
        tpot_s=slo.tpot_s,
        itl_p90_s=slo.itl_p90_s,
        e2e_s=slo.e2e_s,
        attainment=slo.attainment,
        reference=slo.reference or None,
    )


def _drive_with_progress(
    engine: Engine,
    requests: Sequence[ScheduledRequest],
    meter: EnergyMeter,
    config: RunConfig,
    loaded: LoadedModel,
    progress: bool,
) -> DriveResult:
    from rich.progress import Progress

    scenario = config.scenario
    total = scenario.warmup_s + scenario.duration_s
    label = f"{config.model.name} {config.task.name} serving {scenario.arrival}"

    def decode(tokens: list[int]) -> str:
        return str(loaded.tokenizer.decode(tokens, skip_special_tokens=True))

    with Progress(disable=not progress, transient=True) as bar:
        bar_task = bar.add_task(label, total=total)
        return drive_load(
            engine,
            requests,
            meter,
            warmup_s=scenario.warmup_s,
            duration_s=scenario.duration_s,
            drain_timeout_s=scenario.drain_timeout_s,
            timeline_step_s=scenario.timeline_step_s,
            decode=decode,
            tick=lambda t: bar.update(bar_task, completed=min(t, total)),
        )


def raw_data_rows(
    run_id: str,
    outcomes: Sequence[Outcome],
    slo: SLOConfig | SLOInfo,
    max_new_tokens: int | None = None,
) -> list[dict[str, Any]]:
    """One row per dispatched request (every phase), times in s from the load's start.

    Latencies are from the scheduled arrival; `send_lag_s` is how late the driver sent it. An
    unfinished request has `ttft_s` only if it had a first token, no `e2e_latency_s` and no
    `tpot_s`, and `censored_*` give the lower bounds the percentiles used for it.
    """

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    rows = []
    for o in outcomes:
        observed = latency_observations(o, max_new_tokens or 0)
        bounds = {
            f"censored_{name}": rounded(value[0])
            for name, value in observed.items()
            if value is not None and value[1]
        }
        rows.append(
            {
                "run_id": run_id,
                "index": o.index,
                "request_id": o.request_id,
                "prompt_id": o.prompt_id,
                "phase": o.phase,
                "status": o.status,
                "scheduled_s": rounded(o.scheduled_s),
                "arrival_s": rounded(o.arrival_s),
                "send_lag_s": rounded(o.send_lag_s),
                "started_s": rounded(o.started_s),
                "ended_s": rounded(o.ended_s),
                "queueing_delay_s": rounded(o.queueing_delay_s),
                "ttft_s": rounded(o.ttft_s),
                "tpot_s": rounded(o.tpot_s),
                "e2e_latency_s": rounded(o.e2e_latency_s),
                "itl_p90_s": rounded(o.itl_p90_s),
                **bounds,
                "prompt_tokens": o.prompt_tokens,
                "output_tokens": o.output_tokens,
                "token_times_s": [round(t, 6) for t in o.token_times_s],
                "meets_slo": meets_slo(o, slo) if o.phase == "window" else None,
                "error": o.error,
                "response_text": o.text,
            }
        )
    return rows
