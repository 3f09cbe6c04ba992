"""The display rendition of an uploaded image: resized once, on upload (see bench/images.py).

The upload is kept as it came. Pages show a copy no wider than DISPLAY_WIDTH
(twice the text column, for high-density screens), turned upright from its
EXIF orientation and stripped of its metadata (camera, GPS). Its size is part
of its name, so a page sets width and height without opening the file.

Uploads are checked before they are accepted (``validate_upload``, the one
check of every image input): at most MAX_IMAGE_BYTES, then at most
MAX_IMAGE_PIXELS and MAX_IMAGE_SIDE by the header, before any pixel is
decoded, then every pixel decoded once, so a truncated file is a form error
rather than a stored one.
The display copy is made before the write's transaction
(``prepare_display_images``, called by coverage.publishing), so resizing never
holds the story's row lock; the transaction only stores it.

Photos become progressive JPEG: measured faster to make than WebP at a similar
size, and every browser and feed reader shows it. Images with transparency
become PNG, which keeps it.
"""

import io
import logging
import re
import uuid
import warnings
from pathlib import PurePosixPath
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

DISPLAY_WIDTH = 1280
JPEG_QUALITY = 82
_SIZE_IN_NAME = re.compile(r"-(\d{1,5})x(\d{1,5})(?:_[A-Za-z0-9]+)?\.(?:jpg|png)$")
# EXIF orientations that turn the picture a quarter: width and height swap.
_QUARTER_TURNS = {5, 6, 7, 8}


@deconstructible
class RandomName:
    """upload_to: a random name in a dated folder, keeping the extension, so an
    upload's name says nothing (an editor's file name can) and cannot be guessed."""

    def __init__(self, folder: str):
        self.folder = folder

    def __call__(self, instance, filename: str) -> str:
        extension = PurePosixPath(filename).suffix.lower()
        if not re.fullmatch(r"\.[a-z0-9]{1,5}", extension):
            extension = ""
        return f"{timezone.now():{self.folder}}{uuid.uuid4().hex}{extension}"

    def __eq__(self, other):
        return isinstance(other, RandomName) and other.folder == self.folder


def _refuse_size(width: int, height: int) -> None:
    """The declared size against MAX_IMAGE_PIXELS and MAX_IMAGE_SIDE (settings)."""
    limit, side = settings.MAX_IMAGE_PIXELS, settings.MAX_IMAGE_SIDE
    if width * height > limit or max(width, height) > side:
        raise ValidationError(
            f"This image is {width}×{height} pixels; the limit is {limit / 1e6:.0f} megapixels "
            f"and {side} pixels on its longer side. Save a smaller copy and upload that.",
            code="too_many_pixels",
        )


def check_declared_size(value) -> None:
    """Refuse an upload by its byte size and the size its header declares,
    before any pixel is decoded: a few hundred kilobytes can declare enough
    pixels to take gigabytes and seconds to decode (a decompression bomb)."""
    size = getattr(value, "size", None)
    if size is not None and size > settings.MAX_IMAGE_BYTES:
        raise ValidationError(
            f"This image is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.MAX_IMAGE_BYTES / 1024 / 1024:.3g} MB.",
            code="too_big",
        )
    source = getattr(value, "file", value)
    source.seek(0)
    try:
        # Pillow warns past its own MAX_IMAGE_PIXELS and raises past twice
        # that; either is a refusal here, with the same words as ours.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        raise _bomb_refusal(bomb) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Not an image, or a damaged one: the checks that follow say which.
        return
    finally:
        source.seek(0)
    _refuse_size(width, height)


def _bomb_refusal(bomb: Exception) -> ValidationError:
    """Our refusal, with the size Pillow named in its decompression-bomb message."""
    numbers = re.search(r"\((\d+) pixels\)", str(bomb))
    pixels = int(numbers[1]) if numbers else settings.MAX_IMAGE_PIXELS + 1
    return ValidationError(
        f"This image is {pixels / 1e6:.0f} megapixels; the limit is "
        f"{settings.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels. Save a smaller copy and upload that.",
        code="too_many_pixels",
    )


def _damaged() -> ValidationError:
    return ValidationError(
        "This image file is damaged or incomplete (perhaps cut short in the upload); "
        "open it on your computer, save it again and upload that.",
        code="damaged_image",
    )


def validate_upload(value) -> None:
    """The one check of every image input (the desk, the admin's image cards and
    lead image): the declared size first, then every pixel decoded once, so a
    truncated file is a form error rather than a stored one. A stored file was
    checked when it came."""
    if getattr(value, "_committed", False):
        return
    check_declared_size(value)
    source = getattr(value, "file", value)
    try:
        source.seek(0)
        with Image.open(source) as image:
            image.verify()
        source.seek(0)
        with Image.open(source) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise _damaged() from None
    finally:
        source.seek(0)


class CheckedImageField(forms.ImageField):
    """Django's ImageField opens and verifies the upload before any validator
    runs; this one checks the declared size first, so a bomb gets the clear
    refusal, not "not a valid image", and the file is never read further."""

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)
        if upload is not None:
            check_declared_size(upload)
        return super().to_python(data)


class Picture(NamedTuple):
    url: str
    width: int | None
    height: int | None


def display_size(width: int, height: int, max_width: int = DISPLAY_WIDTH) -> tuple[int, int]:
    """Never enlarged; narrowed to max_width keeping the shape."""
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


class Rendition(NamedTuple):
    data: bytes
    width: int
    height: int
    extension: str


