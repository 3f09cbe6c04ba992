"""One representation of a story and of an update, for every surface that is
not the HTML page: the JSON API, JSON Feed, webhooks (and whatever comes next).

Each is a plain dict of JSON types, built from the same rows and the same rules
the page uses (the sanitised body through the allow-list again, its text as
``body_text`` gives it, GMT stamps, display renditions), so that no two
surfaces can disagree about an update. Times are ISO 8601 in UTC ("Z").

Fetch updates with ``UpdateQuerySet.with_cards_and_bylines()`` (and
``select_related("story")``) first: this module reads what is fetched and runs
no query of its own for a fetched update.
"""

import datetime as dt

from django.conf import settings

from coverage.images import display_picture, lead_picture
from coverage.models import Embed, Story, Update
from coverage.sanitize import body_text, sanitize_html


def base_url(request=None) -> str:
    """Where absolute links start: SITE_URL when set (the address readers know,
    also outside any request: webhooks), else the request's own scheme and host."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return ""


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, with a "Z": what JSON clients parse everywhere."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _absolute(base: str, path: str) -> str:
    return path if path.startswith(("http://", "https://")) else base + path


def image_data(base: str, url: str, width, height, alt: str, caption: str, credit: str) -> dict:
    return {
        "url": _absolute(base, url),
        "width": width,
        "height": height,
        "alt": alt,
        "caption": caption,
        "credit": credit,
    }


def embed_data(embed: Embed, base: str) -> dict:
    """A card as data: what it is, where it points, and what it shows."""
    data = {
        "kind": embed.kind,
        # After this many top-level blocks of content_html; null: after the text.
        "after_block": embed.after_block,
        "url": embed.url or None,
        "provider": embed.provider or None,
        "title": embed.title or None,
        "author_name": embed.author_name or None,
        "author_handle": embed.author_handle or None,
        "text": embed.text or None,
        "posted_at": iso(embed.posted_at),
        "caption": embed.caption or None,
        "credit": embed.credit or None,
        "image": None,
    }
    picture = display_picture(embed) if embed.image else None
    if picture is not None:
        data["image"] = image_data(
            base,
            picture.url,
            picture.width,
            picture.height,
            embed.alt_text,
            embed.caption,
            embed.credit,
        )
        original = {
            "url": _absolute(base, embed.image.url),
            "width": embed.image_width,
            "height": embed.image_height,
        }
        data["image"]["renditions"] = [
            {"url": data["image"]["url"], "width": picture.width, "height": picture.height},
            *([original] if original["url"] != data["image"]["url"] else []),
        ]
    return data


def update_data(update: Update, base: str) -> dict:
    """An update as every JSON surface shows it: its cards as data, each with its
    place among content_html's top-level blocks (coverage.embeds.placement)."""
    story = update.story
    html = sanitize_html(update.body)
    return {
        "id": update.pk,
        "story": story.slug,
        "url": _absolute(base, update.get_absolute_url()),
        "in_story_url": _absolute(base, update.in_story_url),
        "headline": update.headline or None,
        "title": update.title,
        "stamp": f"UPDATE {update.stamp}",
        "published_at": iso(update.published_at),
        "edited_at": iso(update.edited_at),
        "revision": update.revision,
        "pinned": update.pinned,
        "key_event": update.key_event,
        "correction": update.correction_note or None,
        "authors": update.bylines if settings.SHOW_BYLINES else [],
        "content_html": html,
        "content_text": body_text(update.body, keep_lines=True),
        "embeds": [embed_data(embed, base) for embed in update.embeds.all()],
    }


def story_data(story: Story, base: str, *, following: Story | None = None) -> dict:
    """A story's own fields (not its updates), ``previous`` fetched with it."""
    previous = story.previous if story.previous_id else None
    if previous is not None and previous.status == Story.Status.DRAFT:
        previous = None
    lead_image = None
    # The display copy (resized, no metadata), as the page shows it.
    if picture := lead_picture(story):
        lead_image = image_data(
            base,
            picture.url,
            picture.width,
            picture.height,
            story.lead_image_alt,
            story.lead_image_caption,
            story.lead_image_credit,
        )
    return {
        "slug": story.slug,
        "url": _absolute(base, story.get_absolute_url()),
        "title": story.title,
        "standfirst": story.standfirst_paragraphs,
        "status": story.status,
        "revision": story.revision,
        "started_at": iso(story.started_at),
        "ended_at": iso(story.ended_at),
        "lead_image": lead_image,
        "reading_order": story.reading_order,
        "previous": _chain_link(previous, base),
        "next": _chain_link(following, base),
    }


def _chain_link(story: Story | None, base: str) -> dict | None:
    if story is None:
        return None
    return {
        "slug": story.slug,
        "title": story.title,
        "url": _absolute(base, story.get_absolute_url()),
    }
