"""What every chart shares: ChartSpec, the shared rows, log axes, whiskers, validated templates.

Every chart is a Vega-Lite spec built from aggregated rows, rendered client-side by vega-embed.
A board's charts carry no data of their own: each reads the page's one dataset, `rows` (the
board's rows, `leaderboard_site.page_data`), through its own filter and calculations, so the page
holds its rows once however many charts draw them (`shared_rows`, `usable_filter`,
`text_calculation`, `whisker_calculations`). Small pages (a model's) inline a `points` dataset in
the spec. The conventions every chart shares (`leaderboard_site.style`):

- as wide as its box and never wider (`width: "container"`); two boxes per row on a wide
  screen, one on a phone (CSS grid);
- one colour and shape per model across the whole site (the build's `styles`), drawn through
  identity scales, so no chart can reassign them; the models' legend is one HTML legend per page,
  and hovering a mark or a legend entry highlights that model in every chart of the page (the
  `hl` signal, set by static/charts.js);
- SI tick labels (200, 1k, 2.5k) and the unit in every axis title;
- on the Pareto charts front points are filled and dominated ones hollow with a light tint, so
  their whole area answers the mouse; whiskers are ±1 standard deviation (over measured batches
  for energy and throughput, over measured requests for latency);
- an axis is logarithmic where its values span decades (`wants_log`), never accuracy;
- every chart comes with a table of its points (the text alternative under it; on a board the
  browser builds it when opened, from `ChartSpec.view`), and says how many points it dropped
  and why. A chart that makes no sense for the data (a sweep with one
  batch size) is replaced by a sentence.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt

from leaderboard_site.columns import Column
from leaderboard_site.render import format_number
from leaderboard_site.site_data import Row
from leaderboard_site.style import FADED_OPACITY as FADED
from leaderboard_site.style import HIGHLIGHT

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
FRONT = "on the Pareto front"
DOMINATED = "dominated"
WHISKERS = "±1 standard deviation"
# What each spread counts (the n in "± stdev (n)").
SPREAD_UNIT = {
    "energy_per_response_j": "batches",
    "energy_per_token_j": "batches",
    "throughput_tok_s": "batches",
    "latency_s": "requests",
    "ttft_s": "requests",
    "tpot_s": "requests",
    "response_tokens": "requests",
}


@dataclass
class ChartSpec:
    """A chart for the page.

    Attributes:
        chart_id: the element id.
        title: the chart's title (also its accessible name).
        spec: the Vega-Lite spec; None when there is nothing to draw.
        points: points drawn; dropped: rows left out, and drop_reason why.
        description: one sentence on what the chart shows (the accessible description).
        note: the sentence shown instead of a chart that makes no sense for the data.
        table: the text alternative: {"columns": [...], "rows": [[...], ...]} of strings.
    """

    chart_id: str
    title: str
    spec: dict[str, Any] | None
    points: int
    dropped: int
    drop_reason: str
    description: str = ""
    note: str = ""
    table: dict[str, list[Any]] = field(default_factory=lambda: {"columns": [], "rows": []})
    # Charts drawn from the page's shared rows: which rows and columns the table of its points
    # holds (the browser builds that table when it is opened; `table` stays empty).
    view: dict[str, Any] | None = None


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _label(columns: dict[str, Column], key: str) -> str:
    return columns[key].title


def _missing_reason(columns: dict[str, Column], keys: Sequence[str], rows: Sequence[Row]) -> str:
    parts = []
    published = measured = False
    for key in keys:
        missing = [row for row in rows if not _usable(row.get(key))]
        if missing:
            parts.append(f"{len(missing)} without {columns[key].label.lower()}")
            published |= any(row.get("source") == "published" for row in missing)
            measured |= any(row.get("source") != "published" for row in missing)
    why = " / ".join(
        word for word, flag in (("not measured", measured), ("not published", published)) if flag
    )
    return ", ".join(parts) + f" ({why})" if parts else ""


def value_text(row: Row, key: str, unit: str = "") -> str:
    """'12.3 ± 0.4 J (n = 8 batches)' where the row has a spread, else '12.3 J'."""
    value = row.get(key)
    if not _usable(value):
        return "not measured"
    text = format_number(float(value), 4)
    sd = row.get(f"{key}_sd")
    suffix = f" {unit}" if unit else ""
    if _usable(sd):
        count = row.get(f"{key}_n")
        text += f" ± {format_number(float(sd), 2)}{suffix} (n = {count} {SPREAD_UNIT[key]})"
    else:
        text += suffix
    return text


def _finish(template: dict[str, Any], values: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a validated template spec with its data inlined as the `points` dataset."""
    spec = copy.deepcopy(template)
    spec["datasets"] = {"points": values}
    return spec


def _validate(spec: dict[str, Any]) -> dict[str, Any]:
    """Check a hand-written Vega-Lite spec (a template, without its data) against Altair's
    schema; return it. Each distinct template is checked once per process (checking is slow)."""
    _check_once(json.dumps(spec, sort_keys=True))
    return spec


@functools.lru_cache(maxsize=256)
def _check_once(text: str) -> None:
    spec = json.loads(text)
    if "layer" in spec:
        alt.LayerChart.from_dict(spec, validate=True)
    else:
        alt.Chart.from_dict(spec, validate=True)


