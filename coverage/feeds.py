"""RSS 2.0, Atom and JSON Feed 1.1: one item per published update, and a feed
of live stories.

Feed readers poll too, and most polls find nothing new: a story's feed is
rendered once per story revision (named by the cached live state, so an
unchanged feed costs no query), with an ETag and Last-Modified that answer
conditional requests with 304.
"""

import hashlib
import json
from operator import itemgetter

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape
from django.utils.http import parse_http_date_safe

from coverage import live, representation, websub
from coverage.embeds.placement import interleave
from coverage.models import Story
from coverage.sanitize import body_text

FEED_LENGTH = 100
# The list of live stories has no revision of its own: it is rendered at most
# this often per process.
LIVE_FEED_SECONDS = 30


class CachedFeed(Feed):
    """A feed answered from its last rendering while ``cache_key`` is the same."""

    def cache_key(self, request, *args, **kwargs) -> str | None:
        raise NotImplementedError

    def __call__(self, request, *args, **kwargs):
        # Links in the feed are absolute, built from the request's host.
        key = self.cache_key(request, *args, **kwargs)
        key = f"feed:{type(self).__name__}:{key}:{request.get_host()}"
        rendered = caches["revisions"].get(key)
        if rendered is None:
            response = super().__call__(request, *args, **kwargs)
            etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
            rendered = (response.content, response["Content-Type"], response["Last-Modified"], etag)
            caches["revisions"].set(key, rendered, self.cache_seconds)
        content, content_type, last_modified, etag = rendered
        response = HttpResponse(content, content_type=content_type)
        response["ETag"] = etag
        response["Last-Modified"] = last_modified
        response["Cache-Control"] = f"public, max-age={settings.FEED_MAX_AGE}"
        return get_conditional_response(
            request,
            etag=etag,
            last_modified=parse_http_date_safe(last_modified),
            response=response,
        )

    @property
    def cache_seconds(self) -> int:
        # Read when rendering, not at import: settings may change after (tests do).
        return settings.LIVE_PAGE_CACHE_SECONDS


class HubLink:
    """WebSub's rel="hub" link beside the feed's rel="self" one."""

    link_element = "link"

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.feed.get("hub"):
            handler.addQuickElement(
                self.link_element, None, {"rel": "hub", "href": self.feed["hub"]}
            )


class HubLinkRss(HubLink, Rss201rev2Feed):
    link_element = "atom:link"  # RSS borrows Atom's, as for rel="self"


class HubLinkAtom(HubLink, Atom1Feed):
    pass


class StoryRssFeed(CachedFeed):
    feed_type = HubLinkRss
    url_name = "coverage:story-rss"
    description_template = "coverage/feed_item.html"
    author_name = settings.NEWSROOM_NAME

    def cache_key(self, request, slug):
        state = live.get(slug)
        if state is None or state.status == Story.Status.DRAFT:
            raise Http404("No such story.")
        return f"{state.story_id}:{state.revision}"

    def get_object(self, request, slug):
        story = get_object_or_404(Story.objects.public(), slug=slug)
        # Where absolute links start, for what items build themselves (JSON Feed);
        # on the story, not the feed, which every request shares.
        story.base_url = representation.base_url(request)
        return story

    def title(self, story):
        return story.title

    def link(self, story):
        return story.get_absolute_url()

    def feed_url(self, story):
        # The address the WebSub hub is pinged with (rel="self").
        return websub.feed_url(self.url_name, story.slug)

    def feed_extra_kwargs(self, story):
        return {"hub": settings.WEBSUB_HUB_URL}

    def description(self, story):
        # RSS readers render descriptions as HTML: the standfirst is plain text.
        return escape(story.standfirst or story.title)

    def updates(self, story):
        return story.updates.published().newest_first().prefetch_related("embeds")

    def items(self, story):
        updates = self.updates(story)[:FEED_LENGTH]
        for update in updates:
            update.story = story  # item links need the story; no query per item
        return updates

    def item_title(self, update):
        return update.title

    def item_link(self, update):
        return update.get_absolute_url()

    def item_guid(self, update):
        # Stable for the update's life, whatever happens to the story's slug.
        return f"urn:liveblog:update:{update.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, update):
        return update.published_at

    def item_updateddate(self, update):
        return update.updated_at


