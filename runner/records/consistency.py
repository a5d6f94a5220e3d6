"""Do a record's own figures agree with each other? Throughput, tokens, time and energy.

`leaderboard validate` runs these checks on every performance, published, serving and steady
record and names the record and the fields of each relation that does not hold.

Tolerances (stated, and shown in every message):

- **Measured records**: relative `MEASURED_RTOL` = 1e-6. The runner computes the summary from
  the same sums it stores (throughput = output tokens / measured time, energy per response =
  energy / requests, ...), so a written record agrees to rounding; a larger gap means a field was
  edited or written by something else.
- **Published records**: within a factor of `PUBLISHED_FACTOR` = 2. A source's columns are its
  own summaries, usually means of per-request ratios (mean throughput is not mean tokens / mean
  latency): for the reference leaderboard's first release they differ from the ratio of the
  means by a median of 2.3% and up to 38.5%. A factor of 2 accepts that and still catches a
  wrong unit (ms read as s, kJ as J, Wh as J) or swapped columns.

**Window rule** (`window_rule_problems`): a measured GPU energy window (`energy.source`
`zeus-nvml`) shorter than its record's rule, or a GPU rule below `GPU_MIN_WINDOW_S`, is a
problem: such a window's energy is off by more than the counter allows (FACTS.md). Records
written before the rule was stored are judged by their `energy_windows.min_window_s`.

A relation is checked only when every field it uses is present (a published record lacks most of
them); a measured time of 0 makes no throughput to check. A published throughput is compared
with response length / latency only at batch size 1: at larger batches sources define throughput
differently (per request or per batch).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from runner.records.performance import GPU_ENERGY_SOURCE, GPU_MIN_WINDOW_S, PerformanceRecord
from runner.records.published import PublishedRecord
from runner.records.serving import ServingRecord
from runner.records.serving_rules import attainment_bounds, judge_sample, rate_status
from runner.records.steady import SteadyRecord

MEASURED_RTOL = 1e-6
PUBLISHED_FACTOR = 2.0


@dataclass(frozen=True)
class Relation:
    """One relation between a record's fields: `field` should equal `expression` = `expected`."""

    field: str
    value: float
    expression: str
    expected: float


def _agrees_measured(value: float, expected: float) -> bool:
    scale = max(abs(value), abs(expected))
    return scale == 0 or abs(value - expected) <= MEASURED_RTOL * scale


def _agrees_published(value: float, expected: float) -> bool:
    if value <= 0 or expected <= 0:
        return value == expected
    ratio = value / expected
    return 1 / PUBLISHED_FACTOR <= ratio <= PUBLISHED_FACTOR


def measured_relations(record: PerformanceRecord) -> Iterator[Relation]:
    """The relations a measured record's summary and statistics must satisfy."""
    s = record.summary
    m = record.measurements
    if s.measured_time_s > 0 and s.throughput_tok_s is not None:
        yield Relation(
            "summary.throughput_tok_s",
            s.throughput_tok_s,
            "summary.output_tokens / summary.measured_time_s",
            s.output_tokens / s.measured_time_s,
        )
    yield Relation(
        "summary.output_tokens",
        s.output_tokens,
        "measurements.response_tokens.mean × measurements.response_tokens.n",
        m.response_tokens.mean * m.response_tokens.n,
    )
    yield Relation("summary.requests", s.requests, "measurements.latency_s.n", m.latency_s.n)
    windows = getattr(record, "energy_windows", None)
    if windows is not None:
        # Steady-state windows: the measured time is the windows' wall time (the batches and the
        # host work between them), not the sum of batch times.
        yield Relation(
            "summary.measured_time_s",
            s.measured_time_s,
            "sum of energy_windows.windows[].duration_s",
            sum(window.duration_s for window in windows.windows),
        )
    else:
        yield Relation(
            "summary.measured_time_s",
            s.measured_time_s,
            "measurements.batch_time_s.mean × measurements.batch_time_s.n",
            m.batch_time_s.mean * m.batch_time_s.n,
        )
    if windows is not None:
        for window in windows.windows:
            if window.per_device and window.energy_j is not None:
                yield Relation(
                    f"energy_windows.windows[{window.index}].energy_j",
                    window.energy_j,
                    f"sum of energy_windows.windows[{window.index}].per_device[].energy_j",
                    sum(device.energy_j for device in window.per_device),
                )
    devices = s.per_device or []
    if s.energy_j is not None and devices and all(d.energy_j is not None for d in devices):
        yield Relation(
            "summary.energy_j",
            s.energy_j,
            "sum of summary.per_device[].energy_j",
            sum(d.energy_j for d in devices),  # type: ignore[misc]
        )
    if devices and s.peak_memory_bytes is not None:
        yield Relation(
            "summary.peak_memory_bytes",
            s.peak_memory_bytes,
            "sum of summary.per_device[].peak_memory_bytes",
            sum(d.peak_memory_bytes or 0 for d in devices),
        )
    if s.energy_j is None:
        return
    for name, value, expression, expected in (
        ("energy_per_response_j", s.energy_per_response_j, "summary.requests", s.requests),
        ("energy_per_token_j", s.energy_per_token_j, "summary.output_tokens", s.output_tokens),
        ("avg_power_w", s.avg_power_w, "summary.measured_time_s", s.measured_time_s),
    ):
        if value is not None and expected > 0:
            yield Relation(
                f"summary.{name}", value, f"summary.energy_j / {expression}", s.energy_j / expected
            )


