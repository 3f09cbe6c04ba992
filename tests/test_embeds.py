"""Embeds: pasted links and embed codes become cards; cards render statically everywhere."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.urls import reverse

from coverage.embeds import EmbedError, read_embed_code, recognise, video_player
from coverage.models import Embed, Update
from tests.factories import admin_update_form, make_editor, make_embed, make_story, make_update

UTC = dt.UTC
YT = "dQw4w9WgXcQ"
TWEET_ID = "463440424141459456"  # posted 5 May 2014, 22:09:42 UTC (its snowflake says so)
TWEET_TIME = dt.datetime(2014, 5, 5, 22, 9, 42, tzinfo=UTC)
TOOT_ID = "113524434546453400"
TOOT_TIME = dt.datetime(2024, 11, 22, 3, 16, 40, tzinfo=UTC)
BSKY_POST = "3laz6iy4xtk2x"
BSKY_TIME = dt.datetime(2024, 11, 15, 20, 7, 30, tzinfo=UTC)
TIKTOK_ID = "6718335390845095173"
TIKTOK_TIME = dt.datetime(2019, 7, 27, 13, 32, 33, tzinfo=UTC)


# Every URL shape: (pasted, kind, provider, canonical url, handle) ------------------------

URL_SHAPES = [
    # X / Twitter
    (f"https://twitter.com/Interior/status/{TWEET_ID}", "social", "X",
     f"https://x.com/Interior/status/{TWEET_ID}", "@Interior"),
    (f"https://x.com/Interior/status/{TWEET_ID}?s=20&t=AbCdEf", "social", "X",
     f"https://x.com/Interior/status/{TWEET_ID}", "@Interior"),
    (f"https://mobile.twitter.com/Interior/status/{TWEET_ID}/photo/1", "social", "X",
     f"https://x.com/Interior/status/{TWEET_ID}", "@Interior"),
    (f"https://www.x.com/i/web/status/{TWEET_ID}", "social", "X",
     f"https://x.com/i/web/status/{TWEET_ID}", ""),
    (f"x.com/Interior/status/{TWEET_ID}", "social", "X",
     f"https://x.com/Interior/status/{TWEET_ID}", "@Interior"),
    # Bluesky
    (f"https://bsky.app/profile/bsky.app/post/{BSKY_POST}", "social", "Bluesky",
     f"https://bsky.app/profile/bsky.app/post/{BSKY_POST}", "@bsky.app"),
    (f"https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/{BSKY_POST}?ref_src=embed",
     "social", "Bluesky",
     f"https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/{BSKY_POST}", ""),
    # Mastodon, any instance
    (f"https://mastodon.social/@Gargron/{TOOT_ID}", "social", "Mastodon",
     f"https://mastodon.social/@Gargron/{TOOT_ID}", "@Gargron@mastodon.social"),
    (f"https://hachyderm.io/@alice@fosstodon.org/{TOOT_ID}", "social", "Mastodon",
     f"https://hachyderm.io/@alice@fosstodon.org/{TOOT_ID}", "@alice@fosstodon.org"),
    (f"https://social.example.coop/users/bob/statuses/{TOOT_ID}", "social", "Mastodon",
     f"https://social.example.coop/@bob/{TOOT_ID}", "@bob@social.example.coop"),
    (f"https://mastodon.social/@Gargron/{TOOT_ID}/embed", "social", "Mastodon",
     f"https://mastodon.social/@Gargron/{TOOT_ID}", "@Gargron@mastodon.social"),
    # Threads
    ("https://www.threads.net/@zuck/post/C8XwQkZR2Zx", "social", "Threads",
     "https://www.threads.net/@zuck/post/C8XwQkZR2Zx", "@zuck"),
    ("https://www.threads.com/@zuck/post/C8XwQkZR2Zx?xmt=AQGz", "social", "Threads",
     "https://www.threads.com/@zuck/post/C8XwQkZR2Zx", "@zuck"),
    # Instagram
    ("https://www.instagram.com/p/C1a2B3c4D5e/?igsh=MXh4", "social", "Instagram",
     "https://www.instagram.com/p/C1a2B3c4D5e/", ""),
    ("https://instagram.com/natgeo/p/C1a2B3c4D5e/", "social", "Instagram",
     "https://www.instagram.com/p/C1a2B3c4D5e/", "@natgeo"),
    ("https://www.instagram.com/reel/C1a2B3c4D5e/", "video", "Instagram",
     "https://www.instagram.com/reel/C1a2B3c4D5e/", ""),
    ("https://www.instagram.com/tv/C1a2B3c4D5e", "video", "Instagram",
     "https://www.instagram.com/reel/C1a2B3c4D5e/", ""),
    # Facebook
    ("https://www.facebook.com/BBCNews/posts/pfbid02abcDEF123?__cft__[0]=x", "social", "Facebook",
     "https://www.facebook.com/BBCNews/posts/pfbid02abcDEF123", ""),
    ("https://m.facebook.com/permalink.php?story_fbid=pfbid0abc&id=1000&mibextid=x", "social",
     "Facebook", "https://www.facebook.com/permalink.php?story_fbid=pfbid0abc&id=1000", ""),
    ("https://www.facebook.com/groups/123456/posts/789012/", "social", "Facebook",
     "https://www.facebook.com/groups/123456/posts/789012/", ""),
    ("https://www.facebook.com/photo/?fbid=12345&set=a.678", "social", "Facebook",
     "https://www.facebook.com/photo/?fbid=12345", ""),
    ("https://www.facebook.com/share/p/1AbCdEfGh/", "social", "Facebook",
     "https://www.facebook.com/share/p/1AbCdEfGh/", ""),
    ("https://www.facebook.com/BBCNews/videos/1234567890/", "video", "Facebook",
     "https://www.facebook.com/BBCNews/videos/1234567890/", ""),
    ("https://www.facebook.com/watch/?v=1234567890&ref=sharing", "video", "Facebook",
     "https://www.facebook.com/watch/?v=1234567890", ""),
    ("https://www.facebook.com/reel/1234567890", "video", "Facebook",
     "https://www.facebook.com/reel/1234567890", ""),
    ("https://fb.watch/abCD12_x/?mibextid=q", "video", "Facebook",
     "https://fb.watch/abCD12_x/", ""),
    # TikTok
    (f"https://www.tiktok.com/@scout2015/video/{TIKTOK_ID}?lang=en", "video", "TikTok",
     f"https://www.tiktok.com/@scout2015/video/{TIKTOK_ID}", "@scout2015"),
    (f"https://www.tiktok.com/@scout2015/photo/{TIKTOK_ID}", "social", "TikTok",
     f"https://www.tiktok.com/@scout2015/photo/{TIKTOK_ID}", "@scout2015"),
    ("https://vm.tiktok.com/ZMabc123/", "video", "TikTok", "https://vm.tiktok.com/ZMabc123/", ""),
    ("https://www.tiktok.com/t/ZTabc123/", "video", "TikTok",
     "https://www.tiktok.com/t/ZTabc123/", ""),
    # YouTube, every shape
    (f"https://www.youtube.com/watch?v={YT}", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://www.youtube.com/watch?feature=share&v={YT}&list=PL1&index=2", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://www.youtube.com/watch?v={YT}&t=1m30s", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}&t=90s", ""),
    (f"https://www.youtube.com/watch?v={YT}&t=1h2m3s", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}&t=3723s", ""),
    (f"https://www.youtube.com/watch?v={YT}#t=90", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}&t=90s", ""),
    (f"https://youtu.be/{YT}", "video", "YouTube", f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://youtu.be/{YT}?si=Tr4ck1ng&t=43", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}&t=43s", ""),
    (f"youtu.be/{YT}", "video", "YouTube", f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://m.youtube.com/watch?v={YT}", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://music.youtube.com/watch?v={YT}", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://www.youtube.com/shorts/{YT}", "video", "YouTube",
     f"https://www.youtube.com/shorts/{YT}", ""),
    (f"https://youtube.com/shorts/{YT}?feature=share", "video", "YouTube",
     f"https://www.youtube.com/shorts/{YT}", ""),
    (f"https://www.youtube.com/embed/{YT}?start=90", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}&t=90s", ""),
    (f"https://www.youtube-nocookie.com/embed/{YT}", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://www.youtube.com/live/{YT}?si=x", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    (f"https://www.youtube.com/v/{YT}", "video", "YouTube",
     f"https://www.youtube.com/watch?v={YT}", ""),
    # Vimeo
    ("https://vimeo.com/76979871", "video", "Vimeo", "https://vimeo.com/76979871", ""),
    ("https://vimeo.com/76979871#t=30s", "video", "Vimeo", "https://vimeo.com/76979871#t=30s", ""),
    ("https://vimeo.com/76979871/8272103f6e", "video", "Vimeo",
     "https://vimeo.com/76979871/8272103f6e", ""),
    ("https://vimeo.com/channels/staffpicks/76979871", "video", "Vimeo",
     "https://vimeo.com/76979871", ""),
    ("https://vimeo.com/groups/shortfilms/videos/76979871", "video", "Vimeo",
     "https://vimeo.com/76979871", ""),
    ("https://vimeo.com/showcase/1234/video/76979871", "video", "Vimeo",
     "https://vimeo.com/76979871", ""),
    ("https://player.vimeo.com/video/76979871?h=8272103f6e", "video", "Vimeo",
     "https://vimeo.com/76979871/8272103f6e", ""),
    # Anything else
    ("https://www.bbc.co.uk/news/live/uk-123", "link", "", "https://www.bbc.co.uk/news/live/uk-123",
     ""),
    ("http://example.com/Report.pdf", "link", "", "http://example.com/Report.pdf", ""),
    ("HTTPS://Example.COM/Path?q=1#frag", "link", "", "https://example.com/Path?q=1#frag", ""),
]  # fmt: skip


@pytest.mark.parametrize(("pasted", "kind", "provider", "url", "handle"), URL_SHAPES)
def test_every_url_shape_is_recognised(pasted, kind, provider, url, handle):
    fields = recognise(pasted)
    assert (fields.kind, fields.provider, fields.url, fields.author_handle) == (
        kind,
        provider,
        url,
        handle,
    )


# Near misses: a provider's host or shape, but not a post or video. A link card, never a guess.
NEAR_MISSES = [
    "https://x.com/Interior",
    "https://x.com/Interior/status/not-a-number",
    "https://x.com/Interior/likes",
    f"https://x.com.evil.example/Interior/status/{TWEET_ID}",
    f"https://notx.com/Interior/status/{TWEET_ID}",
    "https://bsky.app/profile/bsky.app",
    "https://bsky.app/profile/bsky.app/feed/whats-hot",
    "https://mastodon.social/@Gargron",
    "https://mastodon.social/@Gargron/following",
    "https://medium.com/@writer/a-story-title-1a2b3c",
    "https://www.threads.net/@zuck",
    "https://www.instagram.com/natgeo/",
    "https://www.instagram.com/explore/tags/floods/",
    "https://www.facebook.com/BBCNews",
    "https://www.facebook.com/permalink.php?id=1000",
    "https://www.facebook.com/watch/",
    "https://www.tiktok.com/@scout2015",
    "https://www.tiktok.com/tag/foryou",
    "https://www.youtube.com/watch?v=tooShort",
    f"https://www.youtube.com/watch?v={YT}x",
    "https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs",
    "https://www.youtube.com/@BBCNews",
    "https://www.youtube.com/channel/UC16niRr50-MSBwiO3YDb3RA",
    "https://youtu.be/",
    f"https://www.youtube.com.evil.example/watch?v={YT}",
    f"https://notyoutube.com/watch?v={YT}",
    "https://vimeo.com/channels/staffpicks",
    "https://vimeo.com/about",
    "https://player.vimeo.com/api/player.js",
]


@pytest.mark.parametrize("pasted", NEAR_MISSES)
def test_near_misses_fall_back_to_a_link_card(pasted):
    fields = recognise(pasted)
    assert (fields.kind, fields.provider) == ("link", "")
    assert fields.url.startswith("https://")


def test_dates_are_read_from_post_ids():
    assert recognise(f"https://x.com/Interior/status/{TWEET_ID}").posted_at == TWEET_TIME
    assert recognise(f"https://mastodon.social/@Gargron/{TOOT_ID}").posted_at == TOOT_TIME
    assert recognise(f"https://bsky.app/profile/a.b/post/{BSKY_POST}").posted_at == BSKY_TIME
    tiktok = recognise(f"https://www.tiktok.com/@scout2015/video/{TIKTOK_ID}")
    assert tiktok.posted_at == TIKTOK_TIME
    # Ids from before a scheme (X's first tweet, an old Mastodon) carry no date.
    assert recognise("https://twitter.com/jack/status/20").posted_at is None
    assert recognise("https://old.example/@admin/42").posted_at is None


def test_international_hosts_are_shown_as_what_they_really_are():
    assert recognise("https://bücher.example/x").url == "https://xn--bcher-kva.example/x"
    # Cyrillic letters that look like "apple.com".
    assert recognise("https://аррӏе.com/").url == "https://xn--80ak6aa92e.com/"


# Video players -------------------------------------------------------------------------


NOCOOKIE = f"https://www.youtube-nocookie.com/embed/{YT}?autoplay=1"
VIMEO = "https://player.vimeo.com/video/76979871"


@pytest.mark.parametrize(
    ("url", "player", "provider", "portrait"),
    [
        (f"https://www.youtube.com/watch?v={YT}", NOCOOKIE, "YouTube", False),
        (f"https://www.youtube.com/watch?v={YT}&t=90s", NOCOOKIE + "&start=90", "YouTube", False),
        (f"https://youtu.be/{YT}?t=1m", NOCOOKIE + "&start=60", "YouTube", False),
        (f"https://www.youtube.com/shorts/{YT}", NOCOOKIE, "YouTube", True),
        ("https://vimeo.com/76979871", VIMEO + "?dnt=1&autoplay=1", "Vimeo", False),
        (
            "https://vimeo.com/76979871/8272103f6e#t=30s",
            VIMEO + "?h=8272103f6e&dnt=1&autoplay=1#t=30s",
            "Vimeo",
            False,
        ),
    ],
)
def test_videos_get_a_privacy_friendly_player(url, player, provider, portrait):
    assert video_player(url) == (player, provider, portrait)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.tiktok.com/@scout2015/video/1",
        "https://example.com/video.mp4",
        f"javascript:alert(1)//https://www.youtube.com/watch?v={YT}",
        f"https://www.youtube.com.evil.example/watch?v={YT}",
        "",
    ],
)
def test_only_youtube_and_vimeo_links_get_a_player(url):
    assert video_player(url) is None


# Bad input: the message says what was expected -------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "Expected a link starting https://"),
        ("just some words", "Expected a link starting https://"),
        ("javascript:alert(document.cookie)", "not “javascript:”"),
        ("JaVaScRiPt:alert(1)", "must start with https:// or http://"),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "not “data:”"),
        ("vbscript:msgbox(1)", "not “vbscript:”"),
        ("ftp://example.com/file", "not “ftp:”"),
        ("https://exa mple.com/", "not a valid web link"),
        ("https://", "not a valid web link"),
        ("https://user:secret@example.com/", "user name or password"),
        ("https://x.com/" + "a" * 2100, "too long"),
        ("<div>Hello</div>", "embed code was not recognised"),
        ("<p>Copied text</p>", "Expected a link starting https://"),
        ('<blockquote class="twitter-tweet"><p>No link</p></blockquote>', "no link to a post"),
        (
            '<blockquote class="twitter-tweet"><p>Hi</p>&mdash; A (@a) '
            '<a href="https://evil.example/a/status/1">May 5, 2014</a></blockquote>',
            "its link is not a X post",
        ),
        ('<iframe src="https://evil.example/player"></iframe>', "no link to a post or video"),
    ],
)
def test_unusable_pastes_say_what_was_expected(pasted, message):
    with pytest.raises(EmbedError, match=message) as raised:
        recognise(pasted)
    assert isinstance(raised.value, ValueError)


# Embed codes -----------------------------------------------------------------------------


def embed_code(name: str) -> str:
    """A provider's embed code, as its site gives it (tests/embed_codes/)."""
    return (Path(__file__).parent / "embed_codes" / f"{name}.html").read_text()


