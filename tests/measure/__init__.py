"""Tests of `runner.measure`: generation, backends, whole runs, and the GPU tests."""
