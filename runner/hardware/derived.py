"""Derived, hardware-aware metrics of one performance record: pure functions, never stored.

Computed at aggregation time from a `PerformanceRecord`, the `CalibrationRecord` it links to
(`calibration_id`) and `DerivedSettings` (grid carbon intensity, hardware prices). Every metric is
None when one of its inputs is missing (no architecture facts, no calibration, energy not
measured, no time per output token): never 0. The exact formulas are in
docs/hardware-metrics.md; the symbols used below are:

    P    params (record.model.params)          E    architecture.embedding_params
    N    non-embedding params = P - E           h    hidden_size       V  vocab_size
    L    num_layers    H  num_attention_heads   Hkv  num_key_value_heads   d  head_dim
    b    bytes_per_param (of the run's dtype)   B    batch size (identity.batch_size)
    C    context = mean prompt tokens + mean response tokens / 2

    FLOPs per token   F = 2 N + 2 h V + 4 L H d C  (the 2 h V output head unless
                      count_lm_head_flops is false)
    bytes per step    M = (N + V h) b + B h b + 2 L Hkv d C b B
    intensity         I = B F / M                       (FLOP/byte)
    floor             t_floor = M / measured bandwidth  (s)
    x floor           tpot_mean / t_floor
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runner.errors import ConfigError
from runner.records.calibration import CalibrationRecord
from runner.records.performance import Architecture, PerformanceRecord

DEFAULT_SETTINGS_PATH = Path(__file__).resolve().parents[2] / "conf" / "derived" / "default.yaml"
JOULES_PER_KWH = 3.6e6


# ---------------------------------------------------------------------------------------------
# Settings (conf/derived/default.yaml)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridRegion(_Settings):
    """Carbon intensity of one grid region, in gCO2e per kWh, and where the figure comes from."""

    g_co2e_per_kwh: float = Field(ge=0, le=5000)
    source: str = Field(min_length=1)


class GridSettings(_Settings):
    """The region used for every result, and the table of regions."""

    region: str
    regions: dict[str, GridRegion]


class CostSettings(_Settings):
    """Hardware prices in US dollars per hour (assumptions, not quotes)."""

    gpu_hour_usd: float = Field(ge=0)
    cpu_hour_usd: float = Field(ge=0)
    source: str = Field(min_length=1)
    by_hardware: dict[str, float] = Field(default_factory=dict)


class DerivedSettings(_Settings):
    """Everything the derived metrics need besides records: carbon, prices, FLOP convention."""

    grid: GridSettings
    cost: CostSettings
    count_lm_head_flops: bool = True

    @property
    def grid_intensity_g_per_kwh(self) -> float:
        """gCO2e per kWh of the selected region."""
        return self.grid.regions[self.grid.region].g_co2e_per_kwh

    def hour_usd(self, hardware_slug: str, device: str) -> float:
        """$ per hour of `hardware_slug` (an override), else the GPU or CPU default."""
        if hardware_slug in self.cost.by_hardware:
            return self.cost.by_hardware[hardware_slug]
        return self.cost.cpu_hour_usd if device == "cpu" else self.cost.gpu_hour_usd


def load_settings(path: Path | None = None, region: str | None = None) -> DerivedSettings:
    """Read and validate the derived-metric settings (default: conf/derived/default.yaml).

    Args:
        path: the YAML file.
        region: use this grid region instead of the file's `grid.region`.

    Raises:
        ConfigError: unreadable file, bad YAML, a field of the wrong type, an unknown region.
    """
    import yaml

    path = path or DEFAULT_SETTINGS_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if region is not None and isinstance(data, dict) and isinstance(data.get("grid"), dict):
        data["grid"]["region"] = region
    try:
        settings = DerivedSettings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigError(f"{path}: field {location}: {first['msg']}") from None
    if settings.grid.region not in settings.grid.regions:
        known = ", ".join(sorted(settings.grid.regions))
        raise ConfigError(
            f"{path}: field grid.region: expected one of {known}, got {settings.grid.region!r}"
        )
    return settings


# ---------------------------------------------------------------------------------------------
# Formulas (pure; each returns None when an input is None)


def non_embedding_params(params: int, architecture: Architecture) -> int:
    """N = P - E: parameters outside the input embedding and (untied) output head."""
    return params - architecture.embedding_params


def attention_context_tokens(mean_prompt_tokens: float, mean_response_tokens: float) -> float:
    """C: mean tokens a decode step attends over = mean prompt + half the mean response."""
    return mean_prompt_tokens + mean_response_tokens / 2


def attention_flops_per_token(architecture: Architecture, context: float) -> float:
    """4 L H d C: per layer, QK^T (2 H d C) and attention-weighted V (2 H d C)."""
    a = architecture
    return 4 * a.num_layers * a.num_attention_heads * a.head_dim * context


def lm_head_flops_per_token(architecture: Architecture) -> float:
    """2 h V: the output head (logits) matmul."""
    return 2 * architecture.hidden_size * architecture.vocab_size


def flops_per_token(
    params: int, architecture: Architecture, context: float, *, count_lm_head: bool = True
) -> float:
    """F = 2 N + 2 h V + 4 L H d C (2 h V only when `count_lm_head`), in FLOPs per output token.

    The output head is counted by default: `step_bytes` reads it, so leaving its FLOPs out
    would understate the arithmetic intensity (by ~20-28 % for 0.5-1 B models with large
    vocabularies).
    """
    flops = 2 * non_embedding_params(params, architecture)
    flops += attention_flops_per_token(architecture, context)
    if count_lm_head:
        flops += lm_head_flops_per_token(architecture)
    return float(flops)


@dataclass(frozen=True)
class StepBytes:
    """Bytes moved from memory by one decode step of a batch.

    Attributes:
        weights: (N + V h) b: every non-embedding weight, plus the output head (V x h) read
            whole for the logits (for tied embeddings it is the same matrix, read once).
        embedding_rows: B h b: the input-embedding rows of the batch's new tokens.
        kv_cache: 2 L Hkv d C b B: keys and values of the context, for each sequence.
        total: the sum, in bytes.
    """

    weights: float
    embedding_rows: float
    kv_cache: float

    @property
    def total(self) -> float:
        """All bytes moved by the step."""
        return self.weights + self.embedding_rows + self.kv_cache


def kv_cache_bytes(architecture: Architecture, context: float, batch_size: int) -> float:
    """2 L Hkv d C b B: key and value cache read by one decode step (bytes)."""
    a = architecture
    return (
        2 * a.num_layers * a.num_key_value_heads * a.head_dim * context * a.bytes_per_param
    ) * batch_size


def step_bytes(
    params: int, architecture: Architecture, context: float, batch_size: int
) -> StepBytes:
    """Bytes moved by one decode step (see `StepBytes`); activations are not counted."""
    a = architecture
    head_params = a.vocab_size * a.hidden_size
    return StepBytes(
        weights=float((non_embedding_params(params, a) + head_params) * a.bytes_per_param),
        embedding_rows=float(batch_size * a.hidden_size * a.bytes_per_param),
        kv_cache=float(kv_cache_bytes(a, context, batch_size)),
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def grams_co2e(energy_j: float | None, g_per_kwh: float) -> float | None:
    """Grams CO2e of `energy_j` joules at `g_per_kwh` (None when energy is None)."""
    if energy_j is None:
        return None
    return energy_j / JOULES_PER_KWH * g_per_kwh


def usd_per_million_tokens(hour_usd: float, throughput_tok_s: float | None) -> float | None:
    """$ per 1M output tokens: hour price / 3600 s / throughput x 1e6 (None without one)."""
    if throughput_tok_s is None or throughput_tok_s <= 0:
        return None
    return hour_usd / 3600 / throughput_tok_s * 1e6


def energy_metrics(
    *,
    energy_j: float | None,
    output_tokens: int,
    energy_per_response_j: float | None,
    energy_per_token_j: float | None,
    throughput_tok_s: float | None,
    hour_usd: float,
    g_per_kwh: float,
) -> dict[str, float | None]:
    """Tokens per joule, carbon (g CO2e per response and per 1k tokens) and cost ($ per 1M
    output tokens at `hour_usd` for the whole configuration); None where an input is None."""
    return {
        "tokens_per_j": _ratio(float(output_tokens), energy_j) if output_tokens > 0 else None,
        "carbon_g_per_response": grams_co2e(energy_per_response_j, g_per_kwh),
        "carbon_g_per_1k_tokens": None
        if energy_per_token_j is None
        else grams_co2e(energy_per_token_j * 1000, g_per_kwh),
        "cost_usd_per_1m_tokens": usd_per_million_tokens(hour_usd, throughput_tok_s),
    }


def configuration_devices(record: Any) -> int:
    """How many devices a record's configuration ran on (1 where it does not say)."""
    return getattr(getattr(record.identity, "configuration", None), "num_devices", None) or 1


