"""A story as plain text: newsrooms paste coverage from other systems, and get it back.

The format, one element per line::

    Police have closed the high street after a fire at a warehouse.
    Residents are asked to keep windows shut.

    UPDATE 1412 GMT:
    HEADLINE: Fire under control
    KEY EVENT

    The fire service says the blaze is now under control.
    - Two engines remain at the scene
    - The high street stays closed overnight
    “Crews are damping down.” — Fire Service (@fireservice) November 25, 2026

    UPDATE 0905 GMT: Smoke is visible across the town centre.

    ORIGINAL ENTRY:
    A fire has broken out at a warehouse on the high street.

* ``UPDATE HHMM GMT:`` starts an update stamped HH:MM:00 UTC (GMT); hours run
  00-23 and minutes 00-59. The first update is on the import date; updates run
  newest first, so a later time below an earlier one is on the day before (the
  coverage crossed midnight), and so on down the text. Anything after the colon is the
  first line of its body. Everything up to the next marker is the body.
* ``ORIGINAL ENTRY:`` starts the story's original entry (``Story.original_entry``),
  which runs to the end of the text or the next ``UPDATE`` marker; text after
  the colon is its first line. There may be at most one.
* Lines before the first marker are the standfirst: plain text, one paragraph
  per line, stored joined with ``"\\n"``. Among them, ``CAPTION: text`` and
  ``CREDIT: text`` give the lead image's caption and credit, and ``PREVIOUS:``
  the previous day's coverage (a story's slug here, or an https:// address
  elsewhere, which stays a plain link: see import_text); none of them is
  standfirst.
* In bodies and the original entry each line is a paragraph; blank lines are
  ignored. Lines starting ``- `` or ``* `` are list items, and items with only
  blank lines (or social posts, below) between them form one ``<ul>``. A lone
  ``-`` or ``*`` is an empty item and is dropped.
* In an update's body, a paragraph ending ``— Name (@handle) Month D, YYYY``
  (an em dash, or ``--`` or ``-`` with spaces around it; the month's full
  English name) is a social post, not body text: it becomes a social embed with
  the text before the dash (one pair of surrounding “ ” or " quotes removed),
  the name, the handle (kept with its ``@``) and that date at 00:00 UTC, and
  an ``https://`` address after the date is the post's link (its network named
  from it). The attribution may also stand on a line of its own directly
  under the post's words, as a copied post reads. A paragraph with no text
  before the dash stays a paragraph. Embeds keep the
  order in which they appear, and their place: a post between two paragraphs
  is shown between them (``Embed.after_block``), one after the last line after
  the text. List items are never social posts.
* Lines starting ``> `` are a quotation: consecutive ones form one
  ``<blockquote>``, a paragraph each (a quote card is written this way, its
  author on a last ``> — Name`` line, and reads back as that blockquote, in
  the update's text where the site shows it).
* All text is plain text: control characters dropped, whitespace collapsed,
  stripped (``coverage.sanitize.plain_text``) and escaped, so HTML in the input
  shows as text and is never interpreted. A NUL character is an error.
* Markers, ``HEADLINE:``, ``KEY EVENT`` and ``PINNED`` are upper case. A line
  that looks like a marker but is not exactly one (``UPDATE 2561 GMT:``,
  ``UPDATE 9:05 GMT:``, ``Update 0905 GMT:``, ``UPDATE 0905 GMT`` with no
  colon, ``Original entry:``) is an error rather than silently becoming text.

Extensions, so that an export reads back as the same story:

* ``HEADLINE: text`` sets the update's headline, and ``KEY EVENT`` and
  ``PINNED`` set those flags, when they come *directly* after the marker line:
  the first blank line or body line ends that block, so a body paragraph that
  happens to read "PINNED" is exported after a blank line and stays text.

:func:`serialize` writes this format from a stored story: the standfirst, then
the updates that are published and not retracted (scheduled ones included,
drafts and retracted ones left out), newest first by time then id, then the
original entry. Each update is its marker and flags, a blank line, its body
(``<p>`` and headings as lines, list items as ``- item``, blockquote lines as
``> line``, other tags dropped, entities decoded) with each embed's lines where
the site shows it: after the block its place names, or after the text. So
``serialize(import(serialize(story)))`` equals ``serialize(story)`` for
anything this module imported.

What the text cannot carry, and so an export loses: the dates of updates a
day or more apart (only times are written; read back with the newest update's
date, each time below a later one steps back a day), links and emphasis, line breaks
inside a paragraph (they become separate paragraphs), correction notes,
authors, a social post's time of day, and embeds other than social posts
and quotes (written as a plain paragraph of their text, title, caption or URL). Stored
text that itself reads like format syntax (a paragraph starting ``- `` or
ending in an attribution) changes meaning when read back. :func:`serialize`
reports the lossy cases it can detect through its ``warnings`` list.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.utils.html import escape

from coverage.embeds import LINK, EmbedError, placement, recognise_url
from coverage.sanitize import plain_text

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MARKER = re.compile(r"UPDATE\s+(?P<hh>\d\d)(?P<mm>\d\d)\s+GMT\s*:(?P<rest>.*)")
_MARKER_LIKE = re.compile(
    r"update\s+(?P<time>\S+)\s+(?P<zone>[a-z]{2,5})\b(?P<colon>\s*:)?", re.IGNORECASE
)
_ORIGINAL = re.compile(r"ORIGINAL ENTRY:(?P<rest>.*)")
_ORIGINAL_LIKE = re.compile(r"original\s+entry\s*:", re.IGNORECASE)
_HEADLINE = re.compile(r"HEADLINE:(?P<text>.*)")
_KEY_EVENT = "KEY EVENT"
_PINNED = "PINNED"
_BULLET = re.compile(r"[-*](?:\s+(?P<text>.*))?")
_ATTRIBUTION = re.compile(
    r"(?P<text>.*\S)(?:\s*—\s*|\s+--?\s+)"
    r"(?P<name>\S.*?)\s*\((?P<handle>@[^\s()]+)\)\s+"
    rf"(?P<month>(?i:{'|'.join(MONTHS)}))\s+(?P<day>\d{{1,2}}),\s*(?P<year>\d{{4}})"
    r"(?:\s+(?P<url>https?://\S+))?"
)
# The attribution on a line of its own, under the post's words (as a copied post reads).
_ATTRIBUTION_ONLY = re.compile(r"(?:—|--?)\s*\S.*?\s*\(@[^\s()]+\)\s+\S.*")
_QUOTE_LINE = re.compile(r">\s?(?P<text>.*)")
_HEADER = re.compile(r"(?P<name>CAPTION|CREDIT|PREVIOUS):(?P<value>.*)")
_QUOTE_PAIRS = (("“", "”"), ('"', '"'))


class TextFormatError(ValueError):
    """The text does not follow the format; the message says where and why."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class ParsedSocialPost:
    text: str
    author_name: str
    author_handle: str
    posted_at: dt.datetime
    url: str = ""
    line: int = 0
    # Top-level blocks of the update's body before the post (None: after the text).
    after_block: int | None = None