def published_relations(record: PublishedRecord) -> Iterator[Relation]:
    """The relations among the figures a published record holds (only those present)."""
    m = record.metrics
    if (
        record.identity.batch_size == 1
        and None not in (m.throughput_tok_s, m.response_tokens, m.latency_s)
        and m.latency_s
    ):
        yield Relation(
            "metrics.throughput_tok_s",
            m.throughput_tok_s,  # type: ignore[arg-type]
            "metrics.response_tokens / metrics.latency_s (batch size 1)",
            m.response_tokens / m.latency_s,  # type: ignore[operator]
        )
    if None not in (m.energy_per_token_j, m.energy_per_response_j, m.response_tokens) and (
        m.response_tokens
    ):
        yield Relation(
            "metrics.energy_per_token_j",
            m.energy_per_token_j,  # type: ignore[arg-type]
            "metrics.energy_per_response_j / metrics.response_tokens",
            m.energy_per_response_j / m.response_tokens,  # type: ignore[operator]
        )
    if None not in (m.tpot_s, m.latency_s, m.ttft_s, m.response_tokens) and (
        m.response_tokens > 1  # type: ignore[operator]
    ):
        yield Relation(
            "metrics.tpot_s",
            m.tpot_s,  # type: ignore[arg-type]
            "(metrics.latency_s - metrics.ttft_s) / (metrics.response_tokens - 1)",
            (m.latency_s - m.ttft_s) / (m.response_tokens - 1),  # type: ignore[operator]
        )