def render_display_image(source) -> Rendition | None:
    """The display copy of an image file; None for an animation (shown as uploaded)."""
    with Image.open(source) as image:
        if getattr(image, "is_animated", False):
            return None
        quarter_turn = image.getexif().get(0x0112, 1) in _QUARTER_TURNS
        raw_width, raw_height = image.size
        shown = (raw_height, raw_width) if quarter_turn else (raw_width, raw_height)
        width, height = display_size(*shown)
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: several times faster than
        # decoding every pixel of a 12-megapixel photo and throwing most away.
        image.draft("RGB", (height, width) if quarter_turn else (width, height))
        upright = ImageOps.exif_transpose(image)
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
        if upright.size != (width, height):
            upright = upright.resize((width, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if has_alpha:
            upright.save(buffer, "PNG", optimize=True)
        else:
            upright.save(buffer, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
    return Rendition(buffer.getvalue(), width, height, "png" if has_alpha else "jpg")


# What prepare_display_images() left: no rendition could be made, or none was tried.
_FAILED = object()
_NOT_PREPARED = object()


def _needs_display_image(embed, image_is_new: bool) -> bool:
    return bool(embed.image) and (image_is_new or not embed.display_image)


def _render(embed) -> Rendition | None:
    return _render_file(embed.image)


def _render_file(upload) -> Rendition | None:
    if not upload._committed:
        source = upload.file
        source.seek(0)
        try:
            return render_display_image(source)
        finally:
            source.seek(0)
    upload.open("rb")
    try:
        return render_display_image(upload)
    finally:
        upload.close()


def prepare_display_images(embeds) -> None:
    """Render the display copies these embeds' saves will need, now: called
    before the write's transaction, so the resize holds no lock."""
    for embed in embeds:
        if _needs_display_image(embed, bool(embed.image) and not embed.image._committed):
            try:
                embed.prepared_rendition = _render(embed)
            except (OSError, ValueError, Image.DecompressionBombError):
                logger.exception("Could not make the display image of embed %s", embed.pk)
                embed.prepared_rendition = _FAILED


def build_display_image(embed, rendition: Rendition | None) -> str:
    """Store the embed's rendition through the storage API; return its name."""
    return _store(embed.image, embed.display_image, rendition)


def _store(upload, display, rendition: Rendition | None) -> str:
    if rendition is None:
        return upload.name
    stem = PurePosixPath(upload.name).stem[:60]
    name = f"{stem}-{rendition.width}x{rendition.height}.{rendition.extension}"
    display.save(name, ContentFile(rendition.data), save=False)
    return display.name


def refresh_display_image(embed, image_is_new: bool) -> None:
    """After an embed's save (coverage.publishing): make its display image when
    its upload is new or has none yet, drop it when the upload went."""
    if _needs_display_image(embed, image_is_new):
        # Made before the transaction (prepare_display_images), or here by a
        # caller that did not prepare it.
        rendition = embed.__dict__.pop("prepared_rendition", _NOT_PREPARED)
        if rendition is _NOT_PREPARED:
            try:
                rendition = _render(embed)
            except (OSError, ValueError, Image.DecompressionBombError):
                rendition = _FAILED
                logger.exception("Could not make the display image of embed %s", embed.pk)
        if rendition is _FAILED:
            # The page falls back to the upload itself; the next save tries again.
            return
        name = build_display_image(embed, rendition)
    elif not embed.image and embed.display_image:
        name = ""
    else:
        return
    embed.display_image.name = name
    # An UPDATE, not save(): the caller's write already counts this change.
    type(embed).objects.filter(pk=embed.pk).update(display_image=name)


def display_picture(embed) -> Picture | None:
    """What a page shows for an image embed, with its size; reads no file."""
    return _picture(embed.display_image) or (
        # No rendition (an animation, or one that failed): the upload as it is.
        Picture(embed.image.url, embed.image_width, embed.image_height) if embed.image else None
    )


def _picture(display) -> Picture | None:
    if display:
        size = _SIZE_IN_NAME.search(display.name)
        if size:
            return Picture(display.url, int(size[1]), int(size[2]))
    return None


# A story's lead image: the same display copy, made by coverage.publishing.save_story.


def prepare_lead_image(story):
    """The lead image's display copy, made before save_story's transaction when
    its upload is new or it has none yet; _NOT_PREPARED when none is needed."""
    if not story.lead_image or (
        story.lead_image._committed and _is_copy_of(story.lead_image_display, story.lead_image)
    ):
        return _NOT_PREPARED
    try:
        return _render_file(story.lead_image)
    except (OSError, ValueError, Image.DecompressionBombError):
        logger.exception("Could not make the display image of story %s's lead image", story.pk)
        return _FAILED


def _is_copy_of(display, upload) -> bool:
    """The display copy is named after its upload (_store): a stored file put in
    place of another (an import, a script) has none yet."""
    stem = PurePosixPath(upload.name).stem[:60]
    return bool(display) and PurePosixPath(display.name).name.startswith(f"{stem}-")


def refresh_lead_image(story, rendition) -> None:
    """After the story's save, in its transaction: store the prepared copy, or
    drop the old one when the upload went. The page falls back to the upload
    when no copy could be made (an animation, a failure); the next save tries again."""
    if rendition is _NOT_PREPARED:
        if story.lead_image or not story.lead_image_display:
            return
        name = ""
    elif rendition is _FAILED:
        return
    else:
        name = _store(story.lead_image, story.lead_image_display, rendition)
    story.lead_image_display.name = name
    # An UPDATE, not save(): the caller's write already counts this change.
    type(story).objects.filter(pk=story.pk).update(lead_image_display=name)


def lead_picture(story) -> Picture | None:
    """What pages, feeds and the API show as the story's lead image; reads no file."""
    if not story.lead_image:
        return None
    return _picture(story.lead_image_display) or Picture(story.lead_image.url, None, None)
