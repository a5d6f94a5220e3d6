"""Importing published results (other leaderboards' and papers' tables) as `published` records."""
