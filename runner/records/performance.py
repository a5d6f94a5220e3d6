"""The performance result record: one immutable JSON file per benchmark point.

The schema is versioned by `SCHEMA_VERSION`. A reader refuses any version it cannot read with a
clear message rather than guessing; older versions are upgraded on load by
`runner.records.migrate` (version 1 had no `source` block: every version-1 record was measured;
versions 1 and 2 had no `identity.configuration`: every one of them ran static batches on one
device).
Units are in the field names (`_s`, `_j`, `_w`, `_bytes`, `_tok_s`). A measurement that was not
taken is `null`, and the `energy` block says why; it is never 0.

A performance record is always a measurement of this project (`source.type == "measured"`), and
every statistic is required. Results published elsewhere are a record kind of their own
(`runner.records.published`), which holds only what its source published.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runner.records.configuration import Configuration

SCHEMA_VERSION = 3
RECORD_KIND = "performance"

# Energy sources a record may carry. `fake` is written only by tests (a fake meter).
ENERGY_SOURCES = ("zeus-nvml", "zeus-rapl", "unavailable", "fake")

# The shortest energy window a GPU record may rule (s): the NVML counter agrees with an integral
# of sampled power within ~2 % over windows of 10 s or more, and is ~11 % off at 0.5 s (FACTS.md,
# on an H100). Runs on a GPU raise a shorter `min_window_s` to this; `leaderboard validate`
# refuses a measured GPU window shorter than its record's rule.
GPU_MIN_WINDOW_S = 10.0
# The energy source whose windows the GPU rule applies to.
GPU_ENERGY_SOURCE = "zeus-nvml"


class Strict(BaseModel):
    """Base model: unknown fields are errors, so typos and forged fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stat(Strict):
    """Summary statistics of one metric over `n` observations (same unit as the metric)."""

    n: int = Field(ge=1)
    mean: float
    median: float
    p90: float
    p99: float
    stdev: float = Field(ge=0, description="sample standard deviation (0 when n == 1)")
    min: float
    max: float


class Identity(Strict):
    """What was benchmarked, where. Together with `run_id` it names the record."""

    model_name: str = Field(description="config name, e.g. 'Qwen__Qwen2.5-0.5B-Instruct'")
    model_id: str = Field(description="Hugging Face repo id")
    model_revision: str
    task: str
    hardware_slug: str = Field(description="e.g. 'nvidia-h100-80gb-hbm3' or 'cpu-...'")
    batch_size: int | None = Field(
        ge=1, description="static batching: requests per batch (= configuration.batch_size)"
    )
    backend: str
    config_hash: str = Field(description="sha256 of the resolved config, canonical JSON")
    configuration: Configuration = Field(
        description="devices, parallel layout, batching and precision; energy, power and "
        "throughput are for all the configuration's devices together"
    )

    @model_validator(mode="after")
    def _configuration_complete(self) -> Identity:
        self.configuration.check_measured()
        if self.configuration.batch_size != self.batch_size:
            raise ValueError(
                f"batch_size: {self.batch_size} differs from configuration.batch_size "
                f"({self.configuration.batch_size})"
            )
        return self


class Architecture(Strict):
    """Shape facts read from the loaded model's config (used for FLOPs and bytes estimates).

    `embedding_params` counts the input embedding and, unless tied, the output head.
    """

    model_type: str
    num_layers: int = Field(ge=0)
    hidden_size: int = Field(ge=0)
    intermediate_size: int | None
    num_attention_heads: int = Field(ge=0)
    num_key_value_heads: int = Field(ge=0)
    head_dim: int = Field(ge=0)
    vocab_size: int = Field(ge=0)
    tie_word_embeddings: bool
    embedding_params: int = Field(ge=0)
    bytes_per_param: int = Field(ge=1, description="of the dtype the run used")


class ModelInfo(Strict):
    """Descriptive model facts, copied from the config and the loaded model."""

    display_name: str
    dtype: str
    params: int = Field(ge=1, description="parameter count (config value or counted at load)")
    params_source: Literal["config", "counted"]
    url: str
    license: str
    trust_remote_code: bool
    random_weights: bool
    base_model: str | None
    architecture: Architecture | None = Field(
        description="null when the model config does not expose these fields"
    )


