"""The display rendition of an uploaded image: resized once, on upload (see bench/images.py).

The upload is kept as it came. Pages show a copy no wider than DISPLAY_WIDTH
(twice the text column, for high-density screens), turned upright from its
EXIF orientation and stripped of its metadata (camera, GPS). Its size is part
of its name, so a page sets width and height without opening the file.

Uploads are checked before they are accepted (``validate_upload``): at most
MAX_PIXELS by the header, before any pixel is decoded, then every pixel
decoded once, so a truncated file is a form error rather than a stored one.
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
from pathlib import PurePosixPath
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

DISPLAY_WIDTH = 1280
JPEG_QUALITY = 82
_SIZE_IN_NAME = re.compile(r"-(\d{1,5})x(\d{1,5})(?:_[A-Za-z0-9]+)?\.(?:jpg|png)$")
# A 40-megapixel image takes about 160 MB to decode; a few-hundred-kilobyte PNG
# can claim 177 megapixels (2.2 GB and half a minute). Checked from the header.
MAX_PIXELS = 40_000_000
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


def validate_upload(value) -> None:
    """A new upload's pixel count (from its header) and every pixel decoded;
    a stored file was checked when it came."""
    if getattr(value, "_committed", False):
        return
    source = getattr(value, "file", value)
    try:
        source.seek(0)
        with Image.open(source) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError(
                    f"This image is {width}×{height} pixels ({width * height / 1e6:.0f} "
                    f"megapixels); the limit is {MAX_PIXELS / 1e6:.0f} megapixels.",
                    code="too_many_pixels",
                )
            image.verify()
        source.seek(0)
        with Image.open(source) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise ValidationError(
            "This image file is damaged or incomplete (perhaps cut short in the upload); "
            "open it on your computer, save it again and upload that.",
            code="damaged_image",
        ) from None
    finally:
        source.seek(0)


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
    if not embed.image._committed:
        source = embed.image.file
        source.seek(0)
        try:
            return render_display_image(source)
        finally:
            source.seek(0)
    embed.image.open("rb")
    try:
        return render_display_image(embed.image)
    finally:
        embed.image.close()


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
    if rendition is None:
        return embed.image.name
    stem = PurePosixPath(embed.image.name).stem[:60]
    name = f"{stem}-{rendition.width}x{rendition.height}.{rendition.extension}"
    embed.display_image.save(name, ContentFile(rendition.data), save=False)
    return embed.display_image.name


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
    if embed.display_image:
        size = _SIZE_IN_NAME.search(embed.display_image.name)
        if size:
            return Picture(embed.display_image.url, int(size[1]), int(size[2]))
    if embed.image:
        # No rendition (an animation, or one that failed): the upload as it is.
        return Picture(embed.image.url, embed.image_width, embed.image_height)
    return None
