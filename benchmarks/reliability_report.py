"""Run the reliability tests and write benchmarks/RELIABILITY.md from what they report.

Every reliability test writes its counts to test-artifacts/reliability/<category>.json
(tests/support/reliability_support.py). This script empties that folder, runs the tests with pytest,
and turns the JSON into one table per category. Nothing in the table is typed by hand: a count
missing from the JSON shows as "not run", and failed tests are listed under the table.

Usage (from the repository root):

    .venv/bin/python benchmarks/reliability_report.py            # run, then write the file
    .venv/bin/python benchmarks/reliability_report.py --no-run   # only rewrite from the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.reliability_support import CATEGORIES, REPORT_DIR  # noqa: E402

TEST_FILES = [
    "tests/reliability/test_runner.py",
    "tests/reliability/test_accuracy.py",
    "tests/records/test_store.py",
    "tests/reliability/test_dvc.py",
    "tests/reliability/test_build.py",
    "tests/test_config_fuzz.py",
    "tests/reliability/test_paths.py",
    "tests/reliability/test_yaml.py",
    "tests/reliability/test_xss.py",
    "tests/publish/test_workflows.py",
    "tests/reliability/test_workflows.py",
]
OUTPUT = REPO / "benchmarks" / "RELIABILITY.md"
JUNIT = REPORT_DIR / "junit.xml"
COLUMNS = (
    ("tried", "tried"),
    ("lost", "records lost or corrupted (goal 0)"),
    ("tracebacks", "tracebacks or unclear errors (goal 0)"),
    ("executed", "payloads executed / rules broken (goal 0)"),
)


def run_tests() -> tuple[int, float]:
    """Run the reliability tests (fresh JSON); (pytest exit code, seconds)."""
    shutil.rmtree(REPORT_DIR, ignore_errors=True)
    REPORT_DIR.mkdir(parents=True)
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={JUNIT}", *TEST_FILES],
        cwd=REPO,
        env=env,
        check=False,
    ).returncode  # fmt: skip
    return code, time.perf_counter() - started


def test_outcomes() -> tuple[int, int, list[str], list[str]]:
    """(passed, total, failed test ids, skipped test ids with reasons) from the JUnit file."""
    if not JUNIT.is_file():
        return 0, 0, [], []
    failed, skipped, total = [], [], 0
    for case in ET.parse(JUNIT).getroot().iter("testcase"):
        total += 1
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif (skip := case.find("skipped")) is not None:
            skipped.append(f"{name} ({skip.get('message', '')})")
    return total - len(failed) - len(skipped), total, failed, skipped


def load_category(category: str) -> dict[str, dict[str, dict]]:
    path = REPORT_DIR / f"{category}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def total(entries: list[dict], key: str) -> str:
    values = [e[key] for e in entries if e.get(key) is not None]
    return str(sum(values)) if values else "—"


def render(exit_code: int | None, seconds: float | None) -> str:
    passed, count, failed, skipped = test_outcomes()
    lines = [
        "# Reliability figures",
        "",
        "Written by `benchmarks/reliability_report.py` from the counts the reliability tests",
        "report while they run (`test-artifacts/reliability/<category>.json`); no figure is",
        "typed by hand. What each test does: docs/reliability.md. Reproduce all of it with:",
        "",
        "    .venv/bin/python benchmarks/reliability_report.py",
        "",
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}"
        f" ({platform.machine()}, Python {platform.python_version()}); "
        f"{passed} of {count} tests passed"
        + (f" in {seconds:.0f} s" if seconds is not None else "")
        + (f", pytest exit code {exit_code}" if exit_code not in (None, 0) else "")
        + ".",
        "",
        "A dash means the count does not apply to that check (a fault test that writes no",
        "record has no 'lost' figure).",
        "",
    ]
    grand = {key: 0 for key, _ in COLUMNS}
    for category, title in CATEGORIES.items():
        data = load_category(category)
        lines += [f"## {title}", ""]
        if not data:
            lines += ["Not run (no counts reported).", ""]
            continue
        header = "| check | " + " | ".join(label for _, label in COLUMNS) + " | reproduce |"
        lines += [header, "|" + "---|" * (len(COLUMNS) + 2)]
        notes = []
        for check in sorted(data):
            entries = list(data[check].values())
            cells = [total(entries, key) for key, _ in COLUMNS]
            for (key, _), cell in zip(COLUMNS, cells, strict=True):
                if cell != "—":
                    grand[key] += int(cell)
            command = entries[0]["command"]
            lines.append(f"| {check} | " + " | ".join(cells) + f" | `{command}` |")
            note = "; ".join(sorted({e["note"] for e in entries if e.get("note")}))
            if note:
                notes.append(f"- {check}: {note}")
        sums = [total([e for c in data.values() for e in c.values()], k) for k, _ in COLUMNS]
        lines.append("| **all** | " + " | ".join(f"**{s}**" for s in sums) + " | |")
        lines += ["", *notes, ""]
    lines += [
        "## Totals",
        "",
        f"- tried: {grand['tried']}",
        f"- records lost or corrupted: {grand['lost']} (goal 0)",
        f"- tracebacks or unclear errors: {grand['tracebacks']} (goal 0)",
        f"- payloads executed / rules broken: {grand['executed']} (goal 0)",
        "",
    ]
    if failed:
        lines += ["## Failed tests", "", *[f"- {name}" for name in failed], ""]
    if skipped:
        lines += ["## Skipped tests", "", *[f"- {name}" for name in skipped], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="rewrite from the existing JSON")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    code, seconds = (None, None) if args.no_run else run_tests()
    args.out.write_text(render(code, seconds), encoding="utf-8")
    print(f"wrote {args.out}")
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
