"""Resize on upload, or on the fly? Measures what each costs with the code the app uses.

For photos of typical sizes (a 2 MP web image, a 12 MP phone photo, a 24 MP
camera frame), as JPEG with realistic detail, it times:

  resize          making the display rendition (coverage/images.py: a JPEG),
                  which "on upload" pays once per image and "on the fly" pays
                  per uncached request (or per cache miss and per size asked for)
  no draft        the same without JPEG draft decoding, to show what it saves
  as WebP         the same rendition encoded as WebP q80 instead (time, size)
  serve rendition the cost of handing out an already-made rendition from
                  storage (what every request costs once resized on upload)

and prints bytes (original, rendition) and what a busy story would cost.

    .venv/bin/python bench/images.py [--rounds 5]
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import FileSystemStorage  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from coverage import images  # noqa: E402

SIZES = {"2 MP web image": (1600, 1200), "12 MP phone": (4032, 3024), "24 MP camera": (6000, 4000)}
# A busy live story: readers opening the page in its busiest minute, images on it.
READERS_PER_MINUTE = 5000
IMAGES_PER_PAGE = 10


def photo(width: int, height: int) -> bytes:
    """A JPEG with photo-like detail (noise over soft gradients), not a flat test card."""
    noise = Image.effect_noise((width // 4, height // 4), 40).resize((width, height))
    gradient = Image.linear_gradient("L").resize((width, height))
    picture = Image.merge(
        "RGB", (noise, gradient, noise.filter(ImageFilter.GaussianBlur(3)))
    ).filter(ImageFilter.DETAIL)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def timed(function, rounds: int) -> float:
    """Median wall time of one call, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def resize(data: bytes, draft: bool = True, webp: bool = False) -> bytes:
    """The app's rendition of an opaque photo, or a variant of it for comparison."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = images.display_size(*image.size)
        if draft:
            image.draft("RGB", (width, height))
        resized = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if webp:
            resized.save(buffer, "WEBP", quality=80, method=4)
        else:
            resized.save(
                buffer, "JPEG", quality=images.JPEG_QUALITY, progressive=True, optimize=True
            )
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    storage = FileSystemStorage(location=tempfile.mkdtemp(prefix="bench-images-"))
    print(f"Pillow {Image.__version__}, {rounds} rounds, median ms; display width "
          f"{images.DISPLAY_WIDTH}px, JPEG q{images.JPEG_QUALITY}\n")  # fmt: skip
    header = f"{'image':<16} {'original':>9} {'rendition':>9} {'resize':>8} "
    header += f"{'no draft':>9} {'as WebP':>16} {'serve':>7}"
    print(header)
    results = {}
    for label, (width, height) in SIZES.items():
        original = photo(width, height)
        rendered = images.render_display_image(io.BytesIO(original)).data
        name = storage.save("rendition.jpg", ContentFile(rendered))

        def serve(name=name):
            with storage.open(name, "rb") as file:
                file.read()

        resize_ms = timed(
            lambda data=original: images.render_display_image(io.BytesIO(data)), rounds
        )
        no_draft_ms = timed(lambda data=original: resize(data, draft=False), rounds)
        webp_ms = timed(lambda data=original: resize(data, webp=True), rounds)
        webp_kb = len(resize(original, webp=True)) / 1e3
        serve_ms = timed(serve, rounds * 20)
        results[label] = resize_ms, serve_ms
        print(
            f"{label:<16} {len(original) / 1e6:>7.2f}MB {len(rendered) / 1e3:>7.0f}kB "
            f"{resize_ms:>8.1f} {no_draft_ms:>9.1f} {webp_ms:>7.1f} ({webp_kb:>4.0f}kB) "
            f"{serve_ms:>7.3f}"
        )

    resize_ms, serve_ms = results["12 MP phone"]
    requests = READERS_PER_MINUTE * IMAGES_PER_PAGE
    print(
        f"\nA busy minute: {READERS_PER_MINUTE} readers x {IMAGES_PER_PAGE} phone photos = "
        f"{requests} image requests."
    )
    print(f"  on the fly, uncached:  {requests * resize_ms / 1000:>8.1f} CPU-seconds per minute")
    print(f"  on upload:             {IMAGES_PER_PAGE * resize_ms / 1000:>8.1f} CPU-seconds, once")
    print(f"                       + {requests * serve_ms / 1000:>8.2f} s of file reads per minute")
    print(
        "  (on the fly with a cache still pays the resize on every miss and per size, inside a\n"
        "   reader's request, and needs a view or an image server in front of the storage.)"
    )


if __name__ == "__main__":
    main()
