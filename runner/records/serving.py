"""The serving record: one model served under arriving load, over one steady-state window.

Written by `leaderboard run scenario=serving` (`runner.measure.serving`) once, never replaced,
under `<results>/serving/<hardware>/<model>/<task>/<arrival>-<rate>/<run_id>.json`, with one row
per dispatched request in `<run_id>.requests.jsonl` beside it (warm-up and drain requests
included, each with its phase, so nothing is lost or counted twice).

Definitions (all times from `time.perf_counter()` on the serving host, in seconds):

- **Phases.** The load generator starts at time 0. Requests arriving in `[0, warmup_s)` are
  `warmup`, in `[warmup_s, warmup_s + duration_s)` the `window` requests, and later ones `drain`
  (load keeps arriving after the window until every window request has finished, so the last
  window requests are served under the same load). Only window requests enter per-request
  statistics and the SLO; only work inside the window enters throughput and energy.
- **Per request**: queueing delay = arrival to being scheduled (leaving the engine's queue);
  TTFT = arrival to first token; inter-token latencies (ITL) = gaps between consecutive tokens;
  end-to-end latency = arrival to last token.
- **Per window**: `output_tokens_in_window` counts tokens (of any request) stamped inside the
  window; `completed_in_window` counts requests (of any phase) whose last token falls inside it;
  throughput = those / `measured_duration_s`; energy is one meter window over the measured
  window; energy per request = energy / `completed_in_window`; per output token = energy /
  `output_tokens_in_window`; average power = energy / `measured_duration_s`. The engine returns
  nothing for a request cancelled at the drain deadline (`timed_out`), so tokens such a request
  generated inside the window are not counted: throughput and energy per token of an overloaded
  point (one with timed-out window requests) are bounds, not exact figures.
- **SLO**: a window request meets it when it finished without error and meets every target set
  (`slo`); attainment = met / window requests; goodput = met / `measured_duration_s`.
- Energy not measured is `null` and `energy.reason` says why; it is never 0.

Spread: per-request statistics over the window requests; per-window figures are single
measurements, and their spread over time is given by the timeline slices (`timeline_step_s`) in
`measurements.slice_*`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from runner.records.configuration import Configuration
from runner.records.performance import (
    EnergyInfo,
    ModelInfo,
    Provenance,
    RawData,
    Stat,
    Strict,
    TaskInfo,
)

SERVING_SCHEMA_VERSION = 2
SERVING_KIND = "serving"
ENGINE = "transformers-cb"
PHASES = ("warmup", "window", "drain")
REQUEST_STATUSES = ("finished", "failed", "timed_out")


class ServingIdentity(Strict):
    """What was served, where, under which load. Together with `run_id` it names the record."""

    model_name: str
    model_id: str
    model_revision: str
    task: str
    hardware_slug: str
    engine: Literal["transformers-cb"] = Field(
        description="transformers' continuous batching (ContinuousBatchingManager)"
    )
    arrival: Literal["poisson", "gamma", "trace"]
    request_rate_rps: float | None = Field(
        description="configured mean arrival rate (req/s); null for a trace replay"
    )
    cv: float | None = Field(description="gamma: coefficient of variation of the gaps")
    trace_speedup: float | None = Field(description="trace: replay speed factor")
    config_hash: str = Field(description="sha256 of the resolved config, canonical JSON")
    configuration: Configuration = Field(
        description="devices, parallel layout, continuous batching with its cap, precision; "
        "energy, power and throughput are for all the configuration's devices together"
    )

    @model_validator(mode="after")
    def _configuration_complete(self) -> ServingIdentity:
        missing = self.configuration.missing_for_measured()
        if missing:
            raise ValueError(
                f"configuration: a measured record states {', '.join(missing)} (absent here)"
            )
        if self.configuration.batching != "continuous":
            raise ValueError("configuration.batching: a serving point batches continuously")
        return self


class ArrivalInfo(Strict):
    """The load generator: process, seed, and what it actually offered."""

    process: Literal["poisson", "gamma", "trace"]
    seed: int
    request_rate_rps: float | None
    cv: float | None
    trace_file: str | None
    trace_sha256: str | None
    trace_speedup: float | None
    dispatched: int = Field(ge=0, description="requests sent to the engine, every phase")
    offered_rate_rps: float = Field(ge=0, description="window arrivals / duration_s")


class WindowInfo(Strict):
    """The measured steady-state window and what surrounds it (seconds)."""

    warmup_s: float = Field(ge=0)
    duration_s: float = Field(gt=0, description="configured window length")
    measured_duration_s: float = Field(gt=0, description="the window as the meter timed it")
    drain_s: float = Field(ge=0, description="window end to the last request's end")
    drain_timeout_s: float = Field(ge=0)
    timeline_step_s: float = Field(gt=0)


class EngineInfo(Strict):
    """The serving engine and its resolved limits."""

    name: Literal["transformers-cb"]
    transformers_version: str
    attn_implementation: str
    max_batch_requests: int = Field(ge=1)
    max_batch_tokens: int | None
    num_blocks: int | None
    page_size: int = Field(ge=1)
    warmup_time_s: float = Field(ge=0, description="engine set-up and warm-up, not measured")


class SLOInfo(Strict):
    """The task's latency targets (null = no target) and the attainment that counts."""

    ttft_s: float | None
    itl_p90_s: float | None
    e2e_s: float | None
    attainment: float = Field(ge=0, le=1)


