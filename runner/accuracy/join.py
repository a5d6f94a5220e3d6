"""Joining accuracy records onto performance rows (pure functions).

Rules: a performance row gets the accuracy records of the same model id and the same revision;
a score from another revision is never joined. Where several records exist for one eval task,
the one over the most documents wins (a full run beats a `limit` run), then the newest run id.
A missing score stays missing (None), never 0. Where `shots` is given (eval task -> number of
few-shot examples, e.g. the standard suite's 25 / 10 / 0), only records with those shots count,
so a 0-shot ARC run is never shown in a 25-shot column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runner.records.accuracy import AccuracyRecord


def best_accuracy_by_task(
    model_id: str,
    revision: str,
    records: Iterable[AccuracyRecord],
    *,
    shots: Mapping[str, int] | None = None,
) -> dict[str, AccuracyRecord]:
    """For one model revision: eval task -> the accuracy record to show.

    Args:
        shots: if given, eval task -> the only `num_fewshot` accepted for it.
    """
    chosen: dict[str, AccuracyRecord] = {}
    for record in records:
        identity = record.identity
        if identity.model_id != model_id or identity.model_revision != revision:
            continue
        if shots is not None and shots.get(identity.eval_task, identity.num_fewshot) != (
            identity.num_fewshot
        ):
            continue
        current = chosen.get(identity.eval_task)
        if current is None or (record.samples, record.run_id) > (current.samples, current.run_id):
            chosen[identity.eval_task] = record
    return chosen


def accuracy_scores(
    model_id: str,
    revision: str,
    eval_tasks: Iterable[str],
    records: Iterable[AccuracyRecord],
    *,
    shots: Mapping[str, int] | None = None,
) -> dict[str, float | None]:
    """eval task -> score for the tasks asked for; None where no record matches."""
    return scores_of(best_accuracy_by_task(model_id, revision, records, shots=shots), eval_tasks)


def scores_of(
    chosen: Mapping[str, AccuracyRecord], eval_tasks: Iterable[str]
) -> dict[str, float | None]:
    """eval task -> the chosen record's score; None where no record was chosen (never 0)."""
    return {task: (chosen[task].score if task in chosen else None) for task in eval_tasks}


def accuracy_average(scores: dict[str, float | None]) -> float | None:
    """Mean of the scores, or None if any is missing (an average over fewer tasks misleads)."""
    values = list(scores.values())
    if not values or any(value is None for value in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]
