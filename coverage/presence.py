"""Who else has a story's desk open, and which updates they are editing.

Information only: the edit lock (publishing.edit_update's version check)
still decides conflicts. Each desk poll, opening the desk and opening an edit
form check the editor in: their entry (name, the updates their open edit forms
are for, when) goes to the shared cache under a key of its own, so colleagues
never overwrite each other's entries, and a small index per story lists whose
entries to read. An entry counts for DESK_PRESENCE_SECONDS after its last
check-in: closing the tab needs no goodbye, the entry simply lapses.

Like coverage.live, the cache is an optimisation, never a dependency: when it
fails the desk still works, and says that it cannot tell who else is there.
"""

import hashlib
import time
from typing import NamedTuple

from django.conf import settings

from coverage import live
from coverage.models import Update, byline_of

# Wall-clock seconds (entries are shared between processes); tests set it.
clock = time.time


class Editing(NamedTuple):
    update_id: int
    label: str  # the update's GMT time, "1407"


class Colleague(NamedTuple):
    user_id: int
    name: str
    seen_at: float
    editing: tuple[Editing, ...] = ()


class Presence(NamedTuple):
    """What the desk's presence panel shows one editor."""

    others: tuple[Colleague, ...]
    known: bool  # False: the cache failed, so nobody can tell
    readers: int | None = None

    @property
    def digest(self) -> str:
        """Changes when what the panel shows changes (not when colleagues merely
        poll again): the desk's poll answers 204 while it stays the same."""
        shown = [(c.user_id, c.name, c.editing) for c in self.others]
        text = repr((self.known, shown, self.readers_text))
        return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()

    @property
    def readers_text(self) -> str:
        """The estimate as shown: rough figures, so that noise in the count does
        not change the panel (and answer the desk's poll) every window."""
        n = self.readers
        if n is None:
            return ""
        if n < 20:
            return str(n)
        rough = round(n, 2 - len(str(n)))  # two significant digits: 1,234 -> 1,200
        return f"{rough:,}"


def index_key(story_id: int) -> str:
    return f"desk-presence:{story_id}"


def entry_key(story_id: int, user_id: int) -> str:
    return f"desk-presence:{story_id}:{user_id}"


def _ttl() -> float:
    return settings.DESK_PRESENCE_SECONDS


def display_name(user) -> str:
    """Their byline (Byline, else full name), else their login name: colleagues
    know each other by it, unlike readers."""
    return byline_of(user) or user.get_username()


def label_of(update: Update) -> str:
    return update.stamp.removesuffix(" GMT")


def check_in(story_id: int, user, editing=None, *, also_editing=()) -> Presence:
    """Record that ``user`` has the desk open, editing the updates ``editing``
    (ids, as the desk's poll reports its open edit forms; None: keep what the
    entry says) plus ``also_editing`` (Updates just opened for editing), and
    return the others. Three cache round trips; a query only to name an update
    or a user the entry does not know yet."""
    now = clock()
    own_key, key = entry_key(story_id, user.pk), index_key(story_id)
    found = live._cache("get_many", [key, own_key], default=live.FAILED)
    if found is live.FAILED:
        return Presence(others=(), known=False)
    index = set(found.get(key) or ())
    previous: Colleague | None = found.get(own_key)

    known_labels = {e.update_id: e.label for e in previous.editing} if previous else {}
    # None: the caller does not know the open edit forms; keep what the entry says.
    editing_ids = set(known_labels) if editing is None else set(editing)
    for update in also_editing:
        known_labels[update.pk] = label_of(update)
        editing_ids.add(update.pk)
    unknown = editing_ids - set(known_labels)
    if unknown:
        # Ids from the poll: only this story's updates, named by their time.
        for update in Update.objects.filter(story_id=story_id, pk__in=unknown).only(
            "pk", "published_at"
        ):
            known_labels[update.pk] = label_of(update)
    mine = Colleague(
        user_id=user.pk,
        name=previous.name if previous else display_name(user),
        seen_at=now,
        editing=tuple(
            sorted(
                (Editing(pk, known_labels[pk]) for pk in editing_ids if pk in known_labels),
                key=lambda editing: editing.label,
            )
        ),
    )

    others_keys = {entry_key(story_id, pk): pk for pk in index if pk != user.pk}
    entries = live._cache("get_many", list(others_keys), default=live.FAILED) if others_keys else {}
    if entries is live.FAILED:
        return Presence(others=(), known=False)
    others = tuple(
        sorted(
            (c for c in entries.values() if now - c.seen_at < _ttl()),
            key=lambda colleague: colleague.name.lower(),
        )
    )
    # The index keeps whoever is still here, and this editor.
    current = {colleague.user_id for colleague in others} | {user.pk}
    writes = {own_key: mine}
    if current != index:
        writes[key] = current
    # The cache drops what lapsed a little after it lapses; seen_at decides before that.
    stored = live._cache("set_many", writes, int(_ttl()) + 5, default=live.FAILED)
    return Presence(others=others, known=stored is not live.FAILED)


def editing_ids(values) -> list[int]:
    """The ``editing`` values a desk poll sends (its open edit forms' update ids);
    anything that is not an id is ignored: presence is information only."""
    ids = []
    for value in values:
        if value.isascii() and value.isdigit() and len(value) < 19:
            ids.append(int(value))
    return ids