TWEET_CODE = embed_code("x")

BLUESKY_CODE = embed_code("bluesky")

MASTODON_CODE = embed_code("mastodon")

MASTODON_IFRAME_CODE = embed_code("mastodon-iframe")

INSTAGRAM_CODE = embed_code("instagram")

INSTAGRAM_OLD_CODE = embed_code("instagram-captioned")

THREADS_CODE = embed_code("threads")

TIKTOK_CODE = embed_code("tiktok")

YOUTUBE_CODE = embed_code("youtube")

VIMEO_CODE = embed_code("vimeo")

FACEBOOK_CODE = embed_code("facebook")


def test_x_embed_code():
    fields = recognise(TWEET_CODE)
    assert fields.kind == "social"
    assert fields.provider == "X"
    assert fields.url == f"https://x.com/Interior/status/{TWEET_ID}"
    assert fields.author_name == "US Department of the Interior"
    assert fields.author_handle == "@Interior"
    assert fields.text == (
        "Sunsets don't get much better than this one over @GrandTetonNPS. #nature "
        "pic.twitter.com/YuKy2rcjyU"
    )
    assert fields.posted_at == TWEET_TIME


def test_x_embed_code_without_a_snowflake_uses_its_date_line():
    code = TWEET_CODE.replace(TWEET_ID, "20")
    assert recognise(code).posted_at == dt.datetime(2014, 5, 5, tzinfo=UTC)


