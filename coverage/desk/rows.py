"""The desk's rows: updates as the desk lists them, with what the user may do."""

import datetime as dt
from dataclasses import dataclass

from coverage.models import Story, Update
from coverage.permissions import can_edit, can_publish


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
        story.updates.in_reader_order()
        .select_related("story")
        .prefetch_related("embeds", "authors")
    )
