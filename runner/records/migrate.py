"""Upgrading older record versions on load, as asv does with its results (`_update_results`).

A file on disk is never rewritten: records are immutable. A reader that meets an older schema
version applies the written migrations in order, in memory, and validates the result against the
current schema. Each migration is a pure function from the JSON of version N to the JSON of
version N + 1; it adds only what the older version implied and changes no value. A version with
no migration path (a newer one, or one never released) is refused by the loader.

Migrations:

- performance 1 -> 2: version 1 had no `source` block. Every version-1 record was written by this
  project's runner, so it gains `"source": {"type": "measured"}`; nothing else changes.
- performance 2 -> 3: version 2 had no `identity.configuration`. The runner of versions 1 and 2
  ran every point as static batches of `identity.batch_size` on one device in `model.dtype`, so
  the record gains exactly that: one device, every parallel degree 1, static batching, the
  record's batch size and dtype.
- serving 1 -> 2: version 1 had no `identity.configuration`. It served on one device with
  continuous batching capped at `engine.max_batch_requests`, in `model.dtype`; the mean running
  batch is its own `summary.mean_running_requests`.
- serving 2 -> 3: version 3 counts only window arrivals in window figures, keeps the tokens of
  cancelled requests, censors unfinished requests in latency percentiles, counts latencies from
  the scheduled arrival and judges each rate (steady state, sample size). A version-2 record
  cannot be recomputed from its JSON, so the migration moves and renames, and computes only what
  the JSON determines exactly:
  `summary.requests_in_window` becomes `window_requests`; `window_finished` and
  `window_unfinished` come from `accounting.window`; `finished_rps`, `energy_per_finished_
  request_j` and its above-idle variant are those counts over the window's length and energy;
  version 2's `completed_in_window` and `output_tokens_in_window` (of any phase, inside the clock
  window) become `any_phase_completions_in_window` and `any_phase_tokens_in_window`, from which
  its dropped `throughput_*`, `energy_per_request_j` and `energy_per_output_token_j` follow.
  What version 2 did not keep is null: the window requests' tokens (`window_output_tokens`,
  `output_tok_s`, `energy_per_token_j`, each phase's `output_tokens`), each phase's
  `cancelled` (version 2 counted cancelled requests in `timed_out`), the window's bounds,
  the TPOT target and the SLO's reference, the censored statistics, and the `verdict` (not
  assessed: such a point is never a maximum sustainable rate). Its latency statistics (finished
  requests only, from the actual arrival) move to `measurements.finished_only_v2`;
  `dispatch_lag_s` becomes `send_lag_s`. `identity.sweep_hash` is computed from the record's own
  `config` (`runner.records.serving_rules.sweep_hash`); `search` is null.
- published 1 -> 2: version 1 had no `identity.configuration` and no `task` block. Its
  configuration holds what version 1 held: the batch size (static batching) where the source
  published one, and `model.precision`; nothing else is invented (no device count, no layout).
  Its task block names the source's task by its id. The run id is kept
  (`runner.records.published` accepts the version-1 id for exactly this configuration).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from runner.records.serving_rules import sweep_hash

Json = dict[str, Any]
Migration = Callable[[Json], Json]


def performance_1_to_2(data: Json) -> Json:
    """Performance v1 -> v2: add the `source` block (v1 records were all measured)."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 2
    upgraded["source"] = {"type": "measured"}
    return upgraded


def one_device(batching: str, precision: Any, **fields: Any) -> Json:
    """The configuration of a point the earlier runner measured: one device, no parallelism."""
    return {
        "num_devices": 1,
        "tensor_parallel": 1,
        "pipeline_parallel": 1,
        "expert_parallel": 1,
        "data_parallel": 1,
        "batching": batching,
        **fields,
        "precision": precision,
    }


