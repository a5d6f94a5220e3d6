"""Join rules of accuracy onto performance rows: same model id + revision only; missing is None."""

from __future__ import annotations

import pytest

from runner.accuracy.join import accuracy_average, accuracy_scores, best_accuracy_by_task
from runner.records.accuracy import AccuracyIdentity, AccuracyRecord, EvalCost
from runner.records.performance import Provenance, RawData


def make_record(
    *,
    task: str = "arc_challenge",
    score: float = 0.5,
    revision: str = "rev1",
    model_id: str = "org/model",
    samples: int = 100,
    limit: int | None = None,
    shots: int = 25,
    run_id: str = "20260101T000000Z-00000000",
) -> AccuracyRecord:
    """A valid accuracy record with the given key and score (no files)."""
    return AccuracyRecord(
        schema_version=1,
        kind="accuracy",
        run_id=run_id,
        identity=AccuracyIdentity(
            model_name="org__model",
            model_id=model_id,
            model_revision=revision,
            eval_task=task,
            num_fewshot=shots,
            limit=limit,
        ),
        metric="acc_norm",
        score=score,
        stderr=0.01,
        samples=samples,
        lm_eval_version="0.4.13",
        task_version="1.0",
        random_weights=False,
        cost=EvalCost(
            energy_source="unavailable",
            energy_reason="test",
            energy_j=None,
            duration_s=1.0,
            hardware_slug="cpu-test",
        ),
        loyalty=None,
        raw_data=RawData(file=f"{run_id}.samples.jsonl", sha256="0" * 64, rows=samples),
        provenance=Provenance(
            git_commit=None,
            git_dirty=None,
            library_versions={},
            python="3.11",
            platform="test",
            gpu_name=None,
            gpu_driver=None,
            cuda_version=None,
            cpu="test",
            device="cpu",
            started_utc="2026-01-01T00:00:00.000000Z",
            ended_utc="2026-01-01T00:00:01.000000Z",
            seed=0,
            command_line=[],
        ),
        config={},
    )


def test_other_revision_is_never_joined() -> None:
    records = [make_record(revision="old", score=0.9)]
    assert best_accuracy_by_task("org/model", "new", records) == {}
    assert accuracy_scores("org/model", "new", ["arc_challenge"], records) == {
        "arc_challenge": None
    }


def test_other_model_id_is_never_joined() -> None:
    records = [make_record(model_id="org/other", score=0.9)]
    assert accuracy_scores("org/model", "rev1", ["arc_challenge"], records) == {
        "arc_challenge": None
    }


def test_missing_task_stays_none_and_average_is_none() -> None:
    records = [make_record(task="arc_challenge", score=0.4)]
    scores = accuracy_scores("org/model", "rev1", ["arc_challenge", "hellaswag"], records)
    assert scores == {"arc_challenge": 0.4, "hellaswag": None}
    assert accuracy_average(scores) is None
    assert accuracy_average({}) is None


def test_average_of_complete_scores() -> None:
    records = [
        make_record(task="arc_challenge", score=0.4),
        make_record(task="hellaswag", score=0.6),
    ]
    scores = accuracy_scores("org/model", "rev1", ["arc_challenge", "hellaswag"], records)
    assert accuracy_average(scores) == pytest.approx(0.5)


def test_zero_score_is_a_score_not_missing() -> None:
    scores = accuracy_scores("org/model", "rev1", ["arc_challenge"], [make_record(score=0.0)])
    assert scores == {"arc_challenge": 0.0}
    assert accuracy_average(scores) == 0.0


def test_full_run_beats_limited_run_then_newest_wins() -> None:
    limited = make_record(score=0.9, samples=50, limit=50, run_id="20260301T000000Z-aaaaaaaa")
    full = make_record(score=0.3, samples=1172, run_id="20260101T000000Z-bbbbbbbb")
    newer_full = make_record(score=0.31, samples=1172, run_id="20260201T000000Z-cccccccc")
    chosen = best_accuracy_by_task("org/model", "rev1", [limited, full, newer_full])
    assert chosen["arc_challenge"].score == 0.31


def test_shots_filter_keeps_other_shot_counts_out() -> None:
    zero_shot = make_record(score=0.8, shots=0, samples=2000, run_id="20260301T000000Z-dddddddd")
    standard = make_record(score=0.35, shots=25, samples=1172)
    records = [zero_shot, standard]
    # Without the filter the larger run wins; with it only 25-shot records count.
    assert accuracy_scores("org/model", "rev1", ["arc_challenge"], records) == {
        "arc_challenge": 0.8
    }
    shots = {"arc_challenge": 25, "hellaswag": 10}
    assert accuracy_scores("org/model", "rev1", ["arc_challenge"], records, shots=shots) == {
        "arc_challenge": 0.35
    }
    assert accuracy_scores("org/model", "rev1", ["arc_challenge"], [zero_shot], shots=shots) == {
        "arc_challenge": None
    }
    # A task the mapping does not name is not filtered.
    other = make_record(task="lb_quick_truth", shots=0, score=0.2)
    assert best_accuracy_by_task("org/model", "rev1", [other], shots=shots)["lb_quick_truth"] == (
        other
    )