# ---------------------------------------------------------------------------------------------
# One record -> derived metrics


@dataclass(frozen=True)
class DerivedMetrics:
    """Derived metrics of one performance record (units in the names; None = not computable).

    Attributes:
        flops_per_token: F, FLOPs per output token.
        context_tokens: C, tokens a decode step attends over (mean).
        step_bytes: M, bytes moved per decode step of the batch.
        arithmetic_intensity_flop_per_byte: B F / M.
        bandwidth_floor_s: M / measured bandwidth: the fastest a decode step can be, in s.
        x_floor: mean time per output token / bandwidth floor (1 = at the floor).
        achieved_bandwidth_bytes_s: M / mean time per output token.
        achieved_bandwidth_share: achieved / measured bandwidth (0..1, can exceed 1 with caches).
        achieved_flop_s: B F / mean time per output token.
        achieved_flop_share: achieved / measured matmul FLOP/s.
        tokens_per_j: output tokens per joule.
        carbon_g_per_response: gCO2e per response at the configured grid intensity.
        carbon_g_per_1k_tokens: gCO2e per 1000 output tokens.
        cost_usd_per_1m_tokens: $ per 1M output tokens at the configured hardware price.
        grid_region / grid_g_co2e_per_kwh / hour_usd: the assumptions used.
        calibration_id: the calibration the ceilings came from (None when none was usable).
        notes: why metrics are None, one short line each.
    """

    flops_per_token: float | None = None
    context_tokens: float | None = None
    step_bytes: float | None = None
    arithmetic_intensity_flop_per_byte: float | None = None
    bandwidth_floor_s: float | None = None
    x_floor: float | None = None
    achieved_bandwidth_bytes_s: float | None = None
    achieved_bandwidth_share: float | None = None
    achieved_flop_s: float | None = None
    achieved_flop_share: float | None = None
    tokens_per_j: float | None = None
    carbon_g_per_response: float | None = None
    carbon_g_per_1k_tokens: float | None = None
    cost_usd_per_1m_tokens: float | None = None
    grid_region: str | None = None
    grid_g_co2e_per_kwh: float | None = None
    hour_usd: float | None = None
    calibration_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        """JSON-ready dict (keys are the column keys of `COLUMNS`)."""
        return asdict(self)


