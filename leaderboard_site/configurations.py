"""A row's configuration on the site: its keys, labels, id part and per-GPU figures.

A record's configuration (`runner.records.configuration`) becomes row keys (`num_devices`,
`tensor_parallel`, ..., `batching`, `max_num_seqs`, `mean_running_batch`, `precision`, and the
labels `layout` and `configuration`). Energy, power and throughput of a row are for all its
devices together; the per-GPU columns divide them by `num_devices` (None where the count was
not published).
"""

from __future__ import annotations

from typing import Any

from runner.records.configuration import (
    PARALLEL_FIELDS,
    Configuration,
    configuration_label,
    layout_label,
    path_suffix,
)

Row = dict[str, Any]

# Row keys filled from a configuration.
CONFIGURATION_KEYS = (
    "num_devices",
    *PARALLEL_FIELDS,
    "batching",
    "max_num_seqs",
    "mean_running_batch",
    "precision",
    "layout",
    "configuration",
)
# Per-GPU column -> the all-devices column it divides by `num_devices`.
PER_DEVICE = {
    "energy_per_response_per_gpu_j": "energy_per_response_j",
    "avg_power_per_gpu_w": "avg_power_w",
    "throughput_per_gpu_tok_s": "throughput_tok_s",
}


def configuration_fields(configuration: Configuration, device: str = "GPU") -> Row:
    """The row keys of a configuration (absent fields are None: "not published").

    `device` names the devices in the label ('GPU', or 'CPU' for a CPU point).
    """
    row: Row = {key: getattr(configuration, key) for key in CONFIGURATION_KEYS[:-2]}
    row["layout"] = layout_label(configuration) or None
    row["configuration"] = configuration_label(configuration, device) or None
    return row


def configuration_id(configuration: Configuration) -> str:
    """The configuration's part of a row id: `bs8`, `cap256-g8-ep8-dp8`, then the precision."""
    if configuration.batching == "continuous" or configuration.max_num_seqs is not None:
        batching = f"cap{configuration.max_num_seqs or 'na'}"
    else:
        batching = f"bs{configuration.batch_size or 'na'}"
    devices = "" if configuration.num_devices is not None else "-gna"
    return f"{batching}{path_suffix(configuration)}{devices}-{configuration.precision or 'na'}"


def per_device_values(row: Row) -> Row:
    """The per-GPU figures of a row: each all-devices figure / `num_devices` (None when either
    is missing)."""
    devices = row.get("num_devices")
    out: Row = {}
    for key, total_key in PER_DEVICE.items():
        total = row.get(total_key)
        usable = isinstance(total, int | float) and not isinstance(total, bool)
        out[key] = total / devices if usable and devices else None
    return out


def device_noun(hardware_slug: str) -> str:
    """'CPU' for a CPU hardware slug, else 'GPU' (how labels count a row's devices)."""
    return "CPU" if hardware_slug.startswith("cpu") else "GPU"
