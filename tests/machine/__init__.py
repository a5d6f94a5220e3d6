"""Tests of `runner.machine`: energy meters."""
