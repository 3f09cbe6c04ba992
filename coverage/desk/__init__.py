"""The posting desk: one page per story, inside the admin, where editors post.

Reached from the story's change page and the stories list
(``admin:coverage_story_desk``). The page has a compose box, the "Awaiting
approval" and "Drafts" lists and the story's updates as readers see them, each
with its actions. Every form posts plainly (works without JavaScript); with
htmx, posting, editing and acting swap the affected part in place, and a staff
poll (cursored by the story revision, like the readers' one) brings in what
colleagues do.

Where each part lives:

- ``views``: ``Desk``, the views and their URLs, mounted by ``StoryAdmin.get_urls``.
  Thin: every write is a ``coverage.publishing`` function (``post_update``,
  ``edit_update``, ``publish``, ``start_next_day`` ...), the same ones the
  classic admin and the commands call. Every POST checks permissions (``coverage.permissions``) on
  the server, whatever the page showed.
- ``forms``: compose, edit, next day and paste import, and their fields.
- ``rows``: ``DeskRow``, an update as the desk lists it, and the desk's query.
- ``text``: GMT times and bodies between the editor's text and stored HTML.

Templates: ``templates/admin/coverage/desk/``.
"""

from coverage.desk.views import Desk

__all__ = ["Desk"]
