"""The test suite; sub-packages mirror the packages of `runner/` and `leaderboard_site/`."""
