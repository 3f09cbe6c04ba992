"""Plain-text import (import_text) and export (export_text) of a story."""

import datetime as dt
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from coverage import textformat
from coverage.models import Embed, Story, Update
from coverage.textformat import TextFormatError, parse
from tests.factories import make_embed, make_story, make_update, retract

UTC = dt.UTC

COVERAGE = """\
Police have closed the high street after a fire at a warehouse.
Residents nearby are asked to keep their windows shut.

UPDATE 1412 GMT:
HEADLINE: Fire under control
KEY EVENT

The fire service says the blaze is now under control.
- Two engines remain at the scene
- The high street stays closed overnight
“Crews will be damping down through the night.” — County Fire (@countyfire) November 25, 2026

UPDATE 1130 GMT: The council has opened a rest centre at the town hall.
* Bring medication and phone chargers
* Pets are welcome

Roads around the station are gridlocked.

UPDATE 1130 GMT: Our reporter at the scene says smoke is thinning.

UPDATE 0905 GMT:
PINNED
Smoke is visible across the town centre.
"Huge plume over the market" - Ana Lima (@analima.bsky.social) November 24, 2026

ORIGINAL ENTRY: A fire has broken out at a warehouse on the high street.
Emergency services were called at 0840 GMT.
"""

DAY = dt.date(2026, 11, 25)


def at(hour, minute):
    return dt.datetime(2026, 11, 25, hour, minute, tzinfo=UTC)


