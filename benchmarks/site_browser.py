"""Browser benchmark of a built site: page weight, time to draw, sort and search, in Chromium.

    PYTHONPATH=. python benchmarks/site_browser.py --size 10000  # build, then measure
    PYTHONPATH=. python benchmarks/site_browser.py --site DIR [--site DIR2]  # side by side

Each site is opened from file:// in headless Chromium (Debian's /usr/bin/chromium through
Playwright, the flags of the browser tests), a fresh browser context per run, `--runs` runs
(default 3), the median reported. Measured on the largest board page (by the bytes it loads):

- `page_bytes`: the HTML plus the page's own data files (`data/…` scripts it loads); the shared
  Vega bundle and style sheet are reported once, apart (`shared_bytes`), as a browser caches them;
- `drawn_s`: from the start of navigation until the table has rows and every chart of the page
  says it is drawn (`data-rendered`), read from the page's own clock (`performance.now()`);
- `sort_ms`: a click on a numeric column header until the next frame is painted (the handler
  plus style, layout and paint of the table), on the column "Throughput" and back;
- `search_ms` / `clear_ms`: typing a query (one `input` event) and clearing it, until the next
  frame; charts that redraw later are not waited for (the table is what answers the reader);
- `chart_after_search_ms`: from the same `input` event until the explorer chart says it is
  drawn again (where the page has one).

With several `--site` folders, the same measurements run on each in turn inside one process,
and the ratios of the first to each other are printed, so figures compared are measured side
by side under the same load. The task page and compare page get `drawn_s` too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from site_build import SHARED, page_bytes  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DRAWN = """() => {
    const rows = document.querySelectorAll('#board-table tbody tr').length;
    const charts = Array.from(document.querySelectorAll('div.chart'));
    return (rows > 0 || !document.getElementById('board-table'))
        && charts.every(el => el.hasAttribute('data-rendered'));
}"""
NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"


def largest_board(site: Path) -> Path:
    """The board page that loads the most bytes."""
    return max((site / "boards").glob("*.html"), key=lambda p: page_bytes(site, p))


def _drawn(context: Any, path: Path, fragment: str = "") -> tuple[Any, float]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri() + fragment, wait_until="commit")
    page.wait_for_function(DRAWN, timeout=120_000, polling="raf")
    seconds = page.evaluate("performance.now()") / 1000
    if errors:
        raise RuntimeError(f"{path.name}: {errors[0]}")
    return page, seconds


def _timed(page: Any, action: str) -> float:
    """Milliseconds from running `action` (JS) to the next painted frame."""
    return page.evaluate(
        f"""async () => {{
            const t0 = performance.now();
            {action};
            await {NEXT_FRAME};
            return performance.now() - t0;
        }}"""
    )


def _chart_redraw(page: Any, action: str) -> float | None:
    """Milliseconds from `action` until the explorer chart is drawn again (None: no explorer)."""
    return page.evaluate(
        f"""async () => {{
            const chart = document.getElementById('chart-explore');
            if (!chart) return null;
            const t0 = performance.now();
            chart.removeAttribute('data-rendered');
            {action};
            while (!chart.hasAttribute('data-rendered')) {{
                if (performance.now() - t0 > 60000) return null;
                await new Promise(r => setTimeout(r, 5));
            }}
            return performance.now() - t0;
        }}"""
    )


def measure_site(browser: Any, site: Path, runs: int) -> dict[str, Any]:
    """The figures of one built site (medians over `runs` fresh contexts)."""
    board = largest_board(site)
    task_pages = sorted((site / "tasks").glob("*.html"))
    task = max(task_pages, key=lambda p: page_bytes(site, p)) if task_pages else None
    compare = site / "compare.html"
    rows = 0
    samples: dict[str, list[float]] = {}

    def add(name: str, value: float | None) -> None:
        if value is not None:
            samples.setdefault(name, []).append(value)

    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page, seconds = _drawn(context, board)
        add("drawn_s", seconds)
        rows = page.evaluate(
            "() => { const d = window.LB && window.LB.rowCount; return d ? d() : "
            "document.querySelectorAll('#board-table tbody tr').length; }"
        )
        header = "document.querySelector('#board-table th[data-key=\"throughput_tok_s\"] button')"
        add("sort_ms", _timed(page, f"{header}.click()"))
        add("sort_back_ms", _timed(page, f"{header}.click()"))
        typed = (
            "const s = document.getElementById('search'); s.value = 'model-00';"
            " s.dispatchEvent(new Event('input'))"
        )
        cleared = (
            "const s = document.getElementById('search'); s.value = '';"
            " s.dispatchEvent(new Event('input'))"
        )
        add("search_ms", _timed(page, typed))
        add("clear_ms", _timed(page, cleared))
        add("chart_after_search_ms", _chart_redraw(page, typed))
        _chart_redraw(page, cleared)
        page.close()
        for name, path in (("task_drawn_s", task), ("compare_drawn_s", compare)):
            if path is not None and path.is_file():
                other, seconds = _drawn(context, path)
                add(name, seconds)
                other.close()
        context.close()
    medians = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    pages = sorted(site.rglob("*.html"))
    largest = max(pages, key=lambda p: page_bytes(site, p))
    return {
        "site": str(site),
        "board": board.name,
        "board_rows": rows,
        "board_page_bytes": page_bytes(site, board),
        "largest_page": str(largest.relative_to(site)),
        "largest_page_bytes": page_bytes(site, largest),
        "compare_page_bytes": page_bytes(site, compare) if compare.is_file() else None,
        "task_page_bytes": page_bytes(site, task) if task else None,
        "shared_bytes": sum((site / s).stat().st_size for s in SHARED if (site / s).is_file()),
        "runs": runs,
        **medians,
        "samples": {name: [round(v, 3) for v in values] for name, values in samples.items()},
    }


def build(size: int, work: Path) -> Path:
    """Build the synthetic site of about `size` records (benchmarks/site_build.py's records)."""
    from site_build import run

    from leaderboard_site.build import vega_bundle

    figures = run(size, work, vega_bundle())
    print(json.dumps({"built": size, **figures}), flush=True)
    return work / f"site-{size}"


def main(argv: list[str] | None = None) -> int:
    """Measure each site; print one JSON line per site, then the ratios to the first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, action="append", default=[], help="a built site")
    parser.add_argument("--size", type=int, default=None, help="build a synthetic site first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder for --size")
    args = parser.parse_args(argv)
    sites = list(args.site)
    if args.size:
        work = args.work or Path(tempfile.mkdtemp(prefix="site-browser-"))
        sites.insert(0, build(args.size, work))
    if not sites:
        parser.error("give --site DIR or --size N")
    from playwright.sync_api import sync_playwright

    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(json.dumps({"started": started, "chromium": CHROMIUM}), flush=True)
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(json.dumps({"chromium_version": browser.version}), flush=True)
        for site in sites:
            figures = measure_site(browser, site, args.runs)
            results.append(figures)
            print(json.dumps(figures), flush=True)
        browser.close()
    keys = ("board_page_bytes", "largest_page_bytes", "drawn_s", "sort_ms", "search_ms", "clear_ms")
    for other in results[1:]:
        ratios = {
            key: round(other[key] / results[0][key], 2)
            for key in keys
            if isinstance(other.get(key), int | float) and results[0].get(key)
        }
        print(json.dumps({"ratio_to_first": other["site"], **ratios}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
