"""Page weight: what a reader's first visit to a story downloads of our own
HTML, CSS and JS, compressed as it travels, and that nothing from another
origin holds up the first paint."""

import datetime as dt
import gzip
import random
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import timezone

from coverage.models import Embed
from tests.factories import make_embed, make_story, make_update

pytestmark = pytest.mark.django_db

BUDGET = 60 * 1024
ORIGIN = "testserver"

CARDS = [
    {
        "kind": Embed.Kind.SOCIAL,
        "text": "Rescue 924 has recovered two adults from a property. " * 3,
    },
    {"kind": Embed.Kind.VIDEO, "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "text": ""},
    {"kind": Embed.Kind.LINK, "url": "https://example.org/closures", "title": "Closures: the list"},
    {
        "kind": Embed.Kind.QUOTE,
        "url": "",
        "text": "Stay away from flood water.",
        "author_name": "Police",
    },
]
WORDS = re.findall(
    r"\w+",
    "river alder peaked metres bridge overnight highest reading gauges installed "
    "council schools closed parents website coastguard helicopter lifted people roof "
    "farmhouse marsh cold unhurt trains suspended police residents evacuated "
    "sandbags pumps rain forecast warning homes flooded roads shut rescue volunteers "
    "shelter hall water levels falling",
)


def body(n: int) -> str:
    """Text that differs from update to update, as real ones do (gzip would make
    fifty copies of one paragraph nearly free)."""
    pick = random.Random(n).choices
    return (
        f"<p>{' '.join(pick(WORDS, k=45)).capitalize()}.</p>"
        f"<ul><li>{' '.join(pick(WORDS, k=6))}</li><li>{' '.join(pick(WORDS, k=8))}</li></ul>"
        f"<blockquote><p>{' '.join(pick(WORDS, k=15))}</p></blockquote>"
    )


class Resources(HTMLParser):
    """The stylesheets and scripts a page asks for, and how."""

    def __init__(self):
        super().__init__()
        self.stylesheets, self.scripts = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.stylesheets.append(attrs)
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs)


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc or parts.netloc == ORIGIN


def static_file(url: str) -> bytes:
    """The file behind a same-origin static URL, as the finders (and whitenoise) find it."""
    path = urlsplit(url).path
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    assert path.startswith(prefix), f"{url} is not a static file"
    found = finders.find(path.removeprefix(prefix))
    assert found, f"no static file behind {url}"
    with open(found, "rb") as file:
        return file.read()


@pytest.fixture
def demo_story():
    """Demo-sized: fifty updates, each with a card, some with headlines."""
    story = make_story(
        title="Floods: Eastmouth evacuated as the River Alder peaks",
        standfirst="Hundreds leave their homes.\nAll times GMT.",
    )
    start = timezone.now() - dt.timedelta(hours=12)
    for n in range(50):
        update = make_update(
            story,
            headline=f"Headline number {n}" if n % 3 == 0 else "",
            body=body(n),
            published_at=start + dt.timedelta(minutes=10 * n),
            key_event=n % 10 == 0,
        )
        make_embed(update, **CARDS[n % len(CARDS)])
    return story


def test_a_story_page_first_load_is_under_60_kb_compressed(client, demo_story):
    response = client.get(demo_story.get_absolute_url())
    assert response.status_code == 200
    html = response.content
    assert html.count(b'class="embed ') == 50

    resources = Resources()
    resources.feed(html.decode())
    urls = [link["href"] for link in resources.stylesheets]
    urls += [script["src"] for script in resources.scripts]
    own = [url for url in urls if same_origin(url)]
    assert any("htmx" in url for url in own), "htmx ({% htmx_script %}) is counted"
    sizes = {"page": len(gzip.compress(html))}
    sizes.update({url: len(gzip.compress(static_file(url))) for url in own})
    total = sum(sizes.values())
    report = ", ".join(f"{name} {size / 1024:.1f}" for name, size in sizes.items())
    print(
        f"Story page: {len(html) / 1024:.0f} KB of HTML; "
        f"first load {total / 1024:.1f} KB gzipped ({report})"
    )
    assert total < BUDGET, f"{total / 1024:.1f} KB gzipped, over {BUDGET // 1024} KB: {report}"


def test_nothing_from_another_origin_blocks_rendering(client, demo_story):
    html = client.get(demo_story.get_absolute_url()).content.decode()
    resources = Resources()
    resources.feed(html)
    for link in resources.stylesheets:
        assert same_origin(link["href"]), f"third-party stylesheet {link['href']}"
    for script in resources.scripts:
        blocking = (
            "async" not in script and "defer" not in script and script.get("type") != "module"
        )
        assert same_origin(script["src"]) or not blocking, f"blocking script {script['src']}"
    # Nor by way of our own CSS: an @import or a web font from elsewhere would block too.
    for link in resources.stylesheets:
        css = static_file(link["href"]).decode()
        assert "@import" not in css
        assert "url(http" not in css.replace(" ", "")
