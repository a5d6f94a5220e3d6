"""Imitates a runner-only install: the eval, site and pipeline extras cannot be imported.

Put this folder first on PYTHONPATH of a subprocess (tests/test_runner_only.py); Python imports
`sitecustomize` at start-up. LB_BLOCK overrides the comma list of blocked top-level modules.
"""

import importlib.abc
import os
import sys

BLOCKED = tuple(os.environ.get("LB_BLOCK", "altair,vl_convert,dvc,dvc_ssh,lm_eval").split(","))


class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _Block())