def write(tmp_path, text, name="story.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def import_text(path, slug="fire", title="Warehouse fire", date="2026-11-25", **options):
    out = io.StringIO()
    call_command("import_text", path, slug=slug, title=title, date=date, stdout=out, **options)
    return out.getvalue()


def export_text(slug):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_text", slug, stdout=out, stderr=err)
    return out.getvalue()


def in_file_order(story):
    return list(story.updates.newest_first())


def snapshot(story):
    """Everything the import sets, comparable between two stories."""
    return [
        (
            u.published_at,
            u.headline,
            u.body,
            u.status,
            u.key_event,
            u.pinned,
            [
                (e.position, e.kind, e.text, e.author_name, e.author_handle, e.posted_at, e.url)
                for e in u.embeds.all()
            ],
        )
        for u in in_file_order(story)
    ]


def assert_nothing_written():
    assert Story.objects.count() == 0
    assert Update.objects.count() == 0
    assert Embed.objects.count() == 0


# Import --------------------------------------------------------------------


@pytest.mark.django_db
def test_import_builds_the_story(tmp_path):
    output = import_text(write(tmp_path, COVERAGE))

    assert output.strip() == "Imported 4 updates into fire"
    story = Story.objects.get(slug="fire")
    assert story.title == "Warehouse fire"
    assert story.status == Story.Status.LIVE
    assert story.started_at == at(9, 5)
    assert story.standfirst == (
        "Police have closed the high street after a fire at a warehouse.\n"
        "Residents nearby are asked to keep their windows shut."
    )
    assert story.original_entry == (
        "<p>A fire has broken out at a warehouse on the high street.</p>\n"
        "<p>Emergency services were called at 0840 GMT.</p>"
    )

    first, second, third, fourth = in_file_order(story)
    assert [u.published_at for u in (first, second, third, fourth)] == [
        at(14, 12),
        at(11, 30),
        at(11, 30),
        at(9, 5),
    ]
    assert all(u.status == Update.Status.PUBLISHED for u in (first, second, third, fourth))

    assert first.headline == "Fire under control"
    assert first.key_event and not first.pinned
    assert first.body == (
        "<p>The fire service says the blaze is now under control.</p>\n"
        "<ul>\n<li>Two engines remain at the scene</li>\n"
        "<li>The high street stays closed overnight</li>\n</ul>"
    )
    [post] = first.embeds.all()
    assert post.kind == Embed.Kind.SOCIAL
    assert post.text == "Crews will be damping down through the night."
    assert post.author_name == "County Fire"
    assert post.author_handle == "@countyfire"
    assert post.posted_at == dt.datetime(2026, 11, 25, tzinfo=UTC)
    assert (post.url, post.provider, post.position) == ("", "", 0)
    assert "County Fire" not in first.body

    # Marker-line text is the first paragraph; "* " lists too.
    assert second.headline == ""
    assert second.body == (
        "<p>The council has opened a rest centre at the town hall.</p>\n"
        "<ul>\n<li>Bring medication and phone chargers</li>\n<li>Pets are welcome</li>\n</ul>\n"
        "<p>Roads around the station are gridlocked.</p>"
    )
    # Same time as the update above it: the file's order holds, by id.
    assert third.body == "<p>Our reporter at the scene says smoke is thinning.</p>"
    assert third.id < second.id

    assert fourth.pinned and not fourth.key_event
    assert fourth.body == "<p>Smoke is visible across the town centre.</p>"
    [plume] = fourth.embeds.all()
    assert (plume.text, plume.author_name, plume.author_handle) == (
        "Huge plume over the market",
        "Ana Lima",
        "@analima.bsky.social",
    )
    assert plume.posted_at == dt.datetime(2026, 11, 24, tzinfo=UTC)

    # Readers see pinned first, then the file's order.
    assert list(story.updates.published(now=at(23, 0)).for_reading()) == [
        fourth,
        first,
        second,
        third,
    ]


@pytest.mark.django_db
def test_import_from_stdin(monkeypatch):
    data = "UPDATE 0700 GMT: Früh dran.\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    assert import_text("-", slug="early").strip() == "Imported 1 update into early"
    assert Update.objects.get(story__slug="early").body == "<p>Früh dran.</p>"


@pytest.mark.django_db
def test_html_in_the_text_is_escaped_never_a_tag(tmp_path):
    text = (
        "Standfirst <em>not emphasis</em>\n"
        "UPDATE 1000 GMT:\n"
        "HEADLINE: <b>Bold?</b>\n"
        "<script>alert(1)</script>\n"
        '- <img src=x onerror="alert(2)">\n'
        "Tom & Jerry <a href='javascript:alert(3)'>click</a>\n"
        "“<script>alert(4)</script>” — Mallory (@mallory) November 25, 2026\n"
        "ORIGINAL ENTRY: <iframe src=//evil></iframe>\n"
    )
    import_text(write(tmp_path, text))

    update = Update.objects.get()
    assert "<script" not in update.body
    assert "<img" not in update.body
    assert "<a " not in update.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in update.body
    assert "&lt;img src=x" in update.body
    assert "Tom &amp; Jerry &lt;a href=" in update.body
    # Plain-text fields keep the characters; templates escape them on output.
    assert update.headline == "<b>Bold?</b>"
    assert update.embeds.get().text == "<script>alert(4)</script>"
    story = Story.objects.get()
    assert story.standfirst == "Standfirst <em>not emphasis</em>"
    assert story.original_entry == "<p>&lt;iframe src=//evil&gt;&lt;/iframe&gt;</p>"

    # The export gives the text back as it was typed.
    exported = export_text("fire")
    assert "\n<script>alert(1)</script>\n" in exported
    assert '\n- <img src=x onerror="alert(2)">\n' in exported
    assert "ORIGINAL ENTRY:\n\n<iframe src=//evil></iframe>\n" in exported


@pytest.mark.django_db
def test_unicode_survives(tmp_path):
    text = (
        "Zürich – 東京 – Київ 🔥\n"
        "UPDATE 2359 GMT: Ça brûle encore à São Paulo; ﷺ עברית 🚒\n"
        "HEADLINE: Ünïcödé «headline»\n"
        "- naïve café\n"
        "“Ça va” — Zoë Ångström (@zoë) January 1, 2027\n"
    )
    import_text(write(tmp_path, text), date="2026-12-31")

    story = Story.objects.get()
    update = story.updates.get()
    assert story.standfirst == "Zürich – 東京 – Київ 🔥"
    assert update.published_at == dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert update.headline == "Ünïcödé «headline»"
    assert "Ça brûle encore à São Paulo; ﷺ עברית 🚒" in update.body
    assert "<li>naïve café</li>" in update.body
    embed = update.embeds.get()
    assert (embed.text, embed.author_name, embed.author_handle) == ("Ça va", "Zoë Ångström", "@zoë")
    exported = export_text("fire")
    assert "Ça brûle encore à São Paulo; ﷺ עברית 🚒" in exported
    assert "“Ça va” — Zoë Ångström (@zoë) January 1, 2027" in exported


# Round trip ----------------------------------------------------------------


@pytest.mark.django_db
def test_round_trip_is_exact(tmp_path):
    import_text(write(tmp_path, COVERAGE), slug="first")
    exported = export_text("first")

    import_text(write(tmp_path, exported, "exported.txt"), slug="second")
    assert export_text("second") == exported

    first, second = Story.objects.get(slug="first"), Story.objects.get(slug="second")
    assert snapshot(second) == snapshot(first)
    assert (second.standfirst, second.original_entry, second.started_at) == (
        first.standfirst,
        first.original_entry,
        first.started_at,
    )
    # Same order for readers too, ties included.
    reading = [
        [(u.published_at, u.body) for u in s.updates.published(now=at(23, 0)).for_reading()]
        for s in (first, second)
    ]
    assert reading[0] == reading[1]


@pytest.mark.django_db
def test_export_text_format(tmp_path):
    import_text(write(tmp_path, COVERAGE))

    assert export_text("fire") == (
        "Police have closed the high street after a fire at a warehouse.\n"
        "Residents nearby are asked to keep their windows shut.\n"
        "\n"
        "UPDATE 1412 GMT:\n"
        "HEADLINE: Fire under control\n"
        "KEY EVENT\n"
        "\n"
        "The fire service says the blaze is now under control.\n"
        "- Two engines remain at the scene\n"
        "- The high street stays closed overnight\n"
        "“Crews will be damping down through the night.” — County Fire (@countyfire) "
        "November 25, 2026\n"
        "\n"
        "UPDATE 1130 GMT:\n"
        "\n"
        "The council has opened a rest centre at the town hall.\n"
        "- Bring medication and phone chargers\n"
        "- Pets are welcome\n"
        "Roads around the station are gridlocked.\n"
        "\n"
        "UPDATE 1130 GMT:\n"
        "\n"
        "Our reporter at the scene says smoke is thinning.\n"
        "\n"
        "UPDATE 0905 GMT:\n"
        "PINNED\n"
        "\n"
        "Smoke is visible across the town centre.\n"
        "“Huge plume over the market” — Ana Lima (@analima.bsky.social) November 24, 2026\n"
        "\n"
        "ORIGINAL ENTRY:\n"
        "\n"
        "A fire has broken out at a warehouse on the high street.\n"
        "Emergency services were called at 0840 GMT.\n"
    )


@pytest.mark.django_db
def test_export_leaves_out_drafts_and_retracted_updates(tmp_path):
    import_text(write(tmp_path, "UPDATE 1000 GMT: Kept.\nUPDATE 0900 GMT: Withdrawn.\n"))
    story = Story.objects.get()
    retract(story.updates.get(body__contains="Withdrawn"))
    make_update(story, body="<p>Draft.</p>", status=Update.Status.DRAFT)

    assert export_text("fire") == "UPDATE 1000 GMT:\n\nKept.\n"


@pytest.mark.django_db
def test_export_converts_editor_html_to_text():
    story = make_story(slug="edited", title="Edited")
    make_update(
        story,
        published_at=at(12, 0),
        body=(
            "<h2>Latest</h2><p>A <a href='https://example.com'>link</a> &amp; "
            "<strong>bold</strong>\n text</p><ol><li>one</li><li>two</li></ol>"
            "<blockquote><p>Quoted words</p></blockquote>"
        ),
    )
    exported = export_text("edited")
    assert exported == (
        "UPDATE 1200 GMT:\n\nLatest\nA link & bold text\n- one\n- two\n> Quoted words\n"
    )


@pytest.mark.django_db
def test_export_unknown_slug():
    with pytest.raises(CommandError, match="No story with slug 'nope'"):
        export_text("nope")


# Refusals ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Just a standfirst.\nNo updates here.\n", r"no 'UPDATE HHMM GMT:' marker"),
        ("", r"no 'UPDATE HHMM GMT:' marker"),
        ("ORIGINAL ENTRY: only this\n", r"no 'UPDATE HHMM GMT:' marker"),
        ("UPDATE 1000 GMT: fine\nUPDATE 2561 GMT: bad\n", r"line 2: bad time 2561"),
        ("UPDATE 2400 GMT: bad\n", r"line 1: bad time 2400.*hours must be 00-23"),
        ("UPDATE 1060 GMT: bad\n", r"minutes 00-59"),
        ("UPDATE 9:05 GMT: bad\n", r"line 1: .*not four digits HHMM"),
        ("UPDATE 0905 BST: bad\n", r"line 1: .*times are given in GMT"),
        ("UPDATE 0905 GMT bad\n", r"line 1: .*colon after GMT is missing"),
        ("x\n\nUpdate 0905 GMT: bad\n", r"line 3: .*capitals"),
        ("UPDATE 0905 GMT:\n\nUPDATE 0800 GMT: x\n", r"line 1: this update has no headline"),
        (
            "UPDATE 0905 GMT:\n“Hi” — A (@a) February 30, 2026\n",
            r"line 2: the social post's date February 30, 2026 does not exist",
        ),
        (
            "UPDATE 0905 GMT: x\nORIGINAL ENTRY: a\nORIGINAL ENTRY: b\n",
            r"line 3: a second 'ORIGINAL ENTRY:'",
        ),
        ("UPDATE 0905 GMT:\nHEADLINE: " + "x" * 201 + "\n", r"line 1: the headline is longer"),
    ],
)
def test_bad_text_is_refused_and_nothing_written(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        import_text(write(tmp_path, text))
    assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2026-02-30", r"--date 2026-02-30 is not a real date"),
        ("2026-13-01", r"is not a real date"),
        ("yesterday", r"--date must look like YYYY-MM-DD, not 'yesterday'"),
        ("25/11/2026", r"YYYY-MM-DD"),
        ("20261125", r"YYYY-MM-DD"),
        ("", r"YYYY-MM-DD"),
    ],
)
def test_bad_date_is_refused(tmp_path, date, message):
    with pytest.raises(CommandError, match=message):
        import_text(write(tmp_path, COVERAGE), date=date)
    assert_nothing_written()