@dataclass
class ParsedUpdate:
    published_at: dt.datetime
    headline: str = ""
    body_html: str = ""
    social_posts: list[ParsedSocialPost] = field(default_factory=list)
    key_event: bool = False
    pinned: bool = False
    line: int = 0


@dataclass
class ParsedStory:
    standfirst: str = ""
    lead_image_caption: str = ""
    lead_image_credit: str = ""
    previous: str = ""  # a slug or an address, as written after PREVIOUS:
    original_entry_html: str = ""
    updates: list[ParsedUpdate] = field(default_factory=list)


# Parsing -------------------------------------------------------------------


@dataclass
class _Section:
    kind: str  # "update" or "original"
    line: int
    published_at: dt.datetime | None = None
    lines: list[tuple[int, str]] = field(default_factory=list)
    headline: str | None = None
    key_event: bool = False
    pinned: bool = False


def parse(text: str, date: dt.date) -> ParsedStory:
    """Read a story in the text format; updates are stamped on ``date`` (GMT).

    Updates come back in the text's order. Raises :class:`TextFormatError`.
    """
    text = text.removeprefix("\ufeff")
    standfirst: list[str] = []
    sections: list[_Section] = []
    in_flags = False  # directly after a marker line: HEADLINE / KEY EVENT / PINNED
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if "\x00" in raw:
            raise TextFormatError("contains a NUL character.", number)
        line = plain_text(raw)
        section = _start_section(line, number, date, sections)
        if section is not None:
            sections.append(section)
            in_flags = section.kind == "update"
            continue
        if not sections:
            if line:
                standfirst.append((number, line))
            continue
        current = sections[-1]
        if not line:
            in_flags = False
        elif in_flags and _read_flag(line, number, current):
            pass
        else:
            in_flags = False
            current.lines.append((number, line))

    story = ParsedStory()
    _read_header(standfirst, story)
    for section in sections:
        if section.kind == "original":
            story.original_entry_html, _ = _render(section.lines, social=False)
            continue
        body_html, posts = _render(section.lines, social=True)
        if not (section.headline or body_html or posts):
            raise TextFormatError("this update has no headline and no text.", section.line)
        story.updates.append(
            ParsedUpdate(
                published_at=section.published_at,
                headline=section.headline or "",
                body_html=body_html,
                social_posts=posts,
                key_event=section.key_event,
                pinned=section.pinned,
                line=section.line,
            )
        )
    if not story.updates:
        raise TextFormatError(
            "no 'UPDATE HHMM GMT:' marker found; each update must start with a line "
            "such as 'UPDATE 0905 GMT:'."
        )
    return story


