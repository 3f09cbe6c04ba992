"""The compose form's image in a real browser (static/js/desk-images.js), at
desktop and phone sizes: an image pasted into the update or dropped on the form
goes into the image field, not into the text; its preview shows beside its alt
text, caption and credit, with Remove; the upload's progress shows while the form
posts; what is not an image is refused in front of the editor, and what the
server refuses still comes back as the form's error with the text kept. Without
JavaScript the plain file field posts.

The server's side of the image (its checks, the embed it becomes) is
tests/test_desk.py; the page's pieces over HTTP are tests/test_desk_images.py.
"""

import base64
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from coverage.models import Embed, Update
from tests.browser.axe import axe_source, describe, failing, run_axe
from tests.browser.support import (
    DESK_SIZES,
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    open_desk,
    open_story,
    write_update,
)
from tests.factories import make_editor, make_story

pytestmark = pytest.mark.browser

IMAGE_FIELDS = {
    "image_alt": "Sandbags stacked across a shop door",
    "image_caption": "Shops on the high street at noon.",
    "image_credit": "Desk photographer",
}


def png_bytes(size=(96, 64)) -> bytes:
    """A small real PNG, in two colours so that a preview of it is visibly there."""
    image = Image.new("RGB", size, (30, 90, 160))
    image.paste((230, 180, 40), (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def as_file(data: bytes, name: str, mime: str) -> dict:
    return {"base64": base64.b64encode(data).decode(), "name": name, "type": mime}


PNG = as_file(png_bytes(), "image.png", "image/png")

# Builds the File in the page from base64 (Playwright cannot write the system
# clipboard, nor drag a file from the desktop): the events carry a DataTransfer
# holding it, as a browser's do.
MAKE_TRANSFER = """
({base64, name, type}) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, {type}));
    return data;
}
"""


def paste_file(page: Page, file: dict, html: str = "") -> None:
    """Paste a file into the compose box's rich text box, as a screenshot (or,
    with html, a picture copied from a web page) is pasted."""
    body_editor(page).click()
    page.evaluate(
        f"""([file, html]) => {{
            const data = ({MAKE_TRANSFER})(file);
            if (html) data.setData("text/html", html);
            document.querySelector("#compose .ProseMirror.desk-body").dispatchEvent(
                new ClipboardEvent("paste", {{
                    clipboardData: data, bubbles: true, cancelable: true,
                }}),
            );
        }}""",
        [file, html],
    )


def drop_file(page: Page, file: dict, on: str = "#compose .ProseMirror.desk-body") -> dict:
    """Drag a file over an element and drop it there, with the events a browser
    fires. Returns, by event, whether the page cancelled the browser's own action
    (for a drop: opening the file in place of the page)."""
    return page.evaluate(
        f"""([file, selector]) => {{
            const data = ({MAKE_TRANSFER})(file);
            const target = document.querySelector(selector);
            const cancelled = {{}};
            for (const type of ["dragenter", "dragover", "drop"]) {{
                cancelled[type] = !target.dispatchEvent(new DragEvent(type, {{
                    dataTransfer: data, bubbles: true, cancelable: true,
                }}));
            }}
            return cancelled;
        }}""",
        [file, on],
    )


def preview_image(page: Page):
    return page.locator("#compose .desk-image-preview img")


def chosen_files(page: Page) -> int:
    return page.locator("#compose input[name=image]").evaluate("input => input.files.length")


def expect_preview(page: Page) -> None:
    """The image previewed from this machine, its fields open, the alt text's next."""
    preview = preview_image(page)
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    expect(preview).to_have_attribute("alt", re.compile(r"\S"))
    # The picture really decodes (decode() waits for it; a broken one rejects).
    assert preview.evaluate("img => img.decode().then(() => img.naturalWidth)") == 96
    expect(page.locator("#compose .desk-extras")).to_have_attribute("open", "")
    expect(page.locator("#compose [name=image_alt]")).to_be_focused()
    expect(page.locator("#compose .desk-image-status")).to_contain_text("Image added")
    assert chosen_files(page) == 1


def fill_image_fields(page: Page) -> None:
    for name, value in IMAGE_FIELDS.items():
        page.locator(f"#compose [name={name}]").fill(value)


def publish(page: Page) -> None:
    page.locator("#compose .desk-publish").click()
    expect(page.locator("#compose .desk-posted")).to_contain_text("Published: UPDATE")


def record_progress(page: Page) -> None:
    """Keep, for every htmx:xhr:progress of the compose form's post, what its bar
    showed once desk-images.js had handled it (this listener, on the document,
    hears the event after the form's own)."""
    page.evaluate(
        """() => {
            window.__progress = [];
            document.addEventListener("htmx:xhr:progress", (event) => {
                const form = event.target.closest("#compose");
                if (!form) return;
                const bar = form.querySelector(".desk-upload-progress");
                window.__progress.push({
                    value: bar.value, max: bar.max,
                    shown: !bar.closest(".desk-upload").hidden && bar.offsetParent !== null,
                });
            });
        }"""
    )


# Paste, preview, progress, publish -------------------------------------------


def test_a_pasted_image_is_previewed_and_published_with_its_alt_text(desk, server, new_context):
    write_update(desk, "Shops on the high street are sandbagged.")
    expect(desk.locator("#compose .desk-upload")).to_be_hidden()
    # A picture copied from a web page: the file, and HTML that is only its <img>.
    paste_file(desk, PNG, html='<meta charset="utf-8"><img src="https://example.org/p.png">')
    expect_preview(desk)
    # The image went into the field, not into the text.
    expect(body_editor(desk)).to_have_text("Shops on the high street are sandbagged.")
    assert "<img" not in desk.locator("#compose textarea[name=body]").input_value()
    expect(body_editor(desk).locator("img")).to_have_count(0)

    fill_image_fields(desk)
    record_progress(desk)
    publish(desk)

    # The bar showed during the post and went all the way.
    progress = desk.evaluate("window.__progress")
    assert progress, "no htmx:xhr:progress reached the compose form"
    assert all(step["shown"] for step in progress), progress
    assert progress[-1]["value"] == progress[-1]["max"] == 100, progress

    update = Update.objects.get(body__contains="sandbagged")
    embed = Embed.objects.get(update=update)
    assert embed.kind == Embed.Kind.IMAGE
    assert (embed.image_width, embed.image_height) == (96, 64)
    assert (embed.alt_text, embed.caption, embed.credit) == (
        IMAGE_FIELDS["image_alt"],
        IMAGE_FIELDS["image_caption"],
        IMAGE_FIELDS["image_credit"],
    )
    shown = desk.locator(f"#desk-update-{update.pk} img[alt='{IMAGE_FIELDS['image_alt']}']")
    expect(shown).to_be_visible()
    # A fresh form for the next update: no image chosen, nothing previewed.
    expect(preview_image(desk)).to_have_count(0)
    assert chosen_files(desk) == 0

    reader = new_context(viewport=desk.viewport_size).new_page()
    open_story(reader, server, desk.story)
    picture = reader.locator(f"#update-{update.pk} img[alt='{IMAGE_FIELDS['image_alt']}']")
    expect(picture).to_be_visible()
    picture.scroll_into_view_if_needed()  # it loads lazily
    assert picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 96
    assert_not_reloaded(desk)
    assert_no_csp_violations(desk)


def test_text_pasted_with_a_picture_of_itself_stays_text(desk):
    """Word and Excel put a picture of the copied text beside it: the paste is the text."""
    write_update(desk, "")
    paste_file(desk, PNG, html="<p>Rainfall <b>80 mm</b> overnight</p>")
    expect(body_editor(desk)).to_contain_text("Rainfall 80 mm overnight")
    expect(desk.locator("#compose .desk-image-preview")).to_be_hidden()
    assert chosen_files(desk) == 0


# Drop, Remove ----------------------------------------------------------------


def test_a_dropped_image_is_previewed_and_remove_takes_it_back(desk):
    write_update(desk, "The river is over its banks.")
    assert drop_file(desk, PNG)["drop"], "the browser would open the dropped file"
    expect_preview(desk)
    expect(body_editor(desk)).to_have_text("The river is over its banks.")

    remove = desk.get_by_role("button", name="Remove image")
    expect(remove).to_be_visible()
    if desk.viewport_size["width"] < 768:
        box = remove.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    remove.click()
    expect(desk.locator("#compose .desk-image-preview")).to_be_hidden()
    expect(preview_image(desk)).to_have_count(0)
    expect(desk.locator("#compose .desk-image-status")).to_have_text("Image removed.")
    expect(desk.locator("#compose input[name=image]")).to_be_focused()
    assert chosen_files(desk) == 0

    # The fields stay filled (the editor may choose another); without an image
    # the update goes out without one.
    fill_image_fields(desk)
    publish(desk)
    update = Update.objects.get(body__contains="over its banks")
    assert not Embed.objects.filter(update=update).exists()
    assert_no_csp_violations(desk)


def test_an_image_dropped_beside_the_form_does_not_replace_the_desk(desk):
    write_update(desk, "Still here.")
    cancelled = drop_file(desk, PNG, on="#desk-list-published")
    # The browser would open the file in the desk's place, the text with it.
    assert cancelled["dragover"] and cancelled["drop"], cancelled
    expect(body_editor(desk)).to_have_text("Still here.")
    assert_not_reloaded(desk)
    assert chosen_files(desk) == 0


def test_choosing_a_file_in_the_field_previews_it(desk):
    desk.locator("#compose .desk-extras > summary").click()
    desk.locator("#compose input[name=image]").set_input_files(
        {"name": "bridge.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    expect_preview(desk)
    expect(desk.locator("#compose .desk-image-status")).to_contain_text("bridge.png")


# Refusals --------------------------------------------------------------------


def test_a_dropped_file_that_is_not_an_image_is_refused_and_nothing_of_it_posts(desk):
    write_update(desk, "Council statement to follow.")
    drop_file(desk, as_file(b"minutes of the meeting", "minutes.txt", "text/plain"))
    status = desk.locator("#compose .desk-image-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("“minutes.txt” is not an image")
    expect(desk.locator("#compose .desk-image-preview")).to_be_hidden()
    assert chosen_files(desk) == 0

    publish(desk)
    update = Update.objects.get(body__contains="Council statement")
    assert not Embed.objects.filter(update=update).exists()


def test_what_the_server_refuses_is_the_forms_error_and_the_text_stays(desk, console_errors):
    """A file that says it is a PNG gets past the browser's check; the server's decides."""
    console_errors.allow(r"/compose/: Failed to load resource: .* 422", "the image is refused")
    write_update(desk, "Pictures from the bridge.")
    paste_file(desk, as_file(b"\x89PNG not really", "image.png", "image/png"))
    expect(desk.locator("#compose .desk-image-status")).to_contain_text("cannot show")
    fill_image_fields(desk)
    with desk.expect_response(lambda r: r.url.endswith("/compose/")) as answer:
        desk.locator("#compose .desk-publish").click()
    assert answer.value.status == 422
    expect(desk.locator("#compose .errornote")).to_contain_text("Choose the image again")
    expect(desk.locator("#compose .desk-field-image .errorlist")).to_be_visible()
    expect(body_editor(desk)).to_have_text("Pictures from the bridge.")
    expect(desk.locator("#compose [name=image_alt]")).to_have_value(IMAGE_FIELDS["image_alt"])
    # The swapped-in form takes a paste again.
    paste_file(desk, PNG)
    expect_preview(desk)
    assert not Update.objects.filter(story=desk.story).exists()
    assert_no_csp_violations(desk)


# Accessibility, and without JavaScript ----------------------------------------


@pytest.mark.parametrize("size", list(DESK_SIZES))
def test_the_preview_has_no_serious_accessibility_violations(server, logged_in, size):
    axe_source()  # skip (or fail in CI) before any set-up when axe-core is missing
    story = make_story(title="Floods")
    editor = make_editor()
    found = []
    for scheme in ("light", "dark"):
        page = logged_in(editor, viewport=DESK_SIZES[size], color_scheme=scheme)
        open_desk(page, server, story)
        paste_file(page, PNG)
        expect_preview(page)
        violations = failing(run_axe(page))
        if violations:
            found.append(f"{scheme}, {size}:\n{describe(violations)}")
        assert_no_csp_violations(page)
        page.context.close()
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)


def test_without_javascript_the_file_field_posts_the_image(server, logged_in):
    story = make_story()
    desk = logged_in(make_editor(), java_script_enabled=False)
    desk.goto(f"{server}/admin/coverage/story/{story.pk}/desk/")
    # What only works with the script is not offered.
    expect(desk.locator("#compose .desk-image-hint")).to_be_hidden()
    expect(desk.locator("#compose .desk-image-preview")).to_be_hidden()
    expect(desk.locator("#compose .desk-upload")).to_be_hidden()
    desk.locator("#compose textarea[name=body]").fill("The bridge at noon.")
    desk.locator("#compose .desk-extras > summary").click()
    desk.locator("#compose input[name=image]").set_input_files(
        {"name": "bridge.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    fill_image_fields(desk)
    desk.get_by_role("button", name="Publish", exact=True).click()
    expect(desk.locator(".messagelist")).to_contain_text("Published: UPDATE")
    embed = Embed.objects.get(update__story=story)
    assert embed.alt_text == IMAGE_FIELDS["image_alt"]
    assert (embed.image_width, embed.image_height) == (96, 64)
