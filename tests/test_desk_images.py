"""The compose form's image pieces over HTTP: what static/js/desk-images.js works
with is on the page (the limit on the file field, the preview, the status and
the progress bar, hidden until the script shows them), in the form htmx swaps in
after a refused post too, and the page's policy lets the preview show (blob:).

The paste, drop, preview and progress themselves are
tests/browser/test_desk_images.py; the image's checks are tests/test_desk.py.
"""

import re
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coverage.models import Update

pytestmark = pytest.mark.django_db


def desk_page(client, story) -> str:
    response = client.get(reverse("admin:coverage_story_desk", args=[story.pk]))
    assert response.status_code == 200
    return response.content.decode()


def compose_form(html: str) -> str:
    match = re.search(r'<form id="compose".*?</form>', html, re.S)
    assert match, "no compose form"
    return match[0]


def assert_image_pieces(form: str) -> None:
    assert "{#" not in form and "{%" not in form  # no template tag shown as text
    image_input = re.search(r'<input type="file" name="image"[^>]*>', form)
    assert image_input, form
    assert f'data-max-bytes="{settings.MAX_IMAGE_BYTES}"' in image_input[0]
    assert 'accept="image/*"' in image_input[0]
    # Shown by the script only: without it the file field alone is offered.
    assert re.search(r'<p class="help desk-image-hint" hidden>', form)
    assert re.search(r'<div class="desk-image-preview" hidden>', form)
    assert re.search(r'<label class="desk-upload" hidden>[^<]*<progress ', form)
    assert '<button type="button" class="button desk-image-remove">Remove image</button>' in form
    assert '<p class="desk-image-status" aria-live="polite"></p>' in form


def test_the_desk_loads_the_image_script_and_styles_after_desk_js(client, story, editor):
    html = desk_page(client, story)
    assert re.search(r'<link rel="stylesheet" href="[^"]*css/desk-images\.css"', html)
    scripts = re.findall(r'<script src="[^"]*js/(desk(?:-images)?)\.js" defer>', html)
    assert scripts == ["desk", "desk-images"]


def test_the_compose_form_carries_what_the_image_script_works_with(client, story, editor):
    assert_image_pieces(compose_form(desk_page(client, story)))


def test_the_form_swapped_in_after_a_refused_image_has_them_too(client, story, editor):
    data = {
        "client_token": str(uuid.uuid4()),
        "body": "Kept",
        "intent": "publish",
        "image": SimpleUploadedFile("bad.png", b"not a png", content_type="image/png"),
        "image_alt": "Alt",
    }
    url = reverse("admin:coverage_story_desk_compose", args=[story.pk])
    response = client.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    form = compose_form(response.content.decode())
    assert_image_pieces(form)
    assert "Choose the image again." in form
    assert not Update.objects.exists()


def without_nonce(policy: str) -> str:
    return re.sub(r"'nonce-[^']+'", "'nonce'", policy)  # a new one per response


def test_the_policy_lets_the_desk_show_a_preview_from_this_machine(client, story, editor):
    response = client.get(reverse("admin:coverage_story_desk", args=[story.pk]))
    policy = response["Content-Security-Policy"]
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src")).split()
    assert "blob:" in img_src
    # Nothing else was opened up by it, and only the desk is.
    assert "'unsafe-inline'" not in policy
    reader_policy = client.get(story.get_absolute_url())["Content-Security-Policy"]
    assert "blob:" not in reader_policy
    # The other thing only the desk opens: frames of this site (the embed kit's preview).
    assert "frame-src 'self' " in policy and "frame-src 'self'" not in reader_policy
    desk_only = policy.replace(" blob:", "").replace("frame-src 'self' ", "frame-src ")
    assert without_nonce(desk_only) == without_nonce(reader_policy)
