"""The one write path: every change to a story, its updates and their embeds.

Readers' pages poll with the story's revision, so a change that does not bump
it is a change they never see. Every function here is one transaction that

* locks what it changes and saves only the fields it changes (a pin never
  writes back a colleague's text);
* bumps the story's revision exactly once and stamps each changed update with
  it (the poll's cursor);
* records exactly one version row per changed update (``UpdateVersion``, and
  the admin's history when a person did it) — keeping the text as it was
  before the first recorded change, whichever path makes it;
* refreshes the cached live state once the transaction commits.

The desk, the classic admin (its forms and list actions), ``import_text``, the
desk's paste import, ``seed_demo`` and the oEmbed enrichment all write through
here. Models' ``save()`` only normalises their own fields.
"""

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from coverage import images, live, tasks, webhooks, websub
from coverage.embeds import SOCIAL_PROVIDERS, EmbedError, recognise_url
from coverage.embeds.in_text import CardsInText, cards_in_text
from coverage.embeds.placement import moved_place, place_in, top_level_blocks
from coverage.models import Embed, Story, Update, UpdateVersion
from coverage.sanitize import sanitize_html
from coverage.textformat import ParsedStory, ParsedUpdate

# A compose form left with an empty time stamps the update as it is created;
# publish() tells such a draft from one whose writer chose a time by this.
AUTO_STAMP_TOLERANCE = dt.timedelta(seconds=5)

# What an editor types; a change to these stamps edited_at on a published update.
EDITABLE_TEXT = ("headline", "body", "correction_note")
# What edit_update() may change, each recorded in every version row so that
# the lock can tell which fields a colleague changed since an editor loaded it.
EDITABLE = (*EDITABLE_TEXT, "published_at", "status", "key_event", "pinned")


class EditConflict(Exception):
    """Someone else changed what this editor changed, after this editor loaded it."""

    def __init__(self, current: Update):
        self.current = current
        super().__init__(f"update {current.pk} is at version {current.version}")


@dataclass
class EmbedChanges:
    """An update's cards as an edit leaves them (the admin's inline forms)."""

    added: list[Embed] = field(default_factory=list)
    changed: list[Embed] = field(default_factory=list)
    removed: list[Embed] = field(default_factory=list)

    def __bool__(self):
        return bool(self.added or self.changed or self.removed)


# Revisions, versions, delivery -----------------------------------------------


def _next_revision(story_id: int) -> int:
    """Advance the story's revision and return it.

    The UPDATE takes the story's row lock until commit, so concurrent changes
    to one story get distinct revisions and commit in revision order.
    """
    Story.objects.filter(pk=story_id).update(revision=F("revision") + 1, updated_at=timezone.now())
    revision = Story.objects.filter(pk=story_id).values_list("revision", flat=True).get()
    # Readers hold the revisions they saw, so a number must never come back
    # with other content. After a database restore (without a cache flush) the
    # story's revision is below the highest the cache saw readers get: jump
    # past it, and have pages at the numbers in between reload (note_restore).
    # The cache, not the database, keeps this mark because a restore rewinds
    # the database; without a shared cache, restart the servers (README).
    high_water = live.high_water(story_id)
    if revision <= high_water:
        live.note_restore(story_id, restored=revision - 1, high_water=high_water)
        revision = high_water + 1
        Story.objects.filter(pk=story_id).update(revision=revision)
    return revision


def _announce(story_id: int) -> None:
    """Once the write commits: refresh the story's live state (readers' polls see
    the new revision) and tell the WebSub hub, if there is one."""
    live.refresh_on_commit(story_id)
    websub.ping_on_commit(story_id)


def _locked(update_id: int) -> Update:
    return Update.objects.select_for_update().select_related("story").get(pk=update_id)


def _record(update: Update, action: str, actor=None, *, created=False) -> UpdateVersion:
    """The version row: who, when, and every editable field as it stood after."""
    version = UpdateVersion.objects.create(
        update=update,
        version=update.version,
        action=action,
        actor=actor,
        **{name: getattr(update, name) for name in EDITABLE},
    )
    if actor is not None and actor.pk is not None:
        LogEntry.objects.log_actions(
            actor.pk,
            [update],
            ADDITION if created else CHANGE,
            change_message=f"{Update.Action(action).label} (version {update.version}).",
            single_object=True,
        )
    webhooks.update_changed(update, version)
    return version