def _read_header(lines: list[tuple[int, str]], story: ParsedStory) -> None:
    """The lines before the first marker: CAPTION, CREDIT and PREVIOUS lines, the
    rest the standfirst."""
    standfirst = []
    for number, line in lines:
        if match := _HEADER.fullmatch(line):
            field_name = {"CAPTION": "lead_image_caption", "CREDIT": "lead_image_credit"}.get(
                match["name"], "previous"
            )
            if getattr(story, field_name):
                raise TextFormatError(f"a second {match['name']} line.", number)
            setattr(story, field_name, plain_text(match["value"]))
        else:
            standfirst.append(line)
    story.standfirst = "\n".join(standfirst)


def _stamp(date: dt.date, time: dt.time, sections: list[_Section]) -> dt.datetime:
    """The first update is on ``date``; below it, times run newest first, so a
    later time below an earlier one is on the day before (coverage that crossed
    midnight)."""
    above = next((s.published_at for s in reversed(sections) if s.kind == "update"), None)
    day = above.date() if above else date
    stamp = dt.datetime.combine(day, time, tzinfo=dt.UTC)
    if above and stamp > above:
        stamp -= dt.timedelta(days=1)
    return stamp


def reimported_stamps(stamps: list[dt.datetime]) -> list[dt.datetime]:
    """What :func:`parse` makes of these stamps (newest first) written as times."""
    sections: list[_Section] = []
    first = stamps[0].astimezone(dt.UTC).date() if stamps else None
    for stamp in stamps:
        time = stamp.astimezone(dt.UTC).time().replace(second=0, microsecond=0)
        sections.append(_Section("update", 0, published_at=_stamp(first, time, sections)))
    return [section.published_at for section in sections]


def _start_section(line: str, number: int, date: dt.date, sections: list[_Section]):
    """The section a marker line starts, or None for any other line."""
    if match := _MARKER.fullmatch(line):
        hours, minutes = int(match["hh"]), int(match["mm"])
        if hours > 23 or minutes > 59:
            raise TextFormatError(
                f"bad time {match['hh']}{match['mm']} in {line[:40]!r}: "
                "hours must be 00-23 and minutes 00-59.",
                number,
            )
        stamp = _stamp(date, dt.time(hours, minutes), sections)
        section = _Section("update", number, published_at=stamp)
        _first_line(section, match["rest"], number)
        return section
    if (match := _MARKER_LIKE.match(line)) and (
        match["zone"].upper() == "GMT" or (match["colon"] and match["time"][:1].isdigit())
    ):
        if not re.fullmatch(r"\d{4}", match["time"]):
            problem = f"the time {match['time']!r} is not four digits HHMM"
        elif match["zone"].upper() != "GMT":
            problem = f"times are given in GMT, not {match['zone']}"
        elif not match["colon"]:
            problem = "the colon after GMT is missing"
        else:
            problem = "markers are written in capitals"
        raise TextFormatError(
            f"{line[:40]!r} is not a valid update marker ({problem}); "
            "write it like 'UPDATE 0905 GMT:'.",
            number,
        )
    if match := _ORIGINAL.fullmatch(line):
        if any(section.kind == "original" for section in sections):
            raise TextFormatError("a second 'ORIGINAL ENTRY:'; there can be only one.", number)
        section = _Section("original", number)
        _first_line(section, match["rest"], number)
        return section
    if _ORIGINAL_LIKE.match(line):
        raise TextFormatError(
            f"{line[:40]!r}: write the original entry marker as 'ORIGINAL ENTRY:'.", number
        )
    return None


def _first_line(section: _Section, rest: str, number: int) -> None:
    rest = plain_text(rest)
    if rest:
        section.lines.append((number, rest))


