"""Tests of `leaderboard_site`: aggregation, Pareto fronts, the built site, Chromium."""
