"""The serving scenario: a model served with transformers' continuous batching under arriving load.

One serving point (`leaderboard run scenario=serving ...`):

1. Arrival times are drawn from the configured process (`runner.measure.arrivals`, seeded) and
   each arrival gets the next prompt of the task's seeded prompt sample, rendered with the task's
   system prompt through the chat template (the same rendering as the static scenario).
2. The model is served by `model.init_continuous_batching(...)` (a `ContinuousBatchingManager`
   running its own generation thread); `add_request` is called at each arrival time and every
   request records per-token timestamps.
3. One loop on the calling thread sends requests on time, opens and closes the energy meter's
   windows (the measured window, and its timeline slices), and collects finished results.
4. Warm-up requests (arriving before `warmup_s`) and drain requests (arriving after the window,
   sent so that the window's last requests are served under the same load) are recorded in the
   raw data and excluded from every number. Once every window request has finished, the
   outstanding drain requests are cancelled; window requests still running `drain_timeout_s`
   after the window are cancelled and counted as timed out (they miss the SLO).

Definitions of every figure: `runner.records.serving`. The computations are pure functions of
`Outcome`s (tested on hand-made timings); the engine is behind the small `Engine` protocol so the
load driver can be tested with a fake one.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runner.config import RunConfig, SLOConfig, write_root
from runner.errors import ConfigError, PointFailed
from runner.machine.device import resolve_device
from runner.machine.energy import EnergyMeter, make_energy_meter
from runner.machine.provenance import collect_provenance, hardware_slug, utc_now
from runner.measure.arrivals import arrival_times, read_trace
from runner.measure.generation import render_prompts
from runner.measure.point import (
    CalibrationLookup,
    config_hash,
    config_to_dict,
    measure_idle,
    model_info,
    peak_memory,
    task_info,
)
from runner.measure.stats import percentile, summarize
from runner.records.configuration import single_device
from runner.records.layout import serving_parts
from runner.records.load import RAW_DATA_SUFFIX
from runner.records.performance import EnergyInfo
from runner.records.serving import (
    ENGINE,
    SERVING_KIND,
    SERVING_SCHEMA_VERSION,
    Accounting,
    ArrivalInfo,
    EngineInfo,
    PhaseCount,
    ServingIdentity,
    ServingMeasurements,
    ServingRecord,
    ServingSummary,
    SLOInfo,
    TimelinePoint,
    WindowInfo,
)
from runner.records.store import new_run_id, safe_subdir, sha256_file, write_record_with_raw_data
from runner.workload.models import LoadedModel, load_model
from runner.workload.prompts import Prompt, load_prompt_set, sample_prompts

OCCUPANCY_SAMPLE_S = 0.01  # occupancy and queue length are sampled every 10 ms of the window
POLL_S = 0.05  # longest wait for a result before the loop checks its schedule again
DUE_S = 1e-6  # an event due within this much of now is run now (no busy loop on rounding)
CPU_MAX_BATCH_TOKENS = 2048


# ------------------------------------------------------------------------------------------------
# Requests and their outcomes (times in seconds from the load generator's start, t = 0)


@dataclass(frozen=True)
class ScheduledRequest:
    """A request of the load: when it is due, with which prompt.

    Attributes:
        index: position in the arrival order (0-based); also its request id.
        scheduled_s: the arrival time the process drew.
        prompt: the task prompt it carries.
        input_ids: the templated, tokenized prompt.
    """

    index: int
    scheduled_s: float
    prompt: Prompt
    input_ids: list[int]

    @property
    def request_id(self) -> str:
        """The id the engine knows the request by."""
        return f"r{self.index}"


@dataclass(frozen=True)
class EngineResult:
    """A request as the engine returned it (absolute `time.perf_counter()` seconds).

    Attributes:
        request_id: the id it was submitted with.
        finished: True when it generated to EOS or the token limit, False when it failed.
        started: when it left the engine's queue (None if unknown).
        token_times: when each generated token was stamped.
        tokens: the generated token ids.
        error: the engine's error message of a failed request.
    """

    request_id: str
    finished: bool
    started: float | None
    token_times: list[float]
    tokens: list[int]
    error: str | None = None


class Engine(Protocol):
    """What the load driver needs from a serving engine."""

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        """Queue one request (returns at once)."""
        ...

    def poll(self, timeout_s: float) -> EngineResult | None:
        """The next finished or failed request, waiting at most `timeout_s`; None if none."""
        ...

    def cancel(self, request_id: str) -> None:
        """Drop a request that is queued or running (no result will be counted for it)."""
        ...

    def alive(self) -> str | None:
        """None while the engine runs; else why it stopped."""
        ...


@dataclass
class Outcome:
    """One dispatched request and what happened to it (times in s from t = 0).

    Attributes:
        status: `finished`, `failed`, `timed_out` (a window request still running
            `drain_timeout_s` after the window) or `cancelled` (a drain request, dropped once
            the window's requests were done).
        started_s: when it left the engine's queue (None if not known).
        token_times_s: when each output token was stamped.
    """

    index: int
    request_id: str
    prompt_id: str
    phase: str
    scheduled_s: float
    arrival_s: float
    prompt_tokens: int
    status: str = "pending"
    started_s: float | None = None
    token_times_s: list[float] = field(default_factory=list)
    output_tokens: int = 0
    error: str | None = None
    text: str = ""
    ended_s: float | None = None

    @property
    def dispatch_lag_s(self) -> float:
        """Actual minus scheduled arrival time."""
        return self.arrival_s - self.scheduled_s

    @property
    def queueing_delay_s(self) -> float | None:
        """Arrival to leaving the engine's queue."""
        return None if self.started_s is None else max(0.0, self.started_s - self.arrival_s)

    @property
    def ttft_s(self) -> float | None:
        """Arrival to the first output token."""
        return self.token_times_s[0] - self.arrival_s if self.token_times_s else None

    @property
    def e2e_latency_s(self) -> float | None:
        """Arrival to the last output token."""
        return self.token_times_s[-1] - self.arrival_s if self.token_times_s else None

    @property
    def itls_s(self) -> list[float]:
        """Gaps between consecutive output tokens."""
        times = self.token_times_s
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    @property
    def itl_p90_s(self) -> float | None:
        """The 90th percentile of this request's inter-token latencies (None under 2 tokens)."""
        gaps = sorted(self.itls_s)
        return percentile(gaps, 90) if gaps else None

    @property
    def last_token_s(self) -> float | None:
        """When its last token was stamped."""
        return self.token_times_s[-1] if self.token_times_s else None


def phase_of(arrival_s: float, warmup_s: float, duration_s: float) -> str:
    """`warmup` before `warmup_s`, `window` inside `[warmup_s, warmup_s + duration_s)`, else
    `drain`."""
    if arrival_s < warmup_s:
        return "warmup"
    if arrival_s < warmup_s + duration_s:
        return "window"
    return "drain"


# ------------------------------------------------------------------------------------------------
# Pure computations over outcomes


def meets_slo(outcome: Outcome, slo: SLOConfig | SLOInfo) -> bool:
    """True when the request finished and meets every target that is set.

    A request with fewer than two tokens has no inter-token latency and meets that target.
    """
    if outcome.status != "finished" or outcome.ttft_s is None:
        return False
    if slo.ttft_s is not None and outcome.ttft_s > slo.ttft_s:
        return False
    itl = outcome.itl_p90_s
    if slo.itl_p90_s is not None and itl is not None and itl > slo.itl_p90_s:
        return False
    e2e = outcome.e2e_latency_s
    return not (slo.e2e_s is not None and e2e is not None and e2e > slo.e2e_s)


def slo_counts(outcomes: Sequence[Outcome], slo: SLOConfig | SLOInfo) -> tuple[int, int]:
    """(requests meeting the SLO, requests) over the window requests of `outcomes`."""
    window = [o for o in outcomes if o.phase == "window"]
    return sum(1 for o in window if meets_slo(o, slo)), len(window)


def accounting(outcomes: Sequence[Outcome], duplicate_results: int = 0) -> Accounting:
    """Every outcome counted once, by phase and status.

    Raises:
        ValueError: an outcome has no final status, or a request index appears twice (a bug:
            the record would count a request twice).
    """
    indexes = [o.index for o in outcomes]
    if len(set(indexes)) != len(indexes):
        raise ValueError("a request appears twice among the outcomes")
    counts: dict[str, dict[str, int]] = {
        phase: dict.fromkeys(("finished", "failed", "timed_out", "cancelled"), 0)
        for phase in ("warmup", "window", "drain")
    }
    for outcome in outcomes:
        if outcome.status not in counts[outcome.phase]:
            raise ValueError(f"request {outcome.request_id} has no final status")
        counts[outcome.phase][outcome.status] += 1

    def phase_count(phase: str) -> PhaseCount:
        c = counts[phase]
        return PhaseCount(
            dispatched=sum(c.values()),
            finished=c["finished"],
            failed=c["failed"],
            timed_out=c["timed_out"] + c["cancelled"],
        )

    return Accounting(
        warmup=phase_count("warmup"),
        window=phase_count("window"),
        drain=phase_count("drain"),
        duplicate_results=duplicate_results,
    )


def count_between(times: Sequence[float], start: float, end: float) -> int:
    """How many of the sorted `times` fall in `[start, end)`."""
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def step_counts(intervals: Sequence[tuple[float, float]], samples: Sequence[float]) -> list[int]:
    """For each sample time, how many `[start, end)` intervals contain it."""
    starts = sorted(start for start, _ in intervals)
    ends = sorted(end for _, end in intervals)
    return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in samples]


