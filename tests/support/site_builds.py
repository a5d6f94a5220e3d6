"""Built sites shared by the site test modules (one build per test session, in temp folders).

- `golden_site()`: the golden fixtures (synthetic), two GPUs with energy and a CPU without;
- `mixed_site()`: the golden fixtures plus the synthetic published samples (badges, toggle);
- `small_site()`: a small site with no energy at all (the golden CPU records only), as
  `make demo` gives on a machine without a readable meter.

Each is built once with the real Vega bundle (generated once) and removed at exit.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from leaderboard_site.build import build_site, vega_bundle
from tests.support.site_support import GOLDEN


@functools.cache
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lb-site-builds-"))
    atexit.register(shutil.rmtree, root, True)
    return root


@functools.cache
def bundle() -> str:
    """The Vega bundle, generated once."""
    return vega_bundle()


def _build(results: Path, name: str) -> Path:
    out = _root() / name / "_site"
    build_site(results, out, strict=False, bundle=bundle())
    return out


@functools.cache
def golden_site() -> Path:
    return _build(GOLDEN, "golden")


@functools.cache
def mixed_results() -> Path:
    from runner.ingest.importer import import_files
    from tests.ingest.test_import import MLENERGY, TABLE

    results = _root() / "mixed" / "results"
    shutil.copytree(GOLDEN, results)
    import_files("mlenergy-v1", [MLENERGY], results)
    import_files("csv", [TABLE / "table.csv"], results, mapping=TABLE / "mapping.yaml")
    return results


@functools.cache
def mixed_site() -> Path:
    return _build(mixed_results(), "mixed")


@functools.cache
def small_results() -> Path:
    """The golden CPU records only (no energy), with their calibration and the accuracy."""
    results = _root() / "small" / "results"
    shutil.copytree(GOLDEN, results)
    for folder in (results / "performance").iterdir():
        if folder.name.startswith("nvidia-"):
            shutil.rmtree(folder)
    for folder in (results / "calibration").iterdir():
        if folder.name.startswith("nvidia-"):
            shutil.rmtree(folder)
    return results


@functools.cache
def small_site() -> Path:
    return _build(small_results(), "small")


def pages(site: Path) -> list[Path]:
    """Every HTML page of a built site, sorted."""
    return sorted(site.rglob("*.html"))


V3_SAMPLE = GOLDEN.parent / "published" / "mlenergy_v3"


@functools.cache
def v3_results() -> Path:
    """The synthetic mlenergy-v3 sample imported: 1, 2, 4 and 8 GPUs, two GPU types."""
    from runner.ingest.importer import import_files

    results = _root() / "v3" / "results"
    import_files("mlenergy-v3", [V3_SAMPLE], results)
    return results


@functools.cache
def v3_site() -> Path:
    return _build(v3_results(), "v3")