def test_bluesky_embed_code():
    fields = recognise(BLUESKY_CODE)
    assert (fields.kind, fields.provider) == ("social", "Bluesky")
    assert fields.url == (
        f"https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/{BSKY_POST}"
    )
    assert (fields.author_name, fields.author_handle) == ("Bluesky", "@bsky.app")
    assert fields.text == "Roads closed near the river.\n\nStay safe & check before travelling."
    assert fields.posted_at == BSKY_TIME


def test_mastodon_embed_codes_new_and_old():
    for code in (MASTODON_CODE, MASTODON_IFRAME_CODE):
        fields = recognise(code)
        assert (fields.kind, fields.provider) == ("social", "Mastodon")
        assert fields.url == f"https://mastodon.social/@Gargron/{TOOT_ID}"
        assert fields.author_handle == "@Gargron@mastodon.social"
        assert fields.posted_at == TOOT_TIME
        # The code carries no text of the post: nothing is made up.
        assert fields.text == ""


def test_instagram_embed_codes():
    fields = recognise(INSTAGRAM_CODE)
    assert (fields.kind, fields.provider) == ("social", "Instagram")
    assert fields.url == "https://www.instagram.com/p/C1a2B3c4D5e/"
    assert (fields.author_name, fields.author_handle) == ("National Geographic", "@natgeo")
    assert fields.text == ""

    older = recognise(INSTAGRAM_OLD_CODE)
    assert older.url == "https://www.instagram.com/p/C1a2B3c4D5e/"
    assert (older.author_name, older.author_handle) == ("National Geographic", "@natgeo")
    assert older.text == "Flood water reaches the high street this morning."
    assert older.posted_at == dt.datetime(2026, 11, 25, 8, 15, tzinfo=UTC)


