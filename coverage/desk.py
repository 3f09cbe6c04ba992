"""The posting desk: one page per story, inside the admin, where editors post.

Reached from the story's change page and the stories list
(``admin:coverage_story_desk``). The page has a compose box, the "Awaiting
approval" and "Drafts" lists and the story's updates as readers see them, each
with its actions. Every form posts plainly (works without JavaScript); with
htmx, posting, editing and acting swap the affected part in place, and a staff
poll (cursored by the story revision, like the readers' one) brings in what
colleagues do.

Views stay thin: the writes are model functions (``post_update``,
``edit_update``, ``Update.publish`` ..., ``Story.start_next_day``), each one
transaction with its audit row. Every POST checks permissions here, on the
server, whatever the page showed.
"""

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from coverage.forms import EmbedForm
from coverage.models import EditConflict, Embed, Story, Update, edit_update, post_update
from coverage.sanitize import sanitize_html
from coverage.textformat import TextFormatError, parse

MAX_BODY = 50_000
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Published updates listed on the desk; older ones are in the admin's update list.
DESK_LIMIT = 200


# Who may do what ------------------------------------------------------------


def can_use_desk(user) -> bool:
    return user.has_perm("coverage.view_story") and user.has_perm("coverage.add_update")


def can_publish(user) -> bool:
    return user.has_perm("coverage.publish_update")


def can_run_story(user) -> bool:
    return user.has_perm("coverage.run_story")


def can_edit(user, update: Update) -> bool:
    """Editors edit any update; a contributor only their own, until it is published."""
    if can_publish(user) and user.has_perm("coverage.change_update"):
        return True
    return (
        user.has_perm("coverage.change_update")
        and update.status != Update.Status.PUBLISHED
        # all(), not filter(): the desk's rows come with their authors prefetched.
        and any(author.pk == user.pk for author in update.authors.all())
    )


# Times ----------------------------------------------------------------------

_ZONE = re.compile(r"\s*(?:GMT|UTC|Z)$", re.IGNORECASE)
_TIME_ONLY = re.compile(r"(?P<h>\d{1,2}):?(?P<m>\d{2})")
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
)
TIME_HELP = "GMT. Empty: now. HH:MM for today, or YYYY-MM-DD HH:MM. Later than now schedules it."


def parse_gmt(text: str, now=None) -> dt.datetime | None:
    """'19:41' (today, GMT), '1941', '2026-11-25 19:41' or '' (None: now).

    Raises ValidationError for anything else, including impossible times.
    """
    text = _ZONE.sub("", (text or "").strip())
    if not text:
        return None
    now = now or timezone.now()
    problem = ValidationError(
        "Enter the time as HH:MM (today, GMT) or as YYYY-MM-DD HH:MM, or leave it empty for now.",
        code="invalid",
    )
    if match := _TIME_ONLY.fullmatch(text):
        day = now.astimezone(dt.UTC).date()
        seconds = 0
    elif match := _DATE_TIME.fullmatch(text):
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            raise ValidationError(f"{match['date']} is not a real date.", code="invalid") from None
        seconds = int(match["s"] or 0)
    else:
        raise problem
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValidationError(
            f"{text} is not a time: hours run 00-23 and minutes 00-59.", code="invalid"
        )
    return dt.datetime.combine(day, dt.time(hours, minutes, seconds), tzinfo=dt.UTC)


def gmt_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


class GMTTimeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Time (GMT)")
        kwargs.setdefault("help_text", TIME_HELP)
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"placeholder": "now", "autocomplete": "off", "size": 16}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        return parse_gmt(super().clean(value))


# Body text ------------------------------------------------------------------

