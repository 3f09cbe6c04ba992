"""The classic Django admin for stories and updates.

Most posting happens on the desk (coverage/desk, mounted under the story
admin); these pages are for everything else. Every save and list action here
writes through coverage.publishing, like the desk: the same lock, the same
version record, the same delivery to readers.
"""

import json
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from coverage import images, publishing, webhooks
from coverage.desk import Desk
from coverage.forms import EmbedForm
from coverage.models import (
    TIME_ORDER,
    Byline,
    Embed,
    Story,
    Update,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from coverage.permissions import can_edit, can_publish, can_run_story
from coverage.sanitize import body_text


class BoundedChangeList(ChangeList):
    """A list whose odd filter values (a year past 9999, a day of 99999999999)
    are the admin's "bad filter" answer, not a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


# Every image input gets the same checks (coverage.images.validate_upload),
# the declared size before Django's own image field opens the file.
CHECKED_IMAGES = {models.ImageField: {"form_class": images.CheckedImageField}}


class StoryForm(forms.ModelForm):
    """A lead image comes with what readers are owed with it, as an image card does."""

    LEAD_IMAGE_REQUIRED = {
        "lead_image_caption": "A lead image needs a caption.",
        "lead_image_credit": "A lead image needs a credit: who took it, or whose it is.",
        "lead_image_alt": "Describe the lead image for readers who cannot see it.",
    }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("lead_image"):
            for name, message in self.LEAD_IMAGE_REQUIRED.items():
                if name in self.fields and not (cleaned.get(name) or "").strip():
                    self.add_error(name, message)
        return cleaned


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    form = StoryForm
    formfield_overrides = CHECKED_IMAGES
    # The desk link next to the title: the list's main action stays on screen
    # on a phone, where the table scrolls sideways (static/css/stories-admin.css).
    list_display = [
        "title",
        "desk_link",
        "status",
        "update_count",
        "started_at",
        "ended_at",
        "post_link",
    ]
    list_filter = ["status"]
    # Newest first; also the story picker's order (pagination needs one).
    ordering = ["-pk"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["previous"]
    # No inline of the updates: a day of coverage has hundreds, and the page
    # would load them all. Links to the desk and the filtered list instead.
    readonly_fields = ["revision", "updates_links"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "standfirst", "updates_links"]}),
        (
            "Lead image",
            {"fields": ["lead_image", "lead_image_caption", "lead_image_credit", "lead_image_alt"]},
        ),
        ("Coverage", {"fields": ["started_at", "ended_at", "previous", "revision"]}),
        # Also on the desk's Story actions menu; saved through publishing like the rest.
        ("Readers' pages", {"fields": ["poll_mode", "reading_order"]}),
        ("Original entry", {"fields": ["original_entry"]}),
    ]
    actions = ["go_live", "end_coverage"]

    def get_changelist(self, request, **kwargs):
        return BoundedChangeList

    def get_urls(self):
        # Before the admin's own: its "<path:object_id>/" would swallow them.
        return Desk(self).urls() + super().get_urls()

    def has_run_permission(self, request, obj=None):
        return can_run_story(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_run_permission(request):
            # Going live and ending, and what readers' pages do, are an editor's
            # call (the run_story permission), as on the desk.
            fields += ["status", "started_at", "ended_at", "previous", "poll_mode", "reading_order"]
        return fields

    def save_model(self, request, obj, form, change):
        publishing.save_story(obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                published_count=Count(
                    "updates",
                    filter=Q(
                        updates__status=Update.Status.PUBLISHED,
                        updates__retracted_at__isnull=True,
                    ),
                )
            )
        )

    @admin.display(description="Updates", ordering="published_count")
    def update_count(self, story):
        return story.published_count

    @admin.display(description="Updates")
    def updates_links(self, story):
        if story.pk is None:
            return "None yet: save the story, then post from its desk."
        updates = story.updates.all()
        listed = reverse("admin:coverage_update_changelist") + f"?story__id__exact={story.pk}"
        return format_html(
            '{} published of {}. <a href="{}">Open the desk</a> · <a href="{}">List them</a>',
            updates.filter(status=Update.Status.PUBLISHED, retracted_at__isnull=True).count(),
            updates.count(),
            reverse("admin:coverage_story_desk", args=[story.pk]),
            listed,
        )

    @admin.display(description="")
    def desk_link(self, story):
        url = reverse("admin:coverage_story_desk", args=[story.pk])
        return format_html('<a class="button" href="{}">Open the desk</a>', url)

    @admin.display(description="")
    def post_link(self, story):
        url = reverse("admin:coverage_update_add") + f"?story={story.pk}"
        return format_html('<a class="button" href="{}">Post an update</a>', url)

    @admin.action(description="Go live with the selected stories", permissions=["run"])
    def go_live(self, request, queryset):
        for story in queryset:
            publishing.go_live(story.pk)
            self.log_change(request, story, "Went live.")
        self.message_user(request, f"{len(queryset)} stories are live.", messages.SUCCESS)

    @admin.action(description="End coverage of the selected stories", permissions=["run"])
    def end_coverage(self, request, queryset):
        for story in queryset:
            publishing.end_coverage(story.pk)
            self.log_change(request, story, "Ended coverage.")
        self.message_user(request, f"Coverage of {len(queryset)} stories ended.", messages.SUCCESS)


class EmbedInline(admin.StackedInline):
    model = Embed
    form = EmbedForm
    formfield_overrides = CHECKED_IMAGES
    extra = 0
    # Its place in the text: the desk sets it from a link on its own line; here, by hand.
    fields = ["paste", *EmbedForm.Meta.fields, "after_block"]


class UpdateForm(forms.ModelForm):
    published_at = forms.SplitDateTimeField(
        label="Time (GMT)",
        required=False,
        widget=admin.widgets.AdminSplitDateTime,
        help_text="Leave empty to stamp the current GMT time when you save. "
        "An earlier time backdates the update; a later one schedules it.",
    )

    class Meta:
        model = Update
        fields = [
            "story",
            "headline",
            "body",
            "status",
            "key_event",
            "pinned",
            "published_at",
            "correction_note",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "cols": 80})}

    # The version the editor loaded: a save over someone else's newer one is refused.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean_published_at(self):
        return self.cleaned_data["published_at"] or timezone.now()

    def changes(self) -> dict:
        """What the editor changed, of what publishing.edit_update() may change."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name in publishing.EDITABLE and name in self.cleaned_data
        }

    def clean(self):
        data = super().clean()
        if self.instance.pk and not self.errors:
            loaded = data.get("loaded_version")
            try:
                # The admin saves inside one transaction: the row lock taken here
                # holds until the save, so no other write can come in between.
                publishing.check_edit(
                    self.instance.pk,
                    expected_version=self.instance.version if loaded is None else loaded,
                    **self.changes(),
                )
            except publishing.EditConflict as conflict:
                raise forms.ValidationError(
                    f"Someone else changed what you changed (the update is now version "
                    f"{conflict.current.version}) after you opened it, so your changes were "
                    "not saved. Your text is kept here; open the update in another tab to "
                    "see theirs.",
                    code="conflict",
                ) from None
        return data


