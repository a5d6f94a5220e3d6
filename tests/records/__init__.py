"""Tests of `runner.records`: schemas, loading and the atomic store."""
