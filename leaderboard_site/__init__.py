"""The static leaderboard site: aggregate result records, build Altair charts, render Jinja2 pages.

Python's standard library owns the module name `site`, so the builder lives here; templates and
static assets live in the top-level `site/` folder (`site/templates/`, `site/static/`).
"""
