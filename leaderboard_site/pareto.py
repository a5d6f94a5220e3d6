"""Pareto fronts over two metrics, each with a stated direction (lower or higher is better)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Literal

Direction = Literal["lower", "higher"]


def _usable(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def dominates(
    a: tuple[float, float], b: tuple[float, float], x_better: Direction, y_better: Direction
) -> bool:
    """True when `a` is at least as good as `b` on both metrics and strictly better on one."""
    sign_x = 1 if x_better == "lower" else -1
    sign_y = 1 if y_better == "lower" else -1
    ax, ay = sign_x * a[0], sign_y * a[1]
    bx, by = sign_x * b[0], sign_y * b[1]
    return ax <= bx and ay <= by and (ax < bx or ay < by)


def pareto_front(
    points: Iterable[tuple[Hashable, float | None, float | None]],
    x_better: Direction,
    y_better: Direction,
) -> set[Hashable]:
    """Keys of the points no other point dominates.

    Points with a missing or non-finite value are left out (they are neither on nor off the
    front). Exact ties are all kept. One usable point is its own front.
    """
    sign_x = 1 if x_better == "lower" else -1
    sign_y = 1 if y_better == "lower" else -1
    # In signed coordinates lower is better on both axes. Sorted by (x, y), a point is dominated
    # exactly when an earlier point has a lower y, or the same y at a lower x.
    usable = sorted(
        (sign_x * float(x), sign_y * float(y), index, key)
        for index, (key, x, y) in enumerate(points)
        if _usable(x) and _usable(y)
    )
    front: set[Hashable] = set()
    best_y = math.inf
    best_x = math.inf
    for x, y, _, key in usable:
        if y < best_y:
            best_y, best_x = y, x
            front.add(key)
        elif y == best_y and x == best_x:
            front.add(key)
    return front