def test_threads_tiktok_and_facebook_embed_codes():
    threads = recognise(THREADS_CODE)
    assert (threads.provider, threads.author_handle) == ("Threads", "@zuck")
    assert threads.url == "https://www.threads.net/@zuck/post/C8XwQkZR2Zx"

    tiktok = recognise(TIKTOK_CODE)
    assert (tiktok.kind, tiktok.provider, tiktok.author_handle) == ("video", "TikTok", "@scout2015")
    assert tiktok.text == "Scramble up ur name & I’ll try to guess it #foryoupage"
    assert tiktok.posted_at == TIKTOK_TIME

    facebook = recognise(FACEBOOK_CODE)
    assert (facebook.kind, facebook.provider) == ("social", "Facebook")
    assert facebook.url == "https://www.facebook.com/BBCNews/posts/pfbid02abcDEF123"


def test_video_embed_codes():
    youtube = recognise(YOUTUBE_CODE)
    assert (youtube.kind, youtube.provider) == ("video", "YouTube")
    assert youtube.url == f"https://www.youtube.com/watch?v={YT}&t=42s"

    vimeo = recognise(VIMEO_CODE)
    assert (vimeo.kind, vimeo.provider) == ("video", "Vimeo")
    assert vimeo.url == "https://vimeo.com/76979871/8272103f6e"


