"""Stories, their updates and the embeds inside updates.

Every change to a story or to anything in it bumps ``Story.revision`` in the
same transaction and stamps the changed update with that revision. Readers'
pages poll with the revision they last saw, so nothing they have not seen can
slip past them: new, edited, retracted or re-dated updates alike.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from coverage import live
from coverage.sanitize import sanitize_html

web_url_validator = URLValidator(schemes=["http", "https"])


class StoryQuerySet(models.QuerySet):
    def public(self):
        """Stories readers may see: live or ended, never drafts."""
        return self.exclude(status=Story.Status.DRAFT)

    def live(self):
        return self.filter(status=Story.Status.LIVE)

    def for_home_page(self):
        """Live stories first, then the most recently started."""
        return self.public().order_by(
            models.Case(models.When(status=Story.Status.LIVE, then=0), default=1),
            F("started_at").desc(nulls_last=True),
            "-id",
        )


class Story(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    standfirst = models.TextField(
        blank=True, help_text="Lead text under the headline, one paragraph per line."
    )
    lead_image = models.ImageField(upload_to="stories/%Y/%m/", blank=True)
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

    def get_absolute_url(self):
        return reverse("coverage:story", kwargs={"slug": self.slug})

    @property
    def is_live(self):
        return self.status == self.Status.LIVE

    @property
    def standfirst_paragraphs(self):
        return [line.strip() for line in self.standfirst.splitlines() if line.strip()]

    def clean(self):
        if self.previous_id and self.previous_id == self.pk:
            raise ValidationError({"previous": "A story cannot follow itself."})

    def save(self, *args, **kwargs):
        self.original_entry = sanitize_html(self.original_entry)
        now = timezone.now()
        if self.status != self.Status.DRAFT and self.started_at is None:
            self.started_at = now
        if self.status == self.Status.ENDED and self.ended_at is None:
            self.ended_at = now
        if self.status == self.Status.LIVE:
            self.ended_at = None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "revision", "started_at", "ended_at"}
        with transaction.atomic():
            if self.pk:
                # Read the stored revision under a row lock: updates bump it
                # behind this object's back, and it must only ever grow.
                stored = (
                    Story.objects.select_for_update()
                    .filter(pk=self.pk)
                    .values_list("revision", flat=True)
                    .first()
                )
                self.revision = (stored or 0) + 1
            else:
                self.revision = 1
            super().save(*args, **kwargs)
            live.refresh_on_commit(self.pk)
            if self.previous_id:
                # The previous day's page links here ("Coverage continues").
                Story.bump_revision(self.previous_id)
                live.refresh_on_commit(self.previous_id)

    @staticmethod
    def bump_revision(story_id: int) -> int:
        """Advance the story's revision and return it; call inside a transaction.

        The UPDATE takes the row lock, so concurrent changes to one story get
        distinct revisions and commit in revision order. Callers refresh the
        live state (live.refresh_on_commit) once all their writes are done.
        """
        Story.objects.filter(pk=story_id).update(
            revision=F("revision") + 1, updated_at=timezone.now()
        )
        return Story.objects.filter(pk=story_id).values_list("revision", flat=True).get()

    @staticmethod
    def release_due_updates(story_id: int, now=None) -> int:
        """Tell readers about scheduled updates whose time has come.

        Their rows did not change when the clock passed their time, so give them
        a new revision; polls then deliver them like any other change. Returns
        how many were released (0 if another process got there first).
        """
        now = now or timezone.now()
        with transaction.atomic():
            # Lock the story first so that two processes cannot both release.
            Story.objects.select_for_update().filter(pk=story_id).values_list("pk").first()
            due = Update.objects.awaiting_release().filter(story_id=story_id, published_at__lte=now)
            ids = list(due.values_list("pk", flat=True))
            if ids:
                revision = Story.bump_revision(story_id)
                Update.objects.filter(pk__in=ids).update(revision=revision, updated_at=now)
                live.refresh_on_commit(story_id)
        return len(ids)

    def go_live(self):
        self.status = self.Status.LIVE
        self.save()

    def end_coverage(self):
        self.status = self.Status.ENDED
        self.save()

    def start_next_day(self, title: str = "", now=None) -> tuple["Story", bool]:
        """Open the next day's coverage: a new live story linked back to this one
        (which then says "Coverage continues"), with its lead text and image, and
        end this one. One transaction: readers never see one without the other.

        Returns (the next day's story, created). A story that already continues
        somewhere returns that story: a second press (or a second editor) does
        not start a second next day.
        """
        now = now or timezone.now()
        title = title.strip() or self.title
        with transaction.atomic():
            # Locked, so that two editors pressing at once make one next day.
            locked = Story.objects.select_for_update().get(pk=self.pk)
            existing = locked.following.order_by("-started_at", "-id").first()
            if existing is not None:
                return existing, False
            for attempt in range(5):
                try:
                    # Another story may take the same slug between the check and
                    # the insert: try the next free one (savepoint keeps the rest).
                    with transaction.atomic():
                        following = Story.objects.create(
                            slug=self.next_day_slug(title, now),
                            title=title,
                            standfirst=locked.standfirst,
                            lead_image=locked.lead_image.name,
                            lead_image_caption=locked.lead_image_caption,
                            lead_image_credit=locked.lead_image_credit,
                            lead_image_alt=locked.lead_image_alt,
                            status=self.Status.LIVE,
                            started_at=now,
                            previous=locked,
                        )
                    break
                except IntegrityError:
                    if attempt == 4:
                        raise
            if locked.status != self.Status.ENDED:
                locked.end_coverage()
        self.refresh_from_db()
        return following, True

    @staticmethod
    def next_day_slug(title: str, now) -> str:
        """'eastmouth-floods-2026-11-26', with -2, -3... if that is taken."""
        base = f"{slugify(title)[:90].strip('-') or 'coverage'}-{now:%Y-%m-%d}"
        slug, n = base, 1
        while Story.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug


class UpdateQuerySet(models.QuerySet):
    def published(self, now=None):
        """What readers see: published, not retracted, and due (not scheduled for later)."""
        return self.filter(
            status=Update.Status.PUBLISHED,
            retracted_at__isnull=True,
            published_at__lte=now or timezone.now(),
        )

    def awaiting_release(self):
        """Published updates saved before their time, whose arrival readers have not
        been told of yet. Releasing one stamps updated_at, which ends the wait."""
        return self.filter(
            status=Update.Status.PUBLISHED,
            retracted_at__isnull=True,
            published_at__gt=F("updated_at"),
        )

    def for_reading(self):
        """Reader order: pinned first, then newest first; embeds fetched alongside."""
        return self.order_by("-pinned", "-published_at", "-id").prefetch_related("embeds")

    def older_than(self, published_at, pk):
        """Updates after (below) the one at ``published_at``/``pk`` in time order."""
        return self.filter(
            Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk)
        )

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
        ordering = ["-pinned", "-published_at", "-id"]
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
    def anchor(self):
        return f"update-{self.pk}"

    def get_absolute_url(self):
        return f"{self.story.get_absolute_url()}#{self.anchor}"

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
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "body", "revision", "version", "updated_at"}
        with transaction.atomic():
            self.revision = Story.bump_revision(self.story_id)
            self.version += 1
            super().save(*args, **kwargs)
            live.refresh_on_commit(self.story_id)

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    def is_scheduled(self, now=None):
        return self.is_published and self.published_at > (now or timezone.now())

    # Each action below is one transaction: the change, the story's revision
    # and the audit row (UpdateVersion, plus the admin's history when someone
    # did it) commit together. Callers that act on a row another editor may be
    # changing load it with select_for_update() first.

    def retract(self, actor=None):
        """Withdraw from readers; the row stays as a tombstone."""
        with transaction.atomic():
            self.retracted_at = timezone.now()
            self.save()
            record_version(self, self.Action.RETRACTED, actor)

    def restore(self, actor=None):
        with transaction.atomic():
            self.retracted_at = None
            self.save()
            record_version(self, self.Action.RESTORED, actor)

    def set_pinned(self, pinned: bool, actor=None):
        with transaction.atomic():
            self.pinned = pinned
            self.save()
            record_version(self, self.Action.PINNED if pinned else self.Action.UNPINNED, actor)

    def set_key_event(self, key_event: bool, actor=None):
        with transaction.atomic():
            self.key_event = key_event
            self.save()
            action = self.Action.KEY_EVENT if key_event else self.Action.NOT_KEY_EVENT
            record_version(self, action, actor)

    def submit(self, actor=None):
        """A contributor's draft goes to the editors' "Awaiting approval" list."""
        with transaction.atomic():
            self.status = self.Status.SUBMITTED
            self.save()
            record_version(self, self.Action.SUBMITTED, actor)

    def publish(self, actor=None, now=None):
        """Publish a draft or approve a submission.

        A time left empty when the draft was written (stamped as it was
        created) becomes the time it goes out; a time the writer set (a
        backdate or a schedule) is kept.
        """
        now = (now or timezone.now()).replace(microsecond=0)
        with transaction.atomic():
            if abs(self.published_at - self.created_at) < AUTO_STAMP_TOLERANCE:
                self.published_at = now
            self.status = self.Status.PUBLISHED
            self.save()
            action = self.Action.SCHEDULED if self.published_at > now else self.Action.PUBLISHED
            record_version(self, action, actor)

    def touch(self):
        """Record that something inside the update (an embed) changed."""
        with transaction.atomic():
            revision = Story.bump_revision(self.story_id)
            Update.objects.filter(pk=self.pk).update(
                revision=revision, version=F("version") + 1, updated_at=timezone.now()
            )
            live.refresh_on_commit(self.story_id)


class Embed(models.Model):
    """A static card inside an update: no third-party script or frame loads with it."""

    class Kind(models.TextChoices):
        SOCIAL = "social", "Social post"
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        LINK = "link", "Link card"
        QUOTE = "quote", "Quote"

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="embeds")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind)
    url = models.URLField("source URL", max_length=2000, blank=True, validators=[web_url_validator])
    provider = models.CharField(max_length=60, blank=True, help_text="e.g. X, Bluesky, YouTube.")
    title = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_handle = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    image = models.ImageField(
        upload_to="embeds/%Y/%m/",
        blank=True,
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

    def clean(self):
        if self.kind == self.Kind.SOCIAL and not (self.text or self.url):
            # A pasted link is enough: the card links to the post until its text
            # is typed in or fetched by enrichment.
            raise ValidationError({"text": "A social post needs its text or its link."})
        required = {
            self.Kind.IMAGE: ["image", "alt_text"],
            self.Kind.VIDEO: ["url"],
            self.Kind.LINK: ["url"],
            self.Kind.QUOTE: ["text"],
        }.get(self.kind, [])
        errors = {
            name: f"A {self.get_kind_display().lower()} needs this."
            for name in required
            if not getattr(self, name)
        }
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.update.touch()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            self.update.touch()
        return result


class UpdateVersion(models.Model):
    """The audit trail: one row per publish, edit, retract, restore, pin or schedule,
    with who did it and the text as it was after the action."""

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


# A compose form left with an empty time stamps the update as it is created;
# publish() tells such a draft from one whose writer chose a time by this.
AUTO_STAMP_TOLERANCE = dt.timedelta(seconds=5)

EDITABLE_TEXT = ("headline", "body", "correction_note")


class EditConflict(Exception):
    """Another editor saved the update after this editor loaded it."""

    def __init__(self, current: Update):
        self.current = current
        super().__init__(f"update {current.pk} is at version {current.version}")


def record_version(update: Update, action: str, actor=None, *, created=False) -> UpdateVersion:
    """The audit row for one action: who, when, and the text as it stood after.

    Also written to the admin's history (LogEntry) when a person did it, so the
    update's History page in the admin tells the same story.
    """
    version = UpdateVersion.objects.create(
        update=update,
        version=update.version,
        action=action,
        actor=actor,
        headline=update.headline,
        body=update.body,
        correction_note=update.correction_note,
        status=update.status,
        published_at=update.published_at,
    )
    if actor is not None and actor.pk is not None:
        from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

        LogEntry.objects.log_actions(
            actor.pk,
            [update],
            ADDITION if created else CHANGE,
            change_message=f"{Update.Action(action).label} (version {update.version}).",
            single_object=True,
        )
    return version


def post_update(
    story: Story,
    *,
    actor=None,
    status: str = Update.Status.PUBLISHED,
    client_token: uuid.UUID | None = None,
    embeds=(),
    **fields,
) -> tuple[Update, bool]:
    """Create an update (and its embeds) from the compose form: (update, created).

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
    update = Update(story=story, status=status, client_token=client_token, **fields)
    try:
        with transaction.atomic():
            update.save()
            if actor is not None:
                update.authors.add(actor)
            for position, embed in enumerate(embeds):
                embed.update = update
                embed.position = position
                embed.save()
            update.refresh_from_db(fields=["revision", "version"])
            record_version(update, creation_action(update), actor, created=True)
    except IntegrityError:
        # The same form, posted twice at once: the other request's insert won.
        existing = Update.objects.filter(client_token=client_token).first()
        if client_token is None or existing is None:
            raise
        return existing, False
    return update, True


def creation_action(update: Update) -> str:
    if update.status == Update.Status.DRAFT:
        return Update.Action.DRAFTED
    if update.status == Update.Status.SUBMITTED:
        return Update.Action.SUBMITTED
    return Update.Action.SCHEDULED if update.is_scheduled() else Update.Action.PUBLISHED


def edit_update(update_id: int, *, expected_version: int, actor=None, **changes) -> Update:
    """Save an editor's changes if nobody else saved the update since they loaded it.

    The compare and the save happen under the row lock, so of two editors who
    loaded the same version exactly one succeeds; the other gets
    :class:`EditConflict` carrying the current update. A published update keeps
    its time unless ``published_at`` is passed; a change to its text stamps
    ``edited_at``.
    """
    now = timezone.now()
    with transaction.atomic():
        update = Update.objects.select_for_update().get(pk=update_id)
        proposed = {name: value for name, value in changes.items() if value is not None}
        if "body" in proposed:
            proposed["body"] = sanitize_html(proposed["body"])
        if "published_at" in proposed:
            proposed["published_at"] = proposed["published_at"].replace(microsecond=0)
        unchanged = all(getattr(update, name) == value for name, value in proposed.items())
        if update.version != expected_version:
            if unchanged:
                # The same form posted twice (or both editors made the same
                # change): what they asked for is already there.
                return update
            raise EditConflict(update)
        if unchanged:
            return update
        if not update.versions.exists():
            # Made before versions were recorded (or by a script): keep the text
            # this edit replaces.
            record_version(update, Update.Action.ORIGINAL)
        text_changed = any(
            getattr(update, name) != proposed[name] for name in EDITABLE_TEXT if name in proposed
        )
        retimed = "published_at" in proposed and proposed["published_at"] != update.published_at
        for name, value in proposed.items():
            setattr(update, name, value)
        if text_changed and update.is_published:
            update.edited_at = now
        update.save()
        scheduled = retimed and update.is_scheduled(now)
        action = Update.Action.SCHEDULED if scheduled else Update.Action.EDITED
        record_version(update, action, actor)
    return update
