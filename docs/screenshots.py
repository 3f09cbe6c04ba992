"""Take the README's screenshots of the demo story again: light and dark, at 375
and 1280 px (docs/story-375.png, story-1280.png, story-375-dark.png, story-1280-dark.png).

    make run                                # the demo, on http://127.0.0.1:8000
    .venv/bin/python docs/screenshots.py    # in another shell
    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8101

It drives Debian's Chromium (apt-get install chromium) with Playwright, as the
browser tests do, and shows the top of the page, one screen high.
"""

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
STORY_PATH = "/eastmouth-floods-day-two/"  # seed_demo's STORY_SLUG
WIDTHS = (375, 1280)
SCHEMES = ("light", "dark")
HEIGHT = 900


def file_name(width: int, scheme: str) -> Path:
    return DOCS / f"story-{width}{'' if scheme == 'light' else '-' + scheme}.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the running demo")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    url = args.base_url.rstrip("/") + STORY_PATH
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--headless", "--no-sandbox"]
        )
        for scheme in SCHEMES:
            for width in WIDTHS:
                context = browser.new_context(
                    color_scheme=scheme, viewport={"width": width, "height": HEIGHT}
                )
                page = context.new_page()
                try:
                    response = page.goto(url)
                    status = response.status if response else "no answer"
                except PlaywrightError as error:
                    response, status = None, error.message.splitlines()[0]
                if not response or not response.ok:
                    print(f"{url}: {status}. Is the demo running (make run)?", file=sys.stderr)
                    return 1
                # The pictures on the first screen drawn, and the fonts, before the
                # shot (lazy ones further down never load while nobody scrolls).
                page.wait_for_function(
                    """() => [...document.images]
                        .filter(image => image.getBoundingClientRect().top < innerHeight)
                        .every(image => image.complete && image.naturalWidth > 0)
                        && document.fonts.status === "loaded" """
                )
                page.screenshot(path=file_name(width, scheme))
                print(file_name(width, scheme).relative_to(DOCS.parent))
                context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
