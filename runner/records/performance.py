"""The performance result record: one immutable JSON file per benchmark point.

The schema is versioned by `SCHEMA_VERSION`. A reader refuses any version it cannot read with a
clear message rather than guessing; older versions are upgraded on load by
`runner.records.migrate` (version 1 had no `source` block: every version-1 record was measured).
Units are in the field names (`_s`, `_j`, `_w`, `_bytes`, `_tok_s`). A measurement that was not
taken is `null`, and the `energy` block says why; it is never 0.

A performance record is always a measurement of this project (`source.type == "measured"`), and
every statistic is required. Results published elsewhere are a record kind of their own
(`runner.records.published`), which holds only what its source published.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2
RECORD_KIND = "performance"

# Energy sources a record may carry. `fake` is written only by tests (a fake meter).
ENERGY_SOURCES = ("zeus-nvml", "zeus-rapl", "unavailable", "fake")


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
    batch_size: int = Field(ge=1)
    backend: str
    config_hash: str = Field(description="sha256 of the resolved config, canonical JSON")


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


class Summary(Strict):
    """Pooled figures over every measured batch (the headline numbers of the leaderboard)."""

    requests: int = Field(ge=1)
    batches: int = Field(ge=1)
    output_tokens: int = Field(ge=0)
    measured_time_s: float = Field(ge=0, description="sum of measured batch times")
    throughput_tok_s: float = Field(ge=0, description="output_tokens / measured_time_s")
    energy_j: float | None = Field(description="energy of all measured windows, in J")
    energy_per_response_j: float | None
    energy_per_token_j: float | None
    avg_power_w: float | None
    energy_above_idle_per_response_j: float | None = Field(
        description="(energy - idle_power * time) / requests; null without an idle baseline"
    )
    peak_memory_bytes: int | None
    peak_memory_kind: Literal["cuda_max_allocated", "process_max_rss"] | None
    load_time_s: float = Field(ge=0, description="model load, not part of any measurement")
    warmup_time_s: float = Field(ge=0, description="warm-up batches, excluded from numbers")
    compile_time_s: float | None = Field(
        default=None,
        description="compiled backend: the first warm-up batch, which includes compilation "
        "(part of warmup_time_s, excluded from numbers); null for eager",
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


class PerformanceRecord(Strict):
    """One benchmark point. Written once, never replaced."""

    schema_version: Literal[2]
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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the performance record."""
    schema = PerformanceRecord.model_json_schema()
    schema["$id"] = f"energy-leaderboard/performance-record/v{SCHEMA_VERSION}"
    return schema
