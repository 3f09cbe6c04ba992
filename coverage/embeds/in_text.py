"""A known provider's link alone in an update's text: the card the embed field makes.

An editor pastes a post's or a video's address on a line of its own, in the
desk's rich text box, the admin's or an imported text, meaning "show this
post here". A paragraph whose only content is such an address (as text, or
as a link whose text is that address) is taken out of the text and becomes
the card :func:`coverage.embeds.recognise` makes of it. Links to other pages,
links with words of their own, and addresses inside lists or quotations stay
as they are.
"""

import html
import re

from coverage.embeds.fields import LINK, EmbedError, EmbedFields
from coverage.embeds.recognisers import recognise_url

# A paragraph as the sanitiser writes it, holding one address, linked or not.
_LONE_LINK = re.compile(
    r"<p>\s*(?:<a\s+href=\"(?P<href>[^\"]+)\"[^>]*>(?P<text>[^<]*)</a>"
    r"|(?P<bare>https?://[^\s<]+))\s*</p>\s*",
    re.IGNORECASE,
)
# Blocks whose paragraphs are part of something else (a list item, a quotation).
_NESTING = re.compile(r"<(/?)(li|blockquote)\b", re.IGNORECASE)


def cards_in_text(body: str) -> tuple[str, list[EmbedFields]]:
    """The text without its lone known-provider links, and their cards in text order."""
    cards: list[EmbedFields] = []
    kept: list[str] = []
    start = 0
    for match in _LONE_LINK.finditer(body or ""):
        if _nested(body, match.start()):
            continue
        found = _card(match)
        if found is None:
            continue
        kept.append(body[start : match.start()])
        start = match.end()
        cards.append(found)
    if not cards:
        return body, []
    kept.append(body[start:])
    return "".join(kept).strip(), cards


def _nested(body: str, position: int) -> bool:
    depth = 0
    for tag in _NESTING.finditer(body, 0, position):
        depth += -1 if tag[1] else 1
    return depth > 0


def _card(match: re.Match) -> EmbedFields | None:
    if match["bare"]:
        address = html.unescape(match["bare"])
    else:
        address = html.unescape(match["href"])
        # A link with words of its own is the writer's sentence, not a paste.
        if html.unescape(match["text"]).strip() not in (address, address.split("://", 1)[-1]):
            return None
    try:
        found = recognise_url(address)
    except EmbedError:
        return None
    return None if found.kind == LINK or not found.provider else found
