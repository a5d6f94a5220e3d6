"""Loyalty metrics on hand-computed examples (pure functions, no model)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.accuracy.loyalty import argmax, jsd_bits, loyalty, loyalty_from_rows, softmax


def test_identical_model_has_both_loyalties_one() -> None:
    samples = [[-1.0, -2.0, -3.0], [-0.5, -0.1], [-7.0, -7.5, -2.0, -9.0]]
    result = loyalty(samples, [list(s) for s in samples])
    assert result.samples == 3
    assert result.label_loyalty == 1.0
    assert result.probability_loyalty == pytest.approx(1.0, abs=1e-6)


def test_known_disagreement_exact_values() -> None:
    # Sample 1: identical. Sample 2: base softmax (0.75, 0.25), variant (0.25, 0.75):
    # logliks (ln 3, 0) and (0, ln 3). The argmax choices differ (0 vs 1).
    base = [[-1.0, -2.0], [math.log(3), 0.0]]
    variant = [[-1.0, -2.0], [0.0, math.log(3)]]
    # By hand: M = (0.5, 0.5); KL(P||M) = KL(Q||M) = 0.75 log2(1.5) + 0.25 log2(0.5), so
    # JSD = 0.75 * log2(1.5) - 0.25 = 0.188722... bits; 1 - sqrt(JSD) = 0.565578...
    jsd = 0.75 * math.log2(1.5) + 0.25 * math.log2(0.5)
    assert jsd == pytest.approx(0.18872187554086717)
    expected_probability = (1.0 + (1.0 - math.sqrt(jsd))) / 2
    result = loyalty(base, variant)
    assert result.label_loyalty == 0.5
    assert result.probability_loyalty == pytest.approx(expected_probability, rel=1e-12)
    assert result.probability_loyalty == pytest.approx(0.7827889, abs=1e-6)


def test_jsd_of_disjoint_distributions_is_one_bit() -> None:
    assert jsd_bits([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # A -inf log-likelihood (stored as None) is probability 0.
    assert softmax([None, 0.0]) == [0.0, 1.0]
    result = loyalty([[0.0, None]], [[None, 0.0]])
    assert (result.label_loyalty, result.probability_loyalty) == (0.0, 0.0)


def test_softmax_and_argmax() -> None:
    assert softmax([math.log(1), math.log(3)]) == pytest.approx([0.25, 0.75])
    assert argmax([-1.0, -1.0, -3.0]) == 0  # ties go to the first choice
    assert argmax([None, -5.0]) == 1


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        loyalty([], [])
    with pytest.raises(ValueError):
        loyalty([[0.0, 1.0]], [[0.0, 1.0, 2.0]])


def _row(doc_id: int, logliks: list[float], prompt_hash: str = "h") -> dict:
    return {"doc_id": doc_id, "prompt_hash": f"{prompt_hash}{doc_id}", "choice_logliks": logliks}


def test_rows_are_matched_by_doc_id_not_order() -> None:
    base = [_row(0, [0.0, -1.0]), _row(1, [-1.0, 0.0])]
    variant = [_row(1, [-1.0, 0.0]), _row(0, [0.0, -1.0])]
    result = loyalty_from_rows(base, variant)
    assert not isinstance(result, str)
    assert result.label_loyalty == 1.0


def test_rows_of_different_samples_give_a_reason() -> None:
    base = [_row(0, [0.0, -1.0]), _row(1, [-1.0, 0.0])]
    assert "different documents" in loyalty_from_rows(base, base[:1])  # type: ignore[operator]
    other_prompt = [_row(0, [0.0, -1.0], "x"), _row(1, [-1.0, 0.0], "x")]
    assert "prompt_hash" in loyalty_from_rows(base, other_prompt)  # type: ignore[operator]


logliks = st.lists(st.floats(-50, 0), min_size=2, max_size=4)


@given(st.lists(st.tuples(logliks, logliks), min_size=1, max_size=8))
def test_loyalties_lie_in_unit_interval(pairs: list[tuple[list[float], list[float]]]) -> None:
    base = [a for a, b in pairs if len(a) == len(b)] or [[0.0, 0.0]]
    variant = [b for a, b in pairs if len(a) == len(b)] or [[0.0, 0.0]]
    result = loyalty(base, variant)
    assert 0.0 <= result.label_loyalty <= 1.0
    assert 0.0 <= result.probability_loyalty <= 1.0
