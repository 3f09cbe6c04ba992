"""Where a card stands in its update's text: after so many of the text's top-level blocks.

``Embed.after_block`` counts the top-level blocks (a paragraph, a list, a
quotation, a heading; or a run of loose inline text) of the update's
sanitised body before the card: 0 is above the text, 2 is between its second
and third block, and None is after the text (cards from the embed field, and
every card made before cards had a place). A place past the text's end is
after the text too, so a text shortened later never loses a card.

The page, the feeds, the embed kit and the JSON representation all lay an
update out with :func:`interleave`, and the text format writes and reads
cards at the same places, so every surface shows a card where the page does.
"""

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from operator import attrgetter

# A start or end tag as the sanitiser writes it (attribute values quoted).
_TAG = re.compile(
    r"<(?P<end>/)?(?P<name>[a-zA-Z][a-zA-Z0-9]*)"
    r"(?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*\s*/?>"
)
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"}
# Elements that stand as blocks of their own; anything else at the top level
# (text, links, emphasis, line breaks) is inline and runs on into one block.
_BLOCK = {
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
}


def top_level_blocks(html: str) -> list[str]:
    """The sanitised ``html`` cut into its top-level blocks; joined, they are ``html``.

    Whitespace between blocks goes with the block before it.
    """
    html = html or ""
    starts: list[int] = []  # where each block starts
    depth = 0
    in_inline_run = False
    at = 0
    for tag in _TAG.finditer(html):
        text = html[at : tag.start()]
        if depth == 0 and text.strip() and not in_inline_run:
            starts.append(at + len(text) - len(text.lstrip()))
            in_inline_run = True
        name = tag["name"].lower()
        if tag["end"]:
            depth = max(0, depth - 1)
        else:
            if depth == 0:
                if name in _BLOCK:
                    starts.append(tag.start())
                    in_inline_run = False
                elif not in_inline_run:
                    starts.append(tag.start())
                    in_inline_run = True
            if name not in _VOID and not tag[0].endswith("/>"):
                depth += 1
        at = tag.end()
    tail = html[at:]
    if depth == 0 and tail.strip() and not in_inline_run:
        starts.append(at + len(tail) - len(tail.lstrip()))
    if not starts:
        return []
    cuts = [0, *starts[1:], len(html)]
    return [html[cuts[n] : cuts[n + 1]] for n in range(len(starts))]


def place_in(after_block: int | None, block_count: int) -> int | None:
    """The place as stored: one at or past the text's end is None (after the text)."""
    if after_block is None or after_block >= block_count:
        return None
    return max(0, after_block)


def moved_place(place: int | None, old_html: str, new_html: str) -> int | None:
    """Where a card placed in ``old_html`` stands in the edited ``new_html``:
    after the same block, as far as the edit kept it (text inserted above the
    card moves it down with its block; a rewritten block keeps it at the same
    count into the rewrite)."""
    if place is None:
        return None
    old = [block.strip() for block in top_level_blocks(old_html)]
    new = [block.strip() for block in top_level_blocks(new_html)]
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal" and i1 <= place <= i2:
            return j1 + place - i1
        if i1 <= place < i2 or place == i1 == i2:
            # Inside a rewritten or removed run, or before text added above the card.
            return j2 if i1 == i2 else j1 + min(place - i1, j2 - j1)
    return place_in(place, len(new))


def interleave(html: str, cards: Iterable, place=attrgetter("after_block")) -> list:
    """The update laid out: runs of the text's blocks (strings of HTML) with each
    card after its block (``place(card)``: ``Embed.after_block``, or the
    representation's ``"after_block"``), in the cards' order.

    Cards without a place in the text follow it; text with no card inside it
    comes back whole, as one string (empty text as ``""``).
    """
    blocks = top_level_blocks(html)
    placed = [(place_in(place(card), len(blocks)), card) for card in cards]
    if all(at is None for at, _ in placed):
        return [html or "", *(card for _, card in placed)]
    layout: list = []
    shown = 0
    for at in sorted({at for at, _ in placed if at is not None}):
        if at > shown:
            layout.append("".join(blocks[shown:at]))
            shown = at
        layout.extend(card for card_at, card in placed if card_at == at)
    if shown < len(blocks):
        layout.append("".join(blocks[shown:]))
    layout.extend(card for at, card in placed if at is None)
    return layout


def text_lines_with_cards(
    blocks: Sequence[list[str]], cards: Iterable[tuple[int | None, list[str]]]
) -> list[str]:
    """Each block's lines, with each card's lines before the block its place
    names (after the last block when it has none): the text format's order."""
    cards = list(cards)
    lines: list[str] = []
    for index, block_lines in enumerate(blocks):
        for place, card_lines in cards:
            if place_in(place, len(blocks)) == index:
                lines.extend(card_lines)
        lines.extend(block_lines)
    for place, card_lines in cards:
        if place_in(place, len(blocks)) is None:
            lines.extend(card_lines)
    return lines