def test_embed_codes_give_text_only_never_markup():
    code = TWEET_CODE.replace(
        "Sunsets",
        '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
        '<b onclick="x()">Bold</b> <iframe srcdoc="&lt;script&gt;"></iframe>Sunsets',
    )
    fields = read_embed_code(code)
    assert fields.text.startswith("Bold Sunsets don't")
    for value in fields.as_dict().values():
        assert "<" not in str(value)
        assert "__xss" not in str(value)


def test_an_embed_code_whose_links_are_all_hostile_is_refused():
    code = TWEET_CODE.replace(
        f"https://twitter.com/Interior/status/{TWEET_ID}?ref_src=twsrc%5Etfw", "javascript:alert(1)"
    ).replace("https://t.co/YuKy2rcjyU", "data:text/html,x")
    with pytest.raises(EmbedError, match="its link is not a X post"):
        recognise(code)


# The admin form ----------------------------------------------------------------------------


@pytest.fixture
def editor_client(client, db):
    client.force_login(make_editor())
    return client


def post_update(client, story, embeds=(), **fields):
    data = admin_update_form(story, embeds, **fields)
    return client.post(reverse("admin:coverage_update_add"), data)


def test_the_admin_inline_has_the_paste_field_first(editor_client):
    story = make_story()
    html = editor_client.get(reverse("admin:coverage_update_add") + f"?story={story.pk}")
    html = html.content.decode()
    assert "Paste a link or embed code" in html
    assert html.index('name="embeds-__prefix__-paste"') < html.index(
        'name="embeds-__prefix__-kind"'
    )


