"""Site build benchmark: synthetic results of 1k and 10k records -> build time and output size.

    PYTHONPATH=. python benchmarks/site_build.py [--sizes 1000 10000] [--work DIR]

Records come from `scripts/make_golden_fixtures.py` (schema-valid synthetic records, labelled as
such). Each size uses 2 GPUs x 4 tasks x 5 batch sizes per model (40 records per model), plus 3
accuracy records for 4 models in 5. The build includes loading + validating every record (with
raw-data sha256), aggregation, charts, rendering, copying the raw records and the atomic swap.
Reported: wall time of `build_site`, total output size, index page size, and the largest page
(`largest_page_bytes`): its HTML plus the page's own data scripts it loads (`data/boards/*.js`);
the shared Vega bundle and style sheet are left out (one copy for the whole site, cached), and
reported apart (`shared_bytes`). `largest_page_ok` says whether it is at most 2 MB (2,000,000
bytes). The browser side (time to draw, sort, search) is `benchmarks/site_browser.py`.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from make_golden_fixtures import GOLDEN_HARDWARE, FakeModel, write_synthetic_results  # noqa: E402

from leaderboard_site.build import build_site, vega_bundle  # noqa: E402

BATCH_SIZES = (1, 2, 4, 8, 16)
PER_MODEL = len(GOLDEN_HARDWARE) * 4 * len(BATCH_SIZES)


def synthetic_models(count: int) -> tuple[FakeModel, ...]:
    """`count` synthetic models with varied sizes; every fifth has no accuracy records."""
    models = []
    for index in range(count):
        accuracy = None if index % 5 == 4 else (0.3 + index % 7 * 0.02, 0.5, 0.4 + index % 3 * 0.01)
        models.append(
            FakeModel(
                name=f"synthetic__model-{index:04d}",
                hf_id=f"synthetic/model-{index:04d}",
                display_name=f"Synthetic model {index:04d}",
                params=int(1e8 * (1 + index % 40)),
                revision=f"{index:040x}",
                accuracy=accuracy,
                random_weights=index % 11 == 0,
            )
        )
    return tuple(models)


PAGE_LIMIT = 2_000_000  # bytes
SHARED = ("static/vega-bundle.js", "static/style.css")


def page_bytes(site: Path, page: Path) -> int:
    """The HTML plus the page-specific scripts it loads from data/ (not the shared assets)."""
    html = page.read_text(encoding="utf-8")
    total = len(html.encode("utf-8"))
    for src in re.findall(r'<script[^>]+src="([^"]+)"', html):
        target = (page.parent / src).resolve()
        if target.is_file() and target.is_relative_to(site.resolve() / "data"):
            total += target.stat().st_size
    return total


def folder_size(path: Path) -> int:
    """Total bytes of the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(size: int, work: Path, bundle: str) -> dict[str, float | int]:
    """Generate about `size` performance records, build the site, and measure it."""
    results = work / f"results-{size}"
    out = work / f"site-{size}"
    shutil.rmtree(results, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    models = synthetic_models(max(1, round(size / PER_MODEL)))
    started = time.perf_counter()
    count = write_synthetic_results(results, models, GOLDEN_HARDWARE, BATCH_SIZES, requests=8)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    report = build_site(results, out, strict=True, bundle=bundle)
    build_s = time.perf_counter() - started
    pages = [p for p in out.rglob("*.html")]
    sizes = {p: page_bytes(out, p) for p in pages}
    largest = max(sizes, key=sizes.__getitem__)
    return {
        "records": count,
        "performance_records": report.performance_records,
        "rows": report.rows,
        "pages": len(pages),
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        "output_bytes": folder_size(out),
        "index_bytes": (out / "index.html").stat().st_size,
        "largest_page": str(largest.relative_to(out)),
        "largest_page_bytes": sizes[largest],
        "largest_page_ok": sizes[largest] <= PAGE_LIMIT,
        "largest_html_bytes": max(p.stat().st_size for p in pages),
        "shared_bytes": sum((out / s).stat().st_size for s in SHARED if (out / s).is_file()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one JSON line per size plus the 10k/1k time ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="site-bench-"))
    bundle = vega_bundle()
    print(json.dumps({"python": sys.version.split()[0], "machine": platform.machine()}))
    figures = {}
    for size in args.sizes:
        figures[size] = run(size, work, bundle)
        print(json.dumps({"size": size, **figures[size]}), flush=True)
    if len(args.sizes) >= 2:
        small, large = figures[args.sizes[0]], figures[args.sizes[-1]]
        ratio = large["build_s"] / small["build_s"]
        scale = large["performance_records"] / small["performance_records"]
        print(json.dumps({"build_time_ratio": round(ratio, 2), "record_ratio": round(scale, 2)}))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