def _keep_original(update: Update) -> None:
    """An update written before versions were recorded (or by an old script)
    keeps the text its first recorded change replaces."""
    if not update.versions.exists():
        _record(update, Update.Action.ORIGINAL)


def _save_changed(update: Update, revision: int, fields: Iterable[str]) -> None:
    update.revision = revision
    update.version += 1
    update.save(update_fields={*fields, "revision", "version", "updated_at"})


def _save_embed(embed: Embed) -> None:
    """Save a card, its display image (in this transaction: no page ever points
    at a missing rendition; made before it, by images.prepare_display_images,
    so the resize holds no lock) and, after commit, its optional enrichment."""
    image_is_new = bool(embed.image) and not embed.image._committed
    embed.save()
    images.refresh_display_image(embed, image_is_new)
    if (
        settings.EMBED_ENRICHMENT
        and embed.enriched_at is None
        and embed.url
        and embed.provider in settings.OEMBED_ENDPOINTS
    ):
        # After commit: a slow provider must never hold the story's row lock.
        embed_id = embed.pk
        transaction.on_commit(lambda: tasks.enqueue_enrichment(embed_id))


def _take_cards_from_text(fields: dict) -> tuple[list[Embed], CardsInText | None]:
    """Lone known-provider links in ``fields["body"]`` (coverage.embeds.in_text):
    taken out of it, as the (unsaved) cards the embed field makes of them, each
    at the place the link stood; and what was taken (None: no text given)."""
    if not fields.get("body"):
        return [], None
    found = cards_in_text(sanitize_html(fields["body"]))
    fields["body"] = found.body
    return [Embed(**card.as_dict(), after_block=place) for place, card in found.cards], found


def _save_embeds(update: Update, embeds: Iterable[Embed]) -> None:
    """Save new cards in this order; a place past the text's end is after the text."""
    block_count = len(top_level_blocks(update.body))
    for position, embed in enumerate(embeds):
        embed.update = update
        embed.position = position
        embed.after_block = place_in(embed.after_block, block_count)
        _save_embed(embed)


# Updates ------------------------------------------------------------------


def creation_action(update: Update, now=None) -> str:
    if update.status == Update.Status.DRAFT:
        return Update.Action.DRAFTED
    if update.status == Update.Status.SUBMITTED:
        return Update.Action.SUBMITTED
    return Update.Action.SCHEDULED if update.is_scheduled(now) else Update.Action.PUBLISHED


def post_update(
    story: Story,
    *,
    actor=None,
    status: str = Update.Status.PUBLISHED,
    client_token: uuid.UUID | None = None,
    embeds: Iterable[Embed] = (),
    **fields,
) -> tuple[Update, bool]:
    """Create an update and its embeds: (update, created).

    A ``client_token`` that already created an update returns that update and
    creates nothing: a double click or a resubmitted form posts once. An empty
    ``published_at`` stamps the current time.
    """
    if client_token is not None:
        existing = Update.objects.filter(client_token=client_token).first()
        if existing is not None:
            return existing, False
    if fields.get("published_at") is None:
        fields["published_at"] = timezone.now()
    # The text's own cards come first: the text is above the embed field.
    embeds = [*_take_cards_from_text(fields)[0], *embeds]
    images.prepare_display_images(embeds)
    try:
        with transaction.atomic():
            update = _create(story, _next_revision(story.pk), status, client_token, fields)
            if actor is not None:
                update.authors.add(actor)
            _save_embeds(update, embeds)
            _record(update, creation_action(update), actor, created=True)
            _announce(story.pk)
    except IntegrityError:
        # The same form, posted twice at once: the other request's insert won.
        existing = Update.objects.filter(client_token=client_token).first()
        if client_token is None or existing is None:
            raise
        return existing, False
    return update, True


def _create(story: Story, revision: int, status: str, client_token, fields: dict) -> Update:
    update = Update(
        story=story,
        status=status,
        client_token=client_token,
        revision=revision,
        version=1,
        **fields,
    )
    update.save()
    return update


