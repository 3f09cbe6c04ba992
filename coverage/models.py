"""Stories, their updates and the embeds inside updates.

Every change to a story or to anything in it bumps ``Story.revision`` in the
same transaction and stamps the changed update with that revision. Readers'
pages poll with the revision they last saw, so nothing they have not seen can
slip past them: new, edited, retracted or re-dated updates alike.

Models hold data and the rules of reading it (the QuerySets); every change
goes through ``coverage.publishing``, which bumps the revision, records the
version and tells readers. ``save()`` only normalises a row's own fields.
"""

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connections, models
from django.db.models import F, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from coverage.images import RandomName, lead_picture, validate_upload
from coverage.sanitize import body_text, sanitize_html

web_url_validator = URLValidator(schemes=["http", "https"])


# Of several stories continuing one, the first to start is its next day.
NEXT_DAY_ORDER = (F("started_at").asc(nulls_last=True), "id")


class StoryQuerySet(models.QuerySet):
    def public(self):
        """Stories readers may see: live or ended, never drafts."""
        return self.exclude(status=Story.Status.DRAFT)

    def live(self):
        return self.filter(status=Story.Status.LIVE)

    def continuing(self, story_ids):
        """Public stories that continue any of ``story_ids`` (next days), the
        first to start first: a story's "Coverage continues" link is the first."""
        return self.public().filter(previous_id__in=story_ids).order_by(*NEXT_DAY_ORDER)

    def for_home_page(self):
        """Live stories first (the most recently started first), then the archive:
        ended stories, the most recently ended first."""
        return self.public().order_by(
            models.Case(models.When(status=Story.Status.LIVE, then=0), default=1),
            models.Case(
                models.When(status=Story.Status.LIVE, then=F("started_at")),
                default=Coalesce("ended_at", "started_at"),
            ).desc(nulls_last=True),
            "-id",
        )


# Addresses the site answers before a story's (liveblog/urls.py, coverage/urls.py: the
# admin, the API, the embed kit, search; the web server's /media/): a story given one
# could never be reached.
RESERVED_SLUGS = frozenset({"admin", "api", "embed", "search", "media"})


