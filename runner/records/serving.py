"""The serving record: one model served under arriving load, over one steady-state window.

Written by `leaderboard run scenario=serving` (`runner.measure.serving`) once, never replaced,
under `<results>/serving/<hardware>/<model>/<task>/<arrival>-<rate>/<run_id>.json`, with one row
per dispatched request in `<run_id>.requests.jsonl` beside it (warm-up and drain requests
included, each with its phase, so nothing is lost or counted twice).

Definitions (schema 3; all times from `time.perf_counter()` on the serving host, in seconds from
the load's start):

- **Phases.** Requests *scheduled* to arrive in `[0, warmup_s)` are `warmup`, in
  `[warmup_s, warmup_s + duration_s)` the `window` requests, and later ones `drain` (load keeps
  arriving after the window until every window request has ended, so the last window requests
  are served under the same load). The meter window opens and closes at the window's bounds
  (`window.opened_s`, `window.closed_s`). Window requests still unfinished `drain_timeout_s`
  after the window are cancelled (`timed_out`); the tokens they had generated are read at
  cancel and kept.
- **Only window requests count** in window figures: `window_requests` (arrivals),
  `window_finished`, `window_output_tokens` (of finished and unfinished window requests, at
  whatever time they were generated); throughput = `window_finished` / `measured_duration_s`
  and `window_output_tokens` / `measured_duration_s`; goodput = `slo_met` /
  `measured_duration_s` on the same requests, so goodput never exceeds throughput. Energy is one
  meter window over the measured window; energy per request = energy / `window_finished`, per
  output token = energy / `window_output_tokens`. In a steady state the work done in the window
  for earlier arrivals equals the work done after it for the window's arrivals, which is what
  makes these ratios the cost of the window's requests; each record says whether its window was
  steady (`verdict.steady_state`). For audit, what the clock window itself held is kept too:
  requests of any phase completing inside it and tokens of any request stamped inside it
  (`any_phase_*`).
- **Per request** (every window request, from its *scheduled* arrival, so a late load
  generator adds to latency and its lag is stored as `send_lag_s`): queueing delay (to being
  scheduled), TTFT (to the first token), end-to-end latency (to the last token), TPOT =
  (end to end - TTFT) / (output tokens - 1) as vLLM's benchmark defines it, and every
  inter-token gap (ITL).
- **Censoring.** A window request that did not finish has no final latency: it is *censored*
  at what it had waited when it ended (cancelled or failed; its true latency is larger). Its
  TTFT is observed if it had a first token. Its TPOT is bounded below by (waited - TTFT) /
  (max_new_tokens - 1). Percentiles are over every window request, censored ones at their
  bound: a percentile is exact when no censored request ranks at or below it, else a lower
  bound (`p90_censored: true`, shown "> x").
- **SLO**: a window request meets it when it finished without error and meets every target set
  (`slo`); attainment = met / window requests.
- **Verdict** (`verdict`, rules in `runner.records.serving_rules`): whether the window was
  steady (outstanding-request trend, completions vs arrivals, nothing left at the deadline),
  whether the sample is large enough to call attainment against the target (binomial bounds,
  a minimum number of requests, >= 60 s windows on a GPU), and the rate's status.
- Energy not measured is `null` and `energy.reason` says why; it is never 0.

Spread: per-request statistics over the window requests; per-window figures are single
measurements, and their spread over time is given by the timeline slices (`timeline_step_s`) in
`measurements.slice_*` (those count what the clock slice held, of any request).
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

SERVING_SCHEMA_VERSION = 3
SERVING_KIND = "serving"
ENGINE = "transformers-cb"
PHASES = ("warmup", "window", "drain")
REQUEST_STATUSES = ("finished", "failed", "timed_out", "cancelled")
PERCENTILES = ("p50", "p90", "p99")


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
    sweep_hash: str = Field(
        description="sha256 of the resolved config without what a rate sweep varies "
        "(runner.records.serving_rules.sweep_hash): records of one sweep share it"
    )
    configuration: Configuration = Field(
        description="devices, parallel layout, continuous batching with its cap, precision; "
        "energy, power and throughput are for all the configuration's devices together"
    )

    @model_validator(mode="after")
    def _configuration_complete(self) -> ServingIdentity:
        self.configuration.check_measured("continuous", "serving")
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
    offered_rate_rps: float = Field(
        ge=0, description="the rate this draw offered: window arrivals / duration_s"
    )


class WindowInfo(Strict):
    """The measured steady-state window and what surrounds it (seconds)."""

    warmup_s: float = Field(ge=0)
    duration_s: float = Field(gt=0, description="configured window length")
    measured_duration_s: float = Field(gt=0, description="the window as the meter timed it")
    opened_s: float | None = Field(
        description="when the meter window opened, s from the load's start (null: schema 1-2)"
    )
    closed_s: float | None = Field(
        description="when the meter window closed, s from the load's start (null: schema 1-2)"
    )
    drain_s: float = Field(ge=0, description="window end to the last window request's end")
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
    """The task's latency targets (null = no target), each tested per request, and the share of
    window requests that must meet all of them."""

    ttft_s: float | None = Field(description="scheduled arrival to first token (s)")
    tpot_s: float | None = Field(
        description="(end to end - TTFT) / (output tokens - 1) of the request, as vLLM (s); "
        "null in schema 1-2 (no such target)"
    )
    itl_p90_s: float | None = Field(description="p90 of the request's own inter-token gaps (s)")
    e2e_s: float | None = Field(description="scheduled arrival to last token (s)")
    attainment: float = Field(ge=0, le=1)
    reference: str | None = Field(
        description="where the targets come from, in words (null: schema 1-2, not stated)"
    )


class PhaseCount(Strict):
    """Requests of one phase by outcome; `dispatched = finished + failed + timed_out +
    cancelled`.

    `timed_out`: window requests still running `drain_timeout_s` after the window (cancelled at
    the deadline). `cancelled`: warm-up and drain requests the driver dropped because the
    window's requests had ended (or at the deadline): load, not failures.
    """

    dispatched: int = Field(ge=0)
    finished: int = Field(ge=0)
    failed: int = Field(ge=0)
    timed_out: int = Field(ge=0)
    cancelled: int | None = Field(
        ge=0,
        description="null in schema 1-2, which counted these requests in timed_out",
    )
    output_tokens: int | None = Field(
        ge=0,
        description="tokens the phase's requests generated, those of cancelled requests "
        "(read at cancel) included; null in schema 1-2 (cancelled requests' tokens were lost)",
    )


class Accounting(Strict):
    """Every dispatched request, counted once, by phase (the raw data has one row each)."""

    warmup: PhaseCount
    window: PhaseCount
    drain: PhaseCount
    duplicate_results: int = Field(
        ge=0, description="results the engine delivered again for a request (ignored)"
    )


class TimelinePoint(Strict):
    """One slice of the window (`timeline_step_s` long, the last may be shorter). What the
    clock slice held, of requests of any phase."""

    t_s: float = Field(description="slice start, seconds after the window opened")
    duration_s: float = Field(gt=0)
    energy_j: float | None
    power_w: float | None
    output_tokens: int = Field(ge=0, description="tokens stamped inside the slice")
    completed: int = Field(ge=0, description="requests whose last token is inside the slice")
    running_mean: float = Field(ge=0, description="time-averaged requests in the engine's batch")
    queued_mean: float = Field(ge=0, description="time-averaged requests waiting to be scheduled")


class CensoredStat(Strict):
    """Percentiles of one latency over every window request, unfinished ones censored.

    A censored request's latency is only known to exceed its bound; it ranks at its bound. A
    percentile is exact when no censored request ranks at or below it, else it is a lower bound
    (`pXX_censored`). `observed` summarizes the uncensored values alone.
    """

    n: int = Field(ge=1, description="window requests in the statistic")
    censored: int = Field(ge=0, description="of them, unfinished: value bounded below")
    p50: float
    p90: float
    p99: float
    p50_censored: bool = Field(description="p50 is a lower bound")
    p90_censored: bool = Field(description="p90 is a lower bound")
    p99_censored: bool = Field(description="p99 is a lower bound")
    observed: Stat | None = Field(description="the uncensored values only")


class FinishedOnlyLatencies(Strict):
    """Schema 1-2 statistics, kept by the migration: over *finished* window requests only, from
    the *actual* (not the scheduled) arrival, not censored. Not comparable with schema 3's."""

    queueing_delay_s: Stat | None
    ttft_s: Stat | None
    itl_s: Stat | None
    itl_p90_per_request_s: Stat | None
    e2e_latency_s: Stat | None
    output_tokens: Stat | None


