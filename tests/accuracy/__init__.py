"""Tests of `runner.accuracy`: lm-eval runs, the join and loyalty."""