@pytest.mark.django_db
def test_bad_date_is_refused_from_the_command_line_parser(tmp_path):
    # Passing options as strings goes through argparse, as manage.py does.
    path = write(tmp_path, COVERAGE)
    args = [path, "--slug", "fire", "--title", "Fire", "--date", "yesterday"]
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("import_text", *args, stdout=io.StringIO())
    assert_nothing_written()


@pytest.mark.django_db
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match=r"No such file: .*missing\.txt"):
        import_text(str(tmp_path / "missing.txt"))
    assert_nothing_written()


@pytest.mark.django_db
def test_directory_is_refused(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        import_text(str(tmp_path))
    assert_nothing_written()


@pytest.mark.django_db
def test_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("UPDATE 1000 GMT: ok\nCafé crème\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"not valid UTF-8 \(line 2"):
        import_text(str(path))
    assert_nothing_written()


@pytest.mark.django_db
def test_stdin_that_is_not_utf8_is_refused():
    with pytest.raises(CommandError, match="standard input is not valid UTF-8"):
        import_text("-", stdin=io.BytesIO(b"UPDATE 1000 GMT: \xff\n"))
    assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"slug": "not a slug"}, r"--slug 'not a slug' is not a slug"),
        ({"slug": "x" * 121}, r"--slug is longer than 120"),
        ({"slug": "search"}, r"--slug: “search” is an address the site itself uses"),
        ({"title": "  "}, r"--title must not be empty"),
    ],
)
def test_bad_slug_or_title_is_refused(tmp_path, options, message):
    with pytest.raises(CommandError, match=message):
        import_text(write(tmp_path, COVERAGE), **options)
    assert_nothing_written()


