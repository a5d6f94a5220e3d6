"""The configuration of a point: its devices, parallel layout, batching and precision.

Every performance, serving and published record carries one inside its identity: two records
that differ in any of these fields are different points and never pool. Energy, power and
throughput of a record are always for *all* `num_devices` devices of the configuration together;
per-device figures are those divided by `num_devices` (the site shows both).

Measured records fill every field but `mean_running_batch` (known only where requests are
batched continuously). A published record holds only what its source published: a field the
source does not give is absent (never 1, never guessed), and the site says "not published".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

BATCHING = ("static", "continuous")
PARALLEL_FIELDS = ("tensor_parallel", "pipeline_parallel", "expert_parallel", "data_parallel")
# Short names of the parallel degrees, in labels and folder names.
PARALLEL_SHORT = {
    "tensor_parallel": "TP",
    "pipeline_parallel": "PP",
    "expert_parallel": "EP",
    "data_parallel": "DP",
}
# The fields that name a configuration (`mean_running_batch` is a measurement, not a setting).
KEY_FIELDS = (
    "num_devices",
    *PARALLEL_FIELDS,
    "batching",
    "batch_size",
    "max_num_seqs",
    "precision",
)

_DEGREE = {"default": None, "ge": 1, "le": 65_536}


class Configuration(BaseModel):
    """How a point ran. Units: counts of devices and requests; `precision` as named.

    Attributes:
        num_devices: devices the point ran on (GPUs; 1 for a CPU point, except a
            tensor-parallel CPU point, whose ranks each count as one device on their share of
            the cores). Energy, power and throughput of the record are for all of them together.
        tensor_parallel / pipeline_parallel / expert_parallel / data_parallel: the parallel
            layout's degrees (1 = not split that way).
        batching: `static` (batches of `batch_size` requests that start together) or
            `continuous` (a serving engine admits requests as others finish, at most
            `max_num_seqs` at once).
        batch_size: static batching: requests per batch.
        max_num_seqs: continuous batching: the engine's batch cap (vLLM's `max_num_seqs`).
        mean_running_batch: continuous batching: the mean number of running requests over the
            measured window, where known (a measurement, not part of the key).
        precision: weight and activation precision, e.g. 'bfloat16', 'float16', 'fp8'.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_devices: int | None = Field(
        default=None,
        ge=1,
        le=65_536,
        description="devices (GPUs; 1 for a CPU point unless it ran tensor-parallel ranks); "
        "energy, power and throughput are for all of them together",
    )
    tensor_parallel: int | None = Field(**_DEGREE, description="tensor-parallel degree")
    pipeline_parallel: int | None = Field(**_DEGREE, description="pipeline-parallel degree")
    expert_parallel: int | None = Field(**_DEGREE, description="expert-parallel degree")
    data_parallel: int | None = Field(**_DEGREE, description="data-parallel degree (replicas)")
    batching: Literal["static", "continuous"] | None = Field(
        default=None,
        description="static: batches that start together; continuous: a serving engine's "
        "running batch, capped at max_num_seqs",
    )
    batch_size: int | None = Field(
        default=None, ge=1, description="static batching: requests per batch"
    )
    max_num_seqs: int | None = Field(
        default=None, ge=1, description="continuous batching: the engine's batch cap"
    )
    mean_running_batch: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="continuous batching: mean running requests over the measured window",
    )
    precision: str | None = Field(
        default=None,
        min_length=1,
        description="weight/activation precision, e.g. 'bfloat16', 'fp8'",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Configuration:
        if self.batching == "static" and self.max_num_seqs is not None:
            raise ValueError("max_num_seqs: a batch cap is for continuous batching only")
        if self.batching == "continuous" and self.batch_size is not None:
            raise ValueError("batch_size: a fixed batch size is for static batching only")
        if self.num_devices is not None:
            for name in PARALLEL_FIELDS:
                degree = getattr(self, name)
                if degree is not None and degree > self.num_devices:
                    raise ValueError(
                        f"{name}: {degree} is more than num_devices ({self.num_devices})"
                    )
        return self

    def missing_for_measured(self) -> list[str]:
        """The fields a measured record must fill and this configuration leaves absent."""
        needed = ("num_devices", *PARALLEL_FIELDS, "batching", "precision")
        missing = [name for name in needed if getattr(self, name) is None]
        if self.batching == "static" and self.batch_size is None:
            missing.append("batch_size")
        if self.batching == "continuous" and self.max_num_seqs is None:
            missing.append("max_num_seqs")
        return missing

    def check_continuous_engine(self, max_batch_requests: int, dtype: str) -> None:
        """Raises ValueError when a continuous-batching record's engine contradicts its
        configuration (the cap `max_num_seqs` or the precision)."""
        if self.max_num_seqs != max_batch_requests:
            raise ValueError(
                f"identity.configuration.max_num_seqs: {self.max_num_seqs} differs "
                f"from engine.max_batch_requests ({max_batch_requests})"
            )
        if self.precision != dtype:
            raise ValueError(
                f"identity.configuration.precision: {self.precision!r} differs from "
                f"model.dtype ({dtype!r})"
            )

    def check_measured(self, batching: str | None = None, kind: str = "measured") -> None:
        """Raises ValueError when a measured record's configuration is incomplete.

        `batching`, when given, is the batching the record kind always uses; `kind` names
        the record kind in the message ("serving", "steady").
        """
        missing = self.missing_for_measured()
        if missing:
            raise ValueError(
                f"configuration: a measured record states {', '.join(missing)} (absent here)"
            )
        if batching is not None and self.batching != batching:
            raise ValueError(
                f"configuration.batching: a {kind} point uses {batching} batching, "
                f"not {self.batching}"
            )


def single_device(
    *,
    batching: Literal["static", "continuous"],
    precision: str,
    batch_size: int | None = None,
    max_num_seqs: int | None = None,
    mean_running_batch: float | None = None,
    tensor_parallel: int = 1,
) -> Configuration:
    """A measured configuration without pipeline, expert or data parallelism: `tensor_parallel`
    devices (1 unless the point is split across devices by tensor parallelism)."""
    return Configuration(
        num_devices=tensor_parallel,
        tensor_parallel=tensor_parallel,
        pipeline_parallel=1,
        expert_parallel=1,
        data_parallel=1,
        batching=batching,
        batch_size=batch_size,
        max_num_seqs=max_num_seqs,
        mean_running_batch=mean_running_batch,
        precision=precision,
    )


def configuration_key(configuration: Configuration) -> tuple[Any, ...]:
    """The fields that name a configuration, as a sortable tuple (None sorts as absent)."""
    return tuple(
        (value is not None, value if value is not None else 0)
        for value in (getattr(configuration, name) for name in KEY_FIELDS)
    )


def layout_label(configuration: Configuration) -> str:
    """The parallel layout in words: 'TP4 · EP8', 'single device', or '' when not published."""
    degrees = [(name, getattr(configuration, name)) for name in PARALLEL_FIELDS]
    if all(degree is None for _, degree in degrees):
        return "" if configuration.num_devices is None else _single(configuration)
    parts = [f"{PARALLEL_SHORT[name]}{degree}" for name, degree in degrees if degree and degree > 1]
    return " · ".join(parts) or _single(configuration)


def _single(configuration: Configuration) -> str:
    return "single device" if configuration.num_devices in (None, 1) else "not split"


def batching_label(configuration: Configuration) -> str:
    """'bs 8' (static), 'cap 256' (continuous), or '' when not published."""
    if configuration.batching == "continuous" or configuration.max_num_seqs is not None:
        return "" if configuration.max_num_seqs is None else f"cap {configuration.max_num_seqs}"
    return "" if configuration.batch_size is None else f"bs {configuration.batch_size}"


def configuration_label(configuration: Configuration, device: str = "GPU") -> str:
    """One short line for tables and legends: '2 GPUs · TP2 · bs 8', '8 GPUs · EP8 · cap 256'.

    `device` names the devices ('GPU', or 'CPU' for a CPU point). Parts the configuration does
    not hold are left out (a published row with only a batch size reads 'bs 1').
    """
    parts = []
    devices = configuration.num_devices
    if devices is not None:
        parts.append(f"{devices} {device}" if devices == 1 else f"{devices} {device}s")
    layout = layout_label(configuration)
    if layout and layout not in ("single device", "not split"):
        parts.append(layout)
    batching = batching_label(configuration)
    if batching:
        parts.append(batching)
    return " · ".join(parts)


def path_suffix(configuration: Configuration) -> str:
    """A folder-name suffix naming the devices and layout: '' for one device (or not
    published), else '-g2-tp2', '-g8-ep8-dp8' (degrees of 1 left out)."""
    devices = configuration.num_devices
    if devices in (None, 1):
        return ""
    parts = [f"g{devices}"]
    for name in PARALLEL_FIELDS:
        degree = getattr(configuration, name)
        if degree and degree > 1:
            parts.append(f"{PARALLEL_SHORT[name].lower()}{degree}")
    return "-" + "-".join(parts)