def occupancy_intervals(
    outcomes: Sequence[Outcome], closed_s: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(running, queued) intervals of every request.

    Running: from leaving the queue to the last token. Queued: from arrival to leaving the queue.
    A request with no known start (cancelled or timed out before it returned) counts as queued
    from its arrival to its end (`ended_s`, else `closed_s`).
    """
    running: list[tuple[float, float]] = []
    queued: list[tuple[float, float]] = []
    for o in outcomes:
        if o.started_s is not None:
            queued.append((o.arrival_s, max(o.arrival_s, o.started_s)))
            end = o.last_token_s if o.last_token_s is not None else (o.ended_s or closed_s)
            running.append((o.started_s, max(o.started_s, end)))
        else:
            queued.append((o.arrival_s, max(o.arrival_s, o.ended_s or closed_s)))
    return running, queued


@dataclass(frozen=True)
class Slice:
    """One timeline slice as the meter measured it (times in s from t = 0)."""

    start_s: float
    end_s: float
    energy_j: float | None


def sample_times(start_s: float, end_s: float, step_s: float = OCCUPANCY_SAMPLE_S) -> list[float]:
    """Uniform sample times in `[start_s, end_s)`, at the middle of each `step_s` cell."""
    count = max(1, math.ceil((end_s - start_s) / step_s))
    width = (end_s - start_s) / count
    return [start_s + (i + 0.5) * width for i in range(count)]


def timeline(
    outcomes: Sequence[Outcome], slices: Sequence[Slice], closed_s: float
) -> list[TimelinePoint]:
    """The window's timeline: per slice its energy and power, tokens, completions and the
    time-averaged batch occupancy and queue length."""
    token_times = sorted(t for o in outcomes for t in o.token_times_s)
    ends = sorted(o.last_token_s for o in outcomes if o.status == "finished" and o.last_token_s)
    running, queued = occupancy_intervals(outcomes, closed_s)
    opened = slices[0].start_s if slices else 0.0
    points = []
    for piece in slices:
        samples = sample_times(piece.start_s, piece.end_s)
        duration = piece.end_s - piece.start_s
        points.append(
            TimelinePoint(
                t_s=piece.start_s - opened,
                duration_s=duration,
                energy_j=piece.energy_j,
                power_w=None if piece.energy_j is None else piece.energy_j / duration,
                output_tokens=count_between(token_times, piece.start_s, piece.end_s),
                completed=count_between(ends, piece.start_s, piece.end_s),
                running_mean=statistics.fmean(step_counts(running, samples)),
                queued_mean=statistics.fmean(step_counts(queued, samples)),
            )
        )
    return points


@dataclass(frozen=True)
class WindowFigures:
    """What `window_figures` computes (see `runner.records.serving` for the definitions)."""

    summary: ServingSummary
    measurements: ServingMeasurements
    timeline: list[TimelinePoint]


def window_figures(
    outcomes: Sequence[Outcome],
    slo: SLOConfig | SLOInfo,
    *,
    opened_s: float,
    closed_s: float,
    measured_duration_s: float,
    energy_j: float | None,
    slices: Sequence[Slice],
    idle_power_w: float | None = None,
    peak_memory_bytes: int | None = None,
    peak_memory_kind: str | None = None,
    load_time_s: float = 0.0,
) -> WindowFigures:
    """Window summary, statistics with spread, and the timeline, from the outcomes alone."""
    window = [o for o in outcomes if o.phase == "window"]
    finished = [o for o in window if o.status == "finished"]
    token_times = sorted(t for o in outcomes for t in o.token_times_s)
    tokens_in = count_between(token_times, opened_s, closed_s)
    ends = sorted(o.last_token_s for o in outcomes if o.status == "finished" and o.last_token_s)
    completed_in = count_between(ends, opened_s, closed_s)
    met, requests = slo_counts(outcomes, slo)
    duration = measured_duration_s
    running, queued = occupancy_intervals(outcomes, closed_s)
    samples = sample_times(opened_s, closed_s)
    running_samples = step_counts(running, samples)
    queued_samples = step_counts(queued, samples)
    points = timeline(outcomes, slices, closed_s)

    def ratio(numerator: float | None, denominator: float) -> float | None:
        return None if numerator is None or denominator <= 0 else numerator / denominator

    above_idle = None
    if energy_j is not None and idle_power_w is not None and completed_in:
        above_idle = (energy_j - idle_power_w * duration) / completed_in
    summary = ServingSummary(
        requests_in_window=requests,
        completed_in_window=completed_in,
        output_tokens_in_window=tokens_in,
        throughput_rps=completed_in / duration,
        throughput_tok_s=tokens_in / duration,
        energy_j=energy_j,
        avg_power_w=ratio(energy_j, duration),
        energy_per_request_j=ratio(energy_j, completed_in),
        energy_per_output_token_j=ratio(energy_j, tokens_in),
        energy_above_idle_per_request_j=above_idle,
        slo_met=met,
        slo_attainment=met / requests if requests else None,
        goodput_rps=met / duration,
        mean_running_requests=statistics.fmean(running_samples),
        peak_memory_bytes=peak_memory_bytes,
        peak_memory_kind=peak_memory_kind,  # type: ignore[arg-type]
        load_time_s=load_time_s,
    )
    metered = all(p.energy_j is not None for p in points) and bool(points)

    def stat(values: Sequence[float | None]) -> Any:
        return summarize([v for v in values if v is not None])

    measurements = ServingMeasurements(
        queueing_delay_s=stat([o.queueing_delay_s for o in finished]),
        ttft_s=stat([o.ttft_s for o in finished]),
        itl_s=stat([gap for o in finished for gap in o.itls_s]),
        itl_p90_per_request_s=stat([o.itl_p90_s for o in finished]),
        e2e_latency_s=stat([o.e2e_latency_s for o in finished]),
        prompt_tokens=stat([o.prompt_tokens for o in window]),
        output_tokens=stat([o.output_tokens for o in finished]),
        dispatch_lag_s=stat([o.dispatch_lag_s for o in outcomes]) or _zero_stat(),
        running_requests=stat(running_samples) or _zero_stat(),
        queued_requests=stat(queued_samples) or _zero_stat(),
        slice_throughput_tok_s=stat([p.output_tokens / p.duration_s for p in points])
        or _zero_stat(),
        slice_power_w=stat([p.power_w for p in points]) if metered else None,
        slice_energy_per_output_token_j=stat(
            [p.energy_j / p.output_tokens for p in points if p.output_tokens and p.energy_j]
        )
        if metered
        else None,
    )
    return WindowFigures(summary, measurements, points)


def _zero_stat() -> Any:
    return summarize([0.0])


# ------------------------------------------------------------------------------------------------
# The load driver


@dataclass
class DriveResult:
    """What one run of the load produced (times in s from t = 0).

    Attributes:
        outcomes: every dispatched request, exactly once.
        opened_s / closed_s: when the measured meter window opened and closed.
        measured_duration_s: the window's length as the meter timed it.
        energy_j: the window's energy, None when unmetered.
        slices: the timeline slices of the window.
        last_end_s: when the last window request ended (its last token, or its cancellation).
        duplicates: results delivered more than once for one request (counted once; kept to
            show the engine misbehaved).
    """

    outcomes: list[Outcome]
    opened_s: float
    closed_s: float
    measured_duration_s: float
    energy_j: float | None
    slices: list[Slice]
    last_end_s: float
    duplicates: int = 0


def _slice_edges(start_s: float, duration_s: float, step_s: float) -> list[float]:
    count = max(1, math.ceil(duration_s / step_s - 1e-9))
    return [start_s + min(duration_s, k * step_s) for k in range(count + 1)]


def drive_load(
    engine: Engine,
    requests: Sequence[ScheduledRequest],
    meter: EnergyMeter,
    *,
    warmup_s: float,
    duration_s: float,
    drain_timeout_s: float,
    timeline_step_s: float,
    decode: Callable[[list[int]], str] = lambda tokens: "",
    clock: Callable[[], float] = time.perf_counter,
    tick: Callable[[float], None] | None = None,
) -> DriveResult:
    """Send every request at its time, meter the window, collect every result.

    Events run in time order on this thread: the window opens at `warmup_s` (meter window and
    the first slice), each slice boundary closes one slice and opens the next, the window closes
    at `warmup_s + duration_s`. Requests keep arriving after the window until every window
    request has ended; then the remaining drain requests are cancelled. Window requests still
    running `drain_timeout_s` after the window are cancelled and marked `timed_out`.

    Raises:
        PointFailed: the engine stopped (for example out of memory) before the window's requests
            ended.
    """
    origin = clock()

    def now() -> float:
        return clock() - origin

    window_end = warmup_s + duration_s
    edges = _slice_edges(warmup_s, duration_s, timeline_step_s)
    meter_events = [(edge, "edge", k) for k, edge in enumerate(edges)]
    pending = list(requests)
    next_request = 0
    outcomes: dict[str, Outcome] = {}
    open_ids: set[str] = set()
    window_open_ids: set[str] = set()
    slices: list[Slice] = []
    slice_started: float | None = None
    opened_s = closed_s = 0.0
    window_energy: float | None = None
    measured = 0.0
    duplicates = 0
    meter_index = 0
    last_window_end = window_end

    def finish(result: EngineResult, at: float) -> None:
        nonlocal duplicates, last_window_end
        outcome = outcomes.get(result.request_id)
        if outcome is None or outcome.status != "pending":
            duplicates += outcome is not None
            return
        outcome.status = "finished" if result.finished else "failed"
        outcome.error = result.error
        outcome.started_s = None if result.started is None else result.started - origin
        outcome.token_times_s = [t - origin for t in result.token_times]
        outcome.output_tokens = len(result.tokens)
        outcome.text = decode(result.tokens)
        outcome.ended_s = outcome.last_token_s if outcome.last_token_s is not None else at
        open_ids.discard(result.request_id)
        if result.request_id in window_open_ids:
            window_open_ids.discard(result.request_id)
            last_window_end = max(last_window_end, outcome.ended_s)

    def stop_outstanding(status: str, ids: set[str], at: float) -> None:
        nonlocal last_window_end
        for request_id in sorted(ids):
            engine.cancel(request_id)
            outcome = outcomes[request_id]
            outcome.status = status
            outcome.ended_s = at
            open_ids.discard(request_id)
            if request_id in window_open_ids:
                window_open_ids.discard(request_id)
                last_window_end = max(last_window_end, at)

    deadline = window_end + drain_timeout_s
    sending = True
    while True:
        t = now() + DUE_S
        # Meter events first (they are on the window's clock), then due arrivals.
        while meter_index < len(meter_events) and meter_events[meter_index][0] <= t:
            _, _, k = meter_events[meter_index]
            at = now()
            if k == 0:
                meter.begin("serving-window")
                opened_s = at
            else:
                reading = meter.end(f"serving-slice-{k - 1}")
                begun = at if slice_started is None else slice_started
                slices.append(Slice(begun, at, reading.energy_j))
            if k < len(edges) - 1:
                meter.begin(f"serving-slice-{k}")
                slice_started = now()
            else:
                reading = meter.end("serving-window")
                closed_s = now()
                window_energy, measured = reading.energy_j, reading.duration_s
            meter_index += 1
        while sending and next_request < len(pending) and pending[next_request].scheduled_s <= t:
            request = pending[next_request]
            next_request += 1
            arrival = now()
            engine.submit(request.request_id, request.input_ids)
            phase = phase_of(request.scheduled_s, warmup_s, duration_s)
            outcomes[request.request_id] = Outcome(
                index=request.index,
                request_id=request.request_id,
                prompt_id=request.prompt.id,
                phase=phase,
                scheduled_s=request.scheduled_s,
                arrival_s=arrival,
                prompt_tokens=len(request.input_ids),
            )
            open_ids.add(request.request_id)
            if phase == "window":
                window_open_ids.add(request.request_id)
        t = now()
        window_closed = meter_index >= len(meter_events)
        if window_closed and not window_open_ids:
            # Every window request has ended: the drain load is no longer needed.
            sending = False
            stop_outstanding("cancelled", {i for i in open_ids if outcomes[i].phase != "window"}, t)
            break
        if window_closed and t + DUE_S >= deadline:
            sending = False
            stop_outstanding("timed_out", set(window_open_ids), t)
            stop_outstanding("cancelled", set(open_ids), t)
            break
        problem = engine.alive()
        if problem is not None:
            raise PointFailed(f"serving engine stopped: {problem}")
        upcoming = [deadline]
        if meter_index < len(meter_events):
            upcoming.append(meter_events[meter_index][0])
        if sending and next_request < len(pending):
            upcoming.append(pending[next_request].scheduled_s)
        wait = max(0.0, min(min(upcoming) - t, POLL_S))
        result = engine.poll(wait)
        while result is not None:
            finish(result, now())
            result = engine.poll(0.0)
        if tick is not None:
            tick(now())
    ordered = sorted(outcomes.values(), key=lambda o: o.index)
    return DriveResult(
        outcomes=ordered,
        opened_s=opened_s,
        closed_s=closed_s,
        measured_duration_s=measured if measured > 0 else closed_s - opened_s,
        energy_j=window_energy,
        slices=slices,
        last_end_s=last_window_end,
        duplicates=duplicates,
    )


# ------------------------------------------------------------------------------------------------
# The engine: transformers' continuous batching


class TransformersEngine:
    """`Engine` over transformers' `ContinuousBatchingManager`.

    Uses only `model.init_continuous_batching(generation_config, continuous_batching_config,
    workload_hints)`, `manager.warmup()`, `start()`, `add_request(ids, request_id=...,
    max_new_tokens=..., record_timestamps=True[, eos_token_id=-1])`, `get_result(timeout=...)`,
    `cancel_request(id)`, `is_running()` and `stop(...)`, and the result fields
    `generated_tokens`, `status`, `error`, `lifespan` and `timestamps`. Run with the pinned
    5.23.0; read (not run) against an earlier 5.x snapshot, which differs in what is handled
    here: `stop` has no `hard_stop`, there is no `background_thread_status`, `WorkloadHints` sits
    in `continuous_batching.utils`, and before 5.17 `page_size` was `block_size`.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        config: RunConfig,
        max_prompt_tokens: int,
    ) -> None:
        import torch
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        hints_class = _workload_hints_class()

        task, scenario = config.task, config.scenario
        tokenizer = loaded.tokenizer
        sampling = task.sampling
        kwargs: dict[str, Any] = {
            "max_new_tokens": task.max_new_tokens,
            "do_sample": sampling.do_sample,
            "eos_token_id": _eos_id(loaded),
            "pad_token_id": tokenizer.pad_token_id,
        }
        if sampling.do_sample:
            kwargs.update(
                temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k
            )
        self._eos = -1 if sampling.fixed_output_length else None
        self._max_new_tokens = task.max_new_tokens
        on_cpu = loaded.device == "cpu"
        max_batch_tokens = scenario.max_batch_tokens
        num_blocks = scenario.num_blocks
        if on_cpu:
            # transformers sizes the cache from "free memory", which on a CPU is the host's RAM.
            max_batch_tokens = max_batch_tokens or CPU_MAX_BATCH_TOKENS
            if num_blocks is None:
                per_request = max_prompt_tokens + task.max_new_tokens
                blocks = math.ceil(per_request / scenario.page_size) + 1
                num_blocks = blocks * scenario.max_batch_requests
        cb_config = ContinuousBatchingConfig(
            **_supported_kwargs(
                ContinuousBatchingConfig,
                page_size=scenario.page_size,
                num_blocks=num_blocks,
                max_batch_tokens=max_batch_tokens,
                max_requests_per_batch=scenario.max_batch_requests,
                seed=config.seed,
            )
        )
        hints = None
        if hints_class is not None:
            hints = hints_class(
                max_prompt_length=max_prompt_tokens,
                max_generated_length=task.max_new_tokens,
                num_requests=scenario.max_batch_requests,
            )
        started = time.perf_counter()
        try:
            self.manager = loaded.model.init_continuous_batching(
                generation_config=GenerationConfig(**kwargs),
                continuous_batching_config=cb_config,
                workload_hints=hints,
            )
            self.manager.warmup()
            self.manager.start()
        except torch.OutOfMemoryError:
            raise PointFailed(
                f"out of memory starting continuous batching: model={config.model.name} "
                f"scenario.max_batch_requests={scenario.max_batch_requests} on {loaded.device}"
            ) from None
        self.warmup_time_s = time.perf_counter() - started
        resolved = self.manager.continuous_batching_config
        self.info = {
            "attn_implementation": str(loaded.model.config._attn_implementation),
            "max_batch_requests": int(resolved.max_requests_per_batch or 0)
            or scenario.max_batch_requests,
            "max_batch_tokens": resolved.max_batch_tokens,
            "num_blocks": resolved.num_blocks,
            "page_size": int(
                getattr(resolved, "page_size", None)
                or getattr(resolved, "block_size", None)
                or scenario.page_size
            ),
        }
        self._lock = threading.Lock()

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        """Queue one request with per-token timestamps."""
        kwargs: dict[str, Any] = {}
        if self._eos is not None:
            kwargs["eos_token_id"] = self._eos
        self.manager.add_request(
            input_ids,
            request_id=request_id,
            max_new_tokens=self._max_new_tokens,
            record_timestamps=True,
            **kwargs,
        )

    def poll(self, timeout_s: float) -> EngineResult | None:
        """The next terminal result (streamed partial results are not asked for)."""
        from transformers.generation.continuous_batching.requests import RequestStatus

        output = self.manager.get_result(timeout=max(0.0, timeout_s))
        if output is None or not output.is_finished():
            return None
        failed = output.error is not None or output.status != RequestStatus.FINISHED
        started = output.lifespan[0] if output.lifespan and output.lifespan[0] > 0 else None
        return EngineResult(
            request_id=output.request_id,
            finished=not failed,
            started=started,
            token_times=list(output.timestamps or []),
            tokens=list(output.generated_tokens),
            error=output.error,
        )

    def cancel(self, request_id: str) -> None:
        """Drop a queued or running request."""
        self.manager.cancel_request(request_id)

    def alive(self) -> str | None:
        """None while the generation thread runs; else its error."""
        if self.manager.is_running():
            return None
        status = getattr(self.manager, "background_thread_status", None)  # 5.23; absent earlier
        error = getattr(status, "fatal_error", None)
        return str(error) if error is not None else "the generation thread exited"

    def close(self) -> None:
        """Stop the generation thread (pending requests are dropped) and free the cache."""
        try:
            self.manager.stop(block=True, timeout=30, hard_stop=True)
        except TypeError:  # releases without hard_stop
            self.manager.stop(block=True, timeout=30)