_BLOCK_TAG = re.compile(r"<\s*(p|ul|ol|li|blockquote|h[2-4])\b", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")


def body_html(text: str) -> str:
    """What the editor typed, as the update's HTML (sanitised again on save).

    Plain text: blank lines separate paragraphs and a single line break stays
    one. Text that already has paragraphs or lists (an edited update, or HTML
    pasted in) is kept as it is. The toolbar's <strong>, <em> and <a> are inline
    either way.
    """
    text = text.replace("\r\n", "\n").strip()
    if _BLOCK_TAG.search(text):
        return text
    paragraphs = [part.strip() for part in _BLANK_LINES.split(text) if part.strip()]
    return "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in paragraphs)


_PARAGRAPHS_ONLY = re.compile(
    r"(?:\s*<p>(?:(?!</?(?:p|ul|ol|li|blockquote|h[2-4])\b).)*</p>)+\s*", re.DOTALL
)
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_BR = re.compile(r"<br\s*/?>")


def editable_text(html: str) -> str:
    """A stored body as the editor typed it: paragraphs and line breaks back to
    blank lines and newlines. Bodies with lists, quotes or headings stay HTML."""
    if not _PARAGRAPHS_ONLY.fullmatch(html):
        return html
    paragraphs = [_BR.sub("\n", part).strip() for part in _PARAGRAPH.findall(html)]
    return "\n\n".join(paragraphs).replace("&amp;", "&").replace("&nbsp;", "\u00a0")


class BodyField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_BODY)
        kwargs.setdefault("strip", False)
        kwargs.setdefault(
            "help_text",
            "Blank lines separate paragraphs. Select text and use the buttons for bold, "
            "italic or a link; other formatting is removed.",
        )
        kwargs.setdefault("error_messages", {"required": "Write the update first."})
        super().__init__(**kwargs)
        # The browser must not cut a long paste short: the form says it is too long.
        self.widget.attrs.pop("maxlength", None)

    def clean(self, value):
        value = super().clean(value)
        if not value.strip():
            raise ValidationError("Write the update first.", code="required")
        html = body_html(value)
        if not sanitize_html(html):
            raise ValidationError(
                "Nothing would be left of this text once unsafe markup is removed.",
                code="empty",
            )
        return html


# Forms ----------------------------------------------------------------------


class DeskForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PastedEmbedForm(EmbedForm):
    """The embed form's paste box alone: the card is filled from what was pasted."""

    class Meta(EmbedForm.Meta):
        fields = ["kind", "url", "provider", "title", "author_name", "author_handle", "text"]
        fields += ["posted_at"]


class ComposeForm(DeskForm):
    """A new update: text, flags, time, an embed by pasted link or code, an image.

    The pasted embed is the embed form's (``coverage.forms.EmbedForm``), under
    the prefix "embed", validated only when something was pasted.
    """

    client_token = forms.UUIDField(widget=forms.HiddenInput)
    body = BodyField(
        widget=forms.Textarea(
            attrs={"rows": 6, "autofocus": True, "class": "desk-body", "aria-label": "Update"}
        )
    )
    headline = forms.CharField(max_length=200, required=False)
    time = GMTTimeField()
    key_event = forms.BooleanField(required=False)
    pinned = forms.BooleanField(required=False, label="Pin to the top")
    image = forms.ImageField(
        required=False, help_text="JPEG, PNG, GIF or WebP, up to 10 MB.", label="Image"
    )
    image_caption = forms.CharField(max_length=500, required=False, label="Caption")
    image_credit = forms.CharField(max_length=200, required=False, label="Credit")
    image_alt = forms.CharField(
        max_length=500, required=False, label="Alt text", help_text="Describe the image."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else None
        self.embed_form = PastedEmbedForm(data, prefix="embed", label_suffix="")
        if not can_publish(user):
            # Pinning is an editor's call; a contributor's post cannot carry it.
            del self.fields["pinned"]
        if not self.is_bound:
            self.initial.setdefault("client_token", uuid.uuid4())

    @property
    def wants_embed(self) -> bool:
        return self.is_bound and bool(self.data.get("embed-paste", "").strip())

    def is_valid(self):
        valid = super().is_valid()
        if self.wants_embed:
            valid = self.embed_form.is_valid() and valid
        return valid

    @property
    def embed_errors(self) -> list[str]:
        """Everything wrong with the pasted embed, whichever of its fields it concerns."""
        if not self.wants_embed:
            return []
        return [message for errors in self.embed_form.errors.values() for message in errors]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.embed_errors)

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and image.size > MAX_IMAGE_BYTES:
            raise ValidationError(
                f"This image is {image.size / 1024 / 1024:.1f} MB; the limit is 10 MB.",
                code="too_big",
            )
        return image

    def clean(self):
        data = super().clean()
        if data.get("image") and not data.get("image_alt", "").strip():
            self.add_error("image_alt", "Describe the image for readers who cannot see it.")
        return data

    def update_fields(self) -> dict:
        data = self.cleaned_data
        fields = {
            "headline": data["headline"].strip(),
            "body": data["body"],
            "key_event": data["key_event"],
            "pinned": data.get("pinned", False),
        }
        if data["time"] is not None:
            fields["published_at"] = data["time"]
        return fields

    def embeds(self) -> list[Embed]:
        """Unsaved embeds for the new update, in page order."""
        data = self.cleaned_data
        embeds = []
        if self.wants_embed:
            embeds.append(self.embed_form.save(commit=False))
        if image := data.get("image"):
            embeds.append(
                Embed(
                    kind=Embed.Kind.IMAGE,
                    image=image,
                    caption=data["image_caption"].strip(),
                    credit=data["image_credit"].strip(),
                    alt_text=data["image_alt"].strip(),
                )
            )
        return embeds