class StoryAtomFeed(StoryRssFeed):
    feed_type = HubLinkAtom
    url_name = "coverage:story-atom"

    def subtitle(self, story):
        # Atom's <subtitle> has no type, so it is text: readers show it as it is.
        return story.standfirst or story.title


class LiveStoriesFeed(CachedFeed):
    title = "Live coverage"
    description = "Stories being covered live now."
    cache_seconds = LIVE_FEED_SECONDS

    def cache_key(self, request):
        return "all"

    def link(self):
        return reverse("coverage:home")

    def items(self):
        return Story.objects.live().order_by("-started_at", "-id")[:FEED_LENGTH]

    def item_title(self, story):
        return story.title

    def item_description(self, story):
        # Rendered as HTML by feed readers; the standfirst is plain text.
        return escape(story.standfirst)

    def item_pubdate(self, story):
        return story.started_at

    def item_updateddate(self, story):
        return story.updated_at


class JsonFeed(SyndicationFeed):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1) from the syndication
    framework's fields: the same items, titles, links and HTML as RSS and Atom.
    An item's extra ``content_text``, ``authors``, ``image`` and ``_liveblog``
    (an extension object, as the spec allows) are passed through."""

    content_type = "application/feed+json; charset=utf-8"
    version = "https://jsonfeed.org/version/1.1"
    ITEM_EXTRAS = ("content_text", "authors", "image", "_liveblog")

    def write(self, outfile, encoding):
        outfile.write(json.dumps(self.document(), ensure_ascii=False))

    def document(self) -> dict:
        feed = self.feed
        return _present(
            {
                "version": self.version,
                "title": feed["title"],
                "home_page_url": feed["link"],
                "feed_url": feed["feed_url"],
                "description": feed["description"],
                "language": feed["language"],
                "authors": [{"name": feed["author_name"]}] if feed["author_name"] else None,
                "items": [self.item(item) for item in self.items],
            }
        )

    def item(self, item: dict) -> dict:
        return _present(
            {
                "id": item["unique_id"] or item["link"],
                "url": item["link"],
                "title": item["title"],
                "content_html": item["description"],
                "date_published": representation.iso(item["pubdate"]),
                "date_modified": representation.iso(item["updateddate"]),
                **{name: item.get(name) for name in self.ITEM_EXTRAS},
            }
        )


def _present(fields: dict) -> dict:
    # JSON Feed leaves out what a feed or item does not have, rather than null.
    return {name: value for name, value in fields.items() if value not in (None, [])}


class StoryJsonFeed(StoryRssFeed):
    feed_type = JsonFeed
    url_name = "coverage:story-json"

    def description(self, story):
        # JSON Feed's description is plain text.
        return story.standfirst or story.title

    def updates(self, story):
        return super().updates(story).with_cards_and_bylines()

    def item_extra_kwargs(self, update):
        data = representation.update_data(update, update.story.base_url)
        images = [card["image"]["url"] for card in data["embeds"] if card["image"]]
        # Text and cards in the page's order: each card after its block.
        layout = interleave(data["content_html"], data["embeds"], place=itemgetter("after_block"))
        text = [
            update.headline,
            *(
                body_text(part, keep_lines=True) if isinstance(part, str) else _card_text(part)
                for part in layout
            ),
            f"Correction: {update.correction_note}" if update.correction_note else "",
        ]
        return {
            "content_text": "\n\n".join(part for part in text if part),
            "authors": [{"name": name} for name in data["authors"]],
            "image": images[0] if images else None,
            "_liveblog": {
                "stamp": data["stamp"],
                "key_event": data["key_event"],
                "pinned": data["pinned"],
                "revision": data["revision"],
                "embeds": data["embeds"],
            },
        }


def _card_text(card: dict) -> str:
    """A card as a line of text: who, what, and where it is."""
    who = card["author_name"] or card["provider"]
    what = card["text"] or card["title"] or card["caption"]
    return " — ".join(part for part in (who, what, card["url"]) if part)


class LiveStoriesJsonFeed(LiveStoriesFeed):
    feed_type = JsonFeed

    def item_guid(self, story):
        # Stable for the story's life, whatever happens to its slug.
        return f"urn:liveblog:story:{story.pk}"

    def item_extra_kwargs(self, story):
        return {"content_text": story.standfirst or story.title}