def edit_update(
    update_id: int,
    *,
    expected_version: int,
    actor=None,
    embeds: EmbedChanges | None = None,
    **changes,
) -> Update:
    """Save an editor's changes to the update they loaded at ``expected_version``.

    Under the row lock, what the editor changed is compared with what others
    changed since: a colleague's pin, key event, time or cards merge with this
    edit; a colleague's text edit while this editor also edited the text (or
    both retiming it) raises :class:`EditConflict` carrying the current update.
    A published update keeps its time unless ``published_at`` is passed; a
    change to its text stamps ``edited_at``.
    """
    now = timezone.now()
    embeds = embeds or EmbedChanges()
    cards_from_text, _ = _take_cards_from_text(changes)
    images.prepare_display_images([*embeds.changed, *embeds.added])
    with transaction.atomic():
        update = _locked(update_id)
        proposed = normalise(changes)
        if update.version != expected_version:
            proposed = merge(update, expected_version, proposed)
        proposed = {
            name: value for name, value in proposed.items() if getattr(update, name) != value
        }
        if not proposed and not embeds and not cards_from_text:
            return update
        _keep_original(update)
        text_changed = bool(set(proposed) & set(EDITABLE_TEXT))
        was_published = update.status == Update.Status.PUBLISHED
        old_body = update.body
        for name, value in proposed.items():
            setattr(update, name, value)
        if "body" in proposed:
            _keep_cards_in_place(update, old_body)
        if text_changed and was_published and update.status == Update.Status.PUBLISHED:
            update.edited_at = now
            proposed["edited_at"] = now
        _save_changed(update, _next_revision(update.story_id), proposed)
        _apply_embed_changes(update, embeds)
        _append_embeds(update, cards_from_text)
        _record(update, _edit_action(update, proposed, was_published, now), actor)
        _announce(update.story_id)
    return update


def check_edit(update_id: int, *, expected_version: int, **changes) -> None:
    """Raise EditConflict where edit_update() would, taking the row lock until
    the caller's transaction ends: for forms that validate before they save
    (the admin's change form, which then calls edit_update() in the same
    transaction)."""
    update = _locked(update_id)
    if update.version != expected_version:
        merge(update, expected_version, normalise(changes))


def normalise(changes: dict) -> dict:
    """The changes as the row will store them (None: not changed)."""
    proposed = {name: value for name, value in changes.items() if value is not None}
    unknown = set(proposed) - set(EDITABLE)
    if unknown:
        raise TypeError(f"edit_update() cannot change {', '.join(sorted(unknown))}")
    if "body" in proposed:
        proposed["body"] = sanitize_html(proposed["body"])
    if "published_at" in proposed:
        proposed["published_at"] = proposed["published_at"].replace(microsecond=0)
    return proposed


def _conflict_group(name: str) -> str:
    # Headline, text and correction are one piece of writing: two editors
    # changing any of it at once is a conflict, whichever parts they touched.
    return "text" if name in EDITABLE_TEXT else name


def merge(update: Update, expected_version: int, proposed: dict) -> dict:
    """What of ``proposed`` to apply to ``update``, now at a later version than
    the editor loaded: only the fields the editor changed, provided nobody
    else changed the same ones since. Raises EditConflict otherwise."""
    loaded = update.versions.filter(version=expected_version).order_by("-id").first()
    if loaded is None:
        # No record of what the editor saw: any difference is a conflict.
        if any(getattr(update, name) != value for name, value in proposed.items()):
            raise EditConflict(update)
        return {}
    mine = {name: value for name, value in proposed.items() if getattr(loaded, name) != value}
    theirs = {name for name in EDITABLE if getattr(update, name) != getattr(loaded, name)}
    clashing = {_conflict_group(name) for name in theirs}
    for name, value in mine.items():
        if _conflict_group(name) in clashing and getattr(update, name) != value:
            raise EditConflict(update)
    return mine


def _edit_action(update: Update, changed: dict, was_published: bool, now) -> str:
    if "status" in changed and not (was_published and update.status == Update.Status.PUBLISHED):
        return creation_action(update, now)
    if "published_at" in changed and update.is_scheduled(now):
        return Update.Action.SCHEDULED
    if not changed:
        return Update.Action.CARDS_CHANGED
    return Update.Action.EDITED


