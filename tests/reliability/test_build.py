"""`leaderboard build` over a results tree full of bad files: each named in exactly one line.

The tree is the golden fixtures plus truncated records (performance and accuracy), a non-JSON
file, a record of an unknown schema version, a duplicated record, foreign files (not .json, and
JSON that is not a record) and a record whose raw data was changed after the fact. Without
`--skip-invalid` the build fails and writes nothing; with it, the site lists every one.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runner.cli import main
from tests.support.reliability_support import pytest_command, report
from tests.support.site_support import copy_golden, first_record

BUNDLE = "/* vega bundle stand-in */"
COMMAND = pytest_command("tests/reliability/test_build.py")


def plant_bad_files(results: Path) -> dict[str, Path]:
    """Kind -> the bad file planted under `results` (every one of them invalid)."""
    record = first_record(results)
    folder = record.parent
    text = record.read_text()
    data = json.loads(text)
    tampered = sorted((results / "performance").rglob("*.json"))[-1]
    assert tampered != record
    bad: dict[str, Path] = {}

    bad["truncated"] = folder / "20261201T000000Z-trunc000.json"
    bad["truncated"].write_text(text[: len(text) // 2])

    accuracy = sorted((results / "accuracy").rglob("*.json"))[0]
    bad["truncated accuracy"] = accuracy.parent / "20261201T000000Z-trunc001.json"
    bad["truncated accuracy"].write_text(accuracy.read_text()[:200])

    bad["non-JSON"] = folder / "20261201T000000Z-notjson0.json"
    bad["non-JSON"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary, not a record")

    future = dict(data, schema_version=99, run_id="20261201T000000Z-future00")
    bad["schema version"] = folder / "20261201T000000Z-future00.json"
    bad["schema version"].write_text(json.dumps(future))

    bad["duplicate"] = folder / f"{record.stem}~copy.json"  # sorts after the original
    shutil.copyfile(record, bad["duplicate"])

    bad["foreign (not .json)"] = folder / "notes.txt"
    bad["foreign (not .json)"].write_text("a stray file\n")

    bad["foreign JSON"] = results / "performance" / "package.json"
    bad["foreign JSON"].write_text('{"name": "not-a-record", "version": "1.0.0"}\n')

    # A valid record whose raw data was edited afterwards (its sha256 no longer matches).
    raw = tampered.parent / json.loads(tampered.read_text())["raw_data"]["file"]
    raw.write_bytes(raw.read_bytes().replace(b"1", b"2", 1))
    bad["changed raw data"] = raw
    return bad


def lines_naming(lines: list[str], path: Path) -> list[str]:
    """The lines whose subject is `path` (the path right after the line's prefix)."""
    return [line for line in lines if re.search(rf"(^|: ){re.escape(str(path))}: ", line)]


class SkippedList(HTMLParser):
    """The text of each `<li>` of the index page's `#skipped` section."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.depth = 0
        self.items: list[str] = []
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("id", "skipped") in attrs:
            self.inside, self.depth = True, 0
        elif self.inside and tag == "section":
            self.depth += 1
        if self.inside and tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if self.inside and tag == "li" and self._item is not None:
            self.items.append("".join(self._item))
            self._item = None
        if self.inside and tag == "section":
            if self.depth == 0:
                self.inside = False
            else:
                self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self._item is not None:
            self._item.append(data)


@pytest.fixture
def bad_tree(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    results = copy_golden(tmp_path / "results")
    return results, plant_bad_files(results)


def test_build_names_every_bad_file_once_and_lists_them_with_skip_invalid(
    bad_tree, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leaderboard_site.build.vega_bundle", lambda: BUNDLE)
    results, bad = bad_tree
    golden_files = {
        p: p.read_bytes() for p in results.rglob("*") if p.is_file() and p not in bad.values()
    }
    out = tmp_path / "_site"
    tracebacks = 0
    unnamed: list[str] = []

    # Default and --strict: the build fails, names each bad file in one line, writes nothing.
    for flags in ([], ["--strict"]):
        code = main(["build", "--results", str(results), "--out", str(out), *flags])
        err = capsys.readouterr().err
        tracebacks += "Traceback" in err
        lines = err.strip().splitlines()
        assert code == 1, err
        assert all(line.startswith("error: ") for line in lines), err
        for kind, path in bad.items():
            if len(lines_naming(lines, path)) != 1:
                unnamed.append(f"{flags}: {kind}")
        assert len(lines) == len(bad), err
        assert not out.exists()

    # --skip-invalid: built; every bad file named once on stderr and once on the index page.
    code = main(["build", "--results", str(results), "--out", str(out), "--skip-invalid"])
    captured = capsys.readouterr()
    tracebacks += "Traceback" in captured.err
    assert code == 0, captured.err
    skipped_lines = [line for line in captured.err.splitlines() if line.startswith("skipped: ")]
    parser = SkippedList()
    parser.feed((out / "index.html").read_text())
    for kind, path in bad.items():
        if len(lines_naming(skipped_lines, path)) != 1:
            unnamed.append(f"--skip-invalid stderr: {kind}")
        if len(lines_naming(parser.items, path)) != 1:
            unnamed.append(f"--skip-invalid site: {kind}")
    assert len(parser.items) == len(bad)
    # The bad files never reach the published records; the good ones do, byte-identical.
    published = out / "data" / "records"
    for path in bad.values():
        if path.suffix == ".json":
            assert not (published / path.relative_to(results)).exists()
    changed = [p for p, data in golden_files.items() if p.read_bytes() != data]

    # --strict --skip-invalid: refused, each skipped file named in one line.
    code = main(
        ["build", "--results", str(results), "--out", str(tmp_path / "s2"), "--strict",
         "--skip-invalid"]
    )  # fmt: skip
    err = capsys.readouterr().err
    tracebacks += "Traceback" in err
    assert code == 1
    for kind, path in bad.items():
        if len(lines_naming(err.splitlines(), path)) != 1:
            unnamed.append(f"--strict --skip-invalid: {kind}")

    report(
        "faults",
        "build over a tree of bad files",
        tried=len(bad) * 4,
        lost=len(changed),
        tracebacks=tracebacks + len(unnamed),
        command=COMMAND,
        note=f"{', '.join(bad)}; each x default, --strict, --skip-invalid, both",
    )
    assert unnamed == []
    assert tracebacks == 0
    assert changed == []


def test_validate_names_every_bad_file_once(bad_tree, capsys: pytest.CaptureFixture[str]) -> None:
    results, bad = bad_tree
    assert main(["validate", "--results", str(results)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    problems = [line for line in err if not line.startswith(("validate:", "warning:"))]
    missing = [kind for kind, path in bad.items() if len(lines_naming(problems, path)) != 1]
    report(
        "faults",
        "validate over a tree of bad files",
        tried=len(bad),
        tracebacks=len(missing) + sum("Traceback" in line for line in err),
        command=COMMAND,
        note="the same tree; one line per bad file",
    )
    assert missing == []
    assert len(problems) == len(bad)
