"""One steady point: the reference's steady-state method on transformers' continuous batching.

`leaderboard run scenario=steady ...`:

1. The model is loaded; after `idle_settle_s` the idle baseline is measured (before anything
   runs on the device), then transformers' continuous batching starts with the batch cap B
   (`scenario.max_num_seqs`) through the serving scenario's engine
   (`runner.measure.serving.engine.TransformersEngine`).
2. Warm-up: `warmup_requests` (default B) requests run to completion, excluded from every number.
3. The measured run: N requests (`scenario.num_requests`, each the next prompt of the task's
   seeded sample, rendered with the system prompt and chat template) are submitted at once; the
   energy counter is read every `tick_s`; N grows while the window would be shorter than the
   window rule (`runner.measure.steady.driver`).
4. The window (B requests with a first token to N - B - 1 completed, between counter ticks) and
   its figures come from the requests' own timings (`runner.measure.steady.window`); the record
   is `runner.records.steady`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.config import RunConfig, write_root
from runner.errors import PointFailed
from runner.machine.device import resolve_device
from runner.machine.energy import EnergyMeter, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
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
from runner.measure.serving.engine import TransformersEngine
from runner.measure.serving.outcomes import ScheduledRequest
from runner.measure.steady.driver import SteadyDrive, drive_steady, run_warmup
from runner.measure.steady.window import NoSteadyState, RequestRun, window_figures
from runner.measure.window_rule import window_rule
from runner.records.configuration import single_device
from runner.records.layout import steady_parts
from runner.records.load import RAW_DATA_SUFFIX
from runner.records.performance import EnergyInfo
from runner.records.steady import (
    STEADY_ENGINE,
    STEADY_KIND,
    STEADY_SCHEMA_VERSION,
    Extension,
    SteadyEngineInfo,
    SteadyIdentity,
    SteadyLoad,
    SteadyRecord,
    SteadyWindow,
)
from runner.records.store import new_run_id, safe_subdir, write_record_with_raw_data
from runner.workload.models import LoadedModel, load_model
from runner.workload.prompts import Prompt, load_prompt_set, sample_prompts

ADMISSION_NOTE = (
    "the engine did not report when some requests were admitted into the running batch; their "
    "admission is taken as their first token (TTFT 0, running time from the first token)"
)


class PromptTokens:
    """Each prompt rendered with the system prompt and chat template, tokenized once per prompt
    id, left-truncated to `max_prompt_tokens` tokens."""

    def __init__(self, loaded: LoadedModel, system_prompt: str, max_prompt_tokens: int) -> None:
        self._loaded, self._system = loaded, system_prompt
        self._max = max_prompt_tokens
        self._ids: dict[str, list[int]] = {}

    def __call__(self, prompt: Prompt) -> list[int]:
        if prompt.id not in self._ids:
            tokenizer = self._loaded.tokenizer
            rendered = render_prompts(tokenizer, self._system, [prompt.text])
            encoded = tokenizer(
                rendered, add_special_tokens=False, truncation=True, max_length=self._max
            )["input_ids"]
            self._ids[prompt.id] = list(encoded[0])
        return self._ids[prompt.id]


def record_folder(results_root: Path, identity: SteadyIdentity) -> Path:
    """`results/steady/<hardware>/<model>/<task>/cap<B>/` (every part checked)."""
    return safe_subdir(results_root, *steady_parts(identity))


def engine_config(config: RunConfig) -> RunConfig:
    """The run config the serving engine reads: its `max_batch_requests` is the cap B."""
    scenario = dataclasses.replace(config.scenario, max_batch_requests=config.scenario.max_num_seqs)
    return dataclasses.replace(config, scenario=scenario)


def run_steady_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
) -> Path:
    """Serve the model at batch cap B, measure the steady-state window, write the record.

    Args:
        config: the validated run config with `scenario.name == "steady"`.
        calibration: finds (or measures) the calibration the record links to; required when
            `config.calibrate` is true.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        progress: show a progress bar over the requests.

    Raises:
        UserError: bad input, model not loadable, out of memory, engine stopped, no steady
            state, disk full. No record is written.
    """
    import torch
    import transformers

    scenario = config.scenario
    cap = scenario.max_num_seqs
    warmup_count = cap if scenario.warmup_requests is None else scenario.warmup_requests
    started_utc = utc_now()
    device = resolve_device(config.backend.device)
    torch.manual_seed(config.seed)
    prompt_set = load_prompt_set(config.task.prompt_set, config.task.prompt_format)
    prompts = sample_prompts(
        prompt_set.prompts, warmup_count + scenario.max_num_requests, config.seed
    )
    calibration_id = calibration_for(config, calibration, device)
    loaded = load_model(config.model, device)
    if meter is None:
        meter = make_energy_meter(config.energy_meter, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    idle_power_w, idle_window_s = measure_idle(meter, config.idle_seconds, config.idle_settle_s)
    rule = window_rule(meter, config.min_window_s, extends_without_meter=False)
    tokens_of = PromptTokens(loaded, config.task.system_prompt, config.max_prompt_tokens)
    warmup = [
        ScheduledRequest(k, 0.0, prompts[k], tokens_of(prompts[k])) for k in range(warmup_count)
    ]
    measured_prompts = prompts[warmup_count:]

    def make_request(index: int) -> ScheduledRequest:
        prompt = measured_prompts[index]
        return ScheduledRequest(index, 0.0, prompt, tokens_of(prompt))

    longest = max(len(tokens_of(p)) for p in {p.id: p for p in prompts}.values())
    engine = TransformersEngine(loaded, engine_config(config), longest)

    def decode(tokens: list[int]) -> str:
        return str(loaded.tokenizer.decode(tokens, skip_special_tokens=True))

    try:
        warmup_runs = run_warmup(engine, warmup, timeout_s=scenario.max_duration_s, decode=decode)
        drive = _drive_with_progress(engine, make_request, meter, config, rule, decode, progress)
    finally:
        engine.close()
    ended_utc = utc_now()
    memory, memory_kind = peak_memory(device)
    try:
        figures = window_figures(
            drive.runs,
            drive.tick_times,
            drive.tick_energies,
            cap=cap,
            snap=meter.available,
            rule=rule,
            resolution_s=meter.resolution_s if meter.available else None,
            energy_reason=meter.reason,
            idle_power_w=idle_power_w,
            short_reason=drive.short_reason,
            peak_memory_bytes=memory,
            peak_memory_kind=memory_kind,
            load_time_s=loaded.load_time_s,
        )
    except NoSteadyState as error:
        raise PointFailed(f"scenario=steady cap {cap}: {error}") from None
    bounds = figures.bounds
    identity = SteadyIdentity(
        model_name=config.model.name,
        model_id=config.model.hf_id,
        model_revision=config.model.revision,
        task=config.task.name,
        hardware_slug=hardware_slug(device),
        engine=STEADY_ENGINE,
        config_hash=config_hash(config),
        configuration=single_device(
            batching="continuous",
            precision=config.model.dtype,
            max_num_seqs=engine.info["max_batch_requests"],
            mean_running_batch=figures.summary.mean_running_batch,
        ),
    )
    notes = record_notes(config, loaded, drive.runs)
    last_completion = max(run.last_token_s or 0.0 for run in drive.runs)
    run_id = new_run_id()
    return write_record_with_raw_data(
        record_folder(write_root(config), identity),
        run_id,
        RAW_DATA_SUFFIX,
        raw_data_rows(run_id, [*warmup_runs, *drive.runs], bounds.start_s, bounds.end_s),
        lambda raw_data: SteadyRecord(
            schema_version=STEADY_SCHEMA_VERSION,
            kind=STEADY_KIND,
            run_id=run_id,
            identity=identity,
            model=model_info(config, loaded),
            task=task_info(config, prompt_set.sha256, [run.prompt_id for run in drive.runs]),
            load=SteadyLoad(
                num_requests=len(drive.runs),
                initial_num_requests=scenario.num_requests,
                max_num_requests=scenario.max_num_requests,
                extensions=[Extension(at_s=at, added=added) for at, added in drive.extensions],
                warmup_requests=len(warmup_runs),
                finished=sum(1 for run in drive.runs if run.status == "finished"),
            ),
            window=SteadyWindow(
                open_event_s=bounds.open_event_s,
                close_event_s=bounds.close_event_s,
                start_s=bounds.start_s,
                end_s=bounds.end_s,
                duration_s=bounds.duration_s,
                tick_s=scenario.tick_s if meter.available else None,
                output_tokens=figures.output_tokens,
                completed=figures.completed,
                rule=rule,
                meets_rule=figures.meets_rule,
                relative_uncertainty=figures.relative_uncertainty,
                ramp_up_s=bounds.start_s,
                ramp_down_s=max(0.0, last_completion - bounds.end_s),
                note=figures.note,
            ),
            engine=SteadyEngineInfo(
                name=STEADY_ENGINE,
                transformers_version=transformers.__version__,
                warmup_time_s=engine.warmup_time_s,
                **engine.info,
            ),
            energy=EnergyInfo(
                source=meter.source,  # type: ignore[arg-type]
                reason=meter.reason,
                devices=list(meter.devices),
                idle_power_w=idle_power_w,
                idle_window_s=idle_window_s,
                idle_settle_s=config.idle_settle_s if idle_window_s is not None else None,
                idle_note=IDLE_NOTE if idle_window_s is not None else None,
            ),
            measurements=figures.measurements,
            summary=figures.summary,
            provenance=collect_provenance(device, config.seed, started_utc, ended_utc),
            raw_data=raw_data,
            calibration_id=calibration_id,
            config=config_to_dict(config),
            notes=notes,
        ),
    )[0]


def record_notes(config: RunConfig, loaded: LoadedModel, runs: Sequence[RequestRun]) -> list[str]:
    """Facts a reader of the record should know (stand-in tokenizer, admission times)."""
    notes = []
    if config.model.source == "random-init":
        notes.append(
            f"random-init model: prompts were tokenized with the embedded tiny model's tokenizer "
            f"({len(loaded.tokenizer)} tokens), not {config.model.hf_id}'s, so prompt lengths in "
            "tokens differ from the real model's"
        )
    if any(run.started_s is None for run in runs):
        notes.append(ADMISSION_NOTE)
    return notes


def _drive_with_progress(
    engine: TransformersEngine,
    make_request: Any,
    meter: EnergyMeter,
    config: RunConfig,
    rule: Any,
    decode: Any,
    progress: bool,
) -> SteadyDrive:
    from rich.progress import Progress

    scenario = config.scenario
    label = f"{config.model.name} {config.task.name} steady cap {scenario.max_num_seqs}"
    with Progress(disable=not progress, transient=True) as bar:
        bar_task = bar.add_task(label, total=scenario.num_requests)
        return drive_steady(
            engine,
            make_request,
            meter,
            cap=scenario.max_num_seqs,
            num_requests=scenario.num_requests,
            max_requests=scenario.max_num_requests,
            min_window_s=rule.min_window_s,
            grow=rule.enforced,
            tick_s=scenario.tick_s,
            max_duration_s=scenario.max_duration_s,
            decode=decode,
            tick=lambda _t, done, total: bar.update(bar_task, completed=done, total=total),
        )


def raw_data_rows(
    run_id: str, runs: Sequence[RequestRun], start_s: float, end_s: float
) -> list[dict[str, Any]]:
    """One row per request (warm-up and measured), times in s from the start of its phase."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    rows = []
    for run in runs:
        last = run.last_token_s
        rows.append(
            {
                "run_id": run_id,
                "index": run.index,
                "request_id": run.request_id,
                "prompt_id": run.prompt_id,
                "phase": run.phase,
                "status": run.status,
                "submitted_s": rounded(run.submitted_s),
                "started_s": rounded(run.started_s),
                "first_token_s": rounded(run.first_token_s),
                "last_token_s": rounded(last),
                "completed_in_window": run.phase == "measured"
                and last is not None
                and start_s < last <= end_s,
                "prompt_tokens": run.prompt_tokens,
                "output_tokens": run.output_tokens,
                "token_times_s": [round(t, 6) for t in run.token_times_s],
                "error": run.error,
                "response_text": run.text,
            }
        )
    return rows
