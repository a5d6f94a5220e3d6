"""Modules of this folder that build the site are not collected without the `site` extra."""

from __future__ import annotations

from tests.support.extras import missing_extra

collect_ignore = ["test_xss.py", "test_yaml.py"] if missing_extra("site") else []