class PhaseCount(Strict):
    """Requests of one phase by outcome; `dispatched = finished + failed + timed_out`.

    `timed_out` counts requests the driver cancelled: a window request still running
    `drain_timeout_s` after the window, or a drain request once the window's were done.
    """

    dispatched: int = Field(ge=0)
    finished: int = Field(ge=0)
    failed: int = Field(ge=0)
    timed_out: int = Field(ge=0)


class Accounting(Strict):
    """Every dispatched request, counted once, by phase (the raw data has one row each)."""

    warmup: PhaseCount
    window: PhaseCount
    drain: PhaseCount
    duplicate_results: int = Field(
        ge=0, description="results the engine delivered again for a request (ignored)"
    )


class TimelinePoint(Strict):
    """One slice of the window (`timeline_step_s` long, the last may be shorter)."""

    t_s: float = Field(description="slice start, seconds after the window opened")
    duration_s: float = Field(gt=0)
    energy_j: float | None
    power_w: float | None
    output_tokens: int = Field(ge=0, description="tokens stamped inside the slice")
    completed: int = Field(ge=0, description="requests whose last token is inside the slice")
    running_mean: float = Field(ge=0, description="time-averaged requests in the engine's batch")
    queued_mean: float = Field(ge=0, description="time-averaged requests waiting to be scheduled")


class ServingMeasurements(Strict):
    """Statistics with spread. Per request: over finished window requests. Per slice: over the
    timeline slices. `itl_s` pools every inter-token gap of the window requests."""

    queueing_delay_s: Stat | None
    ttft_s: Stat | None
    itl_s: Stat | None
    itl_p90_per_request_s: Stat | None = Field(description="each request's own p90 ITL")
    e2e_latency_s: Stat | None
    prompt_tokens: Stat | None
    output_tokens: Stat | None
    dispatch_lag_s: Stat = Field(description="actual minus scheduled arrival (generator health)")
    running_requests: Stat = Field(description="batch occupancy, sampled uniformly over time")
    queued_requests: Stat = Field(description="queue length, sampled uniformly over time")
    slice_throughput_tok_s: Stat
    slice_power_w: Stat | None
    slice_energy_per_output_token_j: Stat | None


class ServingSummary(Strict):
    """Window figures (the headline numbers of a serving point)."""

    requests_in_window: int = Field(ge=0, description="window arrivals")
    completed_in_window: int = Field(ge=0, description="requests finishing inside the window")
    output_tokens_in_window: int = Field(ge=0)
    throughput_rps: float = Field(ge=0, description="completed_in_window / measured_duration_s")
    throughput_tok_s: float = Field(ge=0)
    energy_j: float | None
    avg_power_w: float | None
    energy_per_request_j: float | None
    energy_per_output_token_j: float | None
    energy_above_idle_per_request_j: float | None
    slo_met: int = Field(ge=0, description="window requests that meet the SLO")
    slo_attainment: float | None = Field(description="slo_met / requests_in_window")
    goodput_rps: float = Field(ge=0, description="slo_met / measured_duration_s")
    mean_running_requests: float = Field(ge=0)
    peak_memory_bytes: int | None
    peak_memory_kind: Literal["cuda_max_allocated", "process_max_rss"] | None
    load_time_s: float = Field(ge=0)


class ServingRecord(Strict):
    """One serving point. Written once, never replaced."""

    schema_version: Literal[2]
    kind: Literal["serving"]
    run_id: str
    identity: ServingIdentity
    model: ModelInfo
    task: TaskInfo
    arrival: ArrivalInfo
    window: WindowInfo
    engine: EngineInfo
    slo: SLOInfo
    energy: EnergyInfo
    accounting: Accounting
    measurements: ServingMeasurements
    summary: ServingSummary
    timeline: list[TimelinePoint]
    provenance: Provenance
    raw_data: RawData
    calibration_id: str | None
    config: dict[str, Any]

    @model_validator(mode="after")
    def _configuration_matches(self) -> ServingRecord:
        configuration = self.identity.configuration
        if configuration.max_num_seqs != self.engine.max_batch_requests:
            raise ValueError(
                f"identity.configuration.max_num_seqs: {configuration.max_num_seqs} differs "
                f"from engine.max_batch_requests ({self.engine.max_batch_requests})"
            )
        if configuration.precision != self.model.dtype:
            raise ValueError(
                f"identity.configuration.precision: {configuration.precision!r} differs from "
                f"model.dtype ({self.model.dtype!r})"
            )
        return self
