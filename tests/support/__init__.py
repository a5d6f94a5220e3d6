"""Helpers shared by the tests: record factories, pipeline repos, figures, golden fixtures."""