@pytest.mark.django_db
def test_existing_slug_is_refused_and_story_untouched(tmp_path):
    import_text(write(tmp_path, COVERAGE))
    story = Story.objects.get()
    before = (story.title, story.revision, story.standfirst, snapshot(story))
    counts = (Story.objects.count(), Update.objects.count(), Embed.objects.count())

    new = write(tmp_path, "UPDATE 2000 GMT: Something else.\n", "other.txt")
    with pytest.raises(CommandError, match=r"slug 'fire' already exists; pass --replace"):
        import_text(new, title="Another title")

    story.refresh_from_db()
    assert (story.title, story.revision, story.standfirst, snapshot(story)) == before
    assert (Story.objects.count(), Update.objects.count(), Embed.objects.count()) == counts


@pytest.mark.django_db
def test_import_is_one_transaction(tmp_path, monkeypatch):
    """A failure half-way (here: saving the first embed) leaves nothing behind."""

    def broken_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Embed, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        import_text(write(tmp_path, COVERAGE))
    assert_nothing_written()


# --replace -----------------------------------------------------------------


@pytest.mark.django_db
def test_replace_swaps_the_updates(tmp_path):
    import_text(write(tmp_path, COVERAGE))
    story = Story.objects.get()
    old_ids = set(story.updates.values_list("id", flat=True))
    old_revision = story.revision
    follower = make_story(slug="fire-day-2", title="Day 2", previous=story)

    replacement = "New standfirst.\nUPDATE 1600 GMT: Fresh start.\nUPDATE 1500 GMT: Earlier.\n"
    output = import_text(
        write(tmp_path, replacement, "new.txt"), title="Fire, revised", replace=True
    )

    assert output.strip() == "Imported 2 updates into fire, retracting 4 earlier updates"
    story.refresh_from_db()
    assert Story.objects.filter(slug="fire").count() == 1
    assert story.title == "Fire, revised"
    assert story.standfirst == "New standfirst."
    assert story.original_entry == ""
    assert story.started_at == at(15, 0)
    assert story.revision > old_revision
    # The old updates are tombstones readers' pages are told to remove.
    old = Update.objects.filter(id__in=old_ids)
    assert old.count() == 4
    assert all(u.retracted_at is not None and u.revision > old_revision for u in old)
    assert [u.body for u in story.updates.published(now=at(23, 0)).for_reading()] == [
        "<p>Fresh start.</p>",
        "<p>Earlier.</p>",
    ]
    assert export_text("fire") == (
        "New standfirst.\n\nUPDATE 1600 GMT:\n\nFresh start.\n\nUPDATE 1500 GMT:\n\nEarlier.\n"
    )
    follower.refresh_from_db()
    assert follower.previous_id == story.id


@pytest.mark.django_db
def test_replace_tells_open_pages_to_drop_the_old_updates(tmp_path, client):
    import_text(write(tmp_path, COVERAGE))
    story = Story.objects.get()
    seen = story.revision
    old_ids = list(story.updates.values_list("id", flat=True))

    new = write(tmp_path, "UPDATE 1600 GMT: Fresh start.\n", "new.txt")
    import_text(new, date="2020-01-01", replace=True)  # in the past: visible now

    response = client.get(reverse("coverage:poll", args=["fire"]), {"since": seen})
    assert response.status_code == 200
    html = response.content.decode()
    for old_id in old_ids:
        assert f'id="update-{old_id}" class="update-removed" data-hx-swap-oob="delete"' in html
    assert "Fresh start." in html


