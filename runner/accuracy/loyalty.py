"""Loyalty of a compressed variant to its base model (pure functions).

Both models answer the same multiple-choice samples. For each sample, each model's choice
distribution is the softmax of its per-choice log-likelihoods (lm-eval's `loglikelihood`
responses, in nats, unnormalised by length).

- label loyalty: the share of samples where the variant's argmax choice equals the base's
  (ties go to the first choice, as `max` does).
- probability loyalty: the mean over samples of 1 - sqrt(JSD(p_base || p_variant)), with the
  Jensen-Shannon divergence in bits (log base 2), so each term and the mean lie in [0, 1]; 1 means
  identical distributions. sqrt(JSD) is the Jensen-Shannon distance, a metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def softmax(logliks: Sequence[float | None]) -> list[float]:
    """Probabilities from log-likelihoods; `None` (a -inf log-likelihood) gets probability 0."""
    values = [-math.inf if value is None else float(value) for value in logliks]
    top = max(values)
    if top == -math.inf:
        raise ValueError("every choice has log-likelihood -inf")
    weights = [math.exp(value - top) for value in values]
    total = sum(weights)
    return [weight / total for weight in weights]


def jsd_bits(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon divergence of two distributions over the same choices, in bits (0..1)."""
    if len(p) != len(q):
        raise ValueError(f"distributions over {len(p)} and {len(q)} choices")
    total = 0.0
    for a, b in zip(p, q, strict=True):
        m = (a + b) / 2
        if a > 0:
            total += 0.5 * a * math.log2(a / m)
        if b > 0:
            total += 0.5 * b * math.log2(b / m)
    return min(max(total, 0.0), 1.0)


def argmax(values: Sequence[float | None]) -> int:
    """Index of the largest value (the first on ties); `None` counts as -inf."""
    best = 0
    for index, value in enumerate(values):
        current = -math.inf if value is None else value
        top = values[best]
        if current > (-math.inf if top is None else top):
            best = index
    return best


@dataclass(frozen=True)
class LoyaltyResult:
    """Agreement over `samples` samples: label and probability loyalty, both in [0, 1]."""

    samples: int
    label_loyalty: float
    probability_loyalty: float


def loyalty(
    base: Sequence[Sequence[float | None]], variant: Sequence[Sequence[float | None]]
) -> LoyaltyResult:
    """Loyalty of `variant` to `base`, given per-sample choice log-likelihoods in the same order.

    Raises:
        ValueError: no samples, a different number of samples, or of choices in a sample.
    """
    if not base or len(base) != len(variant):
        raise ValueError(f"{len(base)} base samples and {len(variant)} variant samples")
    agree = 0
    closeness = 0.0
    for base_ll, variant_ll in zip(base, variant, strict=True):
        if len(base_ll) != len(variant_ll):
            raise ValueError(f"a sample with {len(base_ll)} and {len(variant_ll)} choices")
        agree += argmax(base_ll) == argmax(variant_ll)
        closeness += 1.0 - math.sqrt(jsd_bits(softmax(base_ll), softmax(variant_ll)))
    count = len(base)
    return LoyaltyResult(
        samples=count,
        label_loyalty=agree / count,
        probability_loyalty=min(max(closeness / count, 0.0), 1.0),
    )


def loyalty_from_rows(
    base_rows: list[dict[str, Any]], variant_rows: list[dict[str, Any]]
) -> LoyaltyResult | str:
    """Loyalty from two raw sample files (rows with `doc_id`, `prompt_hash`, `choice_logliks`).

    Returns:
        The result, or a one-line reason why the two runs are not comparable.
    """
    base_by_doc = {row["doc_id"]: row for row in base_rows}
    variant_by_doc = {row["doc_id"]: row for row in variant_rows}
    if set(base_by_doc) != set(variant_by_doc):
        return (
            f"the runs scored different documents ({len(base_by_doc)} base, "
            f"{len(variant_by_doc)} variant)"
        )
    doc_ids = sorted(base_by_doc)
    for doc_id in doc_ids:
        if base_by_doc[doc_id].get("prompt_hash") != variant_by_doc[doc_id].get("prompt_hash"):
            return f"document {doc_id} was asked with a different prompt (prompt_hash differs)"
        base_count = len(base_by_doc[doc_id]["choice_logliks"])
        if base_count != len(variant_by_doc[doc_id]["choice_logliks"]):
            return f"document {doc_id} has a different number of choices"
    if not doc_ids:
        return "no samples to compare"
    return loyalty(
        [base_by_doc[doc_id]["choice_logliks"] for doc_id in doc_ids],
        [variant_by_doc[doc_id]["choice_logliks"] for doc_id in doc_ids],
    )
