"""Soak test: do hundreds of readers converge on exactly the server's state?

Starts the production server (`make serve`, PostgreSQL + Redis), opens a live
story for N simulated readers that follow the page's protocol exactly as the
browser does (load the page and every older slice, apply each poll answer's
out-of-band swaps to their own copy of the update list, move their cursor as
the poller does, reload on HX-Refresh), while an editor publishes, edits,
retracts, restores, backdates, schedules, pins and drafts updates. At the end
every reader's list must equal the server's published state: the same ids, in
the same order, at the same versions.

    .venv/bin/python bench/soak.py [--readers 200] [--changes 250] [--max-seconds 240]

Loopback only; bounded in requests and time; exits non-zero on any mismatch.
"""

import argparse
import asyncio
import datetime as dt
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx

PORT = 8132
SLUG = "soak-story"


# --- The reader: what the browser does, without the browser ---------------------


class FragmentParser(HTMLParser):
    """Collects update articles (with their swap mode), the poller and the older link."""

    def __init__(self):
        super().__init__()
        self.articles = []  # (id, sort key, version, swap mode or None)
        self.poll_url = None
        self.poller_seen = False
        self.older_url = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        element_id = attrs.get("id") or ""
        if tag == "article" and element_id.startswith("update-"):
            pk = int(element_id.removeprefix("update-"))
            mode = attrs.get("data-hx-swap-oob")
            if mode == "delete":
                self.articles.append((pk, None, None, "delete"))
            else:
                self.articles.append((pk, attrs["data-sort"], int(attrs["data-version"]), mode))
        elif element_id == "poller":
            self.poller_seen = True
            # An ended story's page polls only slowly (for a return to live):
            # a reader who has all of it is done.
            self.poll_url = None if attrs.get("data-ended") else attrs.get("data-hx-get")
        elif tag == "a" and "load-older" in (attrs.get("class") or ""):
            self.older_url = attrs.get("data-hx-get")


def parse(html: str) -> FragmentParser:
    parser = FragmentParser()
    parser.feed(html)
    return parser


async def fetch(client, url, **kwargs):
    """GET with the browser's patience: a connection the server closed is retried."""
    for attempt in range(4):
        try:
            return await client.get(url, **kwargs)
        except httpx.TransportError:
            if attempt == 3:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


@dataclass
class Reader:
    client: httpx.AsyncClient
    page_url: str
    updates: dict = field(default_factory=dict)  # id -> (sort key, version)
    poll_url: str | None = None
    more_older: bool = False
    polls: int = 0
    reloads: int = 0

    @property
    def cursor(self) -> int:
        return int(re.search(r"since=(\d+)", self.poll_url).group(1)) if self.poll_url else -1

    async def load_page(self):
        """Open the page, then click "Load older updates" until there are none."""
        self.updates.clear()
        response = await fetch(self.client, self.page_url)
        response.raise_for_status()
        page = parse(response.text)
        for pk, key, version, _ in page.articles:
            self.updates[pk] = (key, version)
        self.poll_url = page.poll_url
        older = page.older_url
        while older:
            response = await fetch(self.client, older, headers={"HX-Request": "true"})
            response.raise_for_status()
            chunk = parse(response.text)
            for pk, key, version, _ in chunk.articles:
                self.updates.setdefault(pk, (key, version))  # live.js keeps the first copy
            older = chunk.older_url
        self.more_older = False

    async def poll_once(self):
        if not self.poll_url:
            return
        self.polls += 1
        response = await fetch(self.client, self.poll_url, headers={"HX-Request": "true"})
        if response.headers.get("HX-Refresh") == "true":
            self.reloads += 1
            await self.load_page()
            return
        if response.status_code == 204:
            return
        response.raise_for_status()
        answer = parse(response.text)
        for pk, key, version, mode in answer.articles:
            if mode == "delete":
                self.updates.pop(pk, None)
            elif mode == "true":
                self.updates[pk] = (key, version)  # replace, or insert in order
        if answer.poller_seen:
            self.poll_url = answer.poll_url  # None once the story has ended

    def state(self):
        ordered = sorted(self.updates.items(), key=lambda item: item[1][0], reverse=True)
        return [(pk, version) for pk, (_, version) in ordered]


