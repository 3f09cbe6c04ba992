"""A known provider's link alone in an update's text: the card the embed field makes.

An editor pastes a post's or a video's address on a line of its own, in the
desk's rich text box, the admin's or an imported text, meaning "show this
post here". A paragraph whose only content is such an address (as text, or
as a link whose text is that address) is taken out of the text and becomes
the card :func:`coverage.embeds.recognise` makes of it, at that place in the
text (``Embed.after_block``, coverage.embeds.placement). Links to other pages,
links with words of their own, and addresses inside lists or quotations stay
as they are.
"""

import html
import re
from dataclasses import dataclass, field

from coverage.embeds.fields import LINK, EmbedError, EmbedFields
from coverage.embeds.placement import top_level_blocks
from coverage.embeds.recognisers import recognise_url

# A paragraph as the sanitiser writes it, holding one address, linked or not.
_LONE_LINK = re.compile(
    r"\s*<p>\s*(?:<a\s+href=\"(?P<href>[^\"]+)\"[^>]*>(?P<text>[^<]*)</a>"
    r"|(?P<bare>https?://[^\s<]+))\s*</p>\s*",
    re.IGNORECASE,
)


@dataclass
class CardsInText:
    """The text without its lone links, and their cards where the links stood."""

    body: str
    # (top-level blocks of ``body`` before the card, the card), in text order.
    cards: list[tuple[int, EmbedFields]] = field(default_factory=list)
    # The blocks of the text as given that became cards (their indexes).
    taken: list[int] = field(default_factory=list)

    def place(self, place_in_given_text: int | None) -> int | None:
        """A place counted in the text as given, counted in ``body``."""
        if place_in_given_text is None:
            return None
        return place_in_given_text - sum(1 for index in self.taken if index < place_in_given_text)


def cards_in_text(body: str) -> CardsInText:
    """Take the lone known-provider links out of the sanitised ``body`` (top-level
    paragraphs only: a link in a list item or a quotation is part of it)."""
    found = CardsInText(body)
    kept: list[str] = []
    for index, block in enumerate(top_level_blocks(body)):
        match = _LONE_LINK.fullmatch(block)
        card = _card(match) if match else None
        if card is None:
            kept.append(block)
            continue
        found.cards.append((len(kept), card))
        found.taken.append(index)
    if found.cards:
        found.body = "".join(kept).strip()
    return found


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
