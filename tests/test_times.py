"""Times as the server writes them (issue 10, item 5): GMT stamps in the house
style, each in a <time datetime>, and the local-time toggle left to JavaScript."""

import datetime as dt
import re

from tests.factories import make_story, make_update


def test_every_stamp_is_a_gmt_time_element_and_the_toggle_waits_for_javascript(client, db):
    story = make_story(started_at=dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC))
    update = make_update(
        story,
        published_at=dt.datetime(2026, 11, 24, 19, 41, tzinfo=dt.UTC),
        key_event=True,
        correction_note="Name corrected",
    )
    for url in (story.get_absolute_url(), update.get_absolute_url()):
        html = client.get(url).content.decode()
        assert '<time datetime="2026-11-24T19:41:00+00:00">UPDATE 1941 GMT</time>' in html
        # Without JavaScript the button could do nothing: it is hidden.
        assert re.search(r'<button type="button" class="time-toggle"[^>]* hidden>', html), url
        assert 'data-started="2026-11-24T09:00:00+00:00"' in html
        assert '<span id="times-note">All times GMT.</span>' in html
        # No stamp in the house style outside a <time>, where times.js would miss it.
        body = html[html.index("<body") :]
        outside_times = re.sub(r"<time[^>]*>.*?</time>", "", body, flags=re.S)
        text = re.sub(r"<[^>]+>", "", outside_times)
        assert not re.search(r"\b\d{4} GMT\b", text), url