def performance_2_to_3(data: Json) -> Json:
    """Performance v2 -> v3: add `identity.configuration` (static batches on one device)."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 3
    identity = upgraded["identity"]
    identity["configuration"] = one_device(
        "static", upgraded.get("model", {}).get("dtype"), batch_size=identity.get("batch_size")
    )
    return upgraded


def serving_1_to_2(data: Json) -> Json:
    """Serving v1 -> v2: add `identity.configuration` (continuous batching on one device)."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 2
    upgraded["identity"]["configuration"] = one_device(
        "continuous",
        upgraded.get("model", {}).get("dtype"),
        max_num_seqs=upgraded.get("engine", {}).get("max_batch_requests"),
        mean_running_batch=upgraded.get("summary", {}).get("mean_running_requests"),
    )
    return upgraded


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def serving_2_to_3(data: Json) -> Json:
    """Serving v2 -> v3: window-arrival figures where the v2 JSON determines them, the rest null
    (see the module doc)."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 3
    upgraded["identity"]["sweep_hash"] = sweep_hash(upgraded.get("config", {}))
    window = upgraded["window"]
    window.setdefault("opened_s", None)
    window.setdefault("closed_s", None)
    slo = upgraded["slo"]
    slo.setdefault("tpot_s", None)
    slo.setdefault("reference", None)
    accounting = upgraded["accounting"]
    for phase in ("warmup", "window", "drain"):
        accounting[phase]["output_tokens"] = None
        accounting[phase]["cancelled"] = None  # v2 counted them in timed_out
    old = upgraded["summary"]
    counts = accounting["window"]
    duration = window["measured_duration_s"]
    energy = old.get("energy_j")
    idle = upgraded.get("energy", {}).get("idle_power_w")
    finished = counts["finished"]
    above_idle = None
    if energy is not None and idle is not None and finished:
        above_idle = (energy - idle * duration) / finished
    upgraded["summary"] = {
        "window_requests": old["requests_in_window"],
        "window_finished": finished,
        "window_unfinished": counts["failed"] + counts["timed_out"],
        "window_output_tokens": None,
        "finished_rps": finished / duration,
        "output_tok_s": None,
        "slo_met": old["slo_met"],
        "slo_attainment": old["slo_attainment"],
        "goodput_rps": old["goodput_rps"],
        "energy_j": energy,
        "avg_power_w": old["avg_power_w"],
        "energy_per_finished_request_j": _ratio(energy, finished),
        "energy_per_token_j": None,
        "energy_above_idle_per_finished_request_j": above_idle,
        "any_phase_completions_in_window": old["completed_in_window"],
        "any_phase_tokens_in_window": old["output_tokens_in_window"],
        "mean_running_requests": old["mean_running_requests"],
        "peak_memory_bytes": old["peak_memory_bytes"],
        "peak_memory_kind": old["peak_memory_kind"],
        "load_time_s": old["load_time_s"],
    }
    measured = upgraded["measurements"]
    legacy = {
        name: measured.pop(name, None)
        for name in (
            "queueing_delay_s",
            "ttft_s",
            "itl_s",
            "itl_p90_per_request_s",
            "e2e_latency_s",
            "output_tokens",
        )
    }
    measured.update(
        queueing_delay_s=None,
        ttft_s=None,
        tpot_s=None,
        e2e_latency_s=None,
        itl_s=None,
        itl_p90_per_request_s=None,
        output_tokens=None,
        send_lag_s=measured.pop("dispatch_lag_s"),
        finished_only_v2=legacy,
    )
    upgraded["verdict"] = None
    upgraded["search"] = None
    return upgraded


def published_1_to_2(data: Json) -> Json:
    """Published v1 -> v2: add `identity.configuration` (only what v1 held) and `task`."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 2
    identity = upgraded["identity"]
    configuration: Json = {}
    if identity.get("batch_size") is not None:
        configuration.update(batching="static", batch_size=identity["batch_size"])
    precision = upgraded.get("model", {}).get("precision")
    if precision is not None:
        configuration["precision"] = precision
    identity["configuration"] = configuration
    upgraded["task"] = {"id": identity.get("task"), "name": identity.get("task")}
    return upgraded


# (kind, from version) -> the migration to the next version.
MIGRATIONS: dict[tuple[str, int], Migration] = {
    ("performance", 1): performance_1_to_2,
    ("performance", 2): performance_2_to_3,
    ("serving", 1): serving_1_to_2,
    ("serving", 2): serving_2_to_3,
    ("published", 1): published_1_to_2,
}


def can_migrate(kind: str, version: object, target: int) -> bool:
    """True if `version` of `kind` reaches `target` through the written migrations."""
    if not isinstance(version, int) or isinstance(version, bool):
        return False
    while version < target:
        if (kind, version) not in MIGRATIONS:
            return False
        version += 1
    return version == target


def migrate(kind: str, data: Json, target: int) -> Json:
    """`data` (a record's JSON) upgraded to `target`; the input is not changed.

    Raises:
        ValueError: no migration path (check `can_migrate` first).
    """
    version = data["schema_version"]
    if not can_migrate(kind, version, target):
        raise ValueError(f"no migration of {kind} records from version {version} to {target}")
    while data["schema_version"] < target:
        data = MIGRATIONS[(kind, data["schema_version"])](data)
    return data


def readable_versions(kind: str, target: int) -> list[int]:
    """Every schema version of `kind` this code reads (the current one and those it migrates)."""
    return [v for v in range(1, target + 1) if can_migrate(kind, v, target)]