class EditForm(DeskForm):
    """Changes to an update's text and time, carrying the version it was loaded at."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    headline = forms.CharField(max_length=200, required=False)
    body = BodyField(widget=forms.Textarea(attrs={"rows": 6, "class": "desk-body"}))
    correction_note = forms.CharField(
        max_length=500,
        required=False,
        help_text="Shown to readers under the update, with the time of this edit.",
    )
    time = GMTTimeField(help_text="GMT. Leave as it is to keep the update's time.")

    def __init__(self, *args, update: Update, **kwargs):
        self.update = update
        kwargs.setdefault(
            "initial",
            {
                "version": update.version,
                "headline": update.headline,
                "body": editable_text(update.body),
                "correction_note": update.correction_note,
                "time": gmt_text(update.published_at),
            },
        )
        super().__init__(*args, **kwargs)
        if not update.is_published:
            del self.fields["correction_note"]

    def changes(self) -> dict:
        data = self.cleaned_data
        changes = {"headline": data["headline"].strip()}
        # The text as loaded, untouched, is not an edit (even where it would not
        # come back byte for byte).
        raw_body = (self.data.get(self.add_prefix("body")) or "").replace("\r\n", "\n")
        if raw_body.strip() != editable_text(self.update.body).strip():
            changes["body"] = data["body"]
        if "correction_note" in data:
            changes["correction_note"] = data["correction_note"].strip()
        # An unchanged (or emptied) time keeps the update's exact time.
        raw = (self.data.get(self.add_prefix("time")) or "").strip()
        if data["time"] is not None and raw != gmt_text(self.update.published_at):
            changes["published_at"] = data["time"]
        return changes


class NextDayForm(DeskForm):
    title = forms.CharField(max_length=200, required=False, label="Next day's title")


class ImportForm(DeskForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "class": "desk-import-text"}),
        strip=False,
        label="Text",
        help_text="Lines like 'UPDATE 1941 GMT:' start updates (the import_text format).",
    )
    date = forms.DateField(
        label="Date (GMT)",
        help_text="The day the update times are on. YYYY-MM-DD.",
        input_formats=["%Y-%m-%d"],
    )
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("date", timezone.now().astimezone(dt.UTC).date())
            self.initial.setdefault("token", uuid.uuid4())

    def digest(self) -> str:
        """Names the text and date a preview showed."""
        data = f"{self.cleaned_data['date']}\n{self.cleaned_data['text']}"
        return hashlib.sha256(data.encode()).hexdigest()

    def clean(self):
        data = super().clean()
        if "text" in data and "date" in data:
            try:
                self.parsed = parse(data["text"], data["date"])
            except TextFormatError as error:
                self.add_error("text", str(error))
                return data
            for update in self.parsed.updates:
                if len(update.headline) > 200:
                    self.add_error("text", f"line {update.line}: the headline is too long.")
                if len(update.body_html) > MAX_BODY:
                    self.add_error("text", f"line {update.line}: the update is too long.")
                for post in update.social_posts:
                    if len(post.author_name) > 200 or len(post.author_handle) > 200:
                        self.add_error("text", f"line {post.line}: the author is too long.")
        return data


# Rows -----------------------------------------------------------------------


@dataclass
class DeskRow:
    """An update as the desk lists it, with what this user may do to it."""

    update: Update
    user: object
    now: dt.datetime

    @property
    def section(self) -> str:
        status = self.update.status
        return status if status in (Update.Status.DRAFT, Update.Status.SUBMITTED) else "published"

    @property
    def scheduled(self) -> bool:
        return self.update.is_scheduled(self.now)

    @property
    def can_edit(self) -> bool:
        return can_edit(self.user, self.update)

    @property
    def can_publish(self) -> bool:
        return can_publish(self.user)

    @property
    def can_submit(self) -> bool:
        return self.update.status == Update.Status.DRAFT and self.can_edit

    @property
    def authors(self) -> str:
        return ", ".join(user.get_username() for user in self.update.authors.all())


def desk_updates(story: Story):
    return (
        story.updates.order_by("-pinned", "-published_at", "-id")
        .select_related("story")
        .prefetch_related("embeds", "authors")
    )


# Views ----------------------------------------------------------------------

# The update actions the desk's buttons post, and what each does.
ACTIONS = {
    "pin": lambda update, actor: update.pinned or update.set_pinned(True, actor),
    "unpin": lambda update, actor: update.pinned and update.set_pinned(False, actor),
    "key-event": lambda update, actor: update.key_event or update.set_key_event(True, actor),
    "not-key-event": lambda update, actor: update.key_event and update.set_key_event(False, actor),
    "retract": lambda update, actor: update.is_retracted or update.retract(actor),
    "restore": lambda update, actor: update.is_retracted and update.restore(actor),
    "publish": lambda update, actor: update.is_published or update.publish(actor),
    "submit": lambda update, actor: update.status == Update.Status.DRAFT and update.submit(actor),
}
ACTION_DONE = {
    "pin": "Pinned",
    "unpin": "Unpinned",
    "key-event": "Marked as a key event",
    "not-key-event": "No longer a key event",
    "retract": "Retracted",
    "restore": "Restored",
    "publish": "Published",
    "submit": "Submitted for approval",
}
LIFECYCLE = {"go-live", "end", "next-day"}


class Desk:
    """The desk's views, mounted under the story admin (see StoryAdmin.get_urls)."""

    template = "admin/coverage/desk/"

    def __init__(self, model_admin):
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site

    def urls(self):
        def view(function, name, route):
            return path(route, self.admin_site.admin_view(function), name=f"coverage_story_{name}")

        return [
            view(self.desk, "desk", "<int:story_id>/desk/"),
            view(self.compose, "desk_compose", "<int:story_id>/desk/compose/"),
            view(self.poll, "desk_poll", "<int:story_id>/desk/poll/"),
            view(self.paste_import, "desk_import", "<int:story_id>/desk/import/"),
            view(self.lifecycle, "desk_lifecycle", "<int:story_id>/desk/story/<slug:action>/"),
            view(self.row, "desk_row", "<int:story_id>/desk/updates/<int:update_id>/"),
            view(self.edit, "desk_edit", "<int:story_id>/desk/updates/<int:update_id>/edit/"),
            view(
                self.versions,
                "desk_versions",
                "<int:story_id>/desk/updates/<int:update_id>/versions/",
            ),
            view(
                self.act,
                "desk_action",
                "<int:story_id>/desk/updates/<int:update_id>/<slug:action>/",
            ),
        ]

    # Helpers

    def story_for(self, request, story_id) -> Story:
        if not can_use_desk(request.user):
            raise PermissionDenied
        return get_object_or_404(Story.objects.select_related("previous"), pk=story_id)

    def update_for(self, story, update_id, *, lock=False) -> Update:
        updates = Update.objects.select_for_update() if lock else Update.objects
        return get_object_or_404(updates, pk=update_id, story=story)

    def desk_url(self, story, update=None) -> str:
        url = reverse("admin:coverage_story_desk", args=[story.pk])
        return f"{url}#desk-update-{update.pk}" if update else url

    def context(self, request, story, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": Story._meta,
            "story": story,
            "title": f"Desk: {story.title}",
            "can_publish": can_publish(request.user),
            "can_run_story": can_run_story(request.user),
            "poll_seconds": self.poll_seconds(),
            **extra,
        }

    @staticmethod
    def poll_seconds():
        from django.conf import settings

        return settings.LIVE_POLL_SECONDS

    def render(self, request, name, context, status=200):
        return TemplateResponse(request, self.template + name, context, status=status)

    def row_response(self, request, story, update, status=200):
        row = DeskRow(update, request.user, timezone.now())
        return self.render(
            request, "_row.html", self.context(request, story, row=row), status=status
        )

    @staticmethod
    def fresh(update_id) -> Update:
        """The update as committed, with what its row shows."""
        return (
            Update.objects.select_related("story")
            .prefetch_related("embeds", "authors")
            .get(pk=update_id)
        )

    # The page

    def desk_page(self, request, story, compose_form=None, status=200):
        story.refresh_from_db()
        # The revision is read before the updates: a change committed in between
        # arrives twice at worst (the poll replaces it in place), never not at all.
        revision = story.revision
        now = timezone.now()
        updates = desk_updates(story)
        waiting = updates.exclude(status=Update.Status.PUBLISHED)
        rows = [DeskRow(update, request.user, now) for update in waiting]
        published = updates.filter(status=Update.Status.PUBLISHED)[:DESK_LIMIT]
        context = self.context(
            request,
            story,
            revision=revision,
            now=now,
            compose_form=compose_form or ComposeForm(user=request.user),
            submitted=[row for row in rows if row.section == Update.Status.SUBMITTED],
            drafts=[row for row in rows if row.section == Update.Status.DRAFT],
            published=[DeskRow(update, request.user, now) for update in published],
        )
        return self.render(request, "desk.html", context, status=status)

    def desk(self, request, story_id):
        story = self.story_for(request, story_id)
        return self.desk_page(request, story)

    # Composing

    def compose(self, request, story_id):
        story = self.story_for(request, story_id)
        if request.method != "POST":
            return HttpResponseRedirect(self.desk_url(story))
        intent = request.POST.get("intent", "publish")
        status = {
            "publish": Update.Status.PUBLISHED,
            "submit": Update.Status.SUBMITTED,
            "draft": Update.Status.DRAFT,
        }.get(intent)
        if status is None:
            return HttpResponseBadRequest("Unknown intent: publish, submit or draft.")
        if status == Update.Status.PUBLISHED and not can_publish(request.user):
            raise PermissionDenied("Contributors submit updates; an editor publishes them.")
        form = ComposeForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            if request.htmx:
                context = self.context(request, story, compose_form=form)
                return self.render(request, "_compose.html", context, status=422)
            return self.desk_page(request, story, compose_form=form)
        update, created = post_update(
            story,
            actor=request.user,
            status=status,
            client_token=form.cleaned_data["client_token"],
            embeds=form.embeds(),
            **form.update_fields(),
        )
        update = self.fresh(update.pk)
        if not request.htmx:
            if created:
                messages.success(request, self.posted_message(update))
            return HttpResponseRedirect(self.desk_url(story, update))
        row = DeskRow(update, request.user, timezone.now())
        context = self.context(
            request, story, compose_form=ComposeForm(user=request.user), row=row, posted=update
        )
        return self.render(request, "compose_answer.html", context)

    @staticmethod
    def posted_message(update) -> str:
        if update.status == Update.Status.DRAFT:
            return "Draft saved."
        if update.status == Update.Status.SUBMITTED:
            return "Submitted for approval."
        if update.is_scheduled():
            return f"Scheduled for {update.stamp}."
        return f"Published: UPDATE {update.stamp}."

    # One update

    def row(self, request, story_id, update_id):
        if request.method != "GET":
            return HttpResponse(status=405)
        story = self.story_for(request, story_id)
        update = self.update_for(story, update_id)
        return self.row_response(request, story, self.fresh(update.pk))

    def edit(self, request, story_id, update_id):
        story = self.story_for(request, story_id)
        update = self.update_for(story, update_id)
        if not can_edit(request.user, update):
            raise PermissionDenied("You cannot edit this update.")
        if request.method == "GET":
            return self.edit_response(request, story, update, EditForm(update=update))
        if request.method != "POST":
            return HttpResponse(status=405)
        form = EditForm(request.POST, update=update)
        if not form.is_valid():
            return self.edit_response(request, story, update, form, status=422)
        try:
            edited = edit_update(
                update.pk,
                expected_version=form.cleaned_data["version"],
                actor=request.user,
                **form.changes(),
            )
        except EditConflict as conflict:
            return self.conflict_response(request, story, conflict.current)
        if not request.htmx:
            messages.success(request, f"Saved UPDATE {edited.stamp}.")
            return HttpResponseRedirect(self.desk_url(story, edited))
        return self.row_response(request, story, self.fresh(edited.pk))

    def conflict_response(self, request, story, current):
        """Refuse a stale save: show the other editor's version, keep this editor's text.

        The form now carries the current version, so saving again is a
        deliberate choice to replace what the other editor wrote.
        """
        data = request.POST.copy()
        data["version"] = str(current.version)
        form = EditForm(data, update=current)
        form.is_valid()
        latest = current.versions.select_related("actor").first()
        who = latest.actor.get_username() if latest and latest.actor else "someone else"
        when = (latest.at if latest else current.updated_at).astimezone(dt.UTC)
        form.add_error(
            None,
            f"{who} saved this update at {when:%H%M} GMT (version {current.version}) while you "
            "were editing, so your changes were not saved. Their version is shown above; your "
            "text is kept below. Save again to replace their version with yours, or cancel to "
            "keep theirs.",
        )
        context = {"conflict": current, "conflict_by": who, "conflict_at": when}
        # htmx: 409 (the desk's htmx config swaps it in). A plain post: the form again.
        status = 409 if request.htmx else 200
        return self.edit_response(request, story, current, form, status=status, **context)

    def edit_response(self, request, story, update, form, status=200, **extra):
        row = DeskRow(update, request.user, timezone.now())
        context = self.context(request, story, row=row, form=form, **extra)
        if request.htmx:
            return self.render(request, "_edit.html", context, status=status)
        return self.render(request, "edit.html", context, status=status)

    def act(self, request, story_id, update_id, action):
        if request.method != "POST":
            return HttpResponse(status=405)
        story = self.story_for(request, story_id)
        if action not in ACTIONS:
            raise Http404("No such action.")
        with transaction.atomic():
            update = self.update_for(story, update_id, lock=True)
            allowed = (
                can_edit(request.user, update) if action == "submit" else can_publish(request.user)
            )
            if not allowed:
                raise PermissionDenied("Only an editor can do that.")
            ACTIONS[action](update, request.user)
        if not request.htmx:
            messages.success(request, f"{ACTION_DONE[action]}: {update.stamp} update.")
            return HttpResponseRedirect(self.desk_url(story, update))
        return self.row_response(request, story, self.fresh(update.pk))

    def versions(self, request, story_id, update_id):
        story = self.story_for(request, story_id)
        update = self.update_for(story, update_id)
        versions = update.versions.select_related("actor")
        context = self.context(
            request,
            story,
            update=update,
            versions=versions,
            title=f"Versions of the {update.stamp} update",
        )
        return self.render(request, "versions.html", context)

    # Colleagues' changes

    def poll(self, request, story_id):
        """Every update changed since revision ``since`` (drafts included), as
        out-of-band rows, and the poller with the new cursor. Never cached."""
        story = self.story_for(request, story_id)
        raw = request.GET.get("since", "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            return HttpResponseBadRequest("'since' must be a non-negative whole number.")
        since = int(raw)
        # Scheduled updates fall due here too, so the desk shows them go out.
        due = Update.objects.awaiting_release().filter(
            story=story, published_at__lte=timezone.now()
        )
        if due.exists():
            Story.release_due_updates(story.pk)
        story.refresh_from_db()
        if since == story.revision:
            return HttpResponse(status=204)
        if since > story.revision:
            response = HttpResponse("The desk is ahead of the story; reloading.", status=409)
            response["HX-Refresh"] = "true"
            return response
        now = timezone.now()
        changes = desk_updates(story).filter(revision__gt=since, revision__lte=story.revision)
        rows = [DeskRow(update, request.user, now) for update in changes.order_by("revision")]
        context = self.context(request, story, revision=story.revision, rows=rows)
        return self.render(request, "poll.html", context)

    # The story

    def lifecycle(self, request, story_id, action):
        if request.method != "POST":
            return HttpResponse(status=405)
        story = self.story_for(request, story_id)
        if action not in LIFECYCLE:
            raise Http404("No such action.")
        if not can_run_story(request.user):
            raise PermissionDenied("Only an editor can start or end coverage.")
        if action == "go-live":
            story.go_live()
            self.log(request, story, "Went live from the desk.")
            messages.success(request, "The story is live.")
        elif action == "end":
            story.end_coverage()
            self.log(request, story, "Ended coverage from the desk.")
            messages.success(request, "Coverage ended; readers' pages stop polling.")
        else:
            form = NextDayForm(request.POST)
            title = form.cleaned_data["title"] if form.is_valid() else ""
            following, created = story.start_next_day(title)
            if created:
                self.log(request, story, f"Coverage continues in “{following}”.")
                LogEntry.objects.log_actions(
                    request.user.pk,
                    [following],
                    ADDITION,
                    f"Started from the desk as the day after “{story}”.",
                    single_object=True,
                )
                messages.success(request, f"Started “{following}”; “{story}” has ended.")
            else:
                messages.info(request, f"Coverage already continues in “{following}”.")
            return HttpResponseRedirect(self.desk_url(following))
        return HttpResponseRedirect(self.desk_url(story))

    def log(self, request, story, message):
        LogEntry.objects.log_actions(request.user.pk, [story], CHANGE, message, single_object=True)

    def paste_import(self, request, story_id):
        """Paste text in the import_text format: a preview first, then one save."""
        story = self.story_for(request, story_id)
        if request.method == "GET":
            return self.import_page(request, story, ImportForm())
        if request.method != "POST":
            return HttpResponse(status=405)
        form = ImportForm(request.POST)
        if not form.is_valid():
            return self.import_page(request, story, form)
        # Only text whose preview the editor saw is saved: edited after the
        # preview, it is previewed again.
        if "save" not in request.POST or request.POST.get("previewed") != form.digest():
            return self.import_page(request, story, form, preview=form.parsed)
        status = Update.Status.PUBLISHED if can_publish(request.user) else Update.Status.SUBMITTED
        created = self.save_import(request, story, form, status)
        if created:
            verb = "Added" if status == Update.Status.PUBLISHED else "Submitted"
            messages.success(request, f"{verb} {created} updates from the pasted text.")
        else:
            messages.info(request, "These updates were already added.")
        return HttpResponseRedirect(self.desk_url(story))

    def import_page(self, request, story, form, preview=None):
        context = self.context(
            request,
            story,
            form=form,
            preview=preview,
            previewed=form.digest() if preview else "",
            now=timezone.now(),
            title=f"Paste updates: {story.title}",
        )
        return self.render(request, "import.html", context)

    def save_import(self, request, story, form, status) -> int:
        token = form.cleaned_data["token"]
        publisher = can_publish(request.user)
        created = 0
        with transaction.atomic():
            # Reverse text order: updates at the same time keep the text's order
            # on the page, where ties go to the newest id (as import_text does).
            for index, parsed in reversed(list(enumerate(form.parsed.updates))):
                embeds = [
                    Embed(
                        kind=Embed.Kind.SOCIAL,
                        text=post.text,
                        author_name=post.author_name,
                        author_handle=post.author_handle,
                        posted_at=post.posted_at,
                    )
                    for post in parsed.social_posts
                ]
                _, was_created = post_update(
                    story,
                    actor=request.user,
                    status=status,
                    # One token per update, from the form's: a resubmitted
                    # preview adds nothing twice.
                    client_token=uuid.uuid5(token, str(index)),
                    embeds=embeds,
                    headline=parsed.headline,
                    body=parsed.body_html,
                    published_at=parsed.published_at,
                    key_event=parsed.key_event,
                    pinned=parsed.pinned and publisher,
                )
                created += was_created
        return created
