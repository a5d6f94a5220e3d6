"""Without the `site` extra (altair, vl-convert), these modules are not collected.

A runner-only install (`scripts/install-offline.sh` on a GPU machine) runs `pytest -m gpu`
over the whole tree; a site module importing altair at its top would fail that collection.
"""

from __future__ import annotations

from tests.support.extras import missing_extra

collect_ignore_glob = ["test_*.py"] if missing_extra("site") else []
