"""The desk's views: thin, mounted under the story admin (``Desk.urls``).

Each view checks the user's permissions (``coverage.permissions``) on the
server, whatever the page showed, then calls one write; with htmx it answers
the part of the page that changed, without it a redirect back to the desk.
"""

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coverage import audience, embed_kit, live, presence, publishing, webhooks
from coverage.desk.forms import ComposeForm, EditForm, ImportForm, NextDayForm, ReaderSettingsForm
from coverage.desk.rows import DeskRow, desk_lists, desk_updates
from coverage.models import Story, Update
from coverage.permissions import can_edit, can_publish, can_run_story, can_use_desk
from coverage.views import (
    nothing_to_send,
    pace_of,
    parse_cursor,
    parse_since,
    plain_response,
)

# The desk previews an image before it is posted from a blob: URL (desk-images.js);
# only the desk's page opens img-src to it, reader pages keep the site's policy.
DESK_CSP = {
    **settings.SECURE_CSP,
    "img-src": [*settings.SECURE_CSP["img-src"], "blob:"],
    # The embed kit's preview (its own /embed/ page).
    "frame-src": [CSP.SELF, *settings.SECURE_CSP["frame-src"]],
}


class Action(NamedTuple):
    """An update action the desk's buttons post: the write, and what it is (its
    label is the message the editor sees)."""

    write: Callable
    done: Update.Action