def _workload_hints_class() -> Any:
    """transformers' `WorkloadHints` (exported in 5.23, in `continuous_batching.utils` in earlier
    5.x snapshots), or None where it does not exist."""
    try:
        from transformers.generation.continuous_batching import WorkloadHints

        return WorkloadHints
    except ImportError:
        pass
    try:
        from transformers.generation.continuous_batching.utils import WorkloadHints

        return WorkloadHints
    except ImportError:
        return None


def _supported_kwargs(cls: Any, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments `cls` accepts. `page_size` was `block_size` before transformers 5.17;
    an argument a release does not know (e.g. `seed`) is left to its default."""
    import inspect

    params = inspect.signature(cls).parameters
    if "page_size" not in params and "block_size" in params:
        kwargs["block_size"] = kwargs.pop("page_size")
    return {key: value for key, value in kwargs.items() if key in params}


def _eos_id(loaded: LoadedModel) -> Any:
    configured = getattr(loaded.model.generation_config, "eos_token_id", None)
    return configured if configured is not None else loaded.tokenizer.eos_token_id


# ------------------------------------------------------------------------------------------------
# One serving point


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


def run_serving_point(
    config: RunConfig,
    *,
    calibration: CalibrationLookup | None = None,
    meter: EnergyMeter | None = None,
    progress: bool = True,
) -> Path:
    """Serve the model under the configured load, measure the window, write the record.

    Args:
        config: the validated run config with `scenario.name == "serving"`.
        calibration: finds (or measures) the calibration the record links to; required when
            `config.calibrate` is true.
        meter: an energy meter to use instead of the one `energy_meter` selects (tests).
        progress: show a progress bar over the load's time.

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
    calibration_id = None
    if config.calibrate:
        if calibration is None:
            raise ValueError("run_serving_point: config.calibrate is true but no calibration")
        calibration_id = calibration(
            Path(config.results_dir),
            device,
            config.model.dtype,
            energy_meter=config.energy_meter,
            write_root=write_root(config),
        )
    loaded = load_model(config.model, device)
    if meter is None:
        meter = make_energy_meter(config.energy_meter, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    idle_power_w, idle_window_s = measure_idle(meter, config.idle_seconds)
    input_ids = tokenize_prompts(
        loaded, config.task.system_prompt, prompts, config.max_prompt_tokens
    )
    requests = [
        ScheduledRequest(index, at, prompt, ids)
        for index, (at, prompt, ids) in enumerate(zip(times, prompts, input_ids, strict=True))
    ]
    engine = TransformersEngine(loaded, config, max(len(ids) for ids in input_ids))
    try:
        result = _drive_with_progress(engine, requests, meter, config, loaded, progress)
    finally:
        engine.close()
    ended_utc = utc_now()
    memory, memory_kind = peak_memory(device)
    figures = window_figures(
        result.outcomes,
        config.task.slo,
        opened_s=result.opened_s,
        closed_s=result.closed_s,
        measured_duration_s=result.measured_duration_s,
        energy_j=result.energy_j,
        slices=result.slices,
        idle_power_w=idle_power_w,
        peak_memory_bytes=memory,
        peak_memory_kind=memory_kind,
        load_time_s=loaded.load_time_s,
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
        configuration=single_device(
            batching="continuous",
            precision=config.model.dtype,
            max_num_seqs=engine.info["max_batch_requests"],
            mean_running_batch=figures.summary.mean_running_requests,
        ),
    )
    run_id = new_run_id()
    slo = config.task.slo
    dispatched = result.outcomes
    return write_record_with_raw_data(
        record_folder(write_root(config), identity),
        run_id,
        RAW_DATA_SUFFIX,
        raw_data_rows(run_id, result.outcomes, slo),
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
            slo=SLOInfo(**dataclasses.asdict(slo)),
            energy=EnergyInfo(
                source=meter.source,  # type: ignore[arg-type]
                reason=meter.reason,
                devices=list(meter.devices),
                idle_power_w=idle_power_w,
                idle_window_s=idle_window_s,
            ),
            accounting=counts,
            measurements=figures.measurements,
            summary=figures.summary,
            timeline=figures.timeline,
            provenance=collect_provenance(device, config.seed, started_utc, ended_utc),
            raw_data=raw_data,
            calibration_id=calibration_id,
            config=config_to_dict(config),
        ),
    )[0]


def _drive_with_progress(
    engine: TransformersEngine,
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
    run_id: str, outcomes: Sequence[Outcome], slo: SLOConfig | SLOInfo
) -> list[dict[str, Any]]:
    """One row per dispatched request (every phase), times in s from the load's start."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    rows = []
    for o in outcomes:
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
                "started_s": rounded(o.started_s),
                "ended_s": rounded(o.ended_s),
                "queueing_delay_s": rounded(o.queueing_delay_s),
                "ttft_s": rounded(o.ttft_s),
                "e2e_latency_s": rounded(o.e2e_latency_s),
                "itl_p90_s": rounded(o.itl_p90_s),
                "prompt_tokens": o.prompt_tokens,
                "output_tokens": o.output_tokens,
                "token_times_s": [round(t, 6) for t in o.token_times_s],
                "meets_slo": meets_slo(o, slo) if o.phase == "window" else None,
                "error": o.error,
                "response_text": o.text,
            }
        )
    return rows
