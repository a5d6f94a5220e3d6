"""Jinja2 rendering of the site's pages (autoescape on everywhere, undefined names are errors)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from leaderboard_site.site_data import slugify

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
TEMPLATES_DIR = SITE_DIR / "templates"
STATIC_DIR = SITE_DIR / "static"
NOT_MEASURED = "not measured"


def format_number(value: Any, digits: int = 3) -> str:
    """`value` with `digits` significant digits; "not measured" for None or non-finite."""
    if value is None or isinstance(value, bool):
        return NOT_MEASURED if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float) or not math.isfinite(value):
        return NOT_MEASURED if isinstance(value, float) else str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]00:?00)?$"
)


def readable_time(value: Any, seconds: bool = False) -> str:
    """An ISO timestamp as people read it: '2026-11-28 07:40 UTC' (seconds with `seconds`);
    anything else (None: "—") as text. Timestamps without a zone are shown without one."""
    if value is None:
        return "—"
    match = _TIMESTAMP.match(str(value))
    if not match:
        return str(value)
    day, minute, second, zone = match.groups()
    text = f"{day} {minute}" + (f":{second or '00'}" if seconds else "")
    return text + (" UTC" if zone else "")


def fact_text(value: Any) -> str:
    """A config or provenance value in words: yes/no, "—" for null, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(fact_text(v) for v in value) if value else "—"
    if isinstance(value, float):
        return format_number(value, 6)
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return readable_time(value, seconds=True)
    return str(value)


def facts(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """A nested dict as (dotted key, readable value) rows, in key order."""
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(facts(value, f"{name}."))
        else:
            rows.append((name, fact_text(value)))
    return rows


def make_environment(templates: Path = TEMPLATES_DIR) -> Environment:
    """The Jinja2 environment: HTML autoescape on for every template, strict undefined."""
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["yesno"] = fact_text
    env.filters["slug"] = slugify
    env.filters["when"] = readable_time
    env.globals["NOT_MEASURED"] = NOT_MEASURED
    return env


def render_page(env: Environment, template: str, root: str, **context: Any) -> str:
    """Render `template`; `root` is the relative prefix from the page to the site root."""
    return env.get_template(template).render(root=root, **context)
