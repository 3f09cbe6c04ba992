"""Who may do what on the desk and in the classic admin.

Every write checks these on the server, whatever the page showed; the pages
use them too, to offer only what the user may do.
"""

from coverage.models import Update


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
