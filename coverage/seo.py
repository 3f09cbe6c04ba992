"""What search engines and social sites read: a story as schema.org
LiveBlogPosting (JSON-LD), an update's own page as a NewsArticle, the card a
shared link makes (Open Graph / Twitter), and the sitemap of public stories.

Google shows a live blog's "LIVE" label and its latest updates from this data;
it is built from the same rows the page shows, so it never says more than the
reader sees.
"""

import datetime as dt
import json
from typing import NamedTuple

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.utils.safestring import SafeString, mark_safe

from coverage import images
from coverage.models import Embed, Story, Update
from coverage.sanitize import body_text

# Inside <script>, "</script>" (or "<!--") in a headline would end the data block
# and start markup: <, > and & are written as JSON escapes, which parse the same.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003C", ">": "\\u003E", "&": "\\u0026"})


def live_blog_posting(request, story: Story, updates: list[Update]) -> dict:
    """The story and the updates on its page as a schema.org LiveBlogPosting."""
    started = story.started_at or story.created_at
    blog_updates = [_blog_posting(request, update) for update in updates]
    modified = max(
        [story.updated_at] + [update.edited_at or update.published_at for update in updates]
    )
    data = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "url": request.build_absolute_uri(story.get_absolute_url()),
        "headline": story.title,
        "description": " ".join(story.standfirst_paragraphs) or story.title,
        "datePublished": iso(started),
        "dateModified": iso(modified),
        "coverageStartTime": iso(started),
        "publisher": {"@type": "Organization", "name": settings.NEWSROOM_NAME},
        "liveBlogUpdate": blog_updates,
    }
    if picture := images.lead_picture(story):
        data["image"] = [request.build_absolute_uri(picture.url)]
    if story.status == Story.Status.ENDED:
        data["coverageEndTime"] = iso(story.ended_at or story.updated_at)
    return data


def _blog_posting(request, update: Update) -> dict:
    return {
        "@type": "BlogPosting",
        "headline": update.headline or f"UPDATE {update.stamp}",
        "datePublished": iso(update.published_at),
        "dateModified": iso(update.edited_at or update.published_at),
        "articleBody": article_body(update.body),
        "url": request.build_absolute_uri(update.get_absolute_url()),
    }


class ShareCard(NamedTuple):
    """What a link to a page shows when shared: Open Graph and Twitter card meta."""

    title: str
    description: str
    url: str
    image: str = ""
    image_alt: str = ""
    image_width: int | None = None
    image_height: int | None = None


DESCRIPTION_CHARACTERS = 200


def story_card(request, story: Story) -> ShareCard:
    return ShareCard(
        story.title,
        _shorten(" ".join(story.standfirst_paragraphs) or story.title),
        request.build_absolute_uri(story.get_absolute_url()),
        *_lead_image(request, story),
    )


def update_card(request, update: Update) -> ShareCard:
    """The update's own image if it has one, else the story's lead image."""
    image = next(
        (embed for embed in update.embeds.all() if embed.kind == Embed.Kind.IMAGE and embed.image),
        None,
    )
    picture = images.display_picture(image) if image else None
    if picture:
        card_image = (
            request.build_absolute_uri(picture.url),
            image.alt_text,
            picture.width,
            picture.height,
        )
    else:
        card_image = _lead_image(request, update.story)
    return ShareCard(
        update.title,
        _shorten(article_body(update.body).replace("\n", " ") or update.story.title),
        request.build_absolute_uri(update.get_absolute_url()),
        *card_image,
    )


def _lead_image(request, story: Story) -> tuple:
    picture = images.lead_picture(story)
    if picture is None:
        return ()
    return (
        request.build_absolute_uri(picture.url),
        story.lead_image_alt,
        picture.width,
        picture.height,
    )


def _shorten(text: str) -> str:
    if len(text) <= DESCRIPTION_CHARACTERS:
        return text
    return text[: DESCRIPTION_CHARACTERS - 1].rsplit(" ", 1)[0] + "…"


def news_article(request, update: Update) -> dict:
    """An update's own page as a schema.org NewsArticle, part of its story's
    LiveBlogPosting."""
    story = update.story
    card = update_card(request, update)
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": update.title[:110],  # Google shows at most 110 characters
        "description": card.description,
        "url": card.url,
        "mainEntityOfPage": card.url,
        "datePublished": iso(update.published_at),
        "dateModified": iso(update.edited_at or update.published_at),
        "articleBody": article_body(update.body),
        "publisher": {"@type": "Organization", "name": settings.NEWSROOM_NAME},
        "isPartOf": {
            "@type": "LiveBlogPosting",
            "headline": story.title,
            "url": request.build_absolute_uri(story.get_absolute_url()),
        },
    }
    if settings.SHOW_BYLINES and update.bylines:
        data["author"] = [{"@type": "Person", "name": name} for name in update.bylines]
    else:
        data["author"] = {"@type": "Organization", "name": settings.NEWSROOM_NAME}
    if card.image:
        data["image"] = [card.image]
    return data


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC to the second, as schema.org dates are read."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def article_body(body_html: str) -> str:
    """An update's text as schema.org's articleBody: its paragraphs as lines."""
    return body_text(body_html, keep_lines=True)


def as_json_ld(data: dict) -> SafeString:
    """JSON safe to put between <script type="application/ld+json"> tags."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))


class StorySitemap(Sitemap):
    """Every story a reader may open (live or ended), last changed first.
    (No changefreq or priority: search engines ignore both.)"""

    def items(self):
        return Story.objects.public().order_by("-updated_at", "-id")

    def lastmod(self, story):
        # Written with the template's "c" format: whole seconds, as W3C datetimes are.
        return story.updated_at.replace(microsecond=0)
