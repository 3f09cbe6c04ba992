"""Take the README's screenshots of the demo story again: light and dark, at 375
and 1280 px (docs/story-375.png, story-1280.png, story-375-dark.png, story-1280-dark.png),
and, given the editor's password that `make run` prints, the story's desk at 375
and 1280 px (docs/desk-375.png, desk-1280.png).

    make run                                # the demo, on http://127.0.0.1:8000
    .venv/bin/python docs/screenshots.py    # in another shell
    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8101
    .venv/bin/python docs/screenshots.py --editor-password PASSWORD

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
STORY_TITLE = "hundreds evacuated"  # how the stories list finds its desk link
EDITOR_USERNAME = "editor"  # seed_demo's EDITOR_USERNAME
WIDTHS = (375, 1280)
SCHEMES = ("light", "dark")
HEIGHT = 900
DESK_HEIGHT = 1500  # the compose box and the first updates below it


def file_name(width: int, scheme: str, screen: str = "story") -> Path:
    return DOCS / f"{screen}-{width}{'' if scheme == 'light' else '-' + scheme}.png"


def wait_for_first_screen(page) -> None:
    """The pictures on the first screen drawn, and the fonts, before the shot
    (lazy ones further down never load while nobody scrolls)."""
    page.wait_for_function(
        """() => [...document.images]
            .filter(image => image.getBoundingClientRect().top < innerHeight)
            .every(image => image.complete && image.naturalWidth > 0)
            && document.fonts.status === "loaded" """
    )


def shoot_desk(browser, base_url: str, password: str) -> int:
    """Log in as the demo's editor, open the story's desk from the stories list
    as an editor would, and take it at both widths."""
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": DESK_HEIGHT})
        page = context.new_page()
        page.goto(base_url + "/admin/login/")
        page.fill("#id_username", EDITOR_USERNAME)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        if "/admin/login/" in page.url:
            print(
                "The editor's login was refused: give the password make run printed.",
                file=sys.stderr,
            )
            return 1
        page.goto(base_url + "/admin/coverage/story/")
        row = page.locator("#result_list tr", has_text=STORY_TITLE).first
        row.get_by_role("link", name="Open the desk").click()
        page.wait_for_selector("#desk-poller[data-hx-get]", state="attached")
        wait_for_first_screen(page)
        page.screenshot(path=file_name(width, "light", "desk"))
        print(file_name(width, "light", "desk").relative_to(DOCS.parent))
        context.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the running demo")
    parser.add_argument(
        "--editor-password",
        help="the demo editor's password (make run prints it): shoots the desk too",
    )
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    base_url = args.base_url.rstrip("/")
    url = base_url + STORY_PATH
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
                wait_for_first_screen(page)
                page.screenshot(path=file_name(width, scheme))
                print(file_name(width, scheme).relative_to(DOCS.parent))
                context.close()
        failed = shoot_desk(browser, base_url, args.editor_password) if args.editor_password else 0
        browser.close()
    return failed


if __name__ == "__main__":
    sys.exit(main())