class TaskInfo(Strict):
    """The workload: system prompt, the seeded prompt sample, and decoding settings."""

    name: str
    system_prompt: str
    prompt_set: str
    prompt_set_sha256: str
    prompt_seed: int
    prompt_ids: list[str]
    max_new_tokens: int
    sampling: dict[str, Any]


class EnergyInfo(Strict):
    """Where energy numbers came from, or why there are none."""

    source: Literal["zeus-nvml", "zeus-rapl", "unavailable", "fake"]
    reason: str | None = Field(description="why energy is unavailable; null when measured")
    devices: list[str] = Field(description="e.g. ['gpu:0'] or ['cpu:0']")
    idle_power_w: float | None = Field(description="mean power over the idle window, in W")
    idle_window_s: float | None
    idle_settle_s: float | None = Field(
        default=None,
        description="seconds waited after loading the model before the idle window (taken "
        "once, before warm-up); null in records written before the settle existed",
    )
    idle_note: str | None = Field(
        default=None,
        description="when and how the idle baseline was taken; it is a label, never "
        "subtracted from a headline figure",
    )


class Measurements(Strict):
    """Statistics over measured requests (per-request metrics) or batches (per-batch metrics)."""

    latency_s: Stat = Field(description="per request: batch start to its last token")
    ttft_s: Stat = Field(description="per request: batch start to its first token")
    tpot_s: Stat | None = Field(description="per request: (latency - ttft) / (tokens - 1)")
    prompt_tokens: Stat
    response_tokens: Stat
    batch_time_s: Stat = Field(description="per batch: wall time of generate")
    throughput_tok_s: Stat = Field(description="per batch: output tokens / batch time")
    energy_per_response_j: Stat | None = Field(description="per batch: energy / batch size")
    energy_per_token_j: Stat | None = Field(description="per batch: energy / output tokens")
    avg_power_w: Stat | None = Field(description="per batch: energy / batch time")


class DeviceSummary(Strict):
    """One device of a multi-device point (a tensor-parallel rank): its share of the figures.

    Written only for points on more than one device (issue 25); null elsewhere.
    """

    rank: int = Field(ge=0, description="the torch.distributed rank that ran on this device")
    device: str = Field(description="e.g. 'gpu:1' (the rank's CUDA device) or 'cpu'")
    energy_j: float | None = Field(
        ge=0,
        description="this device's energy over every measured window, in J; null where the "
        "meter does not read devices one by one",
    )
    idle_power_w: float | None = Field(
        description="this device's mean power over the idle windows, in W"
    )
    peak_memory_bytes: int | None = Field(
        description="this rank's peak memory (CUDA allocated on its GPU, or its process's RSS)"
    )


class Summary(Strict):
    """Pooled figures over every measured batch (the headline numbers of the leaderboard)."""

    requests: int = Field(ge=1)
    batches: int = Field(ge=1)
    output_tokens: int = Field(ge=0)
    measured_time_s: float = Field(
        ge=0,
        description="measured time in s: the sum of the energy windows' durations (records "
        "with `energy_windows`), else the sum of measured batch times",
    )
    throughput_tok_s: float | None = Field(
        ge=0, description="output_tokens / measured_time_s; null when the time is 0"
    )
    energy_j: float | None = Field(description="energy of all measured windows, in J")
    energy_per_response_j: float | None
    energy_per_token_j: float | None
    avg_power_w: float | None
    energy_above_idle_per_response_j: float | None = Field(
        description="sum over windows of (window energy - idle power x window time) / requests;"
        " null without an idle baseline"
    )
    peak_memory_bytes: int | None = Field(
        description="peak memory in bytes; on a multi-device point the sum of every device's "
        "peak (per_device)"
    )
    peak_memory_kind: Literal["cuda_max_allocated", "process_max_rss"] | None
    load_time_s: float = Field(ge=0, description="model load, not part of any measurement")
    warmup_time_s: float = Field(ge=0, description="warm-up batches, excluded from numbers")
    compile_time_s: float | None = Field(
        default=None,
        description="compiled backend: the first warm-up batch, which includes compilation "
        "(part of warmup_time_s, excluded from numbers); null for eager",
    )
    per_device: list[DeviceSummary] | None = Field(
        default=None,
        description="each device of a multi-device point, by rank (issue 25); null on one device",
    )


