"""The API's operations (django-ninja); ``docs`` renders their OpenAPI
document and the docs page.

Each answer is built once per story revision, like the story page, and kept
in ``caches["revisions"]`` (with its ETag), so a repeat request of an
unchanged story costs no query; the live state names the revision. The
change stream follows the poll exactly (``views.poll``): same cursor, same
catching up in whole revisions, and an idle "changes since" is answered from
the live state before the framework parses anything, with no query.
"""

import datetime as dt
import json
import re
from typing import Literal
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Path, Query
from ninja.errors import ValidationError
from ninja.responses import NinjaJSONEncoder

from coverage import live, representation, routers
from coverage import views as reader_views
from coverage.api import schemas
from coverage.api.http import JSON, Problem, answer, dumps, problem_response, strong_etag
from coverage.bounded import BoundedDict
from coverage.models import Story, Update, UpdateVersion
from coverage.views import MAX_REVISION, public_state, story_at, whole_revisions

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_ID = 2**63 - 1

DESCRIPTION = """\
Read-only JSON for every public story on this site: the stories, their updates, \
and the changes since a revision, so that an app or a partner site can keep an \
exact copy of a story as it unfolds. Drafts and scheduled updates are never visible.

Every answer carries an ETag and (once its second is over) Last-Modified: send \
them back as If-None-Match or If-Modified-Since and an unchanged answer is a \
304. Cache-Control lets any cache share an answer for a couple of seconds. Any \
origin may read the API from a browser (CORS, no credentials). Errors are \
application/problem+json (RFC 9457) with type, title, status and detail.
"""


class LiveBlogAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        document = super().get_openapi_schema(path_prefix="", path_params=path_params)
        for operations in document["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                for status, response in responses.items():
                    if int(status) >= 400 and "content" in response:
                        # Errors are problem documents, not plain JSON.
                        response["content"] = {
                            "application/problem+json": response["content"]["application/json"]
                        }
        # Plain JSON types, as clients (and validators) read it.
        return json.loads(json.dumps(document, cls=NinjaJSONEncoder))


api = LiveBlogAPI(
    title="Live blog API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url=None,
    docs_url=None,
)
PROBLEMS = {404: schemas.ProblemDetails}
INVALID = {400: schemas.ProblemDetails}


@api.exception_handler(Problem)
def _problem(request, error: Problem):
    return problem_response(request, error)


@api.exception_handler(Http404)
def _not_found(request, error):
    return problem_response(request, Problem("not-found", str(error) or "Not found."))


@api.exception_handler(ValidationError)
def _invalid(request, error: ValidationError):
    errors = [
        {"parameter": str(item["loc"][-1]), "message": item["msg"]}
        for item in error.errors
        if item.get("loc")
    ]
    detail = "; ".join(f"'{e['parameter']}': {e['message']}" for e in errors) or "Invalid input."
    return problem_response(request, Problem("invalid-parameter", detail, errors=errors))


@api.exception_handler(Exception)
def _unexpected(request, error):
    # Not the framework's traceback page (with DEBUG on): a database error goes
    # on to http.for_any_origin's 503, anything else to Django's handling.
    raise error


def _url(request, name: str, query: dict | None = None, **kwargs) -> str:
    path = reverse(f"api:{name}", kwargs=kwargs)
    query = {key: value for key, value in (query or {}).items() if value is not None}
    return representation.base_url(request) + path + (f"?{urlencode(query)}" if query else "")


def story_document(request, story: Story, following: Story | None) -> dict:
    data = representation.story_data(story, representation.base_url(request), following=following)
    data["links"] = {
        "self": _url(request, "story", slug=story.slug),
        "updates": _url(request, "updates", slug=story.slug),
        "changes": _url(request, "changes", slug=story.slug),
        "json_feed": representation.base_url(request)
        + reverse("coverage:story-json", kwargs={"slug": story.slug}),
    }
    return data


def _per_revision(request, state: live.LiveState, name: str, build) -> tuple:
    """(body, ETag, changed_at, next page's address) of an answer at the
    story's revision, built at most once per revision and host by
    ``build() -> (document, changed_at)``."""
    base = representation.base_url(request)
    key = f"api:{name}:{state.story_id}:{state.revision}:{base}:{settings.SHOW_BYLINES:d}"
    per_revision = caches["revisions"]
    cached = per_revision.get(key)
    if cached is None:
        document, changed_at = build()
        body = dumps(document)
        next_url = document.get("next") if isinstance(document, dict) else None
        cached = (body, strong_etag(body), changed_at, next_url)
        per_revision.set(key, cached, settings.LIVE_PAGE_CACHE_SECONDS)
    return cached


def _paged(request, body: bytes, etag: str, changed_at, next_url: str | None):
    response = answer(request, body, etag, changed_at)
    if next_url:
        response["Link"] = f'<{next_url}>; rel="next"'
    return response


# Stories ------------------------------------------------------------------


def _parse_cursor(raw: str | None, unit: str):
    """``<whole number>-<id>`` (a time in ``unit`` since 1970, and a tiebreaking id)."""
    if raw is None:
        return None
    match = re.fullmatch(r"(\d{1,17})-(\d{1,18})", raw)
    if not match:
        raise Problem(
            "invalid-parameter",
            "'cursor' is not one this API gave: take it from a 'next' link.",
            errors=[{"parameter": "cursor", "message": "not a cursor"}],
        )
    number, pk = map(int, match.groups())
    seconds = number / 1_000_000 if unit == "us" else number
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC), pk
    except (OverflowError, ValueError, OSError):
        raise Problem(
            "invalid-parameter",
            "'cursor' is out of range.",
            errors=[{"parameter": "cursor", "message": "out of range"}],
        ) from None