def usable_calibration(
    record: PerformanceRecord, calibration: CalibrationRecord | None
) -> tuple[CalibrationRecord | None, str | None]:
    """The calibration if it belongs to this record's machine, else (None, why)."""
    if calibration is None:
        return None, "no calibration linked to this record"
    if calibration.hardware_slug != record.identity.hardware_slug:
        return None, (
            f"calibration {calibration.run_id} is of {calibration.hardware_slug}, "
            f"not {record.identity.hardware_slug}"
        )
    return calibration, None


def derive(
    record: PerformanceRecord,
    calibration: CalibrationRecord | None,
    settings: DerivedSettings,
) -> DerivedMetrics:
    """Every derived metric of `record` (see module docstring for the formulas)."""
    notes: list[str] = []
    calibration, why = usable_calibration(record, calibration)
    if why:
        notes.append(why)
    summary = record.summary
    measurements = record.measurements
    architecture = record.model.architecture
    batch = record.identity.batch_size
    tpot = measurements.tpot_s.mean if measurements.tpot_s is not None else None
    if tpot is None:
        notes.append("no time per output token (every response was one token)")

    flops = context = moved = None
    if architecture is None:
        notes.append("model architecture unknown: no FLOPs or bytes estimate")
    else:
        context = attention_context_tokens(
            measurements.prompt_tokens.mean, measurements.response_tokens.mean
        )
        flops = flops_per_token(
            record.model.params,
            architecture,
            context,
            count_lm_head=settings.count_lm_head_flops,
        )
        moved = step_bytes(record.model.params, architecture, context, batch).total
    step_flops = None if flops is None else batch * flops

    bandwidth = calibration.memory_bandwidth.bytes_s if calibration is not None else None
    peak_flop_s = None
    if calibration is not None:
        if calibration.dtype == record.model.dtype:
            peak_flop_s = calibration.matmul.flop_s
        else:
            notes.append(
                f"calibration matmul is {calibration.dtype}, the run is {record.model.dtype}"
            )
    # A configuration on N devices (tensor parallel) splits the weights, the cache and the work
    # over them: it is judged against N x one device's ceilings and costs N x its price.
    devices = configuration_devices(record)
    if devices > 1:
        bandwidth = None if bandwidth is None else bandwidth * devices
        peak_flop_s = None if peak_flop_s is None else peak_flop_s * devices
        notes.append(
            f"ceilings and price are {devices} x one device's (the configuration's {devices} "
            "devices together)"
        )
    floor = _ratio(moved, bandwidth)
    achieved_bandwidth = _ratio(moved, tpot)
    achieved_flop_s = _ratio(step_flops, tpot)

    energy_measured = summary.energy_j is not None
    if not energy_measured:
        notes.append(f"energy not measured ({record.energy.reason or record.energy.source})")
    intensity = settings.grid_intensity_g_per_kwh
    hour_usd = settings.hour_usd(record.identity.hardware_slug, record.provenance.device) * devices
    energy = energy_metrics(
        energy_j=summary.energy_j,
        output_tokens=summary.output_tokens,
        energy_per_response_j=summary.energy_per_response_j,
        energy_per_token_j=summary.energy_per_token_j,
        throughput_tok_s=summary.throughput_tok_s,
        hour_usd=hour_usd,
        g_per_kwh=intensity,
    )
    return DerivedMetrics(
        flops_per_token=flops,
        context_tokens=context,
        step_bytes=moved,
        arithmetic_intensity_flop_per_byte=_ratio(step_flops, moved),
        bandwidth_floor_s=floor,
        x_floor=_ratio(tpot, floor),
        achieved_bandwidth_bytes_s=achieved_bandwidth,
        achieved_bandwidth_share=_ratio(achieved_bandwidth, bandwidth),
        achieved_flop_s=achieved_flop_s,
        achieved_flop_share=_ratio(achieved_flop_s, peak_flop_s),
        **energy,
        grid_region=settings.grid.region,
        grid_g_co2e_per_kwh=intensity,
        hour_usd=hour_usd,
        calibration_id=calibration.run_id if calibration is not None else None,
        notes=notes,
    )