class Provenance(Strict):
    """Enough to reproduce and audit the run."""

    git_commit: str | None
    git_dirty: bool | None
    library_versions: dict[str, str | None]
    python: str
    platform: str
    gpu_name: str | None
    gpu_driver: str | None
    cuda_version: str | None
    cpu: str
    device: str
    started_utc: str
    ended_utc: str
    seed: int
    command_line: list[str]


class RawData(Strict):
    """The per-request JSONL file beside the record, checked by `leaderboard validate`."""

    file: str
    sha256: str
    rows: int


class MeasuredSource(Strict):
    """Where a performance record's numbers come from: always this project's own runner."""

    type: Literal["measured"] = Field(
        default="measured",
        description="measured by this project (published results are kind 'published')",
    )


# ---------------------------------------------------------------------------------------------
# Additive blocks (issue 13: steady-state energy windows, how the backend ran). Both are optional
# and default to null, so records written before them validate unchanged under schema 1.


class PowerTimelineBlock(Strict):
    """Power sampled during one energy window, downsampled for the site's power-over-time chart."""

    source: str = Field(description="e.g. 'zeus-power-monitor:device_instant' or 'fake'")
    sample_period_s: float = Field(gt=0, description="sampling period of the raw samples, in s")
    samples: int = Field(ge=0, description="raw samples in the window, before downsampling")
    t_s: list[float] = Field(description="seconds from the window's start (bin centres)")
    power_w: list[float] = Field(description="mean power of each bin, in W")


class DeviceWindow(Strict):
    """One device's share of an energy window metered device by device (a multi-GPU point)."""

    device: str = Field(description="e.g. 'gpu:1'")
    energy_j: float = Field(ge=0, description="this device's counter over the window, in J")
    idle_power_w: float | None = Field(
        default=None, description="this device's power over the idle window just before, in W"
    )


class WindowRule(Strict):
    """The shortest energy window a run enforced, and why (seconds)."""

    min_window_s: float = Field(ge=0, description="the rule: windows last at least this long")
    basis: str = Field(
        description="where the rule comes from, e.g. 'min_window_s in the run config' or "
        "'GPU floor (10 s)'"
    )
    enforced: bool = Field(
        description="true when the run extended its windows until the rule was met; false "
        "without an energy meter (no energy to protect), with the reason in `note`"
    )
    note: str | None = Field(default=None, description="why the rule was not enforced")


def relative_uncertainty(resolution_s: float | None, duration_s: float) -> float | None:
    """A counter window's relative uncertainty from the meter's resolution (dimensionless).

    The counter updates every `resolution_s`, so each end of a window may be off by up to one
    update period of energy at the window's power: 2 x resolution / duration. (On the H100 the
    counter and the power integral were 11.5 % apart on 0.5 s windows, 0.6-2.1 % on 10-15 s,
    within this bound: FACTS.md.) None without a resolution or a duration.
    """
    if not resolution_s or duration_s <= 0:
        return None
    return 2.0 * resolution_s / duration_s


class EnergyWindow(Strict):
    """One steady-state energy window: whole passes over the measured prompt sample, run back to
    back until the window lasted at least `min_window_s`."""

    index: int = Field(ge=0)
    duration_s: float = Field(ge=0, description="wall time of the window, in s")
    energy_j: float | None = Field(
        ge=0, description="the meter's counter over the window, in J; null when not measured"
    )
    reason: str | None = Field(
        default=None, description="why energy_j is null (no meter, window below resolution)"
    )
    passes: int = Field(ge=1, description="whole passes over the measured prompt sample")
    batches: int = Field(ge=1)
    requests: int = Field(ge=1)
    output_tokens: int = Field(ge=0)
    busy_s: float = Field(ge=0, description="sum of the window's batch times, in s")
    idle_power_w: float | None = Field(
        description="the point's idle power (measured once before warm-up in records with "
        "`energy.idle_settle_s`; just before the window in older records), in W"
    )
    idle_window_s: float | None = Field(description="length of that idle window, in s")
    energy_above_idle_j: float | None = Field(
        description="energy_j - idle_power_w x duration_s, in J"
    )
    timeline: PowerTimelineBlock | None = Field(
        default=None,
        description="power sampled during the window (summed over every GPU of the point); "
        "null without a sampler",
    )
    per_device: list[DeviceWindow] | None = Field(
        default=None,
        description="each metered device's energy in the window (their sum is energy_j), on a "
        "point of several GPUs (issue 25); null on one device",
    )
    relative_uncertainty: float | None = Field(
        default=None,
        ge=0,
        description="2 x meter resolution / duration_s: the counter's bound on this window's "
        "relative error; null without a meter (or in records written before it)",
    )


