"""The classic Django admin for stories, updates and their embeds.

A story's page lists its updates newest first with their GMT stamps and a
"Post an update" button; the update form publishes in one step and stamps the
current GMT time unless the editor sets another. Stories go live and end
through admin actions.

The posting desk, where editors work during live coverage, is in
``coverage/desk/``; ``StoryAdmin.get_urls`` mounts it under each story.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, strip_tags
from django.utils.text import Truncator

from coverage.desk import Desk
from coverage.forms import EmbedForm
from coverage.models import Embed, Story, Update, creation_action, record_version
from coverage.permissions import can_edit, can_publish, can_run_story


class UpdateSummaryInline(admin.TabularInline):
    """The story's updates as a newest-first list; each opens in the update form."""

    model = Update
    fields = ["gmt_stamp", "headline", "excerpt", "status", "pinned", "key_event", "retracted"]
    readonly_fields = fields
    ordering = ["-published_at", "-id"]
    extra = 0
    show_change_link = True
    can_delete = False
    verbose_name_plural = "Updates, newest first"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Time")
    def gmt_stamp(self, update):
        return update.stamp

    @admin.display(description="Text")
    def excerpt(self, update):
        return Truncator(strip_tags(update.body)).chars(90)

    @admin.display(boolean=True)
    def retracted(self, update):
        return update.is_retracted


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "status",
        "update_count",
        "started_at",
        "ended_at",
        "desk_link",
        "post_link",
    ]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["previous"]
    inlines = [UpdateSummaryInline]
    readonly_fields = ["revision"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "standfirst"]}),
        (
            "Lead image",
            {"fields": ["lead_image", "lead_image_caption", "lead_image_credit", "lead_image_alt"]},
        ),
        ("Coverage", {"fields": ["started_at", "ended_at", "previous", "revision"]}),
        ("Original entry", {"fields": ["original_entry"]}),
    ]
    actions = ["go_live", "end_coverage"]

    def get_urls(self):
        # Before the admin's own: its "<path:object_id>/" would swallow them.
        return Desk(self).urls() + super().get_urls()

    def has_run_permission(self, request, obj=None):
        return can_run_story(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_run_permission(request):
            # Going live and ending are an editor's call (the run_story permission).
            fields += ["status", "started_at", "ended_at", "previous"]
        return fields

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
            story.go_live()
            self.log_change(request, story, "Went live.")
        self.message_user(request, f"{len(queryset)} stories are live.", messages.SUCCESS)

    @admin.action(description="End coverage of the selected stories", permissions=["run"])
    def end_coverage(self, request, queryset):
        for story in queryset:
            story.end_coverage()
            self.log_change(request, story, "Ended coverage.")
        self.message_user(request, f"Coverage of {len(queryset)} stories ended.", messages.SUCCESS)


class EmbedInline(admin.StackedInline):
    model = Embed
    form = EmbedForm
    extra = 0
    fields = ["paste", *EmbedForm.Meta.fields]


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

    def clean(self):
        data = super().clean()
        loaded = data.get("loaded_version")
        if self.instance.pk and loaded is not None:
            # The admin saves inside one transaction: this row lock holds until
            # the save, so the compare and the save cannot interleave with another.
            current = (
                Update.objects.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current != loaded:
                raise forms.ValidationError(
                    f"Someone else saved this update (now version {current}) after you opened "
                    "it, so your changes were not saved. Your text is kept here; open the "
                    "update in another tab to see theirs.",
                    code="conflict",
                )
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
    ordering = ["-published_at", "-id"]
    date_hierarchy = "published_at"
    autocomplete_fields = ["story"]
    readonly_fields = ["retracted_at", "revision", "version"]
    actions = ["retract", "restore", "pin", "unpin"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.pop("published_at", None)
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

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            fields += ["status", "pinned"]
        return fields

    @admin.display(description="Time", ordering="published_at")
    def gmt_stamp(self, update):
        return update.stamp

    @admin.display(description="Update")
    def summary(self, update):
        return update.headline or Truncator(strip_tags(update.body)).chars(80)

    @admin.display(boolean=True, description="Retracted", ordering="retracted_at")
    def is_retracted(self, update):
        return update.is_retracted

    def has_delete_permission(self, request, obj=None):
        # Updates are retracted, never deleted: readers' pages and feeds must
        # learn that they went, and the record stays.
        return False

    def save_model(self, request, obj, form, change):
        if not change and not self.has_publish_permission(request):
            # The status field is read-only for contributors; the model's default
            # (published) must not slip through.
            obj.status = Update.Status.DRAFT
        text_changed = {"headline", "body", "correction_note"} & set(form.changed_data)
        if change and obj.is_published and text_changed:
            obj.edited_at = timezone.now()
        super().save_model(request, obj, form, change)
        if not change:
            obj.authors.add(request.user)
            record_version(obj, creation_action(obj), request.user, created=True)
        else:
            action = Update.Action.SCHEDULED if obj.is_scheduled() else Update.Action.EDITED
            record_version(obj, action, request.user)

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
            update.retract(request.user)
        self.message_user(request, "Retracted.", messages.SUCCESS)

    @admin.action(description="Restore the selected retracted updates", permissions=["publish"])
    def restore(self, request, queryset):
        for update in queryset.filter(retracted_at__isnull=False):
            update.restore(request.user)
        self.message_user(request, "Restored.", messages.SUCCESS)

    @admin.action(description="Pin the selected updates", permissions=["publish"])
    def pin(self, request, queryset):
        for update in queryset.filter(pinned=False):
            update.set_pinned(True, request.user)

    @admin.action(description="Unpin the selected updates", permissions=["publish"])
    def unpin(self, request, queryset):
        for update in queryset.filter(pinned=True):
            update.set_pinned(False, request.user)