async def run_readers(base_url, n_readers, deadline):
    """Poll until the story ends (the editor's last change) and each reader has all of it."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        readers = [Reader(client, f"/{SLUG}/") for _ in range(n_readers)]

        async def follow(index, reader):
            # Readers join over the first seconds; a few start far behind or ahead.
            await asyncio.sleep(random.uniform(0, 3))
            await reader.load_page()
            if index % 20 == 1:
                reader.poll_url = f"/{SLUG}/updates/?since=0"
                reader.updates.clear()
            elif index % 20 == 2:
                reader.poll_url = f"/{SLUG}/updates/?since={reader.cursor + 10_000}"
            while time.monotonic() < deadline:
                await reader.poll_once()
                if reader.poll_url is None:
                    return  # the story ended and this reader has all of it
                await asyncio.sleep(random.uniform(0.2, 1.0))
            raise TimeoutError("reader did not converge before the deadline")

        await asyncio.gather(*(follow(index, reader) for index, reader in enumerate(readers)))
        return readers


# --- The editor: every kind of change, through the models ------------------------


def edit(story, n_changes: int, rng: random.Random, pause: float) -> dict:
    """Make n_changes changes through the model methods editors' actions use."""
    from django.utils import timezone

    from coverage import publishing
    from coverage.models import Embed, Update

    def change(update, **changes):
        publishing.edit_update(update.pk, expected_version=update.version, **changes)

    counts = {}
    latest_due = timezone.now()

    def pick(**filters):
        candidates = list(
            Update.objects.filter(story=story, **filters).values_list("pk", flat=True)
        )
        return Update.objects.get(pk=rng.choice(candidates)) if candidates else None

    for number in range(n_changes):
        now = timezone.now()
        kind = rng.choices(
            [
                "publish",
                "edit",
                "retract",
                "restore",
                "backdate",
                "schedule",
                "pin",
                "key",
                "draft",
                "undraft",
                "embed",
            ],
            weights=[22, 18, 8, 5, 10, 8, 6, 6, 6, 5, 6],
        )[0]
        update = None
        if kind == "publish":
            publishing.post_update(story, body=f"<p>Change {number}: news.</p>")
        elif kind == "backdate":
            when = now - dt.timedelta(minutes=rng.randint(1, 600))
            publishing.post_update(story, body=f"<p>Backdated {number}</p>", published_at=when)
        elif kind == "schedule":
            when = now + dt.timedelta(seconds=rng.uniform(1, 6))
            latest_due = max(latest_due, when)
            publishing.post_update(story, body=f"<p>Scheduled {number}</p>", published_at=when)
        elif kind == "edit" and (update := pick(retracted_at__isnull=True)):
            change(update, body=f"<p>Edited in change {number}</p>")
        elif kind == "retract" and (update := pick(retracted_at__isnull=True)):
            publishing.retract(update.pk)
        elif kind == "restore" and (update := pick(retracted_at__isnull=False)):
            publishing.restore(update.pk)
        elif kind == "pin" and (update := pick()):
            publishing.set_pinned(update.pk, not update.pinned)
        elif kind == "key" and (update := pick()):
            publishing.set_key_event(update.pk, not update.key_event)
        elif kind == "draft" and (update := pick(status=Update.Status.PUBLISHED)):
            change(update, status=Update.Status.DRAFT)
        elif kind == "undraft" and (update := pick(status=Update.Status.DRAFT)):
            change(update, status=Update.Status.PUBLISHED)
        elif kind == "embed" and (update := pick()):
            publishing.add_embed(update.pk, Embed(kind=Embed.Kind.QUOTE, text=f"Quote {number}"))
        else:
            publishing.post_update(story, body=f"<p>Change {number}: fallback.</p>")
            kind = "publish"
        counts[kind] = counts.get(kind, 0) + 1
        time.sleep(pause)
    return {"counts": counts, "latest_due": latest_due}


def server_state(story):
    updates = story.updates.published().in_reader_order()
    return [(u.pk, u.version) for u in updates.only("pk", "version")]


def run_soak(base_url, story, n_readers, n_changes, max_seconds=240, pause=0.03, seed=1):
    """Run readers in a background thread and the editor here; return a report.

    The editor runs in the calling thread because it uses the ORM (and tests
    share the test database's connection with the live server)."""
    from django.utils import timezone

    from coverage import live, publishing

    deadline = time.monotonic() + max_seconds
    outcome = {}

    def readers_thread():
        try:
            outcome["readers"] = asyncio.run(run_readers(base_url, n_readers, deadline))
        except BaseException as error:  # reported by the caller
            outcome["error"] = error

    thread = threading.Thread(target=readers_thread, daemon=True)
    thread.start()
    time.sleep(1)
    edits = edit(story, n_changes, random.Random(seed), pause)
    # Scheduled updates fall due after the editor stops: wait, then let a poll
    # release them (the state in the cache knows when).
    while timezone.now() <= edits["latest_due"] and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)
    live.get(story.slug)  # release anything due, as any poll would
    publishing.end_coverage(story.pk)  # the last change: stops every reader's polling
    thread.join(timeout=max(1, deadline - time.monotonic()) + 5)
    if "error" in outcome:
        raise outcome["error"]
    if thread.is_alive():
        raise TimeoutError("readers still running at the deadline")

    expected = server_state(story)
    readers = outcome["readers"]
    mismatches = [reader for reader in readers if reader.state() != expected]
    return {
        "readers": len(readers),
        "polls": sum(reader.polls for reader in readers),
        "reloads": sum(reader.reloads for reader in readers),
        "changes": sum(edits["counts"].values()) + 1,
        "kinds": edits["counts"],
        "published": len(expected),
        "mismatches": len(mismatches),
        "example": (mismatches[0].state(), expected) if mismatches else None,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--changes", type=int, default=250)
    parser.add_argument("--max-seconds", type=int, default=240)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import harness

    env = harness.production_env(harness.fresh_database("liveblog_soak"), PORT, ACCESS_LOG="0")
    harness.use_django(env)
    harness.migrate()
    harness.flush_redis()
    from coverage import publishing
    from coverage.models import Story

    story = publishing.create_story(slug=SLUG, title="Soak story", status=Story.Status.LIVE)
    for n in range(80):  # more than one page, so readers load older slices too
        publishing.post_update(story, body=f"<p>Before the soak {n}</p>")
    with harness.running_server(env) as base:
        started = time.monotonic()
        report = run_soak(base, story, args.readers, args.changes, args.max_seconds)
        report["seconds"] = round(time.monotonic() - started, 1)
    example = report.pop("example")
    for key, value in report.items():
        print(f"{key:>10}: {value}")
    if report["mismatches"]:
        print("first mismatch (reader, server):", example)
        sys.exit(1)


if __name__ == "__main__":
    main()
