"""Take the README's pictures of the embed kit again: the demo story embedded by
its snippet in a newsroom's article page served from another origin, at 375 and
1280 px (docs/embed-375.png, docs/embed-1280.png).

    make run                                     # the demo, on http://127.0.0.1:8000
    .venv/bin/python docs/embed_screenshots.py   # in another shell
    .venv/bin/python docs/embed_screenshots.py --base-url http://127.0.0.1:8101

The newsroom's page is served by this script on another 127.0.0.1 port: a
foreign origin, as a newsroom's own site would be. It drives Debian's Chromium
(apt-get install chromium) with Playwright, as the browser tests do.
"""

import argparse
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
STORY_SLUG = "eastmouth-floods-day-two"  # seed_demo's STORY_SLUG
WIDTHS = (375, 1280)
HEIGHT = 1400

NEWSROOM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Eastmouth Examiner</title>
<style>
  body {{ margin: 0; font-family: Georgia, serif; background: #fbf8f1; color: #1b1b1b; }}
  .masthead {{ background: #12355b; color: #fff; padding: .8rem 1.25rem;
               font: 700 1.5rem Georgia, serif; }}
  .nav {{ background: #0d2742; color: #cfe0f5; padding: .4rem 1.25rem;
          font: .85rem system-ui, sans-serif; }}
  article {{ max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem; }}
  h1 {{ font-size: 1.9rem; line-height: 1.2; margin: .5rem 0; }}
  .intro {{ font-size: 1.1rem; }}
  .embed-box {{ border: 1px solid #d8cfbd; background: #fff; margin: 1rem 0; }}
</style></head>
<body>
<div class="masthead">The Eastmouth Examiner</div>
<div class="nav">News · Weather · Sport · Eastmouth floods</div>
<article>
  <h1>Floods: follow the latest as it happens</h1>
  <p class="intro">Our reporters and the live desk are following the flooding in Eastmouth.
  The coverage below updates by itself.</p>
  <div class="embed-box">
    <script src="{base_url}/embed.js" data-story="{slug}" async></script>
  </div>
</article>
</body></html>"""


def serve_newsroom(base_url: str) -> ThreadingHTTPServer:
    page = NEWSROOM_PAGE.format(base_url=base_url, slug=STORY_SLUG).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the running demo")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    base_url = args.base_url.rstrip("/")
    newsroom = serve_newsroom(base_url)
    newsroom_url = f"http://127.0.0.1:{newsroom.server_address[1]}/article.html"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--headless", "--no-sandbox"]
            )
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": HEIGHT})
                page = context.new_page()
                page.goto(newsroom_url)
                try:
                    frame = page.wait_for_selector("iframe.liveblog-embed").content_frame()
                    frame.wait_for_selector("#poller[data-hx-get]", state="attached")
                    # Sized to its content (far taller than the default), pictures drawn.
                    page.wait_for_function(
                        "document.querySelector('iframe.liveblog-embed').offsetHeight > 1000"
                    )
                    frame.wait_for_function(
                        "[...document.images].filter(i => i.getBoundingClientRect().top < 1400)"
                        ".every(i => i.complete && i.naturalWidth > 0)"
                    )
                except PlaywrightError as error:
                    print(
                        f"{base_url}: {error.message.splitlines()[0]}. Is the demo running?",
                        file=sys.stderr,
                    )
                    return 1
                path = DOCS / f"embed-{width}.png"
                page.screenshot(path=path)
                print(path.relative_to(DOCS.parent))
                context.close()
            browser.close()
    finally:
        newsroom.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