def test_pasting_a_youtube_link_makes_a_video_card(editor_client, client):
    story = make_story()
    response = post_update(
        editor_client, story, [{"paste": f"https://youtu.be/{YT}?t=43&si=tracker"}]
    )
    assert response.status_code == 302
    embed = Embed.objects.get()
    assert (embed.kind, embed.provider) == (Embed.Kind.VIDEO, "YouTube")
    assert embed.url == f"https://www.youtube.com/watch?v={YT}&t=43s"
    html = client.get(story.get_absolute_url()).content.decode()
    player = f"https://www.youtube-nocookie.com/embed/{YT}?autoplay=1&amp;start=43"
    assert f'data-player-url="{player}"' in html
    # Untitled (nothing fetched yet): named by its provider, never by its raw address.
    assert 'data-player-title="YouTube video player"' in html
    assert '<p class="link-title"><a href="https://www.youtube.com/watch?v=' in html
    assert 'rel="noopener noreferrer nofollow">Video on YouTube</a></p>' in html
    assert f">https://www.youtube.com/watch?v={YT}&amp;t=43s</a>" not in html
    assert 'Play <span class="video-play-note">(loads YouTube)</span>' in html
    assert "<iframe" not in html


def test_pasting_an_x_link_makes_a_social_card_linking_to_the_post(editor_client, client):
    story = make_story()
    post_update(editor_client, story, [{"paste": f"https://x.com/Interior/status/{TWEET_ID}"}])
    embed = Embed.objects.get()
    # The post's text is not in its link: the card links to it until text arrives.
    assert (embed.kind, embed.provider, embed.author_handle) == ("social", "X", "@Interior")
    assert embed.text == ""
    assert embed.posted_at == TWEET_TIME
    html = client.get(story.get_absolute_url()).content.decode()
    card = html[html.index('<figure class="embed embed-social">') :]
    card = card[: card.index("</figure>")]
    # Only the link is known: the card says whose post it is, when, and where to read it,
    # instead of an empty quote with a blank author.
    assert "<blockquote" not in card
    assert "<strong></strong>" not in card
    assert re.search(r"</span> Post by <strong>@Interior</strong> on X</p>", card)
    assert 'data-provider="x" aria-hidden="true">X</span>' in card
    assert f'<time datetime="{TWEET_TIME.isoformat()}">{TWEET_TIME:%-d %B %Y}</time>' in card
    link = f'<a href="https://x.com/Interior/status/{TWEET_ID}" rel="noopener noreferrer nofollow">'
    assert f"{link}View the post on x.com</a>" in card


@pytest.mark.django_db
def test_a_social_post_with_text_but_no_author_name_is_headed_by_its_handle(client):
    story = make_story()
    make_embed(
        make_update(story),
        provider="X",
        author_name="",
        author_handle="@Interior",
        text="Roads closed",
    )
    html = client.get(story.get_absolute_url()).content.decode()
    assert "<strong></strong>" not in html
    assert '<blockquote class="social-post" cite="https://x.com/someone/status/1">' in html
    assert "</span> <strong>@Interior</strong></p>" in html
    assert "Roads closed" in html
    assert "View on x.com" in html


def test_an_x_link_with_its_text_typed_in_is_a_social_post(editor_client):
    story = make_story()
    post_update(
        editor_client,
        story,
        [{"paste": f"https://x.com/Interior/status/{TWEET_ID}", "text": "Typed from the post"}],
    )
    embed = Embed.objects.get()
    assert (embed.kind, embed.text) == ("social", "Typed from the post")


