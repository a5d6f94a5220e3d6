"""Helpers for the site tests: golden fixtures, hostile records, building into temp folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "golden_results"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_MODEL = '"><img src=x onerror=alert(2)>'
HOSTILE_CONFIG = "</script><script>alert(3)</script>"


def copy_golden(target: Path) -> Path:
    """A writable copy of the golden results."""
    shutil.copytree(GOLDEN, target)
    return target


def first_record(results: Path, pattern: str = "performance/nvidia-h100-80gb-hbm3/*/chat/*/*.json"):
    """The first record file matching `pattern` (sorted)."""
    return sorted(results.glob(pattern))[0]


def add_hostile_record(results: Path) -> Path:
    """Add a valid performance record whose names and config try to inject HTML/JS."""
    source = first_record(results)
    data = json.loads(source.read_text())
    data["run_id"] = "20261130T000000Z-hostile0"
    data["model"]["display_name"] = HOSTILE_NAME
    data["identity"]["model_name"] = HOSTILE_MODEL
    data["identity"]["model_id"] = "evil/" + HOSTILE_MODEL
    data["config"]["note"] = HOSTILE_CONFIG
    from runner.records.layout import performance_parts

    folder = results.joinpath(*performance_parts(SimpleNamespace(**data["identity"])))
    folder.mkdir(parents=True)
    raw = source.parent / data["raw_data"]["file"]
    shutil.copyfile(raw, folder / raw.name)
    path = folder / f"{data['run_id']}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def break_record(results: Path) -> Path:
    """Corrupt one record (a required field removed); return its path."""
    path = first_record(results)
    data = json.loads(path.read_text())
    del data["summary"]["requests"]
    path.write_text(json.dumps(data))
    return path


def conf_with_task_mapping(target: Path, mappings: dict) -> Path:
    """A copy of `conf/` whose `task_mapping.yaml` maps the given sources' tasks onto ours
    (`{source id: {source task: {same_as, reason}}}`); use it as $LEADERBOARD_CONF."""
    import yaml

    shutil.copytree(REPO / "conf", target)
    (target / "task_mapping.yaml").write_text(yaml.safe_dump({"mappings": mappings}))
    return target


def board_page_data(site: Path, slug: str) -> tuple[str, dict, list[dict], dict, dict]:
    """A built board page as (html, data payload, decoded rows, specs, point views): the payload
    and rows from its data script (`data/boards/<slug>.js`), specs and views from the page."""
    import re

    from leaderboard_site.page_data import decode_rows, read_script

    html = (site / "boards" / f"{slug}.html").read_text(encoding="utf-8")
    name, payload = read_script((site / "data" / "boards" / f"{slug}.js").read_text("utf-8"))
    assert name == f"board:{slug}"

    def block(element_id: str) -> dict:
        match = re.search(
            rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
        )
        assert match, element_id
        return json.loads(match.group(1))

    views = block("lb-views")
    assert views["dataset"] == name
    return html, payload, decode_rows(payload["rows"]), block("lb-specs"), views["views"]
