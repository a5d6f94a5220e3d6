"""The serving scenario: one model served by continuous batching under arriving load."""

from runner.measure.serving.point import run_serving_point

__all__ = ["run_serving_point"]