@admin.register(Update)
class UpdateAdmin(admin.ModelAdmin):
    form = UpdateForm
    inlines = [EmbedInline]
    list_display = [
        "gmt_stamp",
        "summary",
        "story",
        "status",
        "pinned",
        "key_event",
        "is_retracted",
    ]
    list_display_links = ["gmt_stamp", "summary"]
    list_filter = [
        "story",
        "status",
        "key_event",
        "pinned",
        ("retracted_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["story"]
    search_fields = ["headline", "body"]
    ordering = list(TIME_ORDER)
    date_hierarchy = "published_at"
    autocomplete_fields = ["story"]
    readonly_fields = ["retracted_at", "revision", "version"]
    actions = ["retract", "restore", "pin", "unpin"]

    def get_changelist(self, request, **kwargs):
        return BoundedChangeList

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.pop("published_at", None)
        # "Post an update" links carry ?story=<id>; anything else would reach
        # the story widget's query (and a 500) as it is.
        if not re.fullmatch(r"[0-9]{1,18}", str(initial.get("story", "0"))):
            initial.pop("story")
        return initial

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if obj else [f for f in fields if f not in self.readonly_fields]

    def has_publish_permission(self, request, obj=None):
        return can_publish(request.user)

    def has_change_permission(self, request, obj=None):
        # Contributors change their own unpublished updates only (as on the desk).
        if obj is not None and not can_edit(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="Time", ordering="published_at")
    def gmt_stamp(self, update):
        return update.stamp

    @admin.display(description="Update")
    def summary(self, update):
        return update.headline or Truncator(body_text(update.body)).chars(80)

    @admin.display(boolean=True, description="Retracted", ordering="retracted_at")
    def is_retracted(self, update):
        return update.is_retracted

    def has_delete_permission(self, request, obj=None):
        # Updates are retracted, never deleted: readers' pages and feeds must
        # learn that they went, and the record stays.
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            fields += ["status", "pinned"]
        if obj is not None:
            # Moving an update to another story would be a change to two stories.
            fields.append("story")
        return fields

    def save_model(self, request, obj, form, change):
        # Saved with its cards in save_related(): one write, one revision, one version.
        pass

    def save_related(self, request, form, formsets, change):
        cards = publishing.EmbedChanges()
        for formset in formsets:
            cards.added += formset.save(commit=False)
            cards.changed += [embed for embed, _ in formset.changed_objects]
            cards.removed += formset.deleted_objects
        # save(commit=False) lists new and changed together; keep the new ones apart.
        cards.added = [embed for embed in cards.added if embed.pk is None]
        obj = form.instance
        if change:
            publishing.edit_update(
                obj.pk,
                expected_version=form.cleaned_data.get("loaded_version") or obj.version,
                actor=request.user,
                embeds=cards,
                **form.changes(),
            )
        else:
            data = form.cleaned_data
            fields = {name: data[name] for name in publishing.EDITABLE if name in data}
            if not self.has_publish_permission(request):
                # Read-only for contributors: the model's default (published)
                # must not slip through.
                fields.update(status=Update.Status.DRAFT, pinned=False)
            posted, _ = publishing.post_update(
                form.cleaned_data["story"],
                actor=request.user,
                embeds=sorted(cards.added, key=lambda embed: embed.position),
                **fields,
            )
            # The admin goes on with the instance its form built: make it the saved one.
            obj.pk = posted.pk
        obj.refresh_from_db()

    def log_addition(self, request, obj, message):
        # record_version() already wrote the admin history for this save.
        return None

    def log_change(self, request, obj, message):
        return None

    def response_add(self, request, obj, post_url_continue=None):
        # Back to the story after posting, the way a live desk works.
        if "_addanother" not in request.POST and "_continue" not in request.POST:
            self.message_user(request, f"Posted {obj.stamp} update.", messages.SUCCESS)
            return self.redirect_to_story(obj)
        return super().response_add(request, obj, post_url_continue)

    def redirect_to_story(self, update):
        return HttpResponseRedirect(reverse("admin:coverage_story_change", args=[update.story_id]))

    @admin.action(
        description="Retract the selected updates (readers no longer see them)",
        permissions=["publish"],
    )
    def retract(self, request, queryset):
        for update in queryset.filter(retracted_at__isnull=True):
            publishing.retract(update.pk, request.user)
        self.message_user(request, "Retracted.", messages.SUCCESS)

    @admin.action(description="Restore the selected retracted updates", permissions=["publish"])
    def restore(self, request, queryset):
        for update in queryset.filter(retracted_at__isnull=False):
            publishing.restore(update.pk, request.user)
        self.message_user(request, "Restored.", messages.SUCCESS)

    @admin.action(description="Pin the selected updates", permissions=["publish"])
    def pin(self, request, queryset):
        for update in queryset.filter(pinned=False):
            publishing.set_pinned(update.pk, True, request.user)

    @admin.action(description="Unpin the selected updates", permissions=["publish"])
    def unpin(self, request, queryset):
        for update in queryset.filter(pinned=True):
            publishing.set_pinned(update.pk, False, request.user)


@admin.register(Byline)
class BylineAdmin(admin.ModelAdmin):
    """The names readers see on updates. Not a story write: a changed byline
    reaches pages with each story's next change, or as cached pages expire."""

    list_display = ["display_name", "user"]
    search_fields = ["display_name", "user__username", "user__first_name", "user__last_name"]


# Outbound webhooks (coverage.webhooks) --------------------------------------


class ManagedWithWebhooksPermission:
    """Endpoints and their log are for users given "Can manage webhook endpoints"
    (not a role's default: an endpoint sends the coverage to another system)."""

    def has_manage_permission(self, request, obj=None):
        return request.user.has_perm("coverage.manage_webhooks")

    def has_module_permission(self, request):
        return self.has_manage_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.has_manage_permission(request)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=WebhookEvent.values,
        help_text="Drafts and submissions are never sent; scheduled updates when they go out.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "active"]
        help_texts = {
            "url": "Where events are POSTed: http:// or https://, at a public address.",
            "active": "Off: no events are made for it; on again: its queue resumes.",
        }

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhooks.checked_address(url)
        except webhooks.UnsafeURL as error:
            raise forms.ValidationError(str(error)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ManagedWithWebhooksPermission, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["__str__", "url", "active", "health", "delivery_log"]
    list_filter = ["active"]
    readonly_fields = ["signing_secret", "health", "delivery_log"]
    actions = ["turn_on", "roll_secret"]

    def has_add_permission(self, request):
        return self.has_manage_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_manage_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_manage_permission(request)

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "events", "active"]
        return [*fields, *self.readonly_fields] if obj else fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhooks.new_secret()
            obj.save()
            return
        # Only the form's fields: the worker keeps the sequence and failure count.
        turned_on = "active" in form.changed_data and obj.active
        obj.save(update_fields=form.changed_data)
        if turned_on:
            webhooks.enable(obj)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Added “{obj}”. Give its signing secret below to the receiver.")
        return HttpResponseRedirect(reverse("admin:coverage_webhookendpoint_change", args=[obj.pk]))

    @admin.display(description="Signing secret")
    def signing_secret(self, endpoint):
        return format_html(
            "<code>{}</code><div class='help'>The receiver verifies each event's "
            "webhook-signature with it (see the README's “Webhooks”). To change it, use "
            "the list's “Roll the signing secret”.</div>",
            endpoint.secret,
        )

    @admin.action(description="Roll the signing secret", permissions=["manage"])
    def roll_secret(self, request, queryset):
        for endpoint in queryset:
            webhooks.roll_secret(endpoint)
        self.message_user(
            request,
            f"New signing secrets for {len(queryset)} endpoint(s): give them to the receivers. "
            "For 24 hours events are signed with the old secret too.",
        )

    @admin.display(description="Health")
    def health(self, endpoint):
        if endpoint.disabled_at:
            return f"Disabled {endpoint.disabled_at:%d %b %H:%M} GMT: {endpoint.disabled_reason}"
        if endpoint.consecutive_failures:
            return f"Failing: {endpoint.consecutive_failures} failed attempts in a row"
        return "OK" if endpoint.active else "Off"

    @admin.display(description="Deliveries")
    def delivery_log(self, endpoint):
        url = reverse("admin:coverage_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">Delivery log</a>', url, endpoint.pk)

    @admin.action(description="Turn on (and resume their queues)", permissions=["manage"])
    def turn_on(self, request, queryset):
        for endpoint in queryset:
            webhooks.enable(endpoint)
        self.message_user(request, f"Turned on {len(queryset)} endpoint(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ManagedWithWebhooksPermission, admin.ModelAdmin):
    list_display = [
        "sequence",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_response_code",
        "duration",
        "next_attempt",
        "created_at",
    ]
    list_filter = ["state", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["webhook_id"]
    ordering = ["-id"]
    fields = [
        "endpoint",
        "webhook_id",
        "sequence",
        "event_type",
        "state",
        "attempts",
        "next_attempt",
        "last_response_code",
        "last_error",
        "duration",
        "delivered_at",
        "created_at",
        "payload_json",
    ]
    readonly_fields = fields
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Duration", ordering="last_duration_ms")
    def duration(self, delivery):
        return "" if delivery.last_duration_ms is None else f"{delivery.last_duration_ms} ms"

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery):
        if delivery.state not in webhooks.QUEUED:
            return ""
        return f"{delivery.next_attempt_at:%d %b %H:%M:%S} GMT"

    @admin.display(description="Payload")
    def payload_json(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2))

    @admin.action(description="Resend (same webhook-id, in sequence order)", permissions=["manage"])
    def resend(self, request, queryset):
        for delivery in queryset:
            webhooks.resend(delivery)
        self.message_user(request, f"Queued {len(queryset)} event(s) to be sent again.")