ACTIONS = {
    "pin": Action(partial(publishing.set_pinned, pinned=True), Update.Action.PINNED),
    "unpin": Action(partial(publishing.set_pinned, pinned=False), Update.Action.UNPINNED),
    "key-event": Action(partial(publishing.set_key_event, key_event=True), Update.Action.KEY_EVENT),
    "not-key-event": Action(
        partial(publishing.set_key_event, key_event=False), Update.Action.NOT_KEY_EVENT
    ),
    "retract": Action(publishing.retract, Update.Action.RETRACTED),
    "restore": Action(publishing.restore, Update.Action.RESTORED),
    "publish": Action(publishing.publish, Update.Action.PUBLISHED),
    "submit": Action(publishing.submit, Update.Action.SUBMITTED),
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
            view(self.reader_settings, "desk_readers", "<int:story_id>/desk/readers/"),
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
            "reader_polling": self.reader_polling(),
            **extra,
        }

    @staticmethod
    def poll_seconds():
        return settings.LIVE_POLL_SECONDS

    @staticmethod
    def reader_polling():
        """Each poll mode's pace for the menu, and the site's kill switch if it is on."""
        return {
            "modes": [(mode, label, pace_of(mode)) for mode, label in Story.PollMode.choices],
            "site": settings.READER_POLLING,
            "ended": settings.LIVE_ENDED_POLL_SECONDS,
        }

    def check_in(self, request, story, state=None, **check_in) -> presence.Presence:
        """Check this editor in on the story's desk (see coverage.presence); the
        colleagues there and, for a public story, its readers now."""
        here = presence.check_in(story.pk, request.user, **check_in)
        state = state or live.get(story.slug)
        if state is None or state.status == Story.Status.DRAFT:
            return here
        return here._replace(readers=audience.readers(state.story_id))

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

    def desk_page(self, request, story, compose_form=None, status=200, before=None):
        story.refresh_from_db()
        # The revision is read before the updates: a change committed in between
        # arrives twice at worst (the poll replaces it in place), never not at all.
        revision = story.revision
        now = timezone.now()
        context = self.context(
            request,
            story,
            revision=revision,
            now=now,
            compose_form=compose_form or ComposeForm(user=request.user),
            lists=desk_lists(story, request.user, now, before),
            before=before,
            presence=self.check_in(request, story, editing=()),
            # Editors hear when repeated failure stopped a webhook (lazy: one query, if any).
            stopped_webhooks=webhooks.disabled_by_failure() if can_publish(request.user) else (),
            embed_snippet=embed_kit.snippet(request, story),
        )
        return self.render(request, "desk.html", context, status=status)

    @method_decorator(require_GET)
    @method_decorator(csp_override(DESK_CSP))
    def desk(self, request, story_id):
        story = self.story_for(request, story_id)
        # ?before=<time>-<id>: the published updates after that one ("Load older updates").
        before = parse_cursor(request.GET.get("before"))
        if isinstance(before, str):
            return plain_response(before, 400)
        if before and request.htmx:
            lists = desk_lists(story, request.user, timezone.now(), before)
            return self.render(request, "_older.html", self.context(request, story, lists=lists))
        return self.desk_page(request, story, before=before)

    # Composing

    @method_decorator(require_http_methods(["GET", "POST"]))
    def compose(self, request, story_id):
        story = self.story_for(request, story_id)
        if request.method == "GET":
            # Nothing posted (a bookmark, or the address bar after a plain post).
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
        update, created = publishing.post_update(
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

    @method_decorator(require_GET)
    def row(self, request, story_id, update_id):
        story = self.story_for(request, story_id)
        update = self.update_for(story, update_id)
        return self.row_response(request, story, self.fresh(update.pk))

    @method_decorator(require_http_methods(["GET", "POST"]))
    def edit(self, request, story_id, update_id):
        story = self.story_for(request, story_id)
        update = self.update_for(story, update_id)
        if not can_edit(request.user, update):
            raise PermissionDenied("You cannot edit this update.")
        if request.method == "GET":
            # Colleagues see it at their next poll, before this editor's own.
            presence.check_in(story.pk, request.user, also_editing=[update])
            return self.edit_response(request, story, update, EditForm(update=update))
        form = EditForm(request.POST, update=update)
        if not form.is_valid():
            return self.edit_response(request, story, update, form, status=422)
        try:
            edited = publishing.edit_update(
                update.pk,
                expected_version=form.cleaned_data["version"],
                actor=request.user,
                **form.changes(),
            )
        except publishing.EditConflict as conflict:
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

    @method_decorator(require_POST)
    def act(self, request, story_id, update_id, action):
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
            update = ACTIONS[action].write(update.pk, actor=request.user)
        if not request.htmx:
            messages.success(request, f"{ACTIONS[action].done.label}: {update.stamp} update.")
            return HttpResponseRedirect(self.desk_url(story, update))
        return self.row_response(request, story, self.fresh(update.pk))

    @method_decorator(require_GET)
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

    @method_decorator(require_GET)
    def poll(self, request, story_id):
        """Every update changed since revision ``since`` (drafts included), as
        out-of-band rows, and the poller with the new cursor; the presence panel
        when it changed (the poller carries its digest, and the ids of this
        page's open edit forms as ``editing``). Never cached."""
        story = self.story_for(request, story_id)
        since = parse_since(request.GET.get("since"))
        if isinstance(since, str):
            return plain_response(since, 400)
        # The readers' poll's state and answers: due updates are released here
        # too, so the desk shows them go out.
        state = live.get(story.slug, at_least=since)
        editing = presence.editing_ids(request.GET.getlist("editing"))
        here = self.check_in(request, story, state, editing=editing)
        answer = nothing_to_send(since, state.revision)
        unchanged = answer is not None and answer.status_code == 204
        # Without a digest (not the desk's poller), nothing but changes is sent.
        shown = request.GET.get("presence")
        if answer is not None and not (unchanged and shown is not None and shown != here.digest):
            return answer
        rows = []
        if not unchanged:
            now = timezone.now()
            changes = desk_updates(story).filter(revision__gt=since, revision__lte=state.revision)
            rows = [DeskRow(update, request.user, now) for update in changes.order_by("revision")]
        context = self.context(request, story, revision=state.revision, rows=rows, presence=here)
        return self.render(request, "poll.html", context)

    # The story

    @method_decorator(require_POST)
    def lifecycle(self, request, story_id, action):
        story = self.story_for(request, story_id)
        if action not in LIFECYCLE:
            raise Http404("No such action.")
        if not can_run_story(request.user):
            raise PermissionDenied("Only an editor can start or end coverage.")
        if action == "go-live":
            publishing.go_live(story.pk)
            self.log(request, story, "Went live from the desk.")
            messages.success(request, "The story is live.")
        elif action == "end":
            # Ending slows every open reader page: only an explicit "yes" does it
            # (the menu's second button); anything else is asked first.
            if request.POST.get("confirm") != "yes":
                context = self.context(request, story, title=f"End coverage: {story.title}")
                return self.render(request, "end.html", context)
            publishing.end_coverage(story.pk)
            self.log(request, story, "Ended coverage from the desk.")
            messages.success(
                request,
                "Coverage ended; readers' pages now check for changes every "
                f"{settings.LIVE_ENDED_POLL_SECONDS} seconds.",
            )
        else:
            form = NextDayForm(request.POST)
            title = form.cleaned_data["title"] if form.is_valid() else ""
            following, created = publishing.start_next_day(story.pk, title)
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

    @method_decorator(require_POST)
    def reader_settings(self, request, story_id):
        """How readers' pages poll (normal, slow, paused) and in which order they
        list updates: each a write with a revision, so open pages follow."""
        story = self.story_for(request, story_id)
        if not can_run_story(request.user):
            raise PermissionDenied("Only an editor can change what readers' pages do.")
        form = ReaderSettingsForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(" ".join(problems) for problems in form.errors.values())
            return plain_response(errors, 400)
        if poll_mode := form.cleaned_data["poll_mode"]:
            publishing.set_poll_mode(story.pk, poll_mode)
            label = Story.PollMode(poll_mode).label.lower()
            self.log(request, story, f"Reader polling set to {label} from the desk.")
            if poll_mode == Story.PollMode.PAUSED:
                note = f"paused: they only check every {pace_of(poll_mode)} s for when you resume."
            else:
                note = f"{label}: every {pace_of(poll_mode)} s."
            messages.success(request, f"Readers' pages check for news {note}")
        if reading_order := form.cleaned_data["reading_order"]:
            publishing.set_reading_order(story.pk, reading_order)
            label = Story.ReadingOrder(reading_order).label.lower()
            self.log(request, story, f"Reading order set to {label} from the desk.")
            messages.success(
                request, f"The story page lists updates {label}; the desk keeps newest first."
            )
        return HttpResponseRedirect(self.desk_url(story))

    def log(self, request, story, message):
        LogEntry.objects.log_actions(request.user.pk, [story], CHANGE, message, single_object=True)

    @method_decorator(require_http_methods(["GET", "POST"]))
    def paste_import(self, request, story_id):
        """Paste text in the import_text format: a preview first, then one save."""
        story = self.story_for(request, story_id)
        if request.method == "GET":
            return self.import_page(request, story, ImportForm())
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
        return publishing.import_updates(
            story,
            form.parsed.updates,
            actor=request.user,
            status=status,
            # A resubmitted preview adds nothing twice.
            token=form.cleaned_data["token"],
            allow_pinning=can_publish(request.user),
        )