@api.get(
    "/stories",
    response={200: schemas.StoryList, 304: None, **INVALID},
    url_name="stories",
    operation_id="listStories",
    summary="List stories",
    tags=["stories"],
)
def list_stories(
    request,
    status: Literal["live", "ended"] | None = Query(None, description="Only live, or ended."),
    cursor: str | None = Query(None, description="From a previous page's `next`."),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="1 to 100; 20 by default."),
):
    """Public stories, the most recently started first, a page at a time:
    follow `next` (also a `Link: rel="next"` header) until it is null."""
    position = _parse_cursor(cursor, "us")
    found = (
        Story.objects.public()
        .select_related("previous")
        .annotate(began=Coalesce("started_at", "created_at"))
        .order_by("-began", "-id")
    )
    if status:
        found = found.filter(status=status)
    if position:
        began, pk = position
        found = found.filter(Q(began__lt=began) | Q(began=began, pk__lt=pk))
    page = list(found[: limit + 1])
    next_url = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = f"{round(last.began.timestamp() * 1_000_000)}-{last.pk}"
        next_url = _url(
            request, "stories", {"status": status, "cursor": next_cursor, "limit": limit}
        )
    following = {}
    # The first to start of the days continuing each story is its "next".
    for later in Story.objects.continuing([story.pk for story in page]):
        following.setdefault(later.previous_id, later)
    document = {
        "items": [story_document(request, story, following.get(story.pk)) for story in page],
        "next": next_url,
    }
    body = dumps(document)
    # Any story's change, not only the listed ones': one that left the list
    # (back to draft, or ended under ?status=live) changed the list too.
    changed_at = Story.objects.aggregate(last=Max("updated_at"))["last"]
    changed_at = changed_at.timestamp() if changed_at else None
    return _paged(request, body, strong_etag(body), changed_at, next_url)


@api.get(
    "/stories/{slug}",
    response={200: schemas.Story, 304: None, **PROBLEMS},
    url_name="story",
    operation_id="getStory",
    summary="Get a story",
    tags=["stories"],
)
def get_story(request, slug: str):
    """The story's own fields (its updates are under `updates`), with its
    current `revision`: the cursor to follow its `changes` from."""
    state = public_state(slug)

    def build():
        story, following = story_at(state)
        return story_document(request, story, following), story.updated_at.timestamp()

    body, etag, changed_at, _ = _per_revision(request, state, "story", build)
    return answer(request, body, etag, changed_at)


# Updates ------------------------------------------------------------------


