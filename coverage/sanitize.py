"""Text hygiene: the allow-list every piece of rich text passes through (on save and on
output), the one cleaner for plain text, and an update's text without its markup."""

import html
import re

import nh3
from django.utils.html import strip_tags

ALLOWED_TAGS = {
    "p",
    "br",
    "a",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "blockquote",
    "cite",
    "q",
    "h2",
    "h3",
    "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "blockquote": {"cite"}, "q": {"cite"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# The desk's rich text box (django-prose-editor's Tiptap extensions): a subset of
# the allow-list above, so that what the editor shows is what readers get. Its
# schema drops everything else, pasted or loaded: headings (the page's own h2 and
# h3 head each update), underline, tables, images, inline styles. It reads <b> and
# <i> as <strong> and <em>. tests/test_desk_editor.py checks the two agree.
EDITOR_EXTENSIONS = {
    "Bold": True,
    "Italic": True,
    # No target attribute (not allowed above); the href must use ALLOWED_URL_SCHEMES.
    "Link": {"enableTarget": False},
    "BulletList": True,
    "OrderedList": True,
    "ListItem": True,
    "Blockquote": True,
    # Shift+Enter; Ctrl+Enter publishes instead (desk-editor.js).
    "HardBreak": True,
    # On by default in the library: editors want their browser's spelling check.
    "NoSpellCheck": False,
    # The toolbar: bold and italic, link, lists, quote, undo and redo.
    "Menu": {
        "groups": [
            {"group": "marks"},
            {"group": "link"},
            {"group": "lists"},
            {"group": "nodes -blockType -lists"},
            {"group": "history"},
        ]
    },
}


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags; drop scripts, event handlers and javascript: links."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


# C0 controls but tab, line feed and carriage return (XML 1.0 forbids them: one would
# break the feeds), and the invisible DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(text: str, *, keep_lines: bool = False) -> str:
    """Text without control characters, runs of whitespace as one space, ends stripped.

    Whitespace is Python's (str.split): no-break and narrow no-break spaces count,
    as pasted text and providers' dates are full of them. With keep_lines, line
    breaks survive (a card's text is shown with its lines), each line cleaned on
    its own and blank lines kept to one between paragraphs.
    """
    text = _CONTROL.sub("", text)
    if not keep_lines:
        return " ".join(text.split())
    lines = "\n".join(" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip()


# Block ends become line breaks, so paragraphs' and list items' words do not run together.
_BLOCK_END = re.compile(r"<(?:/p|br|/li|/h[1-6]|/blockquote|/pre)\b[^>]*>", re.IGNORECASE)


def body_text(body_html: str, *, keep_lines: bool = False) -> str:
    """An update's text as the page shows it, without markup: through the
    allow-list again (as on output: a row saved before a rule change may hold a
    script), entities decoded, each paragraph, list item or line break a line
    (kept with keep_lines, else a space)."""
    text = html.unescape(strip_tags(_BLOCK_END.sub("\n", sanitize_html(body_html))))
    return plain_text(text, keep_lines=keep_lines)
