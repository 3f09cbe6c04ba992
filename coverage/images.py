"""The display rendition of an uploaded image: resized once, on upload (see bench/images.py).

The upload is kept as it came. Pages show a copy no wider than DISPLAY_WIDTH
(twice the text column, for high-density screens), turned upright from its
EXIF orientation and stripped of its metadata (camera, GPS). Its size is part
of its name, so a page sets width and height without opening the file.

Photos become progressive JPEG: measured faster to make than WebP at a similar
size, and every browser and feed reader shows it. Images with transparency
become PNG, which keeps it.
"""

import io
import logging
import re
from pathlib import PurePosixPath
from typing import NamedTuple

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

DISPLAY_WIDTH = 1280
JPEG_QUALITY = 82
_SIZE_IN_NAME = re.compile(r"-(\d{1,5})x(\d{1,5})(?:_[A-Za-z0-9]+)?\.(?:jpg|png)$")
# EXIF orientations that turn the picture a quarter: width and height swap.
_QUARTER_TURNS = {5, 6, 7, 8}


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


def build_display_image(embed) -> str:
    """Make and store the embed's rendition through the storage API; return its name."""
    embed.image.open("rb")
    try:
        rendition = render_display_image(embed.image)
    finally:
        embed.image.close()
    if rendition is None:
        return embed.image.name
    stem = PurePosixPath(embed.image.name).stem[:60]
    name = f"{stem}-{rendition.width}x{rendition.height}.{rendition.extension}"
    embed.display_image.save(name, ContentFile(rendition.data), save=False)
    return embed.display_image.name


def refresh_display_image(embed, image_is_new: bool) -> None:
    """After an embed's save (coverage.publishing): make its display image when
    its upload is new or has none yet, drop it when the upload went."""
    if embed.image and (image_is_new or not embed.display_image):
        try:
            name = build_display_image(embed)
        except (OSError, ValueError, Image.DecompressionBombError):
            # The page falls back to the upload itself; the next save tries again.
            logger.exception("Could not make the display image of embed %s", embed.pk)
            return
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
