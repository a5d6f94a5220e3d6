"""Accuracy: `leaderboard eval` with lm-eval, suites and offline tasks, the join, loyalty."""