def _keep_cards_in_place(update: Update, old_body: str) -> None:
    """Cards placed in the text follow their blocks through a text edit."""
    for embed in update.embeds.filter(after_block__isnull=False):
        place = place_in(
            moved_place(embed.after_block, old_body, update.body),
            len(top_level_blocks(update.body)),
        )
        if place != embed.after_block:
            embed.after_block = place
            embed.save(update_fields=["after_block"])


def _apply_embed_changes(update: Update, embeds: EmbedChanges) -> None:
    for embed in embeds.removed:
        embed.delete()
    for embed in embeds.changed:
        _save_embed(embed)
    for embed in embeds.added:
        embed.update = update
        _save_embed(embed)


def _append_embeds(update: Update, embeds: list[Embed]) -> None:
    """Cards after the update's others (a link the edit put in its text, at its place)."""
    last = update.embeds.order_by("-position").values_list("position", flat=True).first()
    block_count = len(top_level_blocks(update.body))
    for position, embed in enumerate(embeds, start=0 if last is None else last + 1):
        embed.update = update
        embed.position = position
        embed.after_block = place_in(embed.after_block, block_count)
        _save_embed(embed)


def _change(update_id: int, action: str, actor=None, **fields) -> Update:
    """One flag or state of an update, under its lock; nothing if already so."""
    with transaction.atomic():
        return _apply(_locked(update_id), action, actor, **fields)


def _apply(update: Update, action: str, actor=None, **fields) -> Update:
    """_change() on an update its caller has already locked."""
    fields = {name: value for name, value in fields.items() if getattr(update, name) != value}
    if not fields:
        return update
    _keep_original(update)
    for name, value in fields.items():
        setattr(update, name, value)
    _save_changed(update, _next_revision(update.story_id), fields)
    _record(update, action, actor)
    _announce(update.story_id)
    return update


def retract(update_id: int, actor=None) -> Update:
    """Withdraw from readers; the row stays as a tombstone."""
    with transaction.atomic():
        update = _locked(update_id)
        if update.is_retracted:
            return update
        return _apply(update, Update.Action.RETRACTED, actor, retracted_at=timezone.now())


def restore(update_id: int, actor=None) -> Update:
    return _change(update_id, Update.Action.RESTORED, actor, retracted_at=None)


def set_pinned(update_id: int, pinned: bool, actor=None) -> Update:
    action = Update.Action.PINNED if pinned else Update.Action.UNPINNED
    return _change(update_id, action, actor, pinned=pinned)


def set_key_event(update_id: int, key_event: bool, actor=None) -> Update:
    action = Update.Action.KEY_EVENT if key_event else Update.Action.NOT_KEY_EVENT
    return _change(update_id, action, actor, key_event=key_event)


def submit(update_id: int, actor=None) -> Update:
    """A contributor's draft goes to the editors' "Awaiting approval" list."""
    with transaction.atomic():
        update = _locked(update_id)
        if update.status != Update.Status.DRAFT:
            return update
        return _apply(update, Update.Action.SUBMITTED, actor, status=Update.Status.SUBMITTED)


def publish(update_id: int, actor=None, now=None) -> Update:
    """Publish a draft or approve a submission.

    A time left empty when the draft was written (stamped as it was created)
    becomes the time it goes out; a time the writer set (a backdate or a
    schedule) is kept.
    """
    now = (now or timezone.now()).replace(microsecond=0)
    with transaction.atomic():
        update = _locked(update_id)
        if update.status == Update.Status.PUBLISHED:
            return update
        published_at = update.published_at
        if abs(update.published_at - update.created_at) < AUTO_STAMP_TOLERANCE:
            published_at = now
        action = Update.Action.SCHEDULED if published_at > now else Update.Action.PUBLISHED
        return _apply(
            update, action, actor, status=Update.Status.PUBLISHED, published_at=published_at
        )


