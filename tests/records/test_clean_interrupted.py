"""`leaderboard clean-interrupted`: removes what interrupted runs left, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from runner.cli import main
from runner.records.load import remove_leftovers, scan_results
from tests.support.site_support import copy_golden, first_record


def old_style_tree(root: Path) -> tuple[Path, list[Path]]:
    """Golden records plus what an older version's killed runs left: (results, leftovers)."""
    results = copy_golden(root / "results")
    folder = first_record(results).parent
    accuracy_folder = next((results / "accuracy").rglob("*.json")).parent
    leftovers = [
        folder / "20260101T000000Z-killed01.requests.jsonl",  # killed before its record
        accuracy_folder / "20260101T000000Z-killed02.samples.jsonl",
        folder / ".20260101T000000Z-killed03.json.1234abcd.partial",  # a named temp file
    ]
    for path in leftovers:
        path.write_text('{"row": 0}\n')
    return results, leftovers


def snapshot(results: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}


def test_dry_run_lists_and_keeps(tmp_path: Path, capsys) -> None:
    results, leftovers = old_style_tree(tmp_path)
    before = snapshot(results)
    assert main(["clean-interrupted", "--results", str(results), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert all(f"would remove: {path}" in out for path in leftovers)
    assert out.strip().splitlines()[-1].startswith("clean-interrupted: would remove 3 ")
    assert snapshot(results) == before


def test_removes_only_leftovers_then_strict_build_and_validate_are_clean(
    tmp_path: Path, capsys
) -> None:
    results, leftovers = old_style_tree(tmp_path)
    before = snapshot(results)
    assert main(["clean-interrupted", "--results", str(results)]) == 0
    assert "clean-interrupted: removed 3 leftover file(s)" in capsys.readouterr().out
    after = snapshot(results)
    assert set(before) - set(after) == set(leftovers)
    assert all(after[path] == data for path, data in before.items() if path in after)
    scan = scan_results(results)
    assert scan.leftovers == [] and scan.problems == [] and scan.warnings == []
    assert main(["validate", "--results", str(results)]) == 0
    assert "note:" not in capsys.readouterr().err
    out = tmp_path / "_site"
    assert main(["build", "--results", str(results), "--out", str(out), "--strict"]) == 0
    # A second clean finds nothing.
    assert remove_leftovers(results) == []


def test_raw_data_beside_any_record_file_is_kept(tmp_path: Path) -> None:
    """Even a record this code cannot read (a newer schema) keeps its raw data."""
    results = copy_golden(tmp_path / "results")
    path = first_record(results)
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    newer = path.parent / "20990101T000000Z-newer000.json"
    newer.write_text(json.dumps(data))
    raw = path.parent / "20990101T000000Z-newer000.requests.jsonl"
    raw.write_text('{"row": 0}\n')
    assert remove_leftovers(results) == []
    assert raw.is_file() and newer.is_file()
    assert scan_results(results).leftovers == []


def test_missing_results_folder_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["clean-interrupted", "--results", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "results folder not found" in err[0]
