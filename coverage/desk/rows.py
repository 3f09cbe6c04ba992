"""The desk's rows: updates as the desk lists them, with what the user may do."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from coverage.models import Story, Update
from coverage.permissions import can_edit, can_publish

# Unpinned published updates a desk page lists at a time; "Load older updates"
# brings the next ones (a cursor, as on the reader page).
PAGE_SIZE = 50


@dataclass
class DeskRow:
    """An update as the desk lists it, with what this user may do to it."""

    update: Update
    user: object
    now: dt.datetime

    @property
    def section(self) -> str:
        # Retracted first: a retracted update is no longer what readers see,
        # whatever its status was.
        if self.update.is_retracted:
            return "retracted"
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
        story.updates.in_reader_order()
        .select_related("story")
        .prefetch_related("embeds", "authors")
    )


@dataclass
class DeskLists:
    """The desk's sections, and where the published list's next slice starts."""

    submitted: list[DeskRow]
    drafts: list[DeskRow]
    published: list[DeskRow]
    retracted: list[DeskRow]
    older_cursor: str | None


def desk_lists(story: Story, user, now: dt.datetime, before=None) -> DeskLists:
    """The desk's lists, or with ``before`` (time, id) only the published slice after it.

    Two listing queries whatever the number of updates: the published unpinned
    ones, a page at a time in time order (so a cursor can continue them), and
    everything else the desk shows (waiting, drafts, pinned, retracted), which
    is few by nature.
    """
    updates = desk_updates(story)
    unpinned = updates.filter(
        status=Update.Status.PUBLISHED, pinned=False, retracted_at__isnull=True
    )
    if before:
        unpinned, others = unpinned.older_than(*before), []
    else:
        others = updates.filter(
            ~Q(status=Update.Status.PUBLISHED) | Q(pinned=True) | Q(retracted_at__isnull=False)
        )
    page = list(unpinned[: PAGE_SIZE + 1])
    sections: dict[str, list[DeskRow]] = {
        "submitted": [],
        "draft": [],
        "published": [],
        "retracted": [],
    }
    # In reader order: the pinned published ones come before the page.
    for update in [*others, *page[:PAGE_SIZE]]:
        row = DeskRow(update, user, now)
        sections[row.section].append(row)
    return DeskLists(
        submitted=sections["submitted"],
        drafts=sections["draft"],
        published=sections["published"],
        retracted=sections["retracted"],
        older_cursor=page[PAGE_SIZE - 1].cursor if len(page) > PAGE_SIZE else None,
    )