class ServingMeasurements(Strict):
    """Statistics with spread. Per request: over window requests (see the module doc). Per
    slice: over the timeline slices."""

    queueing_delay_s: CensoredStat | None
    ttft_s: CensoredStat | None
    tpot_s: CensoredStat | None = Field(description="per request, (E2E - TTFT) / (tokens - 1)")
    e2e_latency_s: CensoredStat | None
    itl_s: Stat | None = Field(
        description="every inter-token gap of the window requests, pooled (not per request)"
    )
    itl_p90_per_request_s: Stat | None = Field(
        description="each finished window request's own p90 inter-token gap (2+ tokens)"
    )
    prompt_tokens: Stat | None
    output_tokens: Stat | None = Field(
        description="window requests; unfinished ones count the tokens they had at cancel"
    )
    send_lag_s: Stat = Field(description="actual minus scheduled arrival (generator health)")
    running_requests: Stat = Field(description="batch occupancy, sampled uniformly over time")
    queued_requests: Stat = Field(description="queue length, sampled uniformly over time")
    slice_throughput_tok_s: Stat
    slice_power_w: Stat | None
    slice_energy_per_output_token_j: Stat | None
    finished_only_v2: FinishedOnlyLatencies | None = Field(
        description="records migrated from schema 1-2 only (their latency statistics)"
    )


