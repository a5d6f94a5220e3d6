"""Tests of `runner.hardware`: calibration, derived metrics and the roofline."""