def release_due_updates(story_id: int, now=None) -> int:
    """Tell readers about scheduled updates whose time has come.

    Their rows did not change when the clock passed their time, so give them a
    new revision; polls then deliver them like any other change. Returns how
    many were released (0 if another process got there first).
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the story first so that two processes cannot both release.
        Story.objects.select_for_update().filter(pk=story_id).values_list("pk").first()
        due = list(
            Update.objects.awaiting_release()
            .filter(story_id=story_id, published_at__lte=now)
            .select_for_update()
        )
        if due:
            revision = _next_revision(story_id)
            for update in due:
                _save_changed(update, revision, ())
                _record(update, Update.Action.PUBLISHED)
            _announce(story_id)
    return len(due)


# Embeds -------------------------------------------------------------------


def add_embed(update_id: int, embed: Embed, actor=None) -> Embed:
    """A card added to an existing update, after its others."""
    images.prepare_display_images([embed])
    with transaction.atomic():
        update = _locked(update_id)
        embed.update = update
        if embed.position is None or embed.position == 0:
            embed.position = update.embeds.count()
        _keep_original(update)
        _save_embed(embed)
        _save_changed(update, _next_revision(update.story_id), ())
        _record(update, Update.Action.CARDS_CHANGED, actor)
        _announce(update.story_id)
    return embed


def remove_embed(embed_id: int, actor=None) -> None:
    with transaction.atomic():
        embed = Embed.objects.get(pk=embed_id)
        update = _locked(embed.update_id)
        _keep_original(update)
        embed.delete()
        _save_changed(update, _next_revision(update.story_id), ())
        _record(update, Update.Action.CARDS_CHANGED, actor)
        _announce(update.story_id)


def fill_embed(embed_id: int, values: dict) -> bool:
    """Fill a card's blank fields (the oEmbed enrichment): what the editor wrote
    stays. Returns whether anything changed for readers."""
    with transaction.atomic():
        embed = Embed.objects.filter(pk=embed_id).first()
        if embed is None:
            return False
        update = _locked(embed.update_id)
        embed = Embed.objects.select_for_update().get(pk=embed_id)
        changed = {name for name, value in values.items() if value and not getattr(embed, name)}
        for name in changed:
            setattr(embed, name, values[name])
        if embed.kind == Embed.Kind.LINK and embed.text and embed.provider in SOCIAL_PROVIDERS:
            # The post's text was all a social-post card was waiting for.
            embed.kind = Embed.Kind.SOCIAL
            changed.add("kind")
        embed.enriched_at = timezone.now()
        embed.save(update_fields={*changed, "enriched_at"})
        if changed:
            _keep_original(update)
            _save_changed(update, _next_revision(update.story_id), ())
            _record(update, Update.Action.CARDS_CHANGED)
            _announce(update.story_id)
    return bool(changed)


def social_post_embed(post) -> Embed:
    """A social post found in pasted or imported text, as its (unsaved) card; its
    link, when given, says which network it is on, as the embed field would."""
    provider = ""
    if post.url:
        try:
            provider = recognise_url(post.url).provider
        except EmbedError:
            provider = ""
    return Embed(
        kind=Embed.Kind.SOCIAL,
        text=post.text,
        author_name=post.author_name,
        author_handle=post.author_handle,
        posted_at=post.posted_at,
        url=post.url,
        provider=provider,
    )


# Stories ------------------------------------------------------------------


def _stamp_story_times(story: Story, now) -> None:
    if story.status != Story.Status.DRAFT and story.started_at is None:
        story.started_at = now
    if story.status == Story.Status.ENDED and story.ended_at is None:
        story.ended_at = now
    if story.status == Story.Status.LIVE:
        story.ended_at = None


def save_story(story: Story) -> Story:
    """Create or change a story (the admin's story form, the demo).

    The previous day's page links here ("Coverage continues"), so it learns of
    the change too — as does a day this story no longer follows.
    """
    now = timezone.now()
    # The lead image's display copy, resized before the transaction: no lock held meanwhile.
    lead_rendition = images.prepare_lead_image(story)
    with transaction.atomic():
        _stamp_story_times(story, now)
        neighbours = {story.previous_id}
        was_status = None
        if story.pk is None:
            story.revision = 1
            story.save()
        else:
            stored = Story.objects.select_for_update().filter(pk=story.pk)
            was_previous, was_status = (
                stored.values_list("previous_id", "status").first() or [None] * 2
            )
            neighbours.add(was_previous)
            story.revision = _next_revision(story.pk)
            story.save()
        images.refresh_lead_image(story, lead_rendition)
        _announce(story.pk)
        for neighbour in neighbours - {None, story.pk}:
            _next_revision(neighbour)
            _announce(neighbour)
        # Last: it locks the webhook endpoints, which every write locks after its stories.
        webhooks.story_changed(story, was_status)
    return story


def create_story(**fields) -> Story:
    return save_story(Story(**fields))


def _set_status(story_id: int, status: str) -> Story:
    with transaction.atomic():
        story = Story.objects.select_for_update().get(pk=story_id)
        if story.status == status:
            return story
        story.status = status
        return save_story(story)


def go_live(story_id: int) -> Story:
    return _set_status(story_id, Story.Status.LIVE)


def end_coverage(story_id: int) -> Story:
    """Open pages learn of it on their next poll, and stop polling."""
    return _set_status(story_id, Story.Status.ENDED)


def _set_reader_setting(story_id: int, name: str, value: str) -> Story:
    """Change one of the story's reader settings: a new revision, so every
    cached page and poll answer moves on and open pages learn of it on their
    next poll."""
    with transaction.atomic():
        story = Story.objects.select_for_update().get(pk=story_id)
        if getattr(story, name) == value:
            return story
        setattr(story, name, value)
        story.revision = _next_revision(story.pk)
        story.save(update_fields=[name, "revision", "updated_at"])
        _announce(story.pk)
    return story


def set_poll_mode(story_id: int, poll_mode: str) -> Story:
    """How often open pages poll: normal, slow, or paused (a heartbeat)."""
    return _set_reader_setting(story_id, "poll_mode", Story.PollMode(poll_mode))


def set_reading_order(story_id: int, reading_order: str) -> Story:
    """Newest or oldest update first on the story's page (feeds and API keep theirs)."""
    return _set_reader_setting(story_id, "reading_order", Story.ReadingOrder(reading_order))


def start_next_day(story_id: int, title: str = "", now=None) -> tuple[Story, bool]:
    """Open the next day's coverage: a new live story linked back to this one
    (which then says "Coverage continues"), with its lead text and image, and
    end this one. One transaction: readers never see one without the other.

    Returns (the next day's story, created). A story that already continues
    somewhere returns that story: a second press (or a second editor) does
    not start a second next day.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, so that two editors pressing at once make one next day.
        story = Story.objects.select_for_update().get(pk=story_id)
        existing = story.following.order_by("-started_at", "-id").first()
        if existing is not None:
            return existing, False
        title = title.strip() or story.title
        for attempt in range(5):
            try:
                # Another story may take the same slug between the check and
                # the insert: try the next free one (savepoint keeps the rest).
                with transaction.atomic():
                    following = Story.objects.create(
                        slug=next_day_slug(title, now),
                        title=title,
                        standfirst=story.standfirst,
                        lead_image=story.lead_image.name,
                        lead_image_caption=story.lead_image_caption,
                        lead_image_credit=story.lead_image_credit,
                        lead_image_alt=story.lead_image_alt,
                        status=Story.Status.LIVE,
                        started_at=now,
                        previous=story,
                        revision=1,
                    )
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        _announce(following.pk)
        # One change to this story: ended, and continued elsewhere.
        was_status, story.status = story.status, Story.Status.ENDED
        _stamp_story_times(story, now)
        story.revision = _next_revision(story.pk)
        story.save()
        _announce(story.pk)
        webhooks.story_changed(following, None)
        webhooks.story_changed(story, was_status)
    return following, True


def next_day_slug(title: str, now) -> str:
    """'eastmouth-floods-2026-11-26', with -2, -3... if that is taken."""
    base = f"{slugify(title)[:90].strip('-') or 'coverage'}-{now:%Y-%m-%d}"
    slug, n = base, 1
    while Story.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# Imports ------------------------------------------------------------------


def import_updates(
    story: Story,
    parsed_updates: list[ParsedUpdate],
    *,
    actor=None,
    status: str = Update.Status.PUBLISHED,
    token: uuid.UUID | None = None,
    allow_pinning: bool = True,
) -> int:
    """Add updates read from text (textformat) to a story, in one revision.

    Created in reverse text order, so updates at the same time keep the text's
    order on the page (ties go to the newest id). With a ``token``, each update
    gets a token derived from it: importing the same text twice adds nothing
    twice. Returns how many were created.
    """
    with transaction.atomic():
        return _import(story, parsed_updates, actor, status, token, allow_pinning, revision=None)


def _import(story, parsed_updates, actor, status, token, allow_pinning, revision) -> int:
    # Reverse text order, each with its token (None: no duplicate check).
    todo = [
        (parsed, uuid.uuid5(token, str(index)) if token else None)
        for index, parsed in reversed(list(enumerate(parsed_updates)))
    ]
    done = set(
        Update.objects.filter(client_token__in=[t for _, t in todo if t]).values_list(
            "client_token", flat=True
        )
    )
    todo = [(parsed, client_token) for parsed, client_token in todo if client_token not in done]
    if not todo:
        return 0
    revision = revision or _next_revision(story.pk)
    for parsed, client_token in todo:
        fields = {
            "headline": parsed.headline,
            "body": parsed.body_html,
            "published_at": parsed.published_at,
            "key_event": parsed.key_event,
            "pinned": parsed.pinned and allow_pinning,
        }
        cards = _cards_in_text_order(fields, parsed.social_posts)
        update = _create(story, revision, status, client_token, fields)
        if actor is not None:
            update.authors.add(actor)
        _save_embeds(update, cards)
        _record(update, creation_action(update), actor, created=True)
    _announce(story.pk)
    return len(todo)


def _cards_in_text_order(fields: dict, social_posts) -> list[Embed]:
    """An imported update's cards: its lone links' and its social posts', each
    where it stood in the text and in the text's order (``fields["body"]``
    loses the lone links)."""
    link_cards, taken = _take_cards_from_text(fields)
    taken = taken or CardsInText(fields.get("body", ""))
    # Sorted by where each stood in the text as read: a post before the block
    # its place names, a link card at that block, posts after the text last.
    placed = []
    for post in social_posts:
        card = social_post_embed(post)
        card.after_block = taken.place(post.after_block)
        placed.append(((math.inf if post.after_block is None else post.after_block, 0), card))
    placed += [((index, 1), card) for index, card in zip(taken.taken, link_cards, strict=True)]
    return [card for _, card in sorted(placed, key=lambda pair: pair[0])]


def import_story(
    parsed: ParsedStory,
    *,
    slug: str,
    title: str,
    replace: bool = False,
    ended: bool = False,
    previous: Story | None = None,
):
    """A story from text (import_text): a new live story, or with ``replace`` an
    existing one whose content is replaced and whose updates are retracted (not
    deleted: open pages are told to drop them). One transaction, one revision.
    With ``ended`` the story is ended, at its newest update's time (a past day);
    the text's caption and credit, when given, and ``previous`` are set too.

    Returns (story, how many old updates were retracted). Raises SlugTaken
    when the slug is in use and ``replace`` is not set.
    """
    started_at = min(update.published_at for update in parsed.updates)
    with transaction.atomic():
        story = Story.objects.select_for_update().filter(slug=slug).first()
        if story is not None and not replace:
            raise SlugTaken(slug)
        if story is None:
            story = Story(slug=slug, status=Story.Status.LIVE)
        story.title = title
        story.standfirst = parsed.standfirst
        story.original_entry = parsed.original_entry_html
        story.started_at = started_at
        if parsed.lead_image_caption:
            story.lead_image_caption = parsed.lead_image_caption
        if parsed.lead_image_credit:
            story.lead_image_credit = parsed.lead_image_credit
        if previous is not None:
            story.previous = previous
        if ended:
            story.status = Story.Status.ENDED
            story.ended_at = max(update.published_at for update in parsed.updates)
        try:
            with transaction.atomic():
                save_story(story)
        except IntegrityError:
            # Another import took the slug between our check and our insert.
            raise SlugTaken(slug) from None
        revision = story.revision
        now = timezone.now()
        old = list(story.updates.filter(retracted_at__isnull=True).order_by("id"))
        for update in old:
            _keep_original(update)
            update.retracted_at = now
            _save_changed(update, revision, {"retracted_at"})
            _record(update, Update.Action.RETRACTED)
        _import(story, parsed.updates, None, Update.Status.PUBLISHED, None, True, revision)
    return story, len(old)


class SlugTaken(ValueError):
    def __init__(self, slug):
        self.slug = slug
        super().__init__(f"A story with slug {slug!r} already exists.")