@api.get(
    "/stories/{slug}/updates",
    response={200: schemas.UpdateList, 304: None, **INVALID, **PROBLEMS},
    url_name="updates",
    operation_id="listUpdates",
    summary="List a story's updates",
    tags=["updates"],
)
def list_updates(
    request,
    slug: str,
    order: Literal["newest", "oldest"] = Query(
        "newest", description="Time order; newest first by default."
    ),
    key_events: bool = Query(False, description="Key events only."),
    cursor: str | None = Query(None, description="From a previous page's `next`."),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="1 to 100; 20 by default."),
):
    """Published updates in time order (pinned ones in their time's place,
    marked `pinned`), a page at a time: follow `next` until it is null."""
    state = public_state(slug)
    position = _parse_cursor(cursor, "s")
    name = f"updates:{order}:{key_events:d}:{cursor}:{limit}"

    def build():
        story, _ = story_at(state)
        found = story.updates.published().with_cards_and_bylines()
        if key_events:
            found = found.filter(key_event=True)
        if order == "newest":
            found = found.newest_first()
            found = found.older_than(*position) if position else found
        else:
            found = found.order_by("published_at", "id")
            found = found.newer_than(*position) if position else found
        page = list(found[: limit + 1])
        next_url = None
        if len(page) > limit:
            page = page[:limit]
            query = {"order": order, "key_events": int(key_events) or None, "limit": limit}
            next_url = _url(request, "updates", {**query, "cursor": page[-1].cursor}, slug=slug)
        base = representation.base_url(request)
        items = []
        for update in page:
            update.story = story
            items.append(representation.update_data(update, base))
        return {"items": items, "next": next_url}, story.updated_at.timestamp()

    return _paged(request, *_per_revision(request, state, name, build))


@api.get(
    "/stories/{slug}/updates/{update_id}",
    response={200: schemas.Update, 304: None, **INVALID, **PROBLEMS},
    url_name="update",
    operation_id="getUpdate",
    summary="Get an update",
    tags=["updates"],
)
def get_update(request, slug: str, update_id: int = Path(..., ge=1, le=MAX_ID)):
    """One published update. Retracted, draft and scheduled ones are 404."""
    state = public_state(slug)

    def build():
        story, _ = story_at(state)
        update = story.updates.published().with_cards_and_bylines().filter(pk=update_id).first()
        if update is None:
            return None, None
        update.story = story
        document = representation.update_data(update, representation.base_url(request))
        return document, story.updated_at.timestamp()

    body, etag, changed_at, _ = _per_revision(request, state, f"update:{update_id}", build)
    if body == b"null":
        # Cached too: a missing update's address costs no query either.
        raise Problem("not-found", "No such update: it may have been withdrawn.")
    return answer(request, body, etag, changed_at)


# Changes ------------------------------------------------------------------

# When each story last changed, by revision: the idle answer's Last-Modified
# without a query. {story_id: (revision, Unix time)}; one entry per story.
_changed_at = BoundedDict(live.MAX_REMEMBERED)


def _changed_at_of(state: live.LiveState) -> float:
    known = _changed_at.get(state.story_id)
    if known is not None and known[0] == state.revision:
        return known[1]
    story, _ = story_at(state)  # cached per revision: a query only on its first read
    changed_at = story.updated_at.timestamp()
    _changed_at[state.story_id] = (state.revision, changed_at)
    return changed_at


# Each story's idle answer at its current state, built once per state:
# {story_id: (state, body, ETag, changed_at)}.
_idle = BoundedDict(live.MAX_REMEMBERED)


def _idle_answer(request, state: live.LiveState):
    built = _idle.get(state.story_id)
    if built is None or built[0] != state:
        revision = state.revision
        body = dumps(_changes_document(state, revision, revision, []))
        etag = f'W/"{state.story_id}-{revision}-{revision}"'
        built = _idle[state.story_id] = (state, body, etag, _changed_at_of(state))
    _, body, etag, changed_at = built
    return answer(request, body, etag, changed_at)


def _changes_document(state: live.LiveState, since: int, cursor: int, changes: list) -> dict:
    return {
        "story": state.slug,
        "status": state.status,
        "since": since,
        "revision": cursor,
        "has_more": cursor < state.revision,
        "changes": changes,
    }


def changes_answer(request, slug: str, since: int):
    """Everything a client at revision ``since`` has not seen: the poll's
    answer (views.poll) as JSON. Raises Problem for 404 and 409."""
    state, checked = live.get_checked(slug, at_least=since)
    if state is None or state.status == Story.Status.DRAFT:
        raise Problem("not-found", "No such story.")
    if since > state.revision and not checked:
        # Ahead of a state the database confirmed under a second ago (another
        # process's newer write, or a wrong cursor): keep your cursor, ask later.
        response = HttpResponse(
            dumps(_changes_document(state, since, since, [])), content_type=JSON
        )
        response["Cache-Control"] = "no-store"
        return response
    if state.is_void(since) or since > state.revision:
        why = (
            "was handed out before the database was restored"
            if state.is_void(since)
            else "is ahead of the story"
        )
        raise Problem(
            "resync",
            f"Revision {since} {why}: fetch the story and its updates again, "
            f"then follow changes from the story's revision ({state.revision}).",
            revision=state.revision,
        )
    if since == state.revision:
        return _idle_answer(request, state)
    etag = f'W/"{state.story_id}-{since}-{state.revision}"'
    body, _, changed_at, _ = _per_revision(
        request,
        state,
        f"changes:{since}",
        lambda: (changes_data(request, state, since), _changed_at_of(state)),
    )
    return answer(request, body, etag, changed_at)


