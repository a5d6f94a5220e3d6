"""Where each record kind lives under a results root: the one definition of the layout.

Writers build their folders from these parts (through `store.safe_subdir`, which refuses unsafe
names), and readers check that every record sits where its own identity says it belongs, so a
record copied or forged into another model's folder is refused rather than shown there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runner.errors import ConfigError
from runner.records.configuration import path_suffix

# A name that is safe as one path component: no separators, no leading dot, no NUL.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

PERFORMANCE_DIR = "performance"
ACCURACY_DIR = "accuracy"
CALIBRATION_DIR = "calibration"
PUBLISHED_DIR = "published"
SERVING_DIR = "serving"
STEADY_DIR = "steady"


def performance_point_label(identity: Any) -> str:
    """The folder of a performance point: `bs8-eager` (static batches on one device),
    `cap64-eager` (continuous batching capped at 64), `bs8-eager-g2-tp2` (two devices)."""
    configuration = getattr(identity, "configuration", None)
    if configuration is None:  # the identity of a schema-1 or -2 record: one device, static
        return f"bs{identity.batch_size}-{identity.backend}"
    if configuration.batching == "continuous":
        batching = f"cap{configuration.max_num_seqs}"
    else:
        batching = f"bs{identity.batch_size}"
    return f"{batching}-{identity.backend}{path_suffix(configuration)}"


def performance_parts(identity: Any) -> tuple[str, ...]:
    """`performance/<hardware>/<model>/<task>/<point>` of a performance identity (see
    `performance_point_label`; records of one device and static batches keep the folder
    `bs<N>-<backend>` they always had)."""
    return (
        PERFORMANCE_DIR,
        identity.hardware_slug,
        identity.model_name,
        identity.task,
        performance_point_label(identity),
    )


def accuracy_parts(key: Any) -> tuple[str, ...]:
    """`accuracy/<model>/<eval task>/<N>shot-<limit|all>/<revision>` of an accuracy key."""
    limit = "all" if key.limit is None else str(key.limit)
    return (
        ACCURACY_DIR,
        key.model_name,
        key.eval_task,
        f"{key.num_fewshot}shot-{limit}",
        key.model_revision,
    )


def calibration_parts(hardware_slug: str) -> tuple[str, ...]:
    """`calibration/<hardware>`."""
    return (CALIBRATION_DIR, hardware_slug)


def published_parts(source_id: str, identity: Any) -> tuple[str, ...]:
    """`published/<source>/<hardware>/<model>/<task>` of a published record."""
    return (
        PUBLISHED_DIR,
        source_id,
        identity.hardware_slug,
        identity.model_name,
        identity.task,
    )


def serving_point_label(identity: Any) -> str:
    """The folder of a serving point: `poisson-2rps`, `gamma-cv2-2rps`, `trace-x1`, with the
    devices and layout appended when it ran on more than one device (`poisson-2rps-g2-tp2`)."""
    configuration = getattr(identity, "configuration", None)  # none in schema-1 identities
    suffix = "" if configuration is None else path_suffix(configuration)
    if identity.arrival == "trace":
        return f"trace-x{_number(identity.trace_speedup or 1.0)}{suffix}"
    rate = f"{_number(identity.request_rate_rps or 0.0)}rps"
    if identity.arrival == "gamma":
        return f"gamma-cv{_number(identity.cv or 0.0)}-{rate}{suffix}"
    return f"{identity.arrival}-{rate}{suffix}"


def _number(value: float) -> str:
    """A short, path-safe rendering of a number (`2`, `0.5`, `1e-05`)."""
    return f"{value:.6g}".replace("+", "")


def serving_parts(identity: Any) -> tuple[str, ...]:
    """`serving/<hardware>/<model>/<task>/<arrival>-<rate>` of a serving identity."""
    return (
        SERVING_DIR,
        identity.hardware_slug,
        identity.model_name,
        identity.task,
        serving_point_label(identity),
    )


def steady_point_label(identity: Any) -> str:
    """The folder of a steady point: `cap32` (the batch cap B), with the devices and layout
    appended when it ran on more than one device (`cap32-g2-tp2`)."""
    configuration = identity.configuration
    return f"cap{configuration.max_num_seqs}{path_suffix(configuration)}"


def steady_parts(identity: Any) -> tuple[str, ...]:
    """`steady/<hardware>/<model>/<task>/cap<B>` of a steady identity."""
    return (
        STEADY_DIR,
        identity.hardware_slug,
        identity.model_name,
        identity.task,
        steady_point_label(identity),
    )


def expected_parts(record: Any) -> tuple[str, ...] | None:
    """The folder parts plus file name a loaded record must have; None for an unknown kind."""
    kind = getattr(record, "kind", None)
    if kind == "performance":
        folder = performance_parts(record.identity)
    elif kind == "accuracy":
        folder = accuracy_parts(record.identity)
    elif kind == "calibration":
        folder = calibration_parts(record.hardware_slug)
    elif kind == "published":
        folder = published_parts(record.source.source_id, record.identity)
    elif kind == "serving":
        folder = serving_parts(record.identity)
    elif kind == "steady":
        folder = steady_parts(record.identity)
    else:
        return None
    return (*folder, f"{record.run_id}.json")


def check_safe_name(field_path: str, value: str) -> None:
    """Refuse a value that could not be used as one path component (``../x``, ``/abs``, NUL).

    Raises:
        ConfigError: naming `field_path` and what was expected.
    """
    if not isinstance(value, str) or not SAFE_NAME.match(value) or ".." in value:
        expected = "a name of letters, digits, '.', '_' or '-' (no path separators)"
        raise ConfigError(f"{field_path}: expected {expected}, got {value!r}")


def matching_folders(results_root: Path, parts: tuple[str, ...]) -> list[Path]:
    """Every folder under `results_root` whose path ends with `parts`, sorted.

    Records may sit at the top of a results root (`<root>/calibration/<hw>/`) or inside a
    benchmark job's run folder (`<root>/runs/<hw>/<run-id>/records/calibration/<hw>/`): readers
    that look a record up by its identity search both.
    """
    for part in parts:
        check_safe_name("path component", part)
    if not results_root.is_dir():
        return []
    pattern = "/".join(("**", *parts))
    return sorted(path for path in results_root.glob(pattern) if path.is_dir())