def test_pasting_an_embed_code_fills_the_card_and_keeps_no_html(editor_client, client):
    story = make_story()
    post_update(editor_client, story, [{"paste": TWEET_CODE, "author_name": "Interior Dept"}])
    embed = Embed.objects.get()
    assert embed.kind == Embed.Kind.SOCIAL
    assert embed.author_name == "Interior Dept"  # typed alongside: kept
    assert embed.author_handle == "@Interior"
    assert embed.text.startswith("Sunsets don't get much better")
    stored = Embed.objects.values().get()
    assert not any("<" in str(value) for value in stored.values())
    html = client.get(story.get_absolute_url()).content.decode()
    assert "platform.twitter.com" not in html
    assert "twitter-tweet" not in html
    assert "Sunsets don&#x27;t get much better" in html


@pytest.mark.parametrize(
    ("paste", "message"),
    [
        ("javascript:alert(1)", "Links must start with https:// or http://"),
        ("<blockquote>what is this</blockquote>", "embed code was not recognised"),
        ("not a link at all", "Expected a link starting https://"),
    ],
)
def test_a_bad_paste_is_a_form_error_and_the_update_is_kept(editor_client, paste, message):
    story = make_story()
    response = post_update(
        editor_client,
        story,
        [{"paste": paste}],
        headline="Kept headline",
        body="<p>Kept body text</p>",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    assert "Kept headline" in html
    assert "Kept body text" in html
    assert not Update.objects.exists()


def test_a_link_typed_in_the_url_field_decides_the_kind(editor_client):
    story = make_story()
    post_update(editor_client, story, [{"url": "https://vimeo.com/76979871"}])
    embed = Embed.objects.get()
    assert (embed.kind, embed.provider, embed.url) == (
        "video",
        "Vimeo",
        "https://vimeo.com/76979871",
    )


def test_no_kind_and_nothing_to_recognise_asks_for_one(editor_client):
    story = make_story()
    response = post_update(editor_client, story, [{"title": "Something"}])
    assert response.status_code == 200
    assert "Choose a kind, or paste a link or embed code above." in response.content.decode()
    assert not Update.objects.exists()


def test_control_characters_are_dropped_from_typed_text(editor_client):
    story = make_story()
    post_update(
        editor_client,
        story,
        [{"kind": "quote", "text": "Stay\x0b indoors\x08", "author_name": "Police\x1b"}],
    )
    embed = Embed.objects.get()
    assert (embed.text, embed.author_name) == ("Stay indoors", "Police")


# Rendering ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_policy_frames_only_the_two_video_players(client):
    story = make_story()
    response = client.get(story.get_absolute_url())
    directives = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert directives["frame-src"] == "https://www.youtube-nocookie.com https://player.vimeo.com"
    assert "youtube" not in directives["script-src"] + directives["img-src"]


@pytest.mark.django_db
def test_cards_render_the_same_static_way_on_the_page_in_the_poll_and_in_feeds(client):
    story = make_story(slug="cards")
    update = make_update(story)
    make_embed(
        update,
        kind="video",
        url=f"https://www.youtube.com/watch?v={YT}",
        provider="YouTube",
        title="Flood footage",
        text="",
    )
    make_embed(
        update, text="Water rising", provider="Bluesky", url="https://bsky.app/profile/a.b/post/x"
    )
    page = client.get(story.get_absolute_url()).content.decode()
    poll = client.get(reverse("coverage:poll", args=["cards"]), {"since": 0}).content.decode()
    rss = ET.fromstring(client.get(reverse("coverage:story-rss", args=["cards"])).content)
    feed_html = rss.find("channel/item").findtext("description")
    player = f"https://www.youtube-nocookie.com/embed/{YT}?autoplay=1"
    for html in (page, poll):
        assert f'data-player-url="{player}"' in html
        assert "Flood footage" in html
        assert 'data-provider="bluesky">Bluesky</span>' in html
        assert "<iframe" not in html
    # A feed reader runs no script: the video is a link there, and still no frame.
    assert "Flood footage" in feed_html
    assert f'href="https://www.youtube.com/watch?v={YT}"' in feed_html
    assert "data-player-url" not in feed_html
    assert "Water rising" in feed_html
    assert "<iframe" not in feed_html


@pytest.mark.django_db
def test_a_video_without_a_privacy_friendly_player_links_out(client):
    story = make_story()
    make_embed(
        make_update(story),
        kind="video",
        provider="TikTok",
        url=f"https://www.tiktok.com/@scout2015/video/{TIKTOK_ID}",
        text="",
    )
    html = client.get(story.get_absolute_url()).content.decode()
    assert "Watch on www.tiktok.com" in html
    assert "data-player-url" not in html


@pytest.mark.django_db
def test_links_show_their_real_host_and_legacy_bad_urls_are_not_links(client):
    story = make_story()
    update = make_update(story)
    make_embed(update, kind="link", url="https://аррӏе.com/login", title="Look-alike")
    legacy = make_embed(update, kind="link", url="https://example.com/", title="Legacy")
    Embed.objects.filter(pk=legacy.pk).update(url="javascript:alert(1)")
    html = client.get(story.get_absolute_url()).content.decode()
    assert "xn--80ak6aa92e.com" in html
    assert "javascript:" not in html
    assert "Legacy" in html


@pytest.mark.django_db
def test_base_template_loads_the_play_script(client):
    story = make_story()
    html = client.get(story.get_absolute_url()).content.decode()
    assert '<script src="/static/js/embeds.js" defer></script>' in html


def test_x_reserved_paths_are_not_handles():
    assert recognise(f"https://x.com/i/status/{TWEET_ID}").author_handle == ""
    assert recognise(f"https://x.com/iamdevloper/status/{TWEET_ID}").author_handle == "@iamdevloper"


@pytest.mark.django_db
def test_a_titled_video_names_its_player_frame_after_itself(client):
    story = make_story()
    make_embed(
        make_update(story),
        kind=Embed.Kind.VIDEO,
        url=f"https://www.youtube.com/watch?v={YT}",
        provider="YouTube",
        title="Flood barrier <closes>",
        author_name="",
        author_handle="",
        text="",
    )
    html = client.get(story.get_absolute_url()).content.decode()
    assert 'data-player-title="Flood barrier &lt;closes&gt;"' in html
    assert 'rel="noopener noreferrer nofollow">Flood barrier &lt;closes&gt;</a></p>' in html


# A known provider's link alone in the text (issue 19, item 3) ------------------------------

X_POST = "https://x.com/EastmouthCG/status/1861234567890123456"


def test_a_known_providers_link_alone_in_the_desks_text_becomes_its_card(editor_client):
    import uuid

    story = make_story()
    body = (
        "<p>The coastguard has posted this:</p>"
        f'<p><a href="{X_POST}">{X_POST}</a></p>'
        "<p>More soon.</p>"
        '<p><a href="https://example.org/closures">https://example.org/closures</a></p>'
        f"<ul><li><p>{X_POST}</p></li></ul>"
    )
    response = editor_client.post(
        reverse("admin:coverage_story_desk_compose", args=[story.pk]),
        {
            "client_token": str(uuid.uuid4()),
            "body": body,
            "intent": "publish",
            "embed-paste": f"https://youtu.be/{YT}",
        },
    )
    assert response.status_code in (200, 302)
    update = Update.objects.get()
    # The same card the embed field makes from that link, before the field's own.
    expected = recognise(X_POST)
    social, video = update.embeds.order_by("position")
    assert (social.kind, social.provider, social.url, social.author_handle) == (
        expected.kind,
        expected.provider,
        expected.url,
        expected.author_handle,
    )
    assert (video.kind, video.provider) == (Embed.Kind.VIDEO, "YouTube")
    assert update.body.count("x.com") == 1  # the list item's link is text, not a card
    assert "<p>The coastguard has posted this:</p>" in update.body
    assert "<p>More soon.</p>" in update.body
    # A link to an ordinary page stays a link in the text.
    assert 'href="https://example.org/closures"' in update.body


def test_a_known_providers_link_alone_in_the_admins_text_becomes_its_card(editor_client):
    story = make_story()
    response = post_update(editor_client, story, body=f"<p>Watch:</p><p>https://youtu.be/{YT}</p>")
    assert response.status_code == 302
    update = Update.objects.get()
    (card,) = update.embeds.all()
    assert (card.kind, card.provider) == (Embed.Kind.VIDEO, "YouTube")
    assert "youtu" not in update.body


def test_an_edit_that_adds_a_known_link_alone_adds_its_card_after_the_others(db):
    from coverage import publishing

    story = make_story()
    update = make_update(story, body="<p>Before.</p>")
    make_embed(update)
    edited = publishing.edit_update(
        update.pk,
        expected_version=update.version,
        body=f'<p>Before.</p><p><a href="{X_POST}">{X_POST}</a></p>',
    )
    cards = list(edited.embeds.order_by("position"))
    assert [card.url for card in cards] == ["https://x.com/someone/status/1", X_POST]
    assert cards[1].position > cards[0].position
    assert "x.com" not in edited.body
