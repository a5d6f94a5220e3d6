"""One look per model across the whole site, and the chart conventions every chart shares.

Every model gets a (colour, shape) pair, assigned once per build from the sorted model names, so
a model looks the same in every chart of every page. Colour cycles through 10 colours and
shape through 7 shapes at the same time, so the first 70 models all get distinct pairs, and two
models next to each other in the order always differ in both. Front and dominated points differ
by fill (filled on the Pareto front, hollow with a light tint when dominated), not by shape.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any

# d3's category10: ten colours, each at least 2.4:1 against white.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
# Vega symbol shapes (also drawn by the HTML legends: see partials/legend.html).
SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle-up",
    "diamond",
    "triangle-down",
    "cross",
    "triangle-right",
)
DISTINCT_STYLES = 70  # lcm(len(PALETTE), len(SHAPES))
# Line dashes that tell backends apart on a sweep (solid first: most boards have one backend).
DASHES: tuple[tuple[int, ...], ...] = ((1, 0), (6, 3), (2, 2), (8, 3, 2, 3), (1, 4))

# Axis labels: SI prefixes from 1000 up (1k, 2.5k, 1M), plain numbers below (200, 0.05).
SI_LABELS = "abs(datum.value) >= 1000 ? format(datum.value, '.3~s') : format(datum.value, '.3~g')"
# Fill opacity of a dominated point: it looks hollow but its whole area answers the mouse.
DOMINATED_FILL_OPACITY = 0.12
FADED_OPACITY = 0.15
# The signal every chart reads to highlight one model (set by hovering a mark or a legend).
HIGHLIGHT = "hl"


def model_styles(model_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """model name -> {"color", "shape", "index"}, stable for a given set of names."""
    styles = {}
    for index, name in enumerate(sorted(set(model_names))):
        styles[name] = {
            "color": PALETTE[index % len(PALETTE)],
            "shape": SHAPES[index % len(SHAPES)],
            "index": index,
        }
    return styles


# On a log axis only the powers of ten are labelled (the other ticks stay, unlabelled).
LOG_SI_LABELS = (
    "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? ("
    + SI_LABELS
    + ") : ''"
)


def axis(title: str, *, log: bool = False) -> dict[str, Any]:
    """A Vega-Lite axis with a title (unit included) and SI tick labels."""
    return {"title": title, "labelExpr": LOG_SI_LABELS if log else SI_LABELS, "labelOverlap": True}


def highlight_opacity() -> dict[str, Any]:
    """Opacity encoding: every model at full strength unless one is highlighted."""
    return {
        "condition": {
            "test": f"{HIGHLIGHT} == null || datum.model_name == {HIGHLIGHT}",
            "value": 1,
        },
        "value": FADED_OPACITY,
    }


def backend_dashes(count: int) -> list[list[int]]:
    """The dash patterns of `count` backends, in order (solid, dashed, dotted, ...)."""
    return [list(DASHES[index % len(DASHES)]) for index in range(count)]


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key reading numbers as numbers: 'Llama 0.2M' < 'Llama 2M' < 'Llama 20M'."""
    parts = _NUMBER.split(text.casefold())
    return tuple((0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(parts))


def responsive(spec: dict[str, Any], height: int = 260) -> dict[str, Any]:
    """Make a Vega-Lite spec as wide as its box (and never wider), `height` px tall."""
    spec["width"] = "container"
    spec["height"] = height
    spec["autosize"] = {"type": "fit-x", "contains": "padding", "resize": True}
    return spec


TITLE_WIDTH = 40  # characters per title line: a title fits a 390 px phone


def wrap_title(title: str) -> list[str] | str:
    """A chart title as lines short enough for a phone (Vega draws a list as lines)."""
    lines = textwrap.wrap(title, TITLE_WIDTH)
    return lines if len(lines) > 1 else title