class ServingSummary(Strict):
    """Window figures (the headline numbers of a serving point), over window requests only."""

    window_requests: int = Field(ge=0, description="window arrivals")
    window_finished: int = Field(ge=0, description="window requests that finished")
    window_unfinished: int = Field(ge=0, description="window requests failed or timed out")
    window_output_tokens: int | None = Field(
        ge=0, description="tokens of the window requests, unfinished ones' included"
    )
    finished_rps: float = Field(ge=0, description="window_finished / measured_duration_s")
    output_tok_s: float | None = Field(
        ge=0, description="window_output_tokens / measured_duration_s"
    )
    slo_met: int = Field(ge=0, description="window requests that meet the SLO")
    slo_attainment: float | None = Field(description="slo_met / window_requests")
    goodput_rps: float = Field(ge=0, description="slo_met / measured_duration_s")
    energy_j: float | None
    avg_power_w: float | None
    energy_per_finished_request_j: float | None = Field(description="energy_j / window_finished")
    energy_per_token_j: float | None = Field(description="energy_j / window_output_tokens")
    energy_above_idle_per_finished_request_j: float | None
    any_phase_completions_in_window: int = Field(
        ge=0, description="requests of any phase whose last token is inside the clock window"
    )
    any_phase_tokens_in_window: int = Field(
        ge=0, description="tokens of any request stamped inside the clock window"
    )
    mean_running_requests: float = Field(ge=0)
    peak_memory_bytes: int | None
    peak_memory_kind: Literal["cuda_max_allocated", "process_max_rss"] | None
    load_time_s: float = Field(ge=0)


class SteadyState(Strict):
    """The steady-state test of the window (`runner.records.serving_rules.judge_steady`)."""

    steady: bool
    outstanding_start: float = Field(
        description="requests in the system at the window's start, on the least-squares trend line"
    )
    outstanding_end: float = Field(description="the same at the window's end")
    outstanding_growth: float = Field(description="outstanding_end - outstanding_start")
    growth_limit: float
    arrivals: int = Field(ge=0, description="window arrivals")
    completions: int = Field(ge=0, description="completions of any phase inside the window")
    completion_deficit: int = Field(description="arrivals - completions")
    deficit_limit: float
    unfinished_at_deadline: int = Field(ge=0)
    reasons: list[str] = Field(description="why the window is not steady; empty when it is")


class SampleSize(Strict):
    """The sample-size rule (`runner.records.serving_rules.judge_sample`)."""

    requests: int = Field(ge=0)
    met: int = Field(ge=0)
    target: float = Field(ge=0, le=1)
    confidence: float = Field(gt=0, lt=1)
    min_requests: int = Field(ge=1)
    min_gpu_window_s: float = Field(ge=0)
    on_gpu: bool
    window_s: float = Field(gt=0)
    attainment_lower: float = Field(ge=0, le=1, description="one-sided Clopper-Pearson bound")
    attainment_upper: float = Field(ge=0, le=1, description="one-sided Clopper-Pearson bound")
    passes: bool
    fails: bool
    reasons: list[str] = Field(description="why the rate does not pass; empty when it does")


class RateVerdict(Strict):
    """Whether this rate is sustainable: steady state, sample size and the resulting status."""

    status: Literal["passes", "fails", "inconclusive", "overloaded"]
    steady_state: SteadyState
    sample: SampleSize


class SearchInfo(Strict):
    """The rate search this point was a probe of (`scenario.search`)."""

    search_id: str = Field(description="an id shared by every probe of one search")
    probe: int = Field(ge=1, description="1 for the first probe of the search")
    low_rps: float = Field(gt=0)
    high_rps: float = Field(gt=0)
    resolution_rps: float = Field(gt=0)
    max_probes: int = Field(ge=2)


class ServingRecord(Strict):
    """One serving point. Written once, never replaced."""

    schema_version: Literal[3]
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
    verdict: RateVerdict | None = Field(
        description="null only in records migrated from schema 1-2 (not assessed: such a "
        "point is never the maximum sustainable rate)"
    )
    search: SearchInfo | None = Field(description="the rate search this point belongs to")
    timeline: list[TimelinePoint]
    provenance: Provenance
    raw_data: RawData
    calibration_id: str | None
    config: dict[str, Any]

    @model_validator(mode="after")
    def _configuration_matches(self) -> ServingRecord:
        self.identity.configuration.check_continuous_engine(
            self.engine.max_batch_requests, self.model.dtype
        )
        return self
