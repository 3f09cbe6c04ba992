"""Stories, their updates and the embeds inside updates.

Every change to a story or to anything in it bumps ``Story.revision`` in the
same transaction and stamps the changed update with that revision. Readers'
pages poll with the revision they last saw, so nothing they have not seen can
slip past them: new, edited, retracted or re-dated updates alike.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

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

    def retract(self):
        """Withdraw from readers; the row stays as a tombstone."""
        self.retracted_at = timezone.now()
        self.save()

    def restore(self):
        self.retracted_at = None
        self.save()

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

    @property
    def host(self):
        """The link's real host, shown on the card so readers know where it goes."""
        from urllib.parse import urlsplit

        return urlsplit(self.url).hostname or ""

    def clean(self):
        required = {
            self.Kind.SOCIAL: ["text"],
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
    action = models.CharField(max_length=30)
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
