"""RSS 2.0 and Atom: one item per published update, and a feed of live stories.

Feed readers poll too, and most polls find nothing new: a story's feed is
rendered once per story revision (named by the cached live state, so an
unchanged feed costs no query), with an ETag and Last-Modified that answer
conditional requests with 304.
"""

import hashlib

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from django.utils.http import parse_http_date_safe

from coverage import live, websub
from coverage.models import Story

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
        return get_object_or_404(Story.objects.public(), slug=slug)

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

    def items(self, story):
        updates = story.updates.published().newest_first()
        updates = updates.prefetch_related("embeds")[:FEED_LENGTH]
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
