"""The API's documented shapes. The OpenAPI document (and so the docs page) is
generated from these; the answers themselves are built by
``coverage.representation``, and tests validate each answer against them."""

from typing import Literal

from ninja import Field, Schema

Time = str  # ISO 8601 in UTC to the second, e.g. "2026-12-08T19:41:07Z"


class Rendition(Schema):
    url: str
    width: int | None
    height: int | None


class Image(Schema):
    url: str = Field(description="The display rendition's absolute address.")
    width: int | None
    height: int | None
    alt: str = Field(description="Alt text for readers who cannot see the image.")
    caption: str
    credit: str
    renditions: list[Rendition] | None = Field(
        None, description="Every size available (cards' images): display, then the original."
    )


class Embed(Schema):
    kind: Literal["social", "image", "video", "link", "quote"]
    after_block: int | None = Field(
        description="Its place in the text: after this many top-level blocks (paragraphs, "
        "lists, quotations) of content_html, 0 above it; null: after the text."
    )
    url: str | None = Field(description="The source: the post, video or page it shows.")
    provider: str | None = Field(description="e.g. X, Bluesky, YouTube.")
    title: str | None
    author_name: str | None
    author_handle: str | None
    text: str | None
    posted_at: Time | None
    caption: str | None
    credit: str | None
    image: Image | None


class Update(Schema):
    id: int
    story: str = Field(description="The story's slug.")
    url: str = Field(description="The update's permalink: its own page.")
    in_story_url: str = Field(description="Its place in the story's page.")
    headline: str | None
    title: str = Field(description='The headline, else "UPDATE 1941 GMT — its first words".')
    stamp: str = Field(description='As readers see it: "UPDATE 1941 GMT".')
    published_at: Time
    edited_at: Time | None = Field(description="When its text was last edited, if ever.")
    revision: int = Field(description="The story revision of its last change.")
    pinned: bool
    key_event: bool
    correction: str | None
    authors: list[str] = Field(description="Bylines.")
    content_html: str = Field(description="Sanitised HTML of the body (cards are in embeds).")
    content_text: str = Field(description="The body as plain text, one paragraph a line.")
    embeds: list[Embed]


class StoryLink(Schema):
    slug: str
    title: str
    url: str


class StoryLinks(Schema):
    self: str
    updates: str
    changes: str
    json_feed: str


class Story(Schema):
    slug: str
    url: str = Field(description="The story's page.")
    title: str
    standfirst: list[str] = Field(description="The lead text, one paragraph per item.")
    status: Literal["live", "ended"]
    revision: int = Field(description="The cursor for changes: pass it as ?since=.")
    started_at: Time | None
    ended_at: Time | None
    lead_image: Image | None
    reading_order: Literal["newest", "oldest"] = Field(
        description="How the page shows updates (the API's default order is newest first)."
    )
    previous: StoryLink | None = Field(description="The previous day's coverage.")
    next: StoryLink | None = Field(description="Where coverage continues, once it does.")
    links: StoryLinks


class StoryList(Schema):
    items: list[Story]
    next: str | None = Field(description="The next page's address; null on the last.")


class UpdateList(Schema):
    items: list[Update]
    next: str | None = Field(description="The next page's address; null on the last.")


class Change(Schema):
    id: int = Field(description="The update's id.")
    op: Literal["upsert", "delete"] = Field(
        description="upsert: store `update` under its id (new or replacing); "
        "delete: drop the update with this id if you have it."
    )
    action: str = Field(
        description="What happened last: published, edited, restored, pinned, unpinned, "
        "key_event, not_key_event, cards (upserts); retracted, unpublished, scheduled (deletes)."
    )
    revision: int
    update: Update | None = Field(description="The whole update for an upsert; null for a delete.")


class Changes(Schema):
    story: str
    status: Literal["live", "ended"]
    since: int
    revision: int = Field(description="Your new cursor: ask next with ?since=<this>.")
    has_more: bool = Field(
        description="True while catching up: ask again at once with the new cursor."
    )
    changes: list[Change] = Field(description="In revision order.")


class ProblemDetails(Schema):
    type: str
    title: str
    status: int
    detail: str
    revision: int | None = Field(None, description="409: the story's current revision.")
    errors: list[dict] | None = Field(None, description="400: each invalid parameter.")
