"""The steady scenario: N requests at once on continuous batching, one steady-state window."""

from runner.measure.steady.point import run_steady_point

__all__ = ["run_steady_point"]
