"""Tests of `runner.publish` and the workflows: DVC pipelines, PR tooling, workflow rules."""
