"""Requests and their outcomes: the `Engine` protocol, phases, SLO checks and accounting."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from runner.config import SLOConfig
from runner.measure.stats import percentile
from runner.records.serving import Accounting, PhaseCount, SLOInfo
from runner.workload.prompts import Prompt

# ------------------------------------------------------------------------------------------------
# Requests and their outcomes (times in seconds from the load generator's start, t = 0)


@dataclass(frozen=True)
class ScheduledRequest:
    """A request of the load: when it is due, with which prompt.

    Attributes:
        index: position in the arrival order (0-based); also its request id.
        scheduled_s: the arrival time the process drew.
        prompt: the task prompt it carries.
        input_ids: the templated, tokenized prompt.
    """

    index: int
    scheduled_s: float
    prompt: Prompt
    input_ids: list[int]

    @property
    def request_id(self) -> str:
        """The id the engine knows the request by."""
        return f"r{self.index}"


@dataclass(frozen=True)
class EngineResult:
    """A request as the engine returned it (absolute `time.perf_counter()` seconds).

    Attributes:
        request_id: the id it was submitted with.
        finished: True when it generated to EOS or the token limit, False when it failed.
        started: when it left the engine's queue (None if unknown).
        token_times: when each generated token was stamped.
        tokens: the generated token ids.
        error: the engine's error message of a failed request.
    """

    request_id: str
    finished: bool
    started: float | None
    token_times: list[float]
    tokens: list[int]
    error: str | None = None


class Engine(Protocol):
    """What the load driver needs from a serving engine."""

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        """Queue one request (returns at once)."""
        ...

    def poll(self, timeout_s: float) -> EngineResult | None:
        """The next finished or failed request, waiting at most `timeout_s`; None if none."""
        ...

    def cancel(self, request_id: str) -> None:
        """Drop a request that is queued or running (no result will be counted for it)."""
        ...

    def alive(self) -> str | None:
        """None while the engine runs; else why it stopped."""
        ...


@dataclass
class Outcome:
    """One dispatched request and what happened to it (times in s from t = 0).

    Attributes:
        status: `finished`, `failed`, `timed_out` (a window request still running
            `drain_timeout_s` after the window) or `cancelled` (a drain request, dropped once
            the window's requests were done).
        started_s: when it left the engine's queue (None if not known).
        token_times_s: when each output token was stamped.
    """

    index: int
    request_id: str
    prompt_id: str
    phase: str
    scheduled_s: float
    arrival_s: float
    prompt_tokens: int
    status: str = "pending"
    started_s: float | None = None
    token_times_s: list[float] = field(default_factory=list)
    output_tokens: int = 0
    error: str | None = None
    text: str = ""
    ended_s: float | None = None

    @property
    def dispatch_lag_s(self) -> float:
        """Actual minus scheduled arrival time."""
        return self.arrival_s - self.scheduled_s

    @property
    def queueing_delay_s(self) -> float | None:
        """Arrival to leaving the engine's queue."""
        return None if self.started_s is None else max(0.0, self.started_s - self.arrival_s)

    @property
    def ttft_s(self) -> float | None:
        """Arrival to the first output token."""
        return self.token_times_s[0] - self.arrival_s if self.token_times_s else None

    @property
    def e2e_latency_s(self) -> float | None:
        """Arrival to the last output token."""
        return self.token_times_s[-1] - self.arrival_s if self.token_times_s else None

    @property
    def itls_s(self) -> list[float]:
        """Gaps between consecutive output tokens."""
        times = self.token_times_s
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    @property
    def itl_p90_s(self) -> float | None:
        """The 90th percentile of this request's inter-token latencies (None under 2 tokens)."""
        gaps = sorted(self.itls_s)
        return percentile(gaps, 90) if gaps else None

    @property
    def last_token_s(self) -> float | None:
        """When its last token was stamped."""
        return self.token_times_s[-1] if self.token_times_s else None


def phase_of(arrival_s: float, warmup_s: float, duration_s: float) -> str:
    """`warmup` before `warmup_s`, `window` inside `[warmup_s, warmup_s + duration_s)`, else
    `drain`."""
    if arrival_s < warmup_s:
        return "warmup"
    if arrival_s < warmup_s + duration_s:
        return "window"
    return "drain"


# ------------------------------------------------------------------------------------------------
# Pure computations over outcomes


def meets_slo(outcome: Outcome, slo: SLOConfig | SLOInfo) -> bool:
    """True when the request finished and meets every target that is set.

    A request with fewer than two tokens has no inter-token latency and meets that target.
    """
    if outcome.status != "finished" or outcome.ttft_s is None:
        return False
    if slo.ttft_s is not None and outcome.ttft_s > slo.ttft_s:
        return False
    itl = outcome.itl_p90_s
    if slo.itl_p90_s is not None and itl is not None and itl > slo.itl_p90_s:
        return False
    e2e = outcome.e2e_latency_s
    return not (slo.e2e_s is not None and e2e is not None and e2e > slo.e2e_s)


def slo_counts(outcomes: Sequence[Outcome], slo: SLOConfig | SLOInfo) -> tuple[int, int]:
    """(requests meeting the SLO, requests) over the window requests of `outcomes`."""
    window = [o for o in outcomes if o.phase == "window"]
    return sum(1 for o in window if meets_slo(o, slo)), len(window)


def accounting(outcomes: Sequence[Outcome], duplicate_results: int = 0) -> Accounting:
    """Every outcome counted once, by phase and status.

    Raises:
        ValueError: an outcome has no final status, or a request index appears twice (a bug:
            the record would count a request twice).
    """
    indexes = [o.index for o in outcomes]
    if len(set(indexes)) != len(indexes):
        raise ValueError("a request appears twice among the outcomes")
    counts: dict[str, dict[str, int]] = {
        phase: dict.fromkeys(("finished", "failed", "timed_out", "cancelled"), 0)
        for phase in ("warmup", "window", "drain")
    }
    for outcome in outcomes:
        if outcome.status not in counts[outcome.phase]:
            raise ValueError(f"request {outcome.request_id} has no final status")
        counts[outcome.phase][outcome.status] += 1

    def phase_count(phase: str) -> PhaseCount:
        c = counts[phase]
        return PhaseCount(
            dispatched=sum(c.values()),
            finished=c["finished"],
            failed=c["failed"],
            timed_out=c["timed_out"] + c["cancelled"],
        )

    return Accounting(
        warmup=phase_count("warmup"),
        window=phase_count("window"),
        drain=phase_count("drain"),
        duplicate_results=duplicate_results,
    )