def serving_relations(record: ServingRecord) -> Iterator[Relation]:
    """The relations a serving record's window figures, SLO counts, accounting and verdict
    satisfy (figures a migrated record lacks are skipped)."""
    s = record.summary
    duration = record.window.measured_duration_s
    window = record.accounting.window
    yield Relation(
        "summary.finished_rps",
        s.finished_rps,
        "summary.window_finished / window.measured_duration_s",
        s.window_finished / duration,
    )
    if s.output_tok_s is not None and s.window_output_tokens is not None:
        yield Relation(
            "summary.output_tok_s",
            s.output_tok_s,
            "summary.window_output_tokens / window.measured_duration_s",
            s.window_output_tokens / duration,
        )
    if s.window_output_tokens is not None and window.output_tokens is not None:
        yield Relation(
            "summary.window_output_tokens",
            s.window_output_tokens,
            "accounting.window.output_tokens",
            window.output_tokens,
        )
    yield Relation(
        "summary.goodput_rps",
        s.goodput_rps,
        "summary.slo_met / window.measured_duration_s",
        s.slo_met / duration,
    )
    yield Relation(
        "summary.window_requests",
        s.window_requests,
        "accounting.window.dispatched",
        window.dispatched,
    )
    yield Relation(
        "summary.window_finished", s.window_finished, "accounting.window.finished", window.finished
    )
    yield Relation(
        "summary.window_unfinished",
        s.window_unfinished,
        "accounting.window.failed + timed_out + cancelled",
        window.failed + window.timed_out + (window.cancelled or 0),
    )
    if s.slo_attainment is not None and s.window_requests:
        yield Relation(
            "summary.slo_attainment",
            s.slo_attainment,
            "summary.slo_met / summary.window_requests",
            s.slo_met / s.window_requests,
        )
    phases = record.accounting
    total = sum(p.dispatched for p in (phases.warmup, phases.window, phases.drain))
    yield Relation(
        "arrival.dispatched", record.arrival.dispatched, "sum of accounting.*.dispatched", total
    )
    yield Relation("raw_data.rows", record.raw_data.rows, "arrival.dispatched", total)
    for name in ("warmup", "window", "drain"):
        phase = getattr(phases, name)
        yield Relation(
            f"accounting.{name}.dispatched",
            phase.dispatched,
            f"accounting.{name}.finished + failed + timed_out + cancelled",
            phase.finished + phase.failed + phase.timed_out + (phase.cancelled or 0),
        )
    verdict = record.verdict
    if verdict is not None:
        sample = verdict.sample
        yield Relation("verdict.sample.requests", sample.requests, "summary.window_requests",
                       s.window_requests)  # fmt: skip
        yield Relation("verdict.sample.met", sample.met, "summary.slo_met", s.slo_met)
        yield Relation("verdict.sample.target", sample.target, "slo.attainment",
                       record.slo.attainment)  # fmt: skip
        lower, upper = attainment_bounds(sample.met, sample.requests, sample.confidence)
        yield Relation(
            "verdict.sample.attainment_lower",
            sample.attainment_lower,
            "the Clopper-Pearson lower bound of met / requests",
            lower,
        )
        yield Relation(
            "verdict.sample.attainment_upper",
            sample.attainment_upper,
            "the Clopper-Pearson upper bound of met / requests",
            upper,
        )
    if s.energy_j is None:
        return
    per = (
        ("energy_per_finished_request_j", "summary.window_finished", s.window_finished),
        ("energy_per_token_j", "summary.window_output_tokens", s.window_output_tokens or 0),
        ("avg_power_w", "window.measured_duration_s", duration),
    )
    for field, expression, expected in per:
        value = getattr(s, field)
        if value is not None and expected > 0:
            yield Relation(
                f"summary.{field}", value, f"summary.energy_j / {expression}", s.energy_j / expected
            )


def verdict_problems(record: ServingRecord) -> list[str]:
    """Lines naming a verdict that its own numbers do not give (the rules of
    `runner.records.serving_rules`, applied again to the stored counts and judgements)."""
    verdict = record.verdict
    if verdict is None:
        return []
    sample = verdict.sample
    judged = judge_sample(
        sample.met,
        sample.requests,
        target=sample.target,
        confidence=sample.confidence,
        min_requests=sample.min_requests,
        window_s=sample.window_s,
        on_gpu=sample.on_gpu,
    )
    problems = []
    if (judged.passes, judged.fails) != (sample.passes, sample.fails):
        problems.append(
            f"verdict.sample: passes={sample.passes}, fails={sample.fails}, but the rule on "
            f"{sample.met} of {sample.requests} at target {sample.target:g} gives "
            f"passes={judged.passes}, fails={judged.fails}"
        )
    steady = verdict.steady_state
    if steady.steady != (not steady.reasons):
        problems.append("verdict.steady_state: steady must be true exactly when no reason is given")
    expected = rate_status(steady.steady, judged)
    if verdict.status != expected:
        problems.append(f"verdict.status: {verdict.status!r}, but its judgements give {expected!r}")
    return problems