def validate_free_slug(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise ValidationError(
            "“%(slug)s” is an address the site itself uses; choose another slug.",
            code="reserved",
            params={"slug": slug},
        )


class Story(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    class PollMode(models.TextChoices):
        """How often open pages ask for news: the desk slows or pauses them
        (a story gone quiet, or a server in trouble) and they obey within a poll."""

        NORMAL = "normal", "Normal"
        SLOW = "slow", "Slow"
        PAUSED = "paused", "Paused"

    class ReadingOrder(models.TextChoices):
        NEWEST_FIRST = "newest", "Newest first"
        # Q&As, sports, timelines: read from the top, new updates at the bottom.
        OLDEST_FIRST = "oldest", "Oldest first"

    slug = models.SlugField(max_length=120, unique=True, validators=[validate_free_slug])
    title = models.CharField(max_length=200)
    standfirst = models.TextField(
        blank=True, help_text="Lead text under the headline, one paragraph per line."
    )
    lead_image = models.ImageField(
        upload_to=RandomName("stories/%Y/%m/"), blank=True, validators=[validate_upload]
    )
    # The lead image as pages show it (resized, upright, no metadata), made by
    # coverage.publishing.save_story; the upload above is kept as it came.
    lead_image_display = models.ImageField(
        upload_to="stories/display/%Y/%m/", blank=True, editable=False
    )
    lead_image_caption = models.CharField(max_length=300, blank=True)
    lead_image_credit = models.CharField(max_length=120, blank=True)
    lead_image_alt = models.CharField(
        "lead image alt text", max_length=300, blank=True, help_text="Describe the image."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    started_at = models.DateTimeField("coverage started", null=True, blank=True)
    ended_at = models.DateTimeField("coverage ended", null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="following",
        help_text="The previous day's coverage of the same event.",
    )
    original_entry = models.TextField(
        blank=True, help_text="The story's first entry, shown at the bottom of the page."
    )
    poll_mode = models.CharField(
        "reader polling",
        max_length=10,
        choices=PollMode,
        default=PollMode.NORMAL,
        help_text="How often open pages check for new updates.",
    )
    reading_order = models.CharField(
        max_length=10, choices=ReadingOrder, default=ReadingOrder.NEWEST_FIRST
    )
    revision = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-started_at", "-id"]
        permissions = [
            ("run_story", "Can take stories live, end them and start the next day's"),
        ]

    def __str__(self):
        return self.title

    @property
    def lead_picture(self):
        """The lead image as pages show it (coverage.images.lead_picture)."""
        return lead_picture(self)

    def get_absolute_url(self):
        return reverse("coverage:story", kwargs={"slug": self.slug})

    @property
    def is_live(self):
        return self.status == self.Status.LIVE

    def next_day(self) -> "Story | None":
        """The day its coverage continues on (one query; story pages cache it)."""
        return Story.objects.continuing([self.pk]).first()

    @property
    def standfirst_paragraphs(self):
        return [line.strip() for line in self.standfirst.splitlines() if line.strip()]

    def clean(self):
        if self.previous_id and self.previous_id == self.pk:
            raise ValidationError({"previous": "A story cannot follow itself."})

    def save(self, *args, **kwargs):
        self.original_entry = sanitize_html(self.original_entry)
        super().save(*args, **kwargs)


# Full-text search (PostgreSQL): the document as the GIN index of migration 0007
# holds it, so the planner uses the index only while both stay the same.
SEARCH_CONFIG = "english"
MAX_SEARCH_WORDS = 10


def search_document(weighted=False):
    from django.contrib.postgres.search import SearchVector

    if not weighted:
        return SearchVector("headline", "body", config=SEARCH_CONFIG)
    # Ranking only: the headline counts above the body.
    return SearchVector("headline", config=SEARCH_CONFIG, weight="A") + SearchVector(
        "body", config=SEARCH_CONFIG, weight="B"
    )


def search_words(text: str) -> list[str]:
    """The words of a query as typed, for the fallback and for marking snippets;
    capped, so a query stays a handful of LIKEs."""
    return [w for w in re.findall(r"\w+", text) if w.lower() != "or"][:MAX_SEARCH_WORDS]


# Words of an update's text in its title when it has no headline.
TITLE_WORDS = 10

# Time order (feeds, exports), and reader order: pinned first, then time order.
# Update.sort_key encodes the reader order for live.js.
TIME_ORDER = ("-published_at", "-id")
READER_ORDER = ("-pinned", *TIME_ORDER)


class UpdateQuerySet(models.QuerySet):
    def published_or_scheduled(self):
        """Published and not retracted, whatever the time: what an export keeps."""
        return self.filter(status=Update.Status.PUBLISHED, retracted_at__isnull=True)

    def published(self, now=None):
        """What readers see: published, not retracted, and due (not scheduled for later)."""
        return self.published_or_scheduled().filter(published_at__lte=now or timezone.now())

    def awaiting_release(self):
        """Published updates saved before their time, whose arrival readers have not
        been told of yet. Releasing one stamps updated_at, which ends the wait."""
        return self.filter(
            status=Update.Status.PUBLISHED,
            retracted_at__isnull=True,
            published_at__gt=F("updated_at"),
        )

    def newest_first(self):
        return self.order_by(*TIME_ORDER)

    def in_reader_order(self):
        return self.order_by(*READER_ORDER)

    def for_reading(self):
        """Reader order, embeds and bylines fetched alongside (two queries, not one per update)."""
        return self.in_reader_order().with_cards_and_bylines()

    def with_cards_and_bylines(self):
        from django.contrib.auth import get_user_model

        authors = get_user_model().objects.select_related("byline")
        return self.prefetch_related("embeds", models.Prefetch("authors", queryset=authors))

    def key_events_and_newest(self):
        """Key events, plus the newest update whatever it is, newest first, in one
        query: the key events box and "Last updated" (the newest's time) from one read."""
        newest = self.newest_first().values("pk")[:1]
        return self.filter(Q(key_event=True) | Q(pk=Subquery(newest))).newest_first()

    def older_than(self, published_at, pk):
        """Updates after (below) the one at ``published_at``/``pk`` in time order."""
        return self.filter(
            Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk)
        )

    def newer_than(self, published_at, pk):
        """Updates before (above) the one at ``published_at``/``pk`` in time order."""
        return self.filter(
            Q(published_at__gt=published_at) | Q(published_at=published_at, pk__gt=pk)
        )

    def search(self, words: str):
        """Published updates of public stories matching ``words``, best first.

        PostgreSQL: full-text search (stemmed English, headline weighted above
        body), through the GIN index of migration 0007; websearch syntax, so no
        input is a syntax error. Elsewhere: every word in the headline or body.
        """
        found = self.published().filter(story__in=Story.objects.public())
        found = found.select_related("story")
        if connections[self.db].vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchRank

            query = SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")
            return (
                found.annotate(document=search_document())
                .filter(document=query)
                .annotate(rank=SearchRank(search_document(weighted=True), query))
                .order_by("-rank", *TIME_ORDER)
            )
        for word in search_words(words):
            found = found.filter(Q(headline__icontains=word) | Q(body__icontains=word))
        return found.order_by(*TIME_ORDER)

    def changed_since(self, story_id: int, since: int, until: int):
        """Every update whose last change a reader at revision ``since`` has not seen."""
        return self.filter(story_id=story_id, revision__gt=since, revision__lte=until)


class Update(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Awaiting approval"
        PUBLISHED = "published", "Published"

    class Action(models.TextChoices):
        """What an audit row (UpdateVersion.action) records."""

        DRAFTED = "drafted", "Saved as a draft"
        SUBMITTED = "submitted", "Submitted for approval"
        PUBLISHED = "published", "Published"
        SCHEDULED = "scheduled", "Scheduled"
        EDITED = "edited", "Edited"
        RETRACTED = "retracted", "Retracted"
        RESTORED = "restored", "Restored"
        PINNED = "pinned", "Pinned"
        UNPINNED = "unpinned", "Unpinned"
        KEY_EVENT = "key_event", "Marked as a key event"
        NOT_KEY_EVENT = "not_key_event", "No longer a key event"
        CARDS_CHANGED = "cards", "Embedded cards changed"
        ORIGINAL = "original", "As it was before its first recorded edit"

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="updates")
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField(
        help_text="Paragraphs, links, emphasis, lists, quotes and headings are kept; "
        "anything else is removed on save."
    )
    published_at = models.DateTimeField(
        default=timezone.now,
        help_text="GMT. Defaults to now; set an earlier time to backdate, a later one to schedule.",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PUBLISHED)
    pinned = models.BooleanField(default=False, help_text="Keep at the top of the page.")
    key_event = models.BooleanField(default=False)
    correction_note = models.CharField(
        max_length=500, blank=True, help_text="Shown to readers under the update."
    )
    retracted_at = models.DateTimeField(null=True, blank=True, editable=False)
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # When an editor last changed the published text ("edited 2041 GMT" on the desk).
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The compose form's one-time token: a resubmitted form finds the update
    # it already created instead of creating a second one.
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # The story revision of this update's last change: the poll's cursor.
    revision = models.PositiveBigIntegerField(default=0, editable=False)
    # Optimistic locking for concurrent editors: bumped on every save.
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UpdateQuerySet.as_manager()

    class Meta:
        ordering = list(READER_ORDER)
        permissions = [
            ("publish_update", "Can publish, pin, retract and approve updates"),
        ]
        indexes = [
            models.Index(fields=["story", "revision"], name="update_story_revision"),
            models.Index(
                "story",
                F("published_at").desc(),
                name="update_story_published",
                condition=Q(status="published", retracted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.stamp} {self.headline or self.story}"

    @property
    def stamp(self):
        """'1941 GMT': the time readers see, always in GMT."""
        return timezone.localtime(self.published_at, timezone.UTC).strftime("%H%M GMT")

    @property
    def bylines(self) -> list[str]:
        """Its authors' bylines; fetch them with UpdateQuerySet.for_reading()."""
        return [name for name in map(byline_of, self.authors.all()) if name]

    @property
    def summary_text(self) -> str:
        """What the key events box calls it: the headline, else its first words."""
        return self.headline or Truncator(body_text(self.body)).words(12)

    @property
    def title(self) -> str:
        """What a feed item, a shared link and the update's own page are called:
        the headline, else "UPDATE 1941 GMT — its first words"."""
        if self.headline:
            return self.headline
        words = Truncator(body_text(self.body)).words(TITLE_WORDS)
        return f"UPDATE {self.stamp} — {words}" if words else f"UPDATE {self.stamp}"

    @property
    def anchor(self):
        return f"update-{self.pk}"

    def get_absolute_url(self):
        """The update's own page: what readers share, and feeds and search link to."""
        return reverse("coverage:update", kwargs={"slug": self.story.slug, "update_id": self.pk})

    @property
    def in_story_url(self):
        """Its place in the story. An update past the first page is found by the
        story view (?around=), which sends the reader to the slice holding it."""
        return f"{self.story.get_absolute_url()}?around={self.pk}#{self.anchor}"

    @property
    def is_retracted(self):
        return self.retracted_at is not None

    def is_visible(self, now=None):
        return (
            self.status == self.Status.PUBLISHED
            and self.retracted_at is None
            and self.published_at <= (now or timezone.now())
        )

    @property
    def cursor(self):
        """Where a "Load older updates" link starts: this update's time and id."""
        return f"{int(self.published_at.timestamp())}-{self.pk}"

    @property
    def sort_key(self):
        """Orders updates on the page as the server does: pinned, then newest, then newest id.

        Fixed-width, so live.js can place an arriving update by string comparison.
        """
        return f"{int(self.pinned)}{int(self.published_at.timestamp()):012d}{self.pk:012d}"

    def save(self, *args, **kwargs):
        self.body = sanitize_html(self.body)
        # Whole seconds: readers' pages order updates by (time, id) with the
        # same precision as the database does.
        self.published_at = self.published_at.replace(microsecond=0)
        super().save(*args, **kwargs)

    def is_scheduled(self, now=None):
        return self.status == self.Status.PUBLISHED and self.published_at > (now or timezone.now())

    @property
    def dateline(self) -> str:
        """'Tuesday 24 November' for an update on another day (GMT) than the one its
        story started on, where "UPDATE 2300 GMT" alone would mislead; else ''."""
        started = self.story.started_at
        day = self.published_at.astimezone(dt.UTC).date()
        if started is None or day == started.astimezone(dt.UTC).date():
            return ""
        return f"{day:%A} {day.day} {day:%B}" + (f" {day.year}" if day.year != started.year else "")


class Byline(models.Model):
    """The name readers see on a user's updates, set by an editor in the admin.

    A user without one is bylined by their full name, and one without that
    too gets none: a login name is not a byline."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="byline"
    )
    display_name = models.CharField(max_length=120, help_text="As readers see it, e.g. Jane Doe.")

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name


def byline_of(user) -> str:
    """A user's byline (see Byline): no query when fetched with select_related("byline")."""
    byline = getattr(user, "byline", None)
    return (byline.display_name if byline else "") or user.get_full_name()


class Embed(models.Model):
    """A static card inside an update: no third-party script or frame loads with it."""

    class Kind(models.TextChoices):
        SOCIAL = "social", "Social post"
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        LINK = "link", "Link card"
        QUOTE = "quote", "Quote"

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="embeds")
    # The order among the update's cards.
    position = models.PositiveSmallIntegerField(default=0)
    # Its place in the update's text: after this many top-level blocks of the
    # body (coverage.embeds.placement); None is after the text.
    after_block = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Shown after this many paragraphs, lists or quotations of the text "
        "(0: above it). Empty: after the text.",
    )
    kind = models.CharField(max_length=10, choices=Kind)
    url = models.URLField("source URL", max_length=2000, blank=True, validators=[web_url_validator])
    provider = models.CharField(max_length=60, blank=True, help_text="e.g. X, Bluesky, YouTube.")
    title = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_handle = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    image = models.ImageField(
        upload_to=RandomName("embeds/%Y/%m/"),
        blank=True,
        validators=[validate_upload],
        width_field="image_width",
        height_field="image_height",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # The image as pages show it (resized); the upload above is kept as it came.
    display_image = models.ImageField(upload_to="embeds/display/%Y/%m/", blank=True, editable=False)
    # When the card's fields were last filled from the provider's oEmbed answer.
    enriched_at = models.DateTimeField(null=True, blank=True, editable=False)
    caption = models.CharField(max_length=500, blank=True)
    credit = models.CharField(max_length=200, blank=True)
    alt_text = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.author_name or self.title or self.url}"

    # What each kind of card cannot go without. Images: the file, and what
    # readers are owed with it: a caption, a credit and alt text. The admin's
    # inline, the desk's compose box and anything calling full_clean() share it.
    REQUIRED = {
        Kind.IMAGE: {
            "image": "Choose the image.",
            "caption": "An image needs a caption.",
            "credit": "An image needs a credit: who took it, or whose it is.",
            "alt_text": "Describe the image for readers who cannot see it.",
        },
        Kind.VIDEO: {"url": "A video needs its link."},
        Kind.LINK: {"url": "A link card needs its link."},
        Kind.QUOTE: {"text": "A quote needs its text."},
    }

    def clean(self):
        if self.kind == self.Kind.SOCIAL and not (self.text or self.url):
            # A pasted link is enough: the card links to the post until its text
            # is typed in or fetched by enrichment.
            raise ValidationError({"text": "A social post needs its text or its link."})
        errors = {
            name: message
            for name, message in self.REQUIRED.get(self.kind, {}).items()
            if not str(getattr(self, name) or "").strip()
        }
        if errors:
            raise ValidationError(errors)


class UpdateVersion(models.Model):
    """The audit trail: one row per change to an update (coverage.publishing), with
    who made it and every editable field as it stood after. The edit lock reads
    the row an editor loaded to tell which fields colleagues changed since."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=30, choices=Update.Action)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    correction_note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10)
    published_at = models.DateTimeField()
    key_event = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.update_id} v{self.version} {self.action}"

    @property
    def action_label(self):
        try:
            return Update.Action(self.action).label
        except ValueError:
            return self.action


# Outbound webhooks (coverage.webhooks) -----------------------------------


class WebhookEvent(models.TextChoices):
    """What a receiver can subscribe to: every change readers see, never a draft."""

    UPDATE_PUBLISHED = "update.published", "Update published (incl. a scheduled one, when due)"
    UPDATE_EDITED = "update.edited", "Update edited (text, time or cards)"
    UPDATE_CORRECTED = "update.corrected", "Update corrected (its correction note changed)"
    UPDATE_RETRACTED = "update.retracted", "Update retracted (or taken off the page)"
    UPDATE_RESTORED = "update.restored", "Retracted update restored"
    UPDATE_PINNED = "update.pinned", "Update pinned"
    UPDATE_UNPINNED = "update.unpinned", "Update unpinned"
    UPDATE_KEY_EVENT = "update.key_event", "Update marked or unmarked as a key event"
    STORY_STARTED = "story.started", "Story went live"
    STORY_ENDED = "story.ended", "Story ended"


class WebhookEndpoint(models.Model):
    """A newsroom system told of every published change, in order, signed per the
    Standard Webhooks spec with ``secret``."""

    url = models.URLField("URL", max_length=2000, validators=[web_url_validator])
    description = models.CharField(max_length=200, blank=True)
    # Standard Webhooks' form: "whsec_" and the key in base64 (coverage.webhooks).
    secret = models.CharField(max_length=100, editable=False)
    # After a roll, the old secret signs alongside the new one for a day, so
    # receivers switch without refusing a single event.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    events = models.JSONField(default=list, help_text="The event types it receives.")
    active = models.BooleanField(default=True)
    # Set when repeated failure stopped it; cleared when it is turned on again.
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # The sequence number its next event gets (gaps tell a receiver it missed one).
    next_sequence = models.PositiveBigIntegerField(default=1, editable=False)
    # The worker sending its queue holds this lease, so no two send at once.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["url", "id"]
        permissions = [("manage_webhooks", "Can manage webhook endpoints and their deliveries")]

    def __str__(self):
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written in the same transaction
    as the change, and its delivery log."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed, will retry"
        ABANDONED = "abandoned", "Abandoned"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The webhook-id header: the same on every attempt, so receivers keep it once.
    webhook_id = models.CharField(max_length=40, unique=True, editable=False)
    sequence = models.PositiveBigIntegerField(editable=False)
    event_type = models.CharField(max_length=40, choices=WebhookEvent, editable=False)
    payload = models.JSONField(editable=False)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "sequence"], name="webhook_delivery_sequence"
            )
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "sequence"],
                name="webhook_delivery_queue",
                condition=Q(state__in=["pending", "failed"]),
            )
        ]

    def __str__(self):
        return f"{self.event_type} #{self.sequence} ({self.webhook_id})"
