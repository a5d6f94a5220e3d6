"""Upgrading older record versions on load, as asv does with its results (`_update_results`).

A file on disk is never rewritten: records are immutable. A reader that meets an older schema
version applies the written migrations in order, in memory, and validates the result against the
current schema. Each migration is a pure function from the JSON of version N to the JSON of
version N + 1; it adds only what the older version implied and changes no value. A version with
no migration path (a newer one, or one never released) is refused by the loader.

Migrations:

- performance 1 -> 2: version 1 had no `source` block. Every version-1 record was written by this
  project's runner, so it gains `"source": {"type": "measured"}`; nothing else changes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
Migration = Callable[[Json], Json]


def performance_1_to_2(data: Json) -> Json:
    """Performance v1 -> v2: add the `source` block (v1 records were all measured)."""
    upgraded = copy.deepcopy(data)
    upgraded["schema_version"] = 2
    upgraded["source"] = {"type": "measured"}
    return upgraded


# (kind, from version) -> the migration to the next version.
MIGRATIONS: dict[tuple[str, int], Migration] = {
    ("performance", 1): performance_1_to_2,
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
