"""Which optional dependency groups (`pyproject.toml` extras) are importable here."""

from __future__ import annotations

import importlib.util

# extra -> top-level modules it provides (the ones the tests import)
EXTRA_MODULES = {
    "eval": ("lm_eval",),
    "site": ("altair", "vl_convert"),
    "pipeline": ("dvc",),
}


def missing_extra(extra: str) -> bool:
    """True when a module of `extra` cannot be found (a runner-only install)."""
    for module in EXTRA_MODULES[extra]:
        try:
            if importlib.util.find_spec(module) is None:
                return True
        except (ImportError, ValueError):
            return True
    return False