def _identity(field_name: str) -> dict[str, Any]:
    return {"field": field_name, "type": "nominal", "scale": None, "legend": None}


# ----------------------------------------------------------------------------------------------
# Charts over the page's shared rows (a board): the spec names the dataset, the page supplies it.

ROWS = "rows"
# An axis goes logarithmic where its positive values span more than this factor.
LOG_SPAN = 30.0


def wants_log(values: Sequence[Any]) -> bool:
    """Whether an axis over `values` should be logarithmic: every value positive and the
    largest more than `LOG_SPAN` times the smallest (about one and a half decades)."""
    usable = [float(v) for v in values if _usable(v)]
    return bool(usable) and min(usable) > 0 and max(usable) / min(usable) > LOG_SPAN


def usable_filter(keys: Sequence[str], positive: Sequence[str] = (), measured: bool = False) -> str:
    """A Vega expression keeping the rows with a finite number at every key of `keys` (and a
    positive one at those of `positive`: a log axis), measured rows only with `measured`."""
    parts = [f"isValid(datum.{k}) && isFinite(datum.{k})" for k in keys]
    parts += [f"datum.{k} > 0" for k in positive]
    if measured:
        parts.append("datum.source != 'published'")
    return " && ".join(parts)


def text_calculation(key: str) -> dict[str, str]:
    """`<key>_text`: '12.35 ± 0.42 (n = 8 batches)' where the row has a spread, else '12.35'.

    The same text for a row whatever chart computes it, so charts sharing the rows never
    disagree (Vega writes calculated fields onto the shared row objects)."""
    sd, n = f"{key}_sd", f"{key}_n"
    unit = SPREAD_UNIT.get(key)
    spread = (
        f" + (isValid(datum.{sd}) && datum.{sd} > 0 ? ' ± ' + format(datum.{sd}, ',.2~r')"
        f" + ' (n = ' + datum.{n} + ' {unit})' : '')"
        if unit
        else ""
    )
    return {
        "calculate": f"isValid(datum.{key}) ? format(datum.{key}, ',.4~r'){spread} "
        ": 'not measured'",
        "as": f"{key}_text",
    }


def whisker_calculations(key: str, log: bool) -> list[dict[str, str]]:
    """`<key>_lo[_log]` and `<key>_hi`: value ∓ one standard deviation, null without a spread
    (and, on a log axis, without a positive lower end)."""
    sd = f"{key}_sd"
    has = f"isValid(datum.{sd}) && datum.{sd} > 0"
    low_ok = f"{has} && datum.{key} - datum.{sd} > 0" if log else has
    return [
        {
            "calculate": f"{low_ok} ? datum.{key} - datum.{sd} : null",
            "as": f"{key}_lo{'_log' if log else ''}",
        },
        {"calculate": f"{has} ? datum.{key} + datum.{sd} : null", "as": f"{key}_hi"},
    ]


SOURCE_TEXT = {
    "calculate": "datum.source == 'published' ? 'published: ' + datum.citation : 'measured'",
    "as": "source_text",
}
BATCH_CALCULATIONS = (
    {
        "calculate": "isValid(datum.batch_size) ? datum.batch_size : datum.max_num_seqs",
        "as": "batch_order",
    },
    {
        "calculate": "isValid(datum.batch_size) ? 'bs ' + datum.batch_size : "
        "isValid(datum.max_num_seqs) ? 'cap ' + datum.max_num_seqs : ''",
        "as": "batch_label",
    },
)


def shared_rows(template: dict[str, Any]) -> dict[str, Any]:
    """A validated template reading the page's shared `rows` dataset (no data inlined)."""
    return _validate({**template, "data": {"name": ROWS}})


def point_view(
    keys: Sequence[tuple[str, str]],
    *,
    positive: Sequence[str] = (),
    measured: bool = False,
    front: str | None = None,
    match: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the table of a chart's points holds, for the browser to build when it is opened:
    the rows `usable_filter` keeps (and those whose fields equal `match`), as Model,
    Configuration, Backend, then `keys` (column key, header), then Pareto where `front`."""
    columns: list[list[Any]] = [
        ["Model", "model", "text"],
        ["Configuration", "configuration", "text"],
        ["Backend", "backend", "text"],
    ]
    columns += [[header, key, "value", SPREAD_UNIT.get(key)] for key, header in keys]
    if front:
        columns.append(["Pareto", front, "front"])
    return {
        "numbers": [key for key, _ in keys],
        "positive": list(positive),
        "measured": measured,
        "match": match or {},
        "columns": columns,
    }


def highlight_and_fade(fade: str | None = None, faded: float = 0.35) -> dict[str, Any]:
    """Opacity: faint unless the highlighted model (or none is); rows matching the expression
    `fade` (random-weight accuracy) drawn at `faded`."""
    conditions: list[dict[str, Any]] = [
        {"test": f"{HIGHLIGHT} != null && datum.model_name != {HIGHLIGHT}", "value": FADED},
    ]
    if fade:
        conditions.append({"test": fade, "value": faded})
    return {"condition": conditions, "value": 1}
