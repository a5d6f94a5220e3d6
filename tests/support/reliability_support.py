"""The reliability tests' one-line summaries, gathered for benchmarks/RELIABILITY.md.

Each reliability test calls `report(...)` once with what it tried and what went wrong, counted by
the test itself (not assumed), before it asserts that the bad counts are 0. The entry goes to
`test-artifacts/reliability/<category>.json` (git-ignored), keyed by the check's name, and is
printed as one line. `benchmarks/reliability_report.py` runs the tests and turns these files into
the table.

Counts:
    tried: faults injected, bad inputs given, or payloads placed.
    lost: records lost or corrupted (goal 0), where the check writes records.
    tracebacks: inputs answered with a traceback instead of one clear line (goal 0).
    executed: payloads that ran script in the browser or got through a rule (goal 0).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
REPORT_DIR = Path(os.environ.get("RELIABILITY_REPORT_DIR", REPO / "test-artifacts" / "reliability"))

CATEGORIES = {
    "faults": "Faults (kills, concurrency, full disk, OOM, interrupted DVC, bad result trees)",
    "bad-input": "Bad input (configs, paths, YAML, trust_remote_code)",
    "xss": "XSS on the published site",
    "formula": "Custom-formula parser",
    "workflows": "CI workflows",
}


def report(
    category: str,
    check: str,
    *,
    tried: int,
    lost: int | None = None,
    tracebacks: int | None = None,
    executed: int | None = None,
    command: str,
    note: str = "",
    instance: str = "",
) -> dict[str, Any]:
    """Record one check's counts (None = does not apply) and print them as one line.

    Args:
        category: one of `CATEGORIES`.
        check: a short name of what was tried, unique within the category.
        tried: how many faults, inputs or payloads were tried.
        lost: records lost or corrupted.
        tracebacks: inputs that gave a traceback instead of a clear error.
        executed: payloads that executed (or rule violations found).
        command: the command that reproduces this check.
        note: one line on what exactly was tried.
        instance: for a parametrized test, the parameter's id; the figures sum the instances
            of one check (so a rerun replaces its own entry and never counts twice).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown reliability category {category!r}")
    entry = {
        "check": check,
        "tried": tried,
        "lost": lost,
        "tracebacks": tracebacks,
        "executed": executed,
        "command": command,
        "note": note,
    }
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{category}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    data.setdefault(check, {})[instance] = entry
    temp = path.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, path)
    counts = ", ".join(
        f"{key} {value}"
        for key, value in entry.items()
        if key in ("tried", "lost", "tracebacks", "executed") and value is not None
    )
    label = f"{check} [{instance}]" if instance else check
    print(f"reliability[{category}] {label}: {counts}")
    return entry


def pytest_command(node: str) -> str:
    """The command that reruns one test file or node from the repository root."""
    return f".venv/bin/python -m pytest -q {node}"
