"""Image embeds: uploaded with caption, credit and alt text; shown resized, lazily, sized."""

import io
import os
import re
import struct
import time
import zlib
from pathlib import PurePosixPath

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from coverage import images, publishing
from coverage.models import Embed, Update
from coverage.publishing import EmbedChanges
from tests.factories import committed, make_embed, make_story, make_update
from tests.test_embeds import editor_client, post_update  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

CAMERA = 0x010F  # EXIF "Make"
ORIENTATION = 0x0112


def picture(width, height, format="JPEG", mode="RGB", orientation=None, **save) -> bytes:
    image = Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else "red")
    exif = Image.Exif()
    exif[CAMERA] = "TestCam"
    if orientation:
        exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    if format == "JPEG":
        save["exif"] = exif.tobytes()
    image.save(buffer, format, **save)
    return buffer.getvalue()


def upload(data: bytes, name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def make_image_embed(update, data: bytes, name="photo.jpg") -> Embed:
    return make_embed(
        update,
        kind=Embed.Kind.IMAGE,
        image=upload(data, name),
        caption="Flood water on the high street",
        credit="Jane Doe/Agency",
        alt_text="A flooded street with shops on either side",
    )


def change_card(embed):
    """An editor's change to the card, as the admin's inline saves it."""
    update = embed.update
    with committed():
        publishing.edit_update(
            update.pk, expected_version=update.version, embeds=EmbedChanges(changed=[embed])
        )


def test_an_editor_uploads_an_image_and_readers_get_a_resized_lazy_sized_copy(
    editor_client,  # noqa: F811
    client,
):
    story = make_story()
    original = picture(4000, 3000)
    response = post_update(
        editor_client,
        story,
        [
            {
                "image": upload(original),
                "caption": "Flood water on the high street",
                "credit": "Jane Doe/Agency",
                "alt_text": "A flooded street",
            }
        ],
    )
    assert response.status_code == 302
    embed = Embed.objects.get()
    assert embed.kind == Embed.Kind.IMAGE  # an upload with no kind is an image
    # The original is kept as it came.
    assert (embed.image_width, embed.image_height) == (4000, 3000)
    with embed.image.open("rb") as stored:
        assert stored.read() == original
    # The display copy: 1280 wide, same shape, its size in its name.
    assert re.fullmatch(
        r"embeds/display/\d{4}/\d{2}/[0-9a-f]{32}-1280x960(_\w+)?\.jpg", embed.display_image.name
    )
    with embed.display_image.open("rb") as stored, Image.open(stored) as shown:
        assert shown.size == (1280, 960)
        assert shown.format == "JPEG"

    html = client.get(story.get_absolute_url()).content.decode()
    img = re.search(r"<img [^>]*>", html.split('class="update-body"')[1])[0]
    assert f'src="/media/{embed.display_image.name}"' in img
    assert 'width="1280" height="960"' in img
    assert 'loading="lazy"' in img and 'decoding="async"' in img
    assert 'alt="A flooded street"' in img
    assert "Flood water on the high street" in html
    assert "Jane Doe/Agency" in html


@pytest.mark.parametrize("missing", ["caption", "credit", "alt_text"])
def test_an_image_needs_caption_credit_and_alt_text(
    editor_client,  # noqa: F811
    missing,
):
    story = make_story()
    fields = {"caption": "A caption", "credit": "A credit", "alt_text": "Alt text"}
    fields[missing] = ""
    response = post_update(
        editor_client,
        story,
        [{"kind": "image", "image": upload(picture(50, 50)), **fields}],
        headline="Kept headline",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'id="id_embeds-0-{missing}_error"', html)
    assert escape(Embed.REQUIRED[Embed.Kind.IMAGE][missing]) in html
    assert "Kept headline" in html
    assert not Update.objects.exists()


def test_a_sideways_phone_photo_is_turned_upright_and_stripped_of_its_metadata():
    embed = make_image_embed(make_update(make_story()), picture(3000, 2000, orientation=6))
    assert "-1280x1920" in embed.display_image.name
    with embed.display_image.open("rb") as stored, Image.open(stored) as shown:
        assert shown.size == (1280, 1920)
        assert not shown.getexif()  # no orientation left to apply twice, no camera, no GPS
    with embed.image.open("rb") as stored, Image.open(stored) as original:
        assert original.getexif()[CAMERA] == "TestCam"  # the original keeps everything


def test_small_images_are_not_enlarged_and_transparency_is_kept():
    update = make_update(make_story())
    small = make_image_embed(update, picture(300, 200))
    assert "-300x200" in small.display_image.name
    logo = make_image_embed(update, picture(2000, 1000, "PNG", "RGBA"), "logo.png")
    assert re.search(r"[0-9a-f]{32}-1280x640(_\w+)?\.png$", logo.display_image.name)
    with logo.display_image.open("rb") as stored, Image.open(stored) as shown:
        assert shown.mode == "RGBA"


def test_an_animation_is_shown_as_uploaded(client):
    story = make_story()
    frames = [Image.new("RGB", (40, 30), color) for color in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    embed = make_image_embed(make_update(story), buffer.getvalue(), "spinner.gif")
    assert embed.display_image.name == embed.image.name
    html = client.get(story.get_absolute_url()).content.decode()
    assert f'src="/media/{embed.image.name}"' in html
    assert 'width="40" height="30"' in html


def test_a_new_upload_gets_a_new_rendition_and_removing_the_image_removes_it():
    embed = make_image_embed(make_update(make_story()), picture(2000, 1000))
    first = embed.display_image.name
    embed.image = upload(picture(1500, 1500), "square.jpg")
    change_card(embed)
    assert embed.display_image.name.endswith("-1280x1280.jpg")
    assert Embed.objects.get().display_image.name == embed.display_image.name != first
    embed.image = None
    change_card(embed)
    assert Embed.objects.get().display_image.name == ""


def test_an_unreadable_image_falls_back_to_the_upload_without_failing_the_save(caplog):
    embed = make_image_embed(make_update(make_story()), b"not an image at all")
    assert Embed.objects.get(pk=embed.pk).display_image.name == ""
    assert "Could not make the display image" in caplog.text
    assert images.display_picture(embed).url == embed.image.url


def test_rendering_the_card_opens_no_file(client, monkeypatch):
    story = make_story()
    make_image_embed(make_update(story), picture(2000, 1500))

    def no_file_access(*args, **kwargs):
        raise AssertionError("a page render opened an image file")

    monkeypatch.setattr(FileSystemStorage, "open", no_file_access)
    monkeypatch.setattr(Image, "open", no_file_access)
    html = client.get(story.get_absolute_url()).content.decode()
    assert 'width="1280" height="960"' in html


def test_renditions_go_through_the_configured_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    embed = make_image_embed(make_update(make_story()), picture(1600, 800))
    storage = embed.display_image.storage
    for name in (embed.image.name, embed.display_image.name):
        assert storage.exists(name)
        assert not (settings.MEDIA_ROOT / name).exists()  # not written around the storage


def test_feeds_give_images_absolute_addresses(client):
    story = make_story(slug="pictures")
    make_image_embed(make_update(story), picture(640, 480))
    page = client.get(story.get_absolute_url()).content.decode()
    assert 'src="/media/' in page
    for name in ("coverage:story-rss", "coverage:story-atom"):
        feed = client.get(reverse(name, kwargs={"slug": "pictures"})).content.decode()
        assert (
            "src=&quot;http://testserver/media/" in feed or 'src="http://testserver/media/' in feed
        )
        assert "src=&quot;/media/" not in feed


# Bounded decoding, renditions outside the lock, random names, clean-up -------


def sparse_png(width, height) -> bytes:
    """A real, valid 1-bit PNG of that size, all black: a few kilobytes on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\0" + b"\0" * ((width + 7) // 8)
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def image_card(data: bytes, name: str) -> dict:
    return {
        "kind": "image",
        "image": upload(data, name),
        "caption": "Flood water",
        "credit": "Jane Doe/Agency",
        "alt_text": "A flooded street",
    }


# Pillow's own warning (over 89 megapixels) comes as Django opens the upload.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_of_too_many_pixels_is_refused_from_its_header(editor_client, monkeypatch):  # noqa: F811
    huge = sparse_png(13300, 13300)
    assert len(huge) < 1024 * 1024

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    response = post_update(editor_client, make_story(), [image_card(huge, "huge.png")])
    assert response.status_code == 200
    assert "the limit is 40 megapixels" in response.content.decode()
    assert not Update.objects.exists()


def test_a_truncated_jpeg_is_refused_with_a_form_error(client):
    from tests.factories import make_editor
    from tests.test_desk import compose, login

    login(client, make_editor())
    story = make_story()
    whole = picture(800, 600)
    response = compose(
        client,
        story,
        headers={"HX-Request": "true"},
        body="Kept",
        image=upload(whole[: len(whole) // 2]),
        image_caption="Flood water",
        image_credit="Desk",
        image_alt="A flooded street",
    )
    assert response.status_code == 422
    assert "damaged or incomplete" in response.content.decode()
    assert not Update.objects.exists()


def test_the_display_copy_is_made_before_the_writes_transaction(monkeypatch):
    update = make_update(make_story())
    # The test's own transaction; the write's would add a savepoint to it.
    outside = list(connection.savepoint_ids)
    seen = []
    render = images.render_display_image

    def spy(source):
        seen.append(list(connection.savepoint_ids))
        return render(source)

    monkeypatch.setattr(images, "render_display_image", spy)
    embed = make_image_embed(update, picture(2000, 1000))
    assert seen == [outside]
    assert embed.display_image.name.endswith("-1280x640.jpg")


def test_uploaded_names_are_random_and_keep_the_extension():
    update = make_update(make_story())
    first = make_image_embed(update, picture(100, 100), "Minister leaving No 10.JPG")
    second = make_image_embed(update, picture(100, 100), "Minister leaving No 10.JPG")
    for embed in (first, second):
        name = PurePosixPath(embed.image.name)
        assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name.name)
        assert "Minister" not in embed.display_image.name
    assert first.image.name != second.image.name


def test_clean_media_deletes_orphans_and_keeps_referenced_files(settings):
    update = make_update(make_story())
    embed = make_image_embed(update, picture(2000, 1000))
    kept = [embed.image.name, embed.display_image.name]
    old_rendition = embed.display_image.name
    embed.image = upload(picture(1500, 1500), "replacement.jpg")
    change_card(embed)
    embed.refresh_from_db()
    kept = [embed.image.name, embed.display_image.name]
    orphans = [old_rendition, "embeds/2026/12/killed-mid-upload.jpg"]
    root = settings.MEDIA_ROOT
    (root / orphans[1]).parent.mkdir(parents=True, exist_ok=True)
    (root / orphans[1]).write_bytes(b"partial")
    fresh = root / "embeds/2026/12/being-written-now.jpg"
    fresh.write_bytes(b"partial")
    an_hour_ago = time.time() - 3700
    for path in root.rglob("*"):
        if path.is_file() and path != fresh:
            os.utime(path, (an_hour_ago, an_hour_ago))

    out = io.StringIO()
    call_command("clean_media", "--dry-run", stdout=out)
    assert all(name in out.getvalue() for name in orphans)
    assert (root / orphans[0]).exists()

    call_command("clean_media", stdout=io.StringIO())
    assert not any((root / name).exists() for name in orphans)
    assert all((root / name).exists() for name in kept)
    # Younger than an hour: a write that has not committed yet.
    assert fresh.exists()


# Decompression bombs and the one set of rules for every image input ----------


def forged_png(width, height) -> bytes:
    """A tiny valid PNG (1×1, grey) whose header claims width × height: the IHDR
    is rewritten with its CRC recomputed, so only decoding would find it out."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


STRIP_BOMB = (2, 19_999_999)
# Built before any test patches decoding away (saving a PNG decodes its pixels).
STRIP_BOMB_PNG = forged_png(*STRIP_BOMB)
SQUARE_BOMB_PNG = forged_png(20_000, 20_000)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any pixel is decoded: the refusal must come from the header."""

    def load(self, *args, **kwargs):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", load)


def lead_image_form(story, **fields) -> dict:
    data = {
        "title": story.title,
        "slug": story.slug,
        "status": story.status,
        "standfirst": story.standfirst,
        "lead_image_caption": "The bridge at dawn",
        "lead_image_credit": "Jane Doe/Agency",
        "lead_image_alt": "A stone bridge over a flooded river",
        "previous": "",
        "poll_mode": story.poll_mode,
        "reading_order": story.reading_order,
        "original_entry": "",
    }
    data.update(fields)
    return data


def post_story(client, story, **fields):
    url = reverse("admin:coverage_story_change", args=[story.pk])
    return client.post(url, lead_image_form(story, **fields))


def test_the_forged_header_is_a_valid_png_claiming_the_strip():
    with Image.open(io.BytesIO(STRIP_BOMB_PNG)) as image:
        assert image.size == STRIP_BOMB
        image.verify()  # every chunk's CRC is right


def test_a_strip_bomb_is_refused_on_the_desk_before_decoding(client, no_decoding):
    from tests.factories import make_editor
    from tests.test_desk import compose, login

    login(client, make_editor())
    response = compose(
        client,
        make_story(),
        headers={"HX-Request": "true"},
        body="Kept",
        image=upload(STRIP_BOMB_PNG, "strip.png"),
        image_caption="Flood water",
        image_credit="Desk",
        image_alt="A flooded street",
    )
    assert response.status_code == 422
    assert "19999999 pixels" in response.content.decode()
    assert not Update.objects.exists()


def test_a_strip_bomb_is_refused_in_the_admins_image_card(editor_client, no_decoding):  # noqa: F811
    response = post_update(editor_client, make_story(), [image_card(STRIP_BOMB_PNG, "strip.png")])
    assert response.status_code == 200
    assert "19999999 pixels" in response.content.decode()
    assert not Update.objects.exists()


def test_a_strip_bomb_is_refused_as_a_lead_image(editor_client, no_decoding):  # noqa: F811
    story = make_story()
    response = post_story(editor_client, story, lead_image=upload(STRIP_BOMB_PNG, "strip.png"))
    assert response.status_code == 200
    assert "19999999 pixels" in response.content.decode()
    story.refresh_from_db()
    assert not story.lead_image


# Bigger than twice Pillow's own limit: Pillow raises rather than warns.
def test_a_bomb_over_pillows_own_limit_is_refused_with_the_same_message(editor_client, no_decoding):  # noqa: F811
    story = make_story()
    response = post_story(editor_client, story, lead_image=upload(SQUARE_BOMB_PNG, "square.png"))
    assert response.status_code == 200
    assert "the limit is 40 megapixels" in response.content.decode()


def test_the_byte_limit_is_one_setting_for_every_image_input(editor_client, settings):  # noqa: F811
    settings.MAX_IMAGE_BYTES = 512 * 1024
    noise = Image.frombytes("RGB", (500, 500), os.urandom(500 * 500 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    big = buffer.getvalue()
    assert len(big) > settings.MAX_IMAGE_BYTES
    refusal = f"This image is {len(big) / 1024 / 1024:.1f} MB; the limit is 0.5 MB."
    story = make_story()
    lead = post_story(editor_client, story, lead_image=upload(big, "noise.png"))
    assert refusal in lead.content.decode()
    card = post_update(editor_client, story, [image_card(big, "noise.png")])
    assert refusal in card.content.decode()
    assert not Update.objects.exists()


@pytest.mark.parametrize("missing", ["lead_image_caption", "lead_image_credit", "lead_image_alt"])
def test_a_lead_image_needs_caption_credit_and_alt_text(editor_client, missing):  # noqa: F811
    story = make_story()
    response = post_story(editor_client, story, lead_image=upload(picture(50, 50)), **{missing: ""})
    assert response.status_code == 200
    assert re.search(rf'id="id_{missing}_error"', response.content.decode())
    story.refresh_from_db()
    assert not story.lead_image


def test_a_lead_image_gets_a_display_copy_without_metadata_used_everywhere(editor_client, client):  # noqa: F811
    story = make_story()
    response = post_story(
        editor_client, story, lead_image=upload(picture(3000, 2000, orientation=6))
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert "-1280x1920" in story.lead_image_display.name
    with story.lead_image_display.open("rb") as stored, Image.open(stored) as shown:
        assert shown.size == (1280, 1920)
        assert not shown.getexif()
    display = f"/media/{story.lead_image_display.name}"

    html = client.get(story.get_absolute_url()).content.decode()
    img = re.search(r'<figure class="lead-image">\s*<img [^>]*>', html)[0]
    assert f'src="{display}"' in img
    assert 'width="1280" height="1920"' in img
    assert f'"image": ["http://testserver{display}"]' in html  # JSON-LD
    assert f'<meta property="og:image" content="http://testserver{display}">' in html
    assert '<meta property="og:image:width" content="1280">' in html

    data = client.get(f"/api/v1/stories/{story.slug}").json()
    assert data["lead_image"]["url"] == f"http://testserver{display}"
    assert (data["lead_image"]["width"], data["lead_image"]["height"]) == (1280, 1920)

    # Removed with the upload.
    assert post_story(editor_client, story, **{"lead_image-clear": "on"}).status_code == 302
    story.refresh_from_db()
    assert not story.lead_image and not story.lead_image_display


def test_a_stored_file_put_in_place_of_the_lead_image_gets_its_own_display_copy(settings):
    story = publishing.create_story(
        slug="bridge",
        title="Bridge",
        lead_image=upload(picture(2000, 1000)),
        lead_image_caption="The bridge",
        lead_image_credit="Desk",
        lead_image_alt="A bridge",
    )
    first = story.lead_image_display.name
    assert first.endswith("-1280x640.jpg")
    other = make_story(slug="other")
    other.lead_image = upload(picture(1000, 1000))
    publishing.save_story(other)
    # An import's way: the other story's stored file, by name.
    story.lead_image.name = other.lead_image.name
    publishing.save_story(story)
    story.refresh_from_db()
    copy = story.lead_image_display.name
    assert copy != first
    assert "-1000x1000" in copy
    # Saved again unchanged: the copy is kept, not made again.
    publishing.save_story(story)
    story.refresh_from_db()
    assert story.lead_image_display.name == copy
