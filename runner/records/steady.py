"""The steady record: the reference leaderboard's steady-state method on continuous batching.

Written by `leaderboard run scenario=steady` (`runner.measure.steady`) once, never replaced, under
`<results>/steady/<hardware>/<model>/<task>/cap<B>/<run_id>.json`, with one row per request
(warm-up requests included, each with its phase) in `<run_id>.requests.jsonl` beside it.

Definitions (all times from `time.perf_counter()` on the serving host, in seconds from the
measured run's start, when the N requests were submitted together):

- **The load.** N requests (`load.num_requests`) are submitted at once to transformers'
  continuous batching, which runs at most B (`identity.configuration.max_num_seqs`) at a time.
  When the window would be shorter than the rule, more requests are added to the queue while it
  is still full (`load.extensions`), so the batch stays at its cap: N grows.
- **Window bounds.** It opens when B requests have their first token (`window.open_event_s`)
  and closes when N - B - 1 requests have completed (`window.close_event_s`), as the reference
  (ML.ENERGY v3) does. The energy counter is read at back-to-back ticks (`window.tick_s`); the
  measured window runs from the first tick at or after the opening to the last tick at or
  before the closing (`window.start_s`, `window.end_s`), so it lies inside the steady state and
  energy and tokens cover exactly the same interval. Without a meter there is no counter: the
  window is the two events themselves (`tick_s` null).
- **Per window**: `output_tokens` counts tokens (of any request) stamped inside the measured
  window; throughput = those / `duration_s`; energy per output token = window energy / those;
  energy per request = energy per token x the mean output length of the run's requests (as the
  reference's `energy_per_request_joules`); average power = energy / `duration_s`; mean running
  batch = the time average of requests admitted and not finished over the window.
- **Per request** (requests completing inside the window): queueing = submission to admission
  (long by design: everything is submitted at once); TTFT = admission to first token; latency =
  admission to last token; time per output token = (latency - TTFT) / (tokens - 1).
  Inter-token latencies (ITL) pool the gaps between consecutive tokens whose later token falls
  inside the window.
- **Window rule**: the window lasts at least `window.rule.min_window_s` (on a GPU at least
  `GPU_MIN_WINDOW_S`), or its energy is null with the reason; `relative_uncertainty` is 2 x the
  meter's resolution / duration. Energy not measured is null with a reason; never 0.
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
    WindowRule,
)

STEADY_SCHEMA_VERSION = 1
STEADY_KIND = "steady"
STEADY_ENGINE = "transformers-cb"
STEADY_PHASES = ("warmup", "measured")


class SteadyIdentity(Strict):
    """What was served, where, at which batch cap. Together with `run_id` it names the record."""

    model_name: str
    model_id: str
    model_revision: str
    task: str
    hardware_slug: str
    engine: Literal["transformers-cb"] = Field(
        description="transformers' continuous batching (ContinuousBatchingManager)"
    )
    config_hash: str = Field(description="sha256 of the resolved config, canonical JSON")
    configuration: Configuration = Field(
        description="devices, parallel layout, continuous batching with its cap B "
        "(max_num_seqs) and the measured mean running batch, precision"
    )

    @model_validator(mode="after")
    def _configuration_complete(self) -> SteadyIdentity:
        self.configuration.check_measured("continuous", "steady")
        return self


class Extension(Strict):
    """Requests added to the queue to lengthen the window (N grows)."""

    at_s: float = Field(ge=0, description="when they were submitted")
    added: int = Field(ge=1)


class SteadyLoad(Strict):
    """The requests of the measured run."""

    num_requests: int = Field(ge=3, description="N: requests of the measured run, all phases")
    initial_num_requests: int = Field(ge=3, description="N as configured")
    max_num_requests: int = Field(ge=3, description="the most N could grow to")
    extensions: list[Extension] = Field(description="when and by how much N grew")
    warmup_requests: int = Field(ge=0, description="run to completion first; excluded")
    finished: int = Field(ge=0, description="requests of the measured run that finished")


class SteadyWindow(Strict):
    """The measured steady-state window (seconds from the measured run's start)."""

    open_event_s: float = Field(description="when B requests had their first token")
    close_event_s: float = Field(description="when N - B - 1 requests had completed")
    start_s: float = Field(
        description="the first counter tick at or after the opening (the opening itself "
        "without a meter)"
    )
    end_s: float = Field(
        description="the last counter tick at or before the closing (the closing itself "
        "without a meter)"
    )
    duration_s: float = Field(gt=0, description="end_s - start_s")
    tick_s: float | None = Field(
        gt=0, description="period of the counter readings; null without a meter (no counter)"
    )
    output_tokens: int = Field(ge=0, description="tokens stamped inside the window")
    completed: int = Field(ge=0, description="requests whose last token is inside the window")
    rule: WindowRule
    meets_rule: bool = Field(description="duration_s >= rule.min_window_s")
    relative_uncertainty: float | None = Field(
        ge=0, description="2 x the meter's resolution / duration_s; null without a meter"
    )
    ramp_up_s: float = Field(ge=0, description="from submission to start_s (excluded)")
    ramp_down_s: float = Field(ge=0, description="from end_s to the last completion (excluded)")
    note: str | None = Field(default=None, description="why the window is short, if it is")


class SteadyEngineInfo(Strict):
    """The serving engine and its resolved limits."""

    name: Literal["transformers-cb"]
    transformers_version: str
    attn_implementation: str
    max_batch_requests: int = Field(ge=1, description="the cap B as the engine resolved it")
    max_batch_tokens: int | None
    num_blocks: int | None
    page_size: int = Field(ge=1)
    warmup_time_s: float = Field(ge=0, description="engine set-up and warm-up, not measured")


class ItlPercentiles(Strict):
    """Inter-token latency percentiles over the window's gaps, in seconds (as the reference's
    median / p90 / p95 / p99 ITL, which it publishes in milliseconds)."""

    median: float = Field(ge=0)
    p90: float = Field(ge=0)
    p95: float = Field(ge=0)
    p99: float = Field(ge=0)


class SteadyMeasurements(Strict):
    """Statistics with spread (see the module docstring for each population)."""

    itl_s: Stat | None = Field(description="gaps between consecutive tokens inside the window")
    itl_percentiles_s: ItlPercentiles | None
    queueing_s: Stat | None = Field(description="submission to admission, window requests")
    ttft_s: Stat | None = Field(description="admission to first token, window requests")
    latency_s: Stat | None = Field(description="admission to last token, window requests")
    tpot_s: Stat | None = Field(description="(latency - TTFT) / (tokens - 1), window requests")
    output_tokens: Stat = Field(description="per request, every finished request of the run")
    prompt_tokens: Stat = Field(description="per request, every request of the run")
    running_requests: Stat = Field(description="batch occupancy at each tick of the window")


class SteadySummary(Strict):
    """The window's headline figures (units in the names)."""

    output_tokens_in_window: int = Field(ge=0)
    completed_in_window: int = Field(ge=0)
    throughput_tok_s: float = Field(ge=0, description="output_tokens_in_window / duration")
    throughput_rps: float = Field(ge=0, description="completed_in_window / duration")
    energy_j: float | None = Field(description="the counter over the window; null + reason")
    energy_reason: str | None = Field(description="why energy_j is null")
    avg_power_w: float | None
    energy_per_token_j: float | None = Field(description="energy_j / output_tokens_in_window")
    mean_output_tokens: float = Field(ge=0, description="mean output length of the run")
    energy_per_request_j: float | None = Field(
        description="energy_per_token_j x mean_output_tokens (as the reference)"
    )
    energy_above_idle_per_token_j: float | None = Field(
        description="(energy - idle power x duration) / output tokens; a label, not a headline"
    )
    mean_running_batch: float = Field(ge=0, description="time-averaged running requests")
    itl_median_s: float | None
    itl_p90_s: float | None
    itl_p95_s: float | None
    itl_p99_s: float | None
    peak_memory_bytes: int | None
    peak_memory_kind: Literal["cuda_max_allocated", "process_max_rss"] | None
    load_time_s: float = Field(ge=0)


class SteadyRecord(Strict):
    """One steady-state point. Written once, never replaced."""

    schema_version: Literal[1]
    kind: Literal["steady"]
    run_id: str
    identity: SteadyIdentity
    model: ModelInfo
    task: TaskInfo
    load: SteadyLoad
    window: SteadyWindow
    engine: SteadyEngineInfo
    energy: EnergyInfo
    measurements: SteadyMeasurements
    summary: SteadySummary
    provenance: Provenance
    raw_data: RawData
    calibration_id: str | None
    config: dict[str, Any]
    notes: list[str] = Field(default_factory=list, description="facts a reader should know")

    @model_validator(mode="after")
    def _configuration_matches(self) -> SteadyRecord:
        self.identity.configuration.check_continuous_engine(
            self.engine.max_batch_requests, self.model.dtype
        )
        return self
