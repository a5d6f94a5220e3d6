"""Tests of `runner.workload`: prompt sets and the embedded tiny model."""