def _read_flag(line: str, number: int, section: _Section) -> bool:
    """Apply a HEADLINE / KEY EVENT / PINNED line; False if the line is none of them."""
    if match := _HEADLINE.fullmatch(line):
        if section.headline is not None:
            raise TextFormatError("a second HEADLINE line for the same update.", number)
        section.headline = plain_text(match["text"])
    elif line == _KEY_EVENT:
        section.key_event = True
    elif line == _PINNED:
        section.pinned = True
    else:
        return False
    return True


def _render(lines: list[tuple[int, str]], *, social: bool):
    """Body lines as sanitiser-safe HTML, plus the social posts taken out of them."""
    blocks: list[str] = []
    items: list[str] = []
    quoted: list[str] = []
    posts: list[ParsedSocialPost] = []
    # The last paragraph, until another line follows it: its words may be a
    # post whose attribution comes on the next line.
    paragraph: tuple[int, str] | None = None

    def end_blocks():
        nonlocal paragraph
        if paragraph:
            blocks.append(f"<p>{escape(paragraph[1])}</p>")
            paragraph = None
        if items:
            blocks.append("<ul>\n" + "".join(f"<li>{escape(i)}</li>\n" for i in items) + "</ul>")
            items.clear()
        if quoted:
            blocks.append(
                "<blockquote>\n"
                + "".join(f"<p>{escape(q)}</p>\n" for q in quoted)
                + "</blockquote>"
            )
            quoted.clear()

    def take(post: ParsedSocialPost) -> None:
        # Every block begun above the post stands before it (a list the post
        # interrupts included: the list's items stay one list).
        post.after_block = len(blocks) + bool(paragraph) + bool(items) + bool(quoted)
        posts.append(post)

    for number, line in lines:
        if match := _BULLET.fullmatch(line):
            if paragraph or quoted:
                end_blocks()
            if match["text"]:
                items.append(match["text"])
            continue
        if match := _QUOTE_LINE.fullmatch(line):
            if paragraph or items:
                end_blocks()
            if match["text"].strip():
                quoted.append(match["text"].strip())
            continue
        if (
            social
            and paragraph
            and _ATTRIBUTION_ONLY.fullmatch(line)
            and (post := _social_post(f"{paragraph[1]} {line}", number))
        ):
            paragraph = None
            take(post)
            continue
        if social and (post := _social_post(line, number)):
            take(post)
            continue
        end_blocks()
        paragraph = (number, line)
    end_blocks()
    for post in posts:
        if post.after_block >= len(blocks):
            post.after_block = None
    return "\n".join(blocks), posts


def _social_post(line: str, number: int) -> ParsedSocialPost | None:
    match = _ATTRIBUTION.fullmatch(line)
    if match is None:
        return None
    text = match["text"]
    for opening, closing in _QUOTE_PAIRS:
        if len(text) >= 2 and text.startswith(opening) and text.endswith(closing):
            text = text[1:-1].strip()
            break
    if not text:
        return None
    month = next(i for i, name in enumerate(MONTHS, 1) if name.lower() == match["month"].lower())
    try:
        day = dt.date(int(match["year"]), month, int(match["day"]))
    except ValueError:
        raise TextFormatError(
            f"the social post's date {match['month']} {match['day']}, {match['year']} "
            "does not exist.",
            number,
        ) from None
    return ParsedSocialPost(
        text=text,
        author_name=match["name"],
        author_handle=match["handle"],
        posted_at=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
        url=match["url"] or "",
        line=number,
    )


# Serialising ---------------------------------------------------------------


class _TextLines(HTMLParser):
    """Stored rich text as format lines: blocks become lines, list items ``- item``."""

    BLOCKS = {
        "address",
        "article",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
    SKIPPED = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._parts: list[str] = []
        self._item_depth = 0
        self._list_depths: list[int] = []
        self._skipping = 0
        self._quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        if tag in self.BLOCKS:
            self._flush()
        if tag in ("ul", "ol"):
            self._list_depths.append(self._item_depth)
        elif tag == "li":
            self._item_depth += 1
        elif tag == "blockquote":
            self._quote_depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        if tag in self.BLOCKS:
            self._flush()
        if tag in ("ul", "ol"):
            # Also closes any item left open inside the list.
            self._item_depth = self._list_depths.pop() if self._list_depths else 0
        elif tag == "li":
            self._item_depth = max(0, self._item_depth - 1)
        elif tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)

    def handle_data(self, data):
        if not self._skipping:
            self._parts.append(data)

    def close(self):
        super().close()
        self._flush()

    def _flush(self):
        text = plain_text("".join(self._parts))
        self._parts.clear()
        if text:
            line = f"- {text}" if self._item_depth else text
            self.lines.append(f"> {line}" if self._quote_depth else line)