def index_calibrations(records: Iterable[object]) -> dict[str, CalibrationRecord]:
    """Calibration records by run id, from any mix of records (or (path, record) pairs)."""
    index: dict[str, CalibrationRecord] = {}
    for item in records:
        record = item[1] if isinstance(item, tuple) else item
        if isinstance(record, CalibrationRecord):
            index[record.run_id] = record
    return index


def derive_rows(
    records: Iterable[object], settings: DerivedSettings | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready row per performance record: its identity plus its derived metrics.

    Args:
        records: records or (path, record) pairs, e.g. `scan_results(dir).records`; calibration
            records among them are used as the ceilings of the records that link to them.
        settings: carbon/cost settings; default: conf/derived/default.yaml.
    """
    items = list(records)
    settings = settings or load_settings()
    calibrations = index_calibrations(items)
    rows: list[dict[str, Any]] = []
    for item in items:
        record = item[1] if isinstance(item, tuple) else item
        if not isinstance(record, PerformanceRecord):
            continue
        linked = calibrations.get(record.calibration_id) if record.calibration_id else None
        metrics = derive(record, linked, settings)
        row: dict[str, Any] = {
            "run_id": record.run_id,
            "model": record.model.display_name,
            "model_name": record.identity.model_name,
            "task": record.identity.task,
            "hardware_slug": record.identity.hardware_slug,
            "device": record.provenance.device,
            "batch_size": record.identity.batch_size,
            "backend": record.identity.backend,
            "dtype": record.model.dtype,
            "tpot_s": record.measurements.tpot_s.mean if record.measurements.tpot_s else None,
        }
        row.update(metrics.as_row())
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Column definitions for the site's column table


@dataclass(frozen=True)
class ColumnDef:
    """One leaderboard column: row key, label, unit, which direction is better, and meaning."""

    key: str
    label: str
    unit: str
    better: Literal["lower", "higher"]
    description: str


COLUMNS: list[ColumnDef] = [
    ColumnDef(
        "x_floor",
        "× floor",
        "×",
        "lower",
        "mean time per output token / memory-bandwidth floor of one decode step "
        "(bytes moved per step / measured copy bandwidth); 1 = at the floor",
    ),
    ColumnDef(
        "tokens_per_j",
        "Tokens/J",
        "tokens/J",
        "higher",
        "output tokens per joule of measured energy; empty where energy was not measured",
    ),
    ColumnDef(
        "carbon_g_per_response",
        "Carbon/response",
        "gCO2e",
        "lower",
        "energy per response x grid carbon intensity (an assumption: see settings)",
    ),
    ColumnDef(
        "carbon_g_per_1k_tokens",
        "Carbon/1k tokens",
        "gCO2e",
        "lower",
        "energy per 1000 output tokens x grid carbon intensity (an assumption)",
    ),
    ColumnDef(
        "cost_usd_per_1m_tokens",
        "Cost/1M tokens",
        "USD",
        "lower",
        "hardware price per hour (an assumption) / measured throughput, per 1M output tokens",
    ),
    ColumnDef(
        "arithmetic_intensity_flop_per_byte",
        "Arithmetic intensity",
        "FLOP/byte",
        "higher",
        "FLOPs per decode step / bytes moved per decode step (estimate)",
    ),
    ColumnDef(
        "achieved_bandwidth_share",
        "Bandwidth used",
        "share",
        "higher",
        "bytes moved per step / time per output token, over the measured copy bandwidth",
    ),
    ColumnDef(
        "achieved_flop_share",
        "Compute used",
        "share",
        "higher",
        "FLOPs per step / time per output token, over the measured matmul FLOP/s",
    ),
]


def columns_as_dicts() -> list[dict[str, str]]:
    """`COLUMNS` as JSON-ready dicts."""
    return [asdict(column) for column in COLUMNS]