def steady_relations(record: SteadyRecord) -> Iterator[Relation]:
    """The relations a steady record's window figures satisfy."""
    s = record.summary
    w = record.window
    yield Relation("window.duration_s", w.duration_s, "window.end_s - window.start_s",
                   w.end_s - w.start_s)  # fmt: skip
    yield Relation(
        "summary.output_tokens_in_window",
        s.output_tokens_in_window,
        "window.output_tokens",
        w.output_tokens,
    )
    yield Relation(
        "summary.completed_in_window", s.completed_in_window, "window.completed", w.completed
    )
    yield Relation(
        "summary.throughput_tok_s",
        s.throughput_tok_s,
        "window.output_tokens / window.duration_s",
        w.output_tokens / w.duration_s,
    )
    yield Relation(
        "summary.throughput_rps",
        s.throughput_rps,
        "window.completed / window.duration_s",
        w.completed / w.duration_s,
    )
    yield Relation(
        "summary.mean_output_tokens",
        s.mean_output_tokens,
        "measurements.output_tokens.mean",
        record.measurements.output_tokens.mean,
    )
    running = record.identity.configuration.mean_running_batch
    if running is not None:
        yield Relation(
            "identity.configuration.mean_running_batch",
            running,
            "summary.mean_running_batch",
            s.mean_running_batch,
        )
    yield Relation(
        "raw_data.rows",
        record.raw_data.rows,
        "load.num_requests + load.warmup_requests",
        record.load.num_requests + record.load.warmup_requests,
    )
    yield Relation(
        "load.num_requests",
        record.load.num_requests,
        "load.initial_num_requests + sum of load.extensions[].added",
        record.load.initial_num_requests + sum(e.added for e in record.load.extensions),
    )
    if s.energy_j is None:
        return
    if w.output_tokens > 0 and s.energy_per_token_j is not None:
        yield Relation(
            "summary.energy_per_token_j",
            s.energy_per_token_j,
            "summary.energy_j / window.output_tokens",
            s.energy_j / w.output_tokens,
        )
        if s.energy_per_request_j is not None:
            yield Relation(
                "summary.energy_per_request_j",
                s.energy_per_request_j,
                "summary.energy_per_token_j × summary.mean_output_tokens",
                s.energy_per_token_j * s.mean_output_tokens,
            )
    if s.avg_power_w is not None:
        yield Relation(
            "summary.avg_power_w",
            s.avg_power_w,
            "summary.energy_j / window.duration_s",
            s.energy_j / w.duration_s,
        )


def window_rule_problems(record: BaseModel) -> list[str]:
    """One line per measured GPU energy window shorter than its record's rule, or per GPU rule
    below `GPU_MIN_WINDOW_S` (see the module docstring); [] for other records."""
    energy = getattr(record, "energy", None)
    if energy is None or getattr(energy, "source", None) != GPU_ENERGY_SOURCE:
        return []
    problems: list[str] = []

    def check(rule_s: float, where: str, duration_s: float, energy_j: float | None) -> None:
        if rule_s < GPU_MIN_WINDOW_S:
            problems.append(
                f"{where}: window rule {rule_s:g} s is below the GPU floor "
                f"{GPU_MIN_WINDOW_S:g} s (NVML counter windows shorter than that are too coarse)"
            )
        if energy_j is not None and duration_s < rule_s:
            problems.append(
                f"{where}: measured GPU energy window of {duration_s:.3f} s is shorter than "
                f"the record's rule ({rule_s:g} s); its energy may not be stored as a number"
            )

    if isinstance(record, PerformanceRecord) and record.energy_windows is not None:
        windows = record.energy_windows
        rule_s = windows.rule.min_window_s if windows.rule else windows.min_window_s
        for window in windows.windows:
            check(
                rule_s, f"energy_windows.windows[{window.index}]", window.duration_s,
                window.energy_j,
            )  # fmt: skip
    elif isinstance(record, SteadyRecord):
        check(
            record.window.rule.min_window_s,
            "window",
            record.window.duration_s,
            record.summary.energy_j,
        )
    return problems


def inconsistencies(record: BaseModel) -> list[str]:
    """One line per relation the record breaks (fields, values and tolerance named); [] if none.

    Kinds without figures to relate (accuracy, calibration) have none.
    """
    if isinstance(record, PerformanceRecord):
        relations, agrees = measured_relations(record), _agrees_measured
        tolerance = f"tolerance: relative {MEASURED_RTOL:g} for measured records"
    elif isinstance(record, PublishedRecord):
        relations, agrees = published_relations(record), _agrees_published
        tolerance = f"tolerance: a factor of {PUBLISHED_FACTOR:g} for published records"
    elif isinstance(record, ServingRecord):
        relations, agrees = serving_relations(record), _agrees_measured
        tolerance = f"tolerance: relative {MEASURED_RTOL:g} for measured records"
    elif isinstance(record, SteadyRecord):
        relations, agrees = steady_relations(record), _agrees_measured
        tolerance = f"tolerance: relative {MEASURED_RTOL:g} for measured records"
    else:
        return []
    lines = [
        f"fields disagree: {r.field} = {r.value:.6g}, but {r.expression} = {r.expected:.6g} "
        f"({tolerance})"
        for r in relations
        if not agrees(float(r.value), float(r.expected))
    ]
    if isinstance(record, ServingRecord):
        lines += verdict_problems(record)
    return lines + window_rule_problems(record)