class EnergyWindows(Strict):
    """How energy was measured: steady-state windows and the attribution to batches."""

    min_window_s: float = Field(ge=0, description="the configured minimum window length, in s")
    meter_resolution_s: float | None = Field(
        description="the counter's update period, in s; shorter windows are never stored"
    )
    attribution: Literal["power-timeline", "window-time-share"] | None = Field(
        description="how a batch's energy (raw data, per-batch statistics) was obtained: the "
        "integral of the power timeline over the batch, or the window's energy split by batch "
        "time; null when energy was not measured"
    )
    attribution_note: str | None = Field(
        default=None, description="why there is no timeline, or why some batches have none"
    )
    windows: list[EnergyWindow] = Field(min_length=1)
    rule: WindowRule | None = Field(
        default=None,
        description="the window rule the run enforced; null in records written before it "
        "(their rule is `min_window_s`)",
    )


class Execution(Strict):
    """How the backend ran the point: timing method, padding, compilation, CUDA graphs."""

    timing: Literal["cuda-events", "perf-counter"] = Field(
        description="per-step clock: CUDA events read after generation, or host perf_counter"
    )
    prompt_padding: Literal["batch-longest", "bucket"] = Field(
        description="eager pads to the batch's longest prompt; static backends to buckets"
    )
    pad_multiple: int | None = Field(default=None, description="bucket size in tokens")
    padded_prompt_lengths: list[int] = Field(
        default_factory=list, description="distinct padded prompt lengths (static backends)"
    )
    max_cache_len: int | None = Field(default=None, description="static KV cache length")
    compile_mode: str | None = Field(default=None, description="torch.compile mode (compiled)")
    compiles_warmup: int | None = Field(
        default=None, description="graphs Dynamo compiled during warm-up (compiled)"
    )
    compiles_measured: int | None = Field(
        default=None, description="graphs Dynamo compiled while measuring (must be 0)"
    )
    cuda_graph: bool = Field(default=False, description="decode steps replayed as a CUDA graph")
    eos_check_every: int | None = Field(
        default=None, description="static backends: host checks for EOS every this many steps"
    )
    decode_steps: int | None = Field(
        default=None, ge=0, description="static backends: decode steps run in measured batches"
    )
    wasted_steps: int | None = Field(
        default=None,
        ge=0,
        description="static backends: decode steps of measured batches run after every row had "
        "ended (the host checks EOS only every eos_check_every steps); their time and energy "
        "are in the batch's figures, their tokens are not counted",
    )
    notes: list[str] = Field(default_factory=list, description="facts a reader should know")


class PerformanceRecord(Strict):
    """One benchmark point. Written once, never replaced."""

    schema_version: Literal[3]
    kind: Literal["performance"]
    run_id: str
    source: MeasuredSource = Field(description="always {'type': 'measured'}")
    identity: Identity
    model: ModelInfo
    task: TaskInfo
    energy: EnergyInfo
    measurements: Measurements
    summary: Summary
    provenance: Provenance
    raw_data: RawData
    calibration_id: str | None = Field(
        description="run_id of the machine calibration record this run was judged against"
    )
    config: dict[str, Any] = Field(description="the resolved run config")
    energy_windows: EnergyWindows | None = Field(
        default=None,
        description="steady-state energy windows (issue 13); null in records written before",
    )
    execution: Execution | None = Field(
        default=None, description="how the backend ran (issue 13); null in records written before"
    )

    @model_validator(mode="after")
    def _precision_is_the_models(self) -> PerformanceRecord:
        precision = self.identity.configuration.precision
        if precision != self.model.dtype:
            raise ValueError(
                f"identity.configuration.precision: {precision!r} differs from model.dtype "
                f"({self.model.dtype!r})"
            )
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the performance record."""
    schema = PerformanceRecord.model_json_schema()
    schema["$id"] = f"energy-leaderboard/performance-record/v{SCHEMA_VERSION}"
    return schema
