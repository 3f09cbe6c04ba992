"""plain_text: the one cleaner for every plain-text field (cards, the text format)."""

import pytest

from coverage.sanitize import plain_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Stay\x0b indoors\x08 ", "Stay indoors"),  # control characters would break feeds
        ("Police\x1b\x00\x7f", "Police"),
        ("10\xa0km,\u202fnorth\u2009of\tthe\n\ntown", "10 km, north of the town"),
        ("Nov 25, 2026 at 4:12\u202fPM", "Nov 25, 2026 at 4:12 PM"),
        ("", ""),
    ],
)
def test_one_line(raw, clean):
    assert plain_text(raw) == clean


def test_keep_lines_cleans_each_line_and_keeps_one_blank_line_between_paragraphs():
    raw = "  Roads\xa0 closed. \r\nStay\x0b safe.\n\n\n\n  Check first.\u2028Thanks \n"
    assert plain_text(raw, keep_lines=True) == "Roads closed.\nStay safe.\n\nCheck first.\nThanks"
