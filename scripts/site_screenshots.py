"""Screenshots of the site for the README and docs/site.md, in headless Chromium.

    PYTHONPATH=. .venv/bin/python scripts/site_screenshots.py [--results DIR] [--out DIR]

Builds the site from the results (default: the SYNTHETIC golden fixtures, so the pictures are
of made-up records, not measurements, and the README says so) into a temp folder and writes
desktop (1400 px) and phone (390 px) pictures into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from leaderboard_site.build import build_site  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
BOARD = "boards/chat--nvidia-h100-80gb-hbm3.html"
MODEL = "models/meta-llama__Llama-3.2-1B-Instruct.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "tests/fixtures/golden_results")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work:
        site = Path(work) / "_site"
        build_site(args.results, site)
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)

            def open_page(path: str, width: int, height: int, scheme: str = "light"):
                page = browser.new_page(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page.goto((site / path).as_uri())
                page.wait_for_function(
                    "Array.from(document.querySelectorAll('div.chart'))"
                    ".every(el => el.hasAttribute('data-rendered'))",
                    timeout=30_000,
                )
                page.wait_for_timeout(300)
                return page

            shots = {
                # name: (page, width, height, what: an element, or "@selector" for a
                # `height`-tall strip of the page starting at that element, or None for the
                # top of the page)
                "index.png": ("index.html", 1400, 1250, None),
                "leaderboard.png": (BOARD, 1400, 1000, None),
                "pareto.png": (BOARD, 1400, 900, ".charts:has(#chart-energy_accuracy-box)"),
                "leaderboard-phone.png": (BOARD, 390, 1300, "@#row-count"),
                "pareto-phone.png": (BOARD, 390, 1400, "@#chart-energy_accuracy-box"),
                "model.png": (MODEL, 1400, 1100, None),
                "roofline.png": (BOARD, 1400, 900, "#chart-roofline-0-box"),
                "cross-hardware.png": ("tasks/chat.html", 1400, 1000, "#chart-cross-box"),
                "ranking.png": ("tasks/chat.html", 1400, 1000, "#ranking"),
                "leaderboard-dark.png": (BOARD, 1400, 1000, None),
            }
            for name, (path, width, height, what) in shots.items():
                page = open_page(path, width, height, "dark" if "dark" in name else "light")
                target = args.out / name
                if what and what.startswith("@"):
                    top = page.evaluate(
                        f"document.querySelector({what[1:]!r}).getBoundingClientRect().top"
                        " + window.scrollY - 8"
                    )
                    clip = {"x": 0, "y": top, "width": width, "height": height}
                    page.screenshot(path=str(target), full_page=True, clip=clip)
                elif what:
                    page.locator(what).first.screenshot(path=str(target))
                else:
                    page.screenshot(path=str(target))
                page.close()
                print(f"wrote {target.relative_to(REPO)}")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