def html_to_lines(html: str) -> list[str]:
    """Stored rich text as lines of the text format."""
    parser = _TextLines()
    parser.feed(html or "")
    parser.close()
    return parser.lines


def format_attribution_date(when: dt.datetime) -> str:
    day = when.astimezone(dt.UTC).date() if when.tzinfo else when.date()
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _known_provider(url: str) -> bool:
    try:
        found = recognise_url(url)
    except EmbedError:
        return False
    return bool(url) and found.kind != LINK and bool(found.provider)


def _embed_lines(embed, warnings: list[str]) -> list[str]:
    text = plain_text(embed.text)
    name = plain_text(embed.author_name)
    handle = plain_text(embed.author_handle)
    if handle and not handle.startswith("@"):
        handle = f"@{handle}"
    if (
        embed.kind == "social"
        and text
        and name
        and re.fullmatch(r"@[^\s()]+", handle)
        and embed.posted_at is not None
    ):
        url = plain_text(embed.url)
        url = f" {url}" if re.fullmatch(r"https?://\S+", url) else ""
        return [f"“{text}” — {name} ({handle}) {format_attribution_date(embed.posted_at)}{url}"]
    if embed.kind == "quote" and text:
        # Read back as a blockquote in the update's text, where it is shown.
        return [f"> {line}" for line in (text, f"— {name}" if name else "") if line]
    if embed.kind != "quote" and _known_provider(embed.url):
        # Alone on its line it reads back as the same kind of card (in_text).
        if (
            plain_text(embed.title)
            or plain_text(embed.caption)
            or (text and embed.kind != "social")
        ):
            warnings.append(
                f"a {embed.get_kind_display().lower()} embed (id {embed.pk}) is written as its "
                "link; its title, text or caption is left out."
            )
        return [plain_text(embed.url)]
    fallback = " ".join(
        part
        for part in (
            text or plain_text(embed.title) or plain_text(embed.caption),
            f"— {name}" if name else "",
            plain_text(embed.url),
        )
        if part
    )
    warnings.append(
        f"a {embed.get_kind_display().lower()} embed (id {embed.pk}) cannot be written as a "
        + ("social post; written as a plain paragraph." if fallback else "social post; left out.")
    )
    return [fallback] if fallback else []


def serialize(story, warnings: list[str] | None = None) -> str:
    """The story in the text format, ending with a newline (see the module docstring).

    Lossy cases found on the way are appended to ``warnings`` when given.
    """

    warnings = [] if warnings is None else warnings
    blocks: list[str] = []
    header = [plain_text(line) for line in story.standfirst.splitlines()]
    header += [
        f"{name}: {plain_text(value)}"
        for name, value in (
            ("CAPTION", story.lead_image_caption),
            ("CREDIT", story.lead_image_credit),
            ("PREVIOUS", story.previous.slug if story.previous_id else ""),
        )
        if plain_text(value)
    ]
    if any(header):
        blocks.append("\n".join(line for line in header if line))

    updates = list(story.updates.published_or_scheduled().newest_first().prefetch_related("embeds"))
    for update in updates:
        head = [f"UPDATE {update.stamp}:"]
        if plain_text(update.headline):
            head.append(f"HEADLINE: {plain_text(update.headline)}")
        if update.key_event:
            head.append(_KEY_EVENT)
        if update.pinned:
            head.append(_PINNED)
        body = placement.text_lines_with_cards(
            [html_to_lines(block) for block in placement.top_level_blocks(update.body)],
            [(embed.after_block, _embed_lines(embed, warnings)) for embed in update.embeds.all()],
        )
        if len(head) == 1 and not body:
            warnings.append(f"the {update.stamp} update has no text and cannot be read back.")
        if update.correction_note:
            warnings.append(f"the {update.stamp} update's correction note is left out.")
        blocks.append("\n".join(head) + ("\n\n" + "\n".join(body) if body else ""))
    stamps = [update.published_at.replace(second=0) for update in updates]
    if stamps and reimported_stamps(stamps) != stamps:
        dates = {stamp.astimezone(dt.UTC).date() for stamp in stamps}
        warnings.append(
            f"the updates span {len(dates)} dates ({min(dates)} to {max(dates)}) with a day "
            "or more between some of them; the text keeps only their times, so those dates "
            "are lost."
        )

    original = html_to_lines(story.original_entry)
    if original:
        blocks.append("ORIGINAL ENTRY:\n\n" + "\n".join(original))
    return "\n\n".join(blocks) + "\n"