@pytest.mark.django_db
def test_replace_creates_when_the_slug_is_new(tmp_path):
    output = import_text(write(tmp_path, COVERAGE), replace=True)
    assert output.strip() == "Imported 4 updates into fire"
    assert Story.objects.get().updates.count() == 4


@pytest.mark.django_db
def test_refused_replace_leaves_the_existing_story(tmp_path):
    import_text(write(tmp_path, COVERAGE))
    story = Story.objects.get()
    before = (story.revision, snapshot(story))

    with pytest.raises(CommandError, match="bad time 2561"):
        import_text(write(tmp_path, "UPDATE 2561 GMT: x\n", "bad.txt"), replace=True)

    story.refresh_from_db()
    assert (story.revision, snapshot(story)) == before
    assert not Update.objects.filter(retracted_at__isnull=False).exists()


# The parser on its own ------------------------------------------------------


def test_parse_returns_dataclasses_in_file_order():
    parsed = parse(COVERAGE, DAY)
    assert [u.published_at for u in parsed.updates] == [
        at(14, 12),
        at(11, 30),
        at(11, 30),
        at(9, 5),
    ]
    assert parsed.updates[0].headline == "Fire under control"
    assert parsed.updates[0].social_posts[0] == textformat.ParsedSocialPost(
        text="Crews will be damping down through the night.",
        author_name="County Fire",
        author_handle="@countyfire",
        posted_at=dt.datetime(2026, 11, 25, tzinfo=UTC),
        line=11,
    )
    assert parsed.original_entry_html.startswith("<p>A fire has broken out")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("“Quoted” — Ann (@ann) May 1, 2026", ("Quoted", "Ann", "@ann")),
        ('"Quoted" -- Ann Lee (@ann_lee) May 1, 2026', ("Quoted", "Ann Lee", "@ann_lee")),
        (
            "Unquoted - Ann (@ann@mastodon.social) May 1, 2026",
            ("Unquoted", "Ann", "@ann@mastodon.social"),
        ),
        (
            "Score 2 - 1 — BBC Sport (@BBCSport) December 31, 2026",
            ("Score 2 - 1", "BBC Sport", "@BBCSport"),
        ),
        (
            "“Nested “inner” quote” — Ann (@ann) May 1, 2026",
            ("Nested “inner” quote", "Ann", "@ann"),
        ),
    ],
)
def test_social_post_attributions(line, expected):
    [update] = parse(f"UPDATE 1000 GMT:\n{line}\n", DAY).updates
    [post] = update.social_posts
    assert (post.text, post.author_name, post.author_handle) == expected
    assert update.body_html == ""


@pytest.mark.parametrize(
    "line",
    [
        "Not a post — Ann (ann) May 1, 2026",  # no @
        "Not a post — Ann (@ann) 1 May 2026",  # date order
        "Not a post — Ann (@ann) May 1, 2026, said police",  # not at the end
        "Not a post-Ann (@ann) May 1, 2026",  # hyphen without spaces
        "— Ann (@ann) May 1, 2026",  # nothing before the dash
    ],
)
def test_paragraphs_that_are_not_social_posts(line):
    [update] = parse(f"UPDATE 1000 GMT:\n{line}\n", DAY).updates
    assert update.social_posts == []
    assert update.body_html.startswith("<p>")


def test_flags_only_directly_after_the_marker():
    text = "UPDATE 1000 GMT:\nPINNED\n\nKEY EVENT\nHEADLINE: body text\n"
    [update] = parse(text, DAY).updates
    assert update.pinned and not update.key_event
    assert update.headline == ""
    assert update.body_html == "<p>KEY EVENT</p>\n<p>HEADLINE: body text</p>"


def test_control_characters_are_dropped_but_a_nul_is_an_error():
    [update] = parse(
        "UPDATE 1000 GMT:\nHEADLINE: Roads\x1b\xa0 closed\nStay\x0b indoors\x08\n", DAY
    ).updates
    assert (update.headline, update.body_html) == ("Roads closed", "<p>Stay indoors</p>")
    with pytest.raises(TextFormatError, match="line 2: contains a NUL"):
        parse("UPDATE 1000 GMT:\nStay\x00 indoors\n", DAY)


def test_text_format_error_carries_the_line():
    with pytest.raises(TextFormatError) as caught:
        parse("a\nb\nUPDATE 9999 GMT:\n", DAY)
    assert caught.value.line == 3
    assert isinstance(caught.value, ValueError)


