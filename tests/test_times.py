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


# The desk's Time field (issue 19, item 7) ------------------------------------


def test_the_desks_time_field_takes_seconds_and_says_so(client, db):
    import uuid

    from django.urls import reverse

    from coverage.models import Update
    from tests.factories import make_editor

    story = make_story()
    client.force_login(make_editor())
    desk = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    assert "HH:MM:SS" in desk
    for text, expected in (("07:30:15", (7, 30, 15)), ("2026-11-24 07:31:16", (7, 31, 16))):
        response = client.post(
            reverse("admin:coverage_story_desk_compose", args=[story.pk]),
            {"client_token": str(uuid.uuid4()), "body": text, "intent": "publish", "time": text},
        )
        assert response.status_code in (200, 302), response.content.decode()[:500]
        stamp = Update.objects.get(body__contains=text).published_at.astimezone(dt.UTC)
        assert (stamp.hour, stamp.minute, stamp.second, stamp.microsecond) == (*expected, 0)


def test_every_aria_describedby_on_the_desk_names_an_element_on_the_page(client, db):
    from django.urls import reverse

    from tests.factories import make_editor

    story = make_story()
    make_update(story)
    client.force_login(make_editor())
    desk = client.get(reverse("admin:coverage_story_desk", args=[story.pk])).content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', desk))
    described = re.findall(r'aria-describedby="([^"]+)"', desk)
    assert any("time" in names for names in described)
    for names in described:
        for name in names.split():
            assert name in ids, f"aria-describedby names a missing id {name!r}"
