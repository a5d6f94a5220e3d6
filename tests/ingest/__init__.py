"""Tests of runner.ingest: `leaderboard import` of published tables."""
