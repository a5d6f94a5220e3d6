"""Fault injection and hostile input across the packages; figures go to RELIABILITY.md."""
