"""The desk's forms: compose, edit, the next day's title and paste import.

Each cleans what the editor typed into what the writes take: GMT times
(``GMTTimeField``), bodies as HTML (``BodyField``, written in ``BodyEditor``),
embeds from a pasted link or code or an uploaded image.
"""

import datetime as dt
import hashlib
import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_prose_editor.widgets import ProseEditorWidget, prose_editor_admin_media
from js_asset import Media, Script

from coverage.desk.text import body_html, editable_text, gmt_text, has_text, parse_gmt, same_body
from coverage.forms import EmbedForm
from coverage.images import CheckedImageField, validate_upload
from coverage.models import Embed, Story, Update
from coverage.permissions import can_publish
from coverage.sanitize import ALLOWED_URL_SCHEMES, EDITOR_EXTENSIONS, sanitize_html
from coverage.textformat import TextFormatError, parse

MAX_BODY = 50_000
TIME_HELP = (
    "GMT. Empty: now. HH:MM (or HH:MM:SS) for today, or YYYY-MM-DD HH:MM(:SS). "
    "Later than now schedules it."
)


# Fields ---------------------------------------------------------------------


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


class BodyEditor(ProseEditorWidget):
    """The body as rich text: django-prose-editor, set up by static/js/desk-editor.js
    with the extensions next to the sanitiser (``EDITOR_EXTENSIONS``).

    The textarea stays the field: the editor writes its HTML back into it on every
    change, so the form posts ``body`` as it always did. Without JavaScript it is a
    plain textarea, where blank lines separate paragraphs (``body_html``).
    """

    def __init__(self, attrs=None):
        super().__init__(attrs, config={"extensions": EDITOR_EXTENSIONS}, preset="desk")

    @property
    def media(self):
        # The library's import map (rendered with the CSP nonce by csp_nonce_attr),
        # its CSS, and the desk's module in place of the library's presets.
        return prose_editor_admin_media + Media(
            # Named after the library's last stylesheet, so that ours comes after it.
            css={"all": ["django_prose_editor/overrides.css", "css/desk-editor.css"]},
            js=[Script("js/desk-editor.js", type="module")],
        )

    def get_config(self):
        return super().get_config() | {"url_schemes": sorted(ALLOWED_URL_SCHEMES)}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # What the editor opens with: the text as it would be saved (typed text
        # as paragraphs, unsafe markup gone), whatever the textarea holds.
        html = sanitize_html(body_html(self.format_value(value) or ""))
        context["widget"]["attrs"]["data-html"] = html
        return context


class BodyField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_BODY)
        kwargs.setdefault("strip", False)
        kwargs.setdefault(
            "help_text",
            "Bold, italic, links, lists and quotes; any other formatting, typed or pasted, "
            "is removed as you see it.",
        )
        kwargs.setdefault("error_messages", {"required": "Write the update first."})
        super().__init__(**kwargs)
        # The browser must not cut a long paste short: the form says it is too long.
        self.widget.attrs.pop("maxlength", None)

    def clean(self, value):
        value = super().clean(value)
        if not has_text(value):
            raise ValidationError("Write the update first.", code="required")
        html = body_html(value)
        if not has_text(sanitize_html(html)):
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
        widget=BodyEditor(
            attrs={"rows": 6, "autofocus": True, "class": "desk-body", "aria-label": "Update"}
        )
    )
    headline = forms.CharField(max_length=200, required=False)
    time = GMTTimeField()
    key_event = forms.BooleanField(required=False)
    pinned = forms.BooleanField(required=False, label="Pin to the top")
    image = CheckedImageField(
        required=False,
        label="Image",
        validators=[validate_upload],
    )
    # Required with an image (Embed.REQUIRED), checked in clean().
    image_caption = forms.CharField(max_length=500, required=False, label="Caption")
    image_credit = forms.CharField(
        max_length=200, required=False, label="Credit", help_text="Who took it, or whose it is."
    )
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
        # The limit, for desk-images.js to say before an upload the server would refuse.
        image = self.fields["image"]
        image.widget.attrs["data-max-bytes"] = settings.MAX_IMAGE_BYTES
        image.help_text = (
            f"JPEG, PNG, GIF or WebP, up to {settings.MAX_IMAGE_BYTES / 1024 / 1024:.3g} MB."
        )

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

    # The compose box's image fields, by the Embed field each one fills.
    IMAGE_FIELDS = {
        "image": "image",
        "caption": "image_caption",
        "credit": "image_credit",
        "alt_text": "image_alt",
    }

    def clean(self):
        data = super().clean()
        if data.get("image"):
            try:
                # The one image rule: Embed.REQUIRED, as the admin applies it.
                self.image_embed().clean()
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    self.add_error(self.IMAGE_FIELDS[name], messages)
        return data

    def image_embed(self) -> Embed:
        data = self.cleaned_data
        return Embed(
            kind=Embed.Kind.IMAGE,
            image=data["image"],
            **{
                name: data.get(field, "").strip()
                for name, field in self.IMAGE_FIELDS.items()
                if name != "image"
            },
        )

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
        if data.get("image"):
            embeds.append(self.image_embed())
        return embeds


class EditForm(DeskForm):
    """Changes to an update's text and time, carrying the version it was loaded at."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    headline = forms.CharField(max_length=200, required=False)
    body = BodyField(widget=BodyEditor(attrs={"rows": 6, "class": "desk-body"}))
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
        if update.status != Update.Status.PUBLISHED:
            del self.fields["correction_note"]

    def changes(self) -> dict:
        data = self.cleaned_data
        changes = {"headline": data["headline"].strip()}
        # The text as loaded, untouched, is not an edit (even where it would not
        # come back byte for byte): as the textarea showed it, or as the editor
        # wrote the same HTML back.
        raw_body = (self.data.get(self.add_prefix("body")) or "").replace("\r\n", "\n")
        untouched = raw_body.strip() == editable_text(self.update.body).strip()
        if not (untouched or same_body(data["body"], self.update.body)):
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


class ReaderSettingsForm(DeskForm):
    """What readers' pages do, from the Story actions menu: each control posts one."""

    poll_mode = forms.ChoiceField(
        choices=Story.PollMode.choices, required=False, label="Readers' pages check for news"
    )
    reading_order = forms.ChoiceField(
        choices=Story.ReadingOrder.choices, required=False, label="Reading order"
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("poll_mode") or cleaned.get("reading_order")):
            raise ValidationError("Choose a poll mode or a reading order.")
        return cleaned


class ImportForm(DeskForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "class": "desk-import-text"}),
        strip=False,
        label="Text",
        help_text="Lines like 'UPDATE 1941 GMT:' start updates (the import_text format).",
    )
    date = forms.DateField(
        label="Date (GMT)",
        help_text="The day of the first (newest) update, YYYY-MM-DD. Below it, a later time "
        "than the one above is taken as the day before (coverage past midnight).",
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