def changes_data(request, state: live.LiveState, since: int) -> dict:
    """The changed updates after ``since``, a page at most (as the poll pages) and
    never part of a revision (one revision bigger than that comes whole)."""
    last_action = UpdateVersion.objects.filter(update=OuterRef("pk")).order_by("-id")
    # From the primary, like the poll: the answer is shared by every client at
    # this state and must hold everything the revision vouches for.
    with routers.primary():
        changed = (
            Update.objects.select_related("story")
            .with_cards_and_bylines()
            .annotate(last_action=Subquery(last_action.values("action")[:1]))
            .order_by("revision", "pk")
        )
        page = reader_views.MAX_CHANGES_PER_POLL
        rows = list(changed.changed_since(state.story_id, since, state.revision)[: page + 1])
        rows, cursor = whole_revisions(rows, state.revision)
        if not rows and cursor < state.revision:
            # One revision bigger than a page (an import): it comes whole.
            cursor += 1
            rows = list(changed.changed_since(state.story_id, since, cursor))
    base = representation.base_url(request)
    return _changes_document(state, since, cursor, [_change(update, base) for update in rows])


def _change(update: Update, base: str) -> dict:
    if update.is_visible():
        return {
            "id": update.pk,
            "op": "upsert",
            "action": update.last_action or Update.Action.PUBLISHED,
            "revision": update.revision,
            "update": representation.update_data(update, base),
        }
    if update.is_retracted:
        action = "retracted"
    elif update.status != Update.Status.PUBLISHED:
        action = "unpublished"
    else:
        action = "scheduled"
    return {
        "id": update.pk,
        "op": "delete",
        "action": action,
        "revision": update.revision,
        "update": None,
    }


def changes_front_door(operation):
    """The changes operation's front door (mounted before it): a well-formed
    ``since`` is answered here, before the framework parses anything, so an
    idle answer, the one every client asks most, costs what the poll's 204
    does; anything else goes on to ``operation``, whose validation answers 400."""

    def changes_view(request, slug):
        # "?since=N" as clients send it, read without building a QueryDict.
        query = request.META.get("QUERY_STRING", "")
        raw = query[6:] if query.startswith("since=") else ""
        if not raw.isdigit():
            raw = request.GET.get("since", "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 18:
            try:
                return changes_answer(request, slug, int(raw))
            except Problem as problem:
                return problem_response(request, problem)
            except Http404:
                return problem_response(request, Problem("not-found", "No such story."))
        return operation(request, slug=slug)

    return changes_view


@api.get(
    "/stories/{slug}/changes",
    response={200: schemas.Changes, 304: None, **INVALID, **PROBLEMS, 409: schemas.ProblemDetails},
    url_name="changes",
    operation_id="getChanges",
    summary="Changes since a revision",
    tags=["changes"],
)
def changes(
    request,
    slug: str,
    since: int = Query(
        ..., ge=0, le=MAX_REVISION, description="The last revision you have (0: nothing yet)."
    ),
):
    """Every update changed after revision `since`, oldest change first: for
    each, `upsert` (store the update given, new or replacing the one you have)
    or `delete` (retracted, back to draft, or moved to a later time). Ask again
    with `since` = the answer's `revision`. Nothing new: an empty list at the
    same revision. Far behind: 100 changes a time (never part of a revision)
    with `has_more`. A 409 (`resync`) means your revision is not the story's
    any more (after a restore): fetch the story and its updates again."""
    raw = request.GET["since"]
    if not (raw.isascii() and raw.isdigit()):
        raise Problem(
            "invalid-parameter",
            "'since' must be a non-negative whole number.",
            errors=[{"parameter": "since", "message": "not a whole number"}],
        )
    return changes_answer(request, slug, since)