@pytest.mark.django_db
def test_export_warns_about_what_the_text_cannot_carry():
    story = make_story(slug="two-days", title="Two days")
    late = make_update(story, published_at=at(23, 50), body="<p>Late.</p>")
    make_update(story, published_at=at(0, 10) + dt.timedelta(days=1), body="<p>Next day.</p>")
    make_embed(
        late,
        kind=Embed.Kind.LINK,
        title="Report",
        url="https://example.com/report",
        text="",
        author_name="",
        author_handle="",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("export_text", "two-days", stdout=out, stderr=err)

    assert out.getvalue() == (
        "UPDATE 0010 GMT:\n\nNext day.\n\n"
        "UPDATE 2350 GMT:\n\nLate.\nReport https://example.com/report\n"
    )
    # Across midnight, the times alone carry the dates back (see the round trip below).
    assert "dates" not in err.getvalue()
    assert "Read it back with --date 2026-11-26" in err.getvalue()
    assert "link card embed" in err.getvalue()


# Coverage that crosses midnight -------------------------------------------------

OVERNIGHT = """\
UPDATE 0115 GMT: Crews are still at the scene.
UPDATE 0010 GMT: Past midnight, the fire is contained.
UPDATE 2350 GMT: The fire spreads to a second building.
UPDATE 2350 GMT: Smoke across the town centre.
UPDATE 2200 GMT: A fire has broken out.
"""


def test_a_later_time_below_an_earlier_one_is_on_the_day_before():
    parsed = parse(OVERNIGHT, dt.date(2026, 11, 26))
    assert [update.published_at for update in parsed.updates] == [
        dt.datetime(2026, 11, 26, 1, 15, tzinfo=UTC),
        dt.datetime(2026, 11, 26, 0, 10, tzinfo=UTC),
        dt.datetime(2026, 11, 25, 23, 50, tzinfo=UTC),
        dt.datetime(2026, 11, 25, 23, 50, tzinfo=UTC),  # the same time: the same day
        dt.datetime(2026, 11, 25, 22, 0, tzinfo=UTC),
    ]


def test_coverage_over_several_midnights_steps_back_a_day_each_time():
    text = "UPDATE 0100 GMT: c\nUPDATE 2300 GMT: b\nUPDATE 0200 GMT: a2\nUPDATE 2300 GMT: a\n"
    days = [u.published_at.date() for u in parse(text, dt.date(2026, 11, 27)).updates]
    assert days == [dt.date(2026, 11, d) for d in (27, 26, 26, 25)]


@pytest.mark.django_db
def test_import_then_export_then_import_keeps_every_stamp_across_midnight(tmp_path):
    import_text(write(tmp_path, OVERNIGHT), slug="overnight", date="2026-11-26")
    story = Story.objects.get(slug="overnight")
    first = [u.published_at for u in story.updates.newest_first()]
    assert story.started_at == dt.datetime(2026, 11, 25, 22, 0, tzinfo=UTC)

    out, err = io.StringIO(), io.StringIO()
    call_command("export_text", "overnight", stdout=out, stderr=err)
    assert "Read it back with --date 2026-11-26" in err.getvalue()
    assert "Warning" not in err.getvalue()

    import_text(write(tmp_path, out.getvalue(), "again.txt"), slug="again", date="2026-11-26")
    again = Story.objects.get(slug="again")
    assert [u.published_at for u in again.updates.newest_first()] == first


@pytest.mark.django_db
def test_export_warns_when_updates_a_day_apart_cannot_be_dated_by_their_times():
    story = make_story(slug="gap")
    make_update(story, published_at=at(10, 0))
    make_update(story, published_at=at(9, 0) + dt.timedelta(days=2))
    out, err = io.StringIO(), io.StringIO()
    call_command("export_text", "gap", stdout=out, stderr=err)
    assert "those dates are lost" in err.getvalue()


# The seed day through export and import (issue 19, item 2) ---------------------


@pytest.fixture
def seed_day(db, settings):
    from coverage.management.commands.seed_demo import PREVIOUS_SLUG, STORY_SLUG

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    err = io.StringIO()
    text = io.StringIO()
    call_command("export_text", STORY_SLUG, stdout=text, stderr=err)
    date = err.getvalue().split("--date ")[1].split()[0]
    return {
        "story": Story.objects.get(slug=STORY_SLUG),
        "previous": Story.objects.get(slug=PREVIOUS_SLUG),
        "text": text.getvalue(),
        "date": date,
    }


def reimport(seed_day, tmp_path, *extra):
    path = write(tmp_path, seed_day["text"])
    call_command(
        "import_text",
        path,
        "--slug",
        "copy",
        "--title",
        "Copy",
        "--date",
        seed_day["date"],
        *extra,
        stdout=io.StringIO(),
    )
    return Story.objects.get(slug="copy")


def update_with(story, words):
    return story.updates.get(body__contains=words)


def test_the_seed_days_social_posts_come_back_as_their_authors_cards(seed_day, tmp_path):
    copy = reimport(seed_day, tmp_path)
    for words, provider, handle in (
        ("coastguard helicopter", "X", "@EastmouthCG"),
        ("has issued a", "Bluesky", "@floodalerts.example"),
    ):
        original = update_with(seed_day["story"], words).embeds.get(kind="social")
        update = update_with(copy, words)
        # The author's words are theirs, not a reporter's paragraph.
        assert original.text[:30] not in update.body
        (card,) = update.embeds.all()
        assert (card.kind, card.provider, card.author_handle) == ("social", provider, handle)
        assert card.author_name == original.author_name and card.text == original.text
        assert card.url == original.url
        # The text carries the post's date, not its time of day.
        assert card.posted_at.date() == original.posted_at.astimezone(UTC).date()


def in_order(text, *pieces) -> bool:
    at = [text.index(piece) for piece in pieces]
    return at == sorted(at)


def test_the_seed_days_embedded_post_stays_where_it_was_as_its_authors_quote(
    seed_day, tmp_path, client
):
    original = update_with(seed_day["story"], "has issued a").embeds.get()
    assert original.after_block == 1
    # Written between the two paragraphs it stands between, attributed to its author.
    attribution = "— Flood Alerts (@floodalerts.example) "
    assert in_order(
        seed_day["text"], "for the Quayside.\n“SEVERE FLOOD", attribution, "\nIt is the first"
    )
    copy = reimport(seed_day, tmp_path)
    update = update_with(copy, "has issued a")
    (card,) = update.embeds.all()
    assert (card.kind, card.after_block) == ("social", 1)
    assert (card.author_name, card.author_handle) == ("Flood Alerts", "@floodalerts.example")
    assert card.posted_at.date() == original.posted_at.astimezone(UTC).date()
    assert "SEVERE FLOOD" not in update.body
    page = client.get(copy.get_absolute_url()).content.decode()
    page = page[page.index(f'<article id="update-{update.pk}"') :]
    assert in_order(
        page,
        "for the Quayside.</p></div>",
        "<strong>Flood Alerts</strong>",
        "@floodalerts.example",
        "SEVERE FLOOD WARNING",
        f"{card.posted_at:%-d %B %Y}</time>",
        "It is the first severe warning",
    )


def test_a_card_between_paragraphs_is_exported_there_and_read_back_there(db, tmp_path):
    story = make_story(slug="between")
    update = make_update(
        story,
        published_at=at(9, 5),
        body="<p>Above.</p><ul><li>Listed</li></ul><p>Below.</p>",
    )
    make_embed(
        update,
        text="Words",
        author_name="Ann Author",
        author_handle="@ann",
        posted_at=at(9, 0),
        url="",
        after_block=0,
    )
    make_embed(
        update,
        kind="video",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        provider="YouTube",
        author_name="",
        author_handle="",
        text="",
        after_block=2,
    )
    make_embed(update, kind="quote", text="Said so", author_name="Bo", url="", after_block=1)
    make_embed(
        update, text="Last", author_name="Cy", author_handle="@cy", posted_at=at(9, 0), url=""
    )
    first = io.StringIO()
    call_command("export_text", "between", stdout=first, stderr=io.StringIO())
    date = at(9, 0).strftime("%B %-d, %Y")
    body = first.getvalue().split("UPDATE 0905 GMT:\n\n")[1]
    assert body == (
        f"“Words” — Ann Author (@ann) {date}\nAbove.\n> Said so\n> — Bo\n- Listed\n"
        f"https://www.youtube.com/watch?v=dQw4w9WgXcQ\nBelow.\n“Last” — Cy (@cy) {date}\n"
    )
    path = write(tmp_path, first.getvalue())
    call_command(
        "import_text", path, "--slug", "copy", "--title", "Copy", "--date", f"{at(9, 0):%Y-%m-%d}"
    )
    copy = Story.objects.get(slug="copy").updates.get()
    # The quote card reads back as a quotation in the text, where it stood.
    assert copy.body == (
        "<p>Above.</p>\n<blockquote>\n<p>Said so</p>\n<p>— Bo</p>\n</blockquote>\n"
        "<ul>\n<li>Listed</li>\n</ul>\n<p>Below.</p>"
    )
    assert [
        (card.author_name or card.provider, card.after_block) for card in copy.embeds.all()
    ] == [
        ("Ann Author", 0),
        ("YouTube", 3),
        ("Cy", None),
    ]
    again = io.StringIO()
    call_command("export_text", "copy", stdout=again, stderr=io.StringIO())
    assert again.getvalue() == first.getvalue()


def test_the_seed_days_quote_comes_back_as_a_blockquote_of_its_author(seed_day, tmp_path):
    copy = reimport(seed_day, tmp_path)
    update = update_with(copy, "spoken to reporters")
    assert "<blockquote>" in update.body
    quote = update.body[update.body.index("<blockquote>") :]
    assert "Nobody should be sleeping in a flooded house tonight" in quote
    assert "Ruth Okonjo, mayor of Eastmouth" in quote
    assert not update.embeds.exists()


def test_the_seed_days_caption_standfirst_and_previous_day_stay_what_they_are(
    seed_day, tmp_path, client
):
    text = seed_day["text"]
    assert "CAPTION: The River Alder at Eastmouth Bridge." in text
    assert "CREDIT: Demo Newsroom" in text
    assert "PREVIOUS: eastmouth-floods-day-one" in text
    copy = reimport(seed_day, tmp_path)
    assert copy.lead_image_caption == "The River Alder at Eastmouth Bridge."
    assert copy.lead_image_credit == "Demo Newsroom"
    assert copy.standfirst == seed_day["story"].standfirst
    assert "River Alder at Eastmouth Bridge" not in copy.standfirst
    assert copy.previous == seed_day["previous"]
    page = client.get(copy.get_absolute_url()).content.decode()
    assert f'<a href="{seed_day["previous"].get_absolute_url()}">' in page


def test_the_seed_day_reads_back_to_the_same_text(seed_day, tmp_path):
    copy = reimport(seed_day, tmp_path)
    # The video is written as its link alone, which reads back as its card.
    assert "\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\n" in seed_day["text"]
    (video,) = update_with(copy, "Drone footage").embeds.all()
    assert (video.kind, video.provider) == ("video", "YouTube")
    again = io.StringIO()
    call_command("export_text", "copy", stdout=again, stderr=io.StringIO())
    # Everything but the header's links: the copy's PREVIOUS is the same story.
    assert again.getvalue() == seed_day["text"]


def test_an_imported_past_day_can_be_ended(seed_day, tmp_path, client):
    copy = reimport(seed_day, tmp_path, "--ended")
    assert copy.status == Story.Status.ENDED
    newest = copy.updates.order_by("-published_at").first().published_at
    assert copy.ended_at == newest
    page = client.get(copy.get_absolute_url()).content.decode()
    assert "badge-live" not in page and "Coverage ended" in page


def test_previous_names_a_story_here_or_stays_a_plain_link(db, tmp_path, client):
    day_one = make_story(slug="day-one", title="Day one")
    text = "PREVIOUS: {}\nUPDATE 0900 GMT: Morning.\n"
    given = {
        "by-slug": "day-one",
        "by-path": "/day-one/",
        "elsewhere": "https://elsewhere.example/",
    }
    for slug, previous in given.items():
        path = write(tmp_path, text.format(previous))
        call_command(
            "import_text",
            path,
            "--slug",
            slug,
            "--title",
            "Day two",
            "--date",
            "2026-11-25",
            stdout=io.StringIO(),
        )
    assert Story.objects.get(slug="by-slug").previous == day_one
    assert Story.objects.get(slug="by-path").previous == day_one
    elsewhere = Story.objects.get(slug="elsewhere")
    assert elsewhere.previous is None
    page = client.get(elsewhere.get_absolute_url()).content.decode()
    assert '<a href="https://elsewhere.example/" rel="nofollow">' in page
    path = write(tmp_path, text.format("no-such-day"))
    with pytest.raises(CommandError, match="no other story here has the slug 'no-such-day'"):
        call_command(
            "import_text", path, "--slug", "d3", "--title", "Day three", "--date", "2026-11-25"
        )
    assert not Story.objects.filter(slug="d3").exists()


@pytest.mark.parametrize("options, status", [((), "ended"), (("--live",), "live")])
def test_the_demo_day_is_ended_unless_asked_to_stay_live(db, settings, options, status):
    from coverage.management.commands.seed_demo import STORY_SLUG

    settings.DEBUG = True
    call_command("seed_demo", *options, stdout=io.StringIO())
    story = Story.objects.get(slug=STORY_SLUG)
    assert story.status == status
    if status == "ended":
        # Ended when its coverage did: at its last update, not at the import.
        assert story.ended_at == story.updates.order_by("-published_at").first().published_at


def test_a_posts_attribution_on_the_line_under_its_words_makes_one_card():
    parsed = parse(
        "UPDATE 1200 GMT:\n"
        "The minister has posted:\n"
        "“We will rebuild every home.”\n"
        "— Jo Minister (@jominister) November 25, 2026 https://x.com/jominister/status/1\n"
        "> “It is the worst flood I have seen.”\n"
        "> — A resident\n",
        DAY,
    )
    (update,) = parsed.updates
    assert update.body_html == (
        "<p>The minister has posted:</p>\n<blockquote>\n"
        "<p>“It is the worst flood I have seen.”</p>\n<p>— A resident</p>\n</blockquote>"
    )
    (post,) = update.social_posts
    assert (post.text, post.author_name, post.author_handle, post.url) == (
        "We will rebuild every home.",
        "Jo Minister",
        "@jominister",
        "https://x.com/jominister/status/1",
    )
