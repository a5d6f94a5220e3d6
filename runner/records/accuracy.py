"""The accuracy record: one lm-eval task score of one model revision, hardware-independent.

Accuracy does not depend on the GPU, so it is measured once per key
(model id, revision, eval task, shots, limit) and joined onto every performance row of that model
revision at aggregation time. Per-sample choice log-probabilities go beside the record (JSONL) so
that a compressed variant can be compared with its base model (loyalty).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from runner.records.performance import Provenance, RawData, Strict

ACCURACY_SCHEMA_VERSION = 1


class AccuracyIdentity(Strict):
    """The key of an accuracy record; an existing record with the same key means 'skip'."""

    model_name: str
    model_id: str
    model_revision: str
    eval_task: str = Field(description="lm-eval task name, e.g. 'arc_challenge'")
    num_fewshot: int = Field(ge=0)
    limit: int | None = Field(description="documents evaluated at most; null = the whole task")


class EvalCost(Strict):
    """What the evaluation itself cost (energy is null with a reason where unmetered)."""

    energy_source: Literal["zeus-nvml", "zeus-rapl", "unavailable", "fake"]
    energy_reason: str | None
    energy_j: float | None
    duration_s: float = Field(ge=0)
    hardware_slug: str


class Loyalty(Strict):
    """Agreement of a variant with its base model on the same eval samples.

    label_loyalty: share of samples whose argmax choice agrees (0..1).
    probability_loyalty: mean over samples of 1 - sqrt(JSD(p_base || p_variant)), with the
        Jensen-Shannon divergence in bits, so it lies in 0..1.
    """

    base_model_name: str
    base_run_id: str
    samples: int = Field(ge=1)
    label_loyalty: float = Field(ge=0, le=1)
    probability_loyalty: float = Field(ge=0, le=1)


class AccuracyRecord(Strict):
    """One eval task's score for one model revision. Written once, never replaced."""

    schema_version: Literal[1]
    kind: Literal["accuracy"]
    run_id: str
    identity: AccuracyIdentity
    metric: str = Field(description="lm-eval metric name, e.g. 'acc_norm' or 'acc'")
    score: float = Field(ge=0, le=1)
    stderr: float | None
    samples: int = Field(ge=1, description="documents evaluated")
    lm_eval_version: str
    task_version: str | None
    random_weights: bool = Field(description="the model's weights are random: score means nothing")
    cost: EvalCost
    loyalty: Loyalty | None
    raw_data: RawData
    provenance: Provenance
    config: dict[str, Any]
