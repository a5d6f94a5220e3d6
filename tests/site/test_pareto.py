"""leaderboard_site.pareto: fronts over two metrics with stated directions (pure functions)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leaderboard_site.pareto import dominates, pareto_front


def brute_front(points, x_better, y_better):
    """The definition: a usable point no other usable point dominates."""
    usable = [
        (k, x, y)
        for k, x, y in points
        if isinstance(x, int | float) and isinstance(y, int | float)
        and math.isfinite(x) and math.isfinite(y)
    ]  # fmt: skip
    return {
        k
        for k, x, y in usable
        if not any(dominates((ox, oy), (x, y), x_better, y_better) for _, ox, oy in usable)
    }


def test_energy_vs_accuracy_lower_x_higher_y():
    # energy (J, lower is better) vs accuracy (higher is better)
    points = [("a", 10.0, 0.5), ("b", 20.0, 0.6), ("c", 30.0, 0.55), ("d", 5.0, 0.3)]
    assert pareto_front(points, "lower", "higher") == {"a", "b", "d"}


def test_both_lower_is_better():
    # latency vs energy: both lower is better
    points = [("fast", 1.0, 100.0), ("frugal", 3.0, 20.0), ("bad", 3.5, 120.0), ("mid", 2.0, 50.0)]
    assert pareto_front(points, "lower", "lower") == {"fast", "frugal", "mid"}


def test_both_higher_is_better():
    points = [("a", 1, 1), ("b", 2, 2), ("c", 3, 1)]
    assert pareto_front(points, "higher", "higher") == {"b", "c"}


def test_direction_changes_the_front():
    points = [("low", 1.0, 1.0), ("high", 2.0, 2.0)]
    assert pareto_front(points, "lower", "lower") == {"low"}
    assert pareto_front(points, "higher", "higher") == {"high"}
    assert pareto_front(points, "lower", "higher") == {"low", "high"}


def test_dominated_point_is_left_out():
    assert pareto_front([("a", 1, 1), ("b", 2, 2)], "lower", "lower") == {"a"}


def test_exact_ties_are_all_kept():
    points = [("a", 1.0, 2.0), ("b", 1.0, 2.0), ("c", 3.0, 3.0)]
    assert pareto_front(points, "lower", "lower") == {"a", "b"}


def test_tie_on_one_axis_better_on_the_other_dominates():
    # same x, lower y dominates; same y, lower x dominates
    assert pareto_front([("a", 1, 1), ("b", 1, 2)], "lower", "lower") == {"a"}
    assert pareto_front([("a", 1, 1), ("b", 2, 1)], "lower", "lower") == {"a"}
    assert pareto_front([("a", 1, 1), ("b", 1, 2)], "lower", "higher") == {"b"}


def test_missing_and_non_finite_values_are_left_out():
    points = [
        ("ok", 2.0, 2.0),
        ("no-energy", None, 0.1),
        ("no-acc", 0.1, None),
        ("nan", math.nan, 0.0),
        ("inf", 0.0, math.inf),
    ]
    assert pareto_front(points, "lower", "lower") == {"ok"}


def test_only_missing_values_give_an_empty_front():
    assert pareto_front([("a", None, 1.0), ("b", 1.0, None)], "lower", "higher") == set()
    assert pareto_front([], "lower", "higher") == set()


def test_one_point_is_its_own_front():
    assert pareto_front([("only", 3.0, 4.0)], "lower", "higher") == {"only"}


def test_keys_need_not_be_comparable():
    points = [((1, "x"), 1.0, 1.0), (frozenset({2}), 1.0, 1.0), (None, 2.0, 2.0)]
    assert pareto_front(points, "lower", "lower") == {(1, "x"), frozenset({2})}


def test_integers_and_floats_mix():
    assert pareto_front([("i", 1, 2), ("f", 1.0, 2.0)], "lower", "lower") == {"i", "f"}


@pytest.mark.parametrize("x_better", ["lower", "higher"])
@pytest.mark.parametrize("y_better", ["lower", "higher"])
def test_dominates_is_strict(x_better, y_better):
    assert not dominates((1.0, 1.0), (1.0, 1.0), x_better, y_better)


values = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    st.just(math.nan),
)


@given(
    st.lists(st.tuples(values, values), max_size=25),
    st.sampled_from(["lower", "higher"]),
    st.sampled_from(["lower", "higher"]),
)
def test_matches_the_definition(pairs, x_better, y_better):
    points = [(index, x, y) for index, (x, y) in enumerate(pairs)]
    assert pareto_front(points, x_better, y_better) == brute_front(points, x_better, y_better)
