"""Joining accuracy records onto performance rows (pure functions).

Rules: a performance row gets the accuracy records of the same model id and the same revision;
a score from another revision is never joined. Where several records exist for one eval task,
the one over the most documents wins (a full run beats a `limit` run), then the newest run id.
A missing score stays missing (None), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from runner.accuracy_record import AccuracyRecord


def best_accuracy_by_task(
    model_id: str, revision: str, records: Iterable[AccuracyRecord]
) -> dict[str, AccuracyRecord]:
    """For one model revision: eval task -> the accuracy record to show."""
    chosen: dict[str, AccuracyRecord] = {}
    for record in records:
        identity = record.identity
        if identity.model_id != model_id or identity.model_revision != revision:
            continue
        current = chosen.get(identity.eval_task)
        if current is None or (record.samples, record.run_id) > (current.samples, current.run_id):
            chosen[identity.eval_task] = record
    return chosen


def accuracy_scores(
    model_id: str, revision: str, eval_tasks: Iterable[str], records: Iterable[AccuracyRecord]
) -> dict[str, float | None]:
    """eval task -> score for the tasks asked for; None where no record matches."""
    chosen = best_accuracy_by_task(model_id, revision, records)
    return {task: (chosen[task].score if task in chosen else None) for task in eval_tasks}


def accuracy_average(scores: dict[str, float | None]) -> float | None:
    """Mean of the scores, or None if any is missing (an average over fewer tasks misleads)."""
    values = list(scores.values())
    if not values or any(value is None for value in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]
