"""Times and text as the desk's editor types them.

Times are GMT: ``parse_gmt`` reads what was typed, ``gmt_text`` writes a
stored time back for the form. Bodies: ``body_html`` turns typed text (or the
rich text editor's HTML) into the update's HTML, ``editable_text`` turns a
stored body back into typed text, ``same_body`` says whether two bodies read
the same.
"""

import datetime as dt
import html as html_entities
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import linebreaks, strip_tags

from coverage.sanitize import sanitize_html

# Times ----------------------------------------------------------------------

_ZONE = re.compile(r"\s*(?:GMT|UTC|Z)$", re.IGNORECASE)
_TIME_ONLY = re.compile(r"(?P<h>\d{1,2}):?(?P<m>\d{2})(?::(?P<s>\d{2}))?")
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
)


def parse_gmt(text: str, now=None) -> dt.datetime | None:
    """'19:41' or '19:41:30' (today, GMT), '1941', '2026-11-25 19:41(:30)' or '' (None: now).

    Raises ValidationError for anything else, including impossible times.
    """
    text = _ZONE.sub("", (text or "").strip())
    if not text:
        return None
    now = now or timezone.now()
    problem = ValidationError(
        "Enter the time as HH:MM or HH:MM:SS (today, GMT) or as YYYY-MM-DD HH:MM, "
        "or leave it empty for now.",
        code="invalid",
    )
    if match := _TIME_ONLY.fullmatch(text):
        day = now.astimezone(dt.UTC).date()
    elif match := _DATE_TIME.fullmatch(text):
        try:
            day = dt.date.fromisoformat(match["date"])
        except ValueError:
            raise ValidationError(f"{match['date']} is not a real date.", code="invalid") from None
    else:
        raise problem
    # Seconds are kept, as typed: updates are stored to the whole second.
    seconds = int(match["s"] or 0)
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValidationError(
            f"{text} is not a time: hours run 00-23, minutes and seconds 00-59.", code="invalid"
        )
    return dt.datetime.combine(day, dt.time(hours, minutes, seconds), tzinfo=dt.UTC)


def gmt_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


# Body text ------------------------------------------------------------------

_BLOCK_TAG = re.compile(r"<\s*(p|ul|ol|li|blockquote|h[2-4])\b", re.IGNORECASE)
# A list item that is one paragraph, as the rich text editor writes every item.
_ITEM_PARAGRAPH = re.compile(r"<li><p>((?:(?!</?p\b).)*)</p></li>", re.DOTALL)
# A blank line between paragraphs, with the spaces around it (each paragraph is trimmed).
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*")


def body_html(text: str) -> str:
    """What the editor typed, as the update's HTML (sanitised again on save).

    Plain text (the textarea without JavaScript): blank lines separate
    paragraphs and a single line break stays one. HTML with paragraphs or lists
    (the rich text editor's, or an edited update's) is kept as it is, but for
    list items that are one paragraph (as the editor writes every item), which
    lose the paragraph: readers and feeds get a list, not spaced-out paragraphs.
    Inline tags such as <strong> are kept either way.
    """
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return text
    if _BLOCK_TAG.search(text):
        return _ITEM_PARAGRAPH.sub(r"<li>\1</li>", text)
    # Unescaped: typed inline markup is kept, and nh3 removes the unsafe rest on
    # save. Stored bodies have no blank line between paragraphs.
    html = linebreaks(_PARAGRAPH_BREAK.sub("\n\n", text), autoescape=False)
    return html.replace("</p>\n\n<p>", "</p><p>")


_PARAGRAPHS_ONLY = re.compile(
    r"(?:\s*<p>(?:(?!</?(?:p|ul|ol|li|blockquote|h[2-4])\b).)*</p>)+\s*", re.DOTALL
)
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_BR = re.compile(r"<br\s*/?>")


def editable_text(html: str) -> str:
    """A stored body as the editor typed it: paragraphs and line breaks back to
    blank lines and newlines. Bodies with lists, quotes or headings stay HTML."""
    if not _PARAGRAPHS_ONLY.fullmatch(html):
        return html
    paragraphs = [_BR.sub("\n", part).strip() for part in _PARAGRAPH.findall(html)]
    return "\n\n".join(paragraphs).replace("&amp;", "&").replace("&nbsp;", "\u00a0")


def has_text(html: str) -> bool:
    """Whether the body says anything: text, not just tags or (no-break) spaces."""
    return bool(html_entities.unescape(strip_tags(html)).strip())


# Whitespace next to a block's tags or a line break: HTML shows none of it.
_BLOCK_SPACE = re.compile(r"\s*(</?(?:p|ul|ol|li|blockquote|h[2-4])\b[^>]*>|<br\s*/?>)\s*")


def same_body(a: str, b: str) -> bool:
    """Whether two bodies read the same once sanitised. The rich text editor
    writes a stored body back without the newlines between its blocks, and with
    each list item as a paragraph."""

    def norm(html):
        return _ITEM_PARAGRAPH.sub(r"<li>\1</li>", _BLOCK_SPACE.sub(r"\1", sanitize_html(html)))

    return norm(a) == norm(b)
