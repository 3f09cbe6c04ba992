"""The desk's rich text box in a real browser, at desktop and phone sizes:
formatting shows as formatting (not tags) and reaches readers as HTML; a paste
from a document keeps the allowed subset in front of the editor; Ctrl+Enter
publishes once; the edit form htmx swaps into a row gets an editor, which goes
when the form does; and without JavaScript the textarea posts.

The server's side (sanitising, the allow-list, the page's files) is
tests/test_desk_editor.py.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from coverage.desk.text import same_body
from coverage.models import Update
from coverage.sanitize import sanitize_html
from tests.browser.support import (
    assert_no_csp_violations,
    assert_not_reloaded,
    body_editor,
    expect_settled,
    open_desk,
    write_update,
)
from tests.factories import edit, make_editor, make_story, make_update

pytestmark = pytest.mark.browser

REL = ' rel="noopener noreferrer nofollow"'

# What Google Docs puts on the clipboard (abridged): everything in a <b> that is
# not bold, styles on every span, a heading, a table, an image; a web page's
# <ol start>, underline, a relative and a javascript: link, a script.
GOOGLE_DOCS_HTML = (
    '<meta charset="utf-8"><b style="font-weight:normal;" '
    'id="docs-internal-guid-5f1c2a3b-7fff-4e1d-9a2b-0c1d2e3f4a5b">'
    '<h1 dir="ltr" style="line-height:1.38;margin-top:20pt;margin-bottom:6pt;">'
    '<span style="font-size:20pt;font-family:Arial,sans-serif;color:#000000;font-weight:400;">'
    "Flood warning</span></h1>"
    '<p dir="ltr" style="line-height:1.38;margin-top:0pt;margin-bottom:0pt;">'
    '<span style="font-size:11pt;color:#ff0000;background-color:#ffff00;font-weight:700;">'
    "Evacuate now</span>"
    '<span style="font-size:11pt;font-weight:400;">, says the </span>'
    '<span style="font-size:11pt;font-style:italic;">council</span>'
    '<span style="font-size:11pt;"> in </span>'
    '<a href="https://example.org/alert" style="text-decoration:none;">'
    '<span style="color:#1155cc;text-decoration:underline;">its alert</span></a>'
    '<span style="font-size:11pt;">.</span></p>'
    '<ul style="margin-top:0;margin-bottom:0;">'
    '<li dir="ltr" style="list-style-type:disc;"><p dir="ltr" role="presentation">'
    '<span style="font-size:11pt;">Bring medicine</span></p></li>'
    '<li dir="ltr" style="list-style-type:disc;"><p dir="ltr" role="presentation">'
    '<span style="font-size:11pt;">Leave pets upstairs</span></p></li></ul>'
    '<div dir="ltr" style="margin-left:0pt;" align="left">'
    '<table style="border:none;border-collapse:collapse;"><colgroup><col width="100"></colgroup>'
    '<tbody><tr style="height:0pt"><td style="border-left:solid #000000 1pt;padding:5pt;">'
    '<p dir="ltr"><span style="font-size:11pt;">Rainfall 80 mm</span></p></td></tr></tbody>'
    "</table></div>"
    '<p dir="ltr"><span style="font-size:11pt;"><span style="display:inline-block;">'
    '<img src="https://lh7-rt.googleusercontent.com/docsz/AD_4nXc.png" width="200" height="100"'
    ' style="margin-left:0px;"></span></span></p>'
    "<h2>Roads</h2>"
    '<ol start="3" type="a"><li><p>A3 closed</p></li></ol>'
    '<p><u>Under</u> <s>struck</s> <a href="/local">local</a> '
    '<a href="javascript:window.__pwned=1">bad</a></p>'
    "<script>window.__pwned = 1</script></b>"
)

# What Word puts on the clipboard (abridged): a style sheet, classes, Office tags,
# a list that is paragraphs with bullet characters.
WORD_HTML = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta charset="utf-8">'
    "<style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;} --></style></head>"
    "<body lang=EN-GB style='tab-interval:36.0pt'><!--StartFragment-->"
    "<p class=MsoNormal><b><span style='font-size:12.0pt'>Bold lead</span></b>"
    "<span style='font-size:12.0pt'> and <i>italic</i> and "
    '<a href="https://example.org/w">a link</a><o:p></o:p></span></p>'
    "<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>"
    "<![if !supportLists]><span style='font-family:Symbol'>·<span>&nbsp; </span></span>"
    "<![endif]>First point<o:p></o:p></p><!--EndFragment--></body></html>"
)


def editor_html(page: Page, within: str = "#compose") -> str:
    """What the form will post as the body: the editor's HTML in its textarea."""
    return page.locator(f"{within} textarea[name=body]").input_value()


def paste_html(page: Page, html: str, within: str = "#compose") -> None:
    """Paste html as a browser does from another application: a paste event with
    text/html on its clipboard (Playwright cannot write the system clipboard)."""
    body_editor(page, within).click()
    page.evaluate(
        """([selector, html]) => {
            const box = document.querySelector(selector);
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", "plain text fallback");
            box.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true,
            }));
        }""",
        [f"{within} .ProseMirror.desk-body", html],
    )


def select_text(page: Page, words: str, within: str = "#compose") -> None:
    """Select words in the editor, as a drag of the mouse over them would."""
    page.evaluate(
        """([selector, words]) => {
            const box = document.querySelector(selector);
            const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const start = walker.currentNode.data.indexOf(words);
                if (start < 0) continue;
                const range = document.createRange();
                range.setStart(walker.currentNode, start);
                range.setEnd(walker.currentNode, start + words.length);
                getSelection().removeAllRanges();
                getSelection().addRange(range);
                return;
            }
            throw new Error("not in the editor: " + words);
        }""",
        [f"{within} .ProseMirror.desk-body", words],
    )
    expect(page.locator(f"{within} .prose-menubar [data-name=link]")).not_to_have_class(
        re.compile("disabled")
    )


def publish(page: Page) -> Update:
    count = Update.objects.count()
    page.keyboard.press("ControlOrMeta+Enter")
    expect(page.locator("#compose .desk-posted")).to_contain_text("Published: UPDATE")
    assert Update.objects.count() == count + 1
    return Update.objects.latest("pk")


def reader_body(page: Page, server: str, update: Update):
    """The update's body on the story page, as a reader gets it."""
    reader = page.context.new_page()
    reader.goto(server + update.story.get_absolute_url())
    return reader.locator(f"#update-{update.pk} .update-body")


def assert_sanitiser_keeps_it(html: str) -> None:
    """The editor made nothing the sanitiser would remove (it only adds links' rel)."""
    assert sanitize_html(html).replace(REL, "") == html


# Tests ---------------------------------------------------------------------------


def test_ctrl_b_shows_bold_and_readers_get_strong(desk, server):
    box = body_editor(desk)
    expect(box).to_be_focused()
    desk.keyboard.type("The vote is ")
    desk.keyboard.press("ControlOrMeta+b")
    desk.keyboard.type("unanimous")
    desk.keyboard.press("ControlOrMeta+b")
    desk.keyboard.type(" and ")
    # The toolbar's button, too: italic on, a word, italic off.
    italic = desk.locator("#compose").get_by_role("button", name="italic", exact=True)
    italic.click()
    desk.keyboard.type("final")
    italic.click()
    desk.keyboard.type(".")

    # Bold and italic as formatting, not as tags typed into the text.
    expect(box.locator("strong")).to_have_text("unanimous")
    expect(box.locator("em")).to_have_text("final")
    expect(box).to_have_text("The vote is unanimous and final.")
    html = editor_html(desk)
    assert html == "<p>The vote is <strong>unanimous</strong> and <em>final</em>.</p>"

    update = publish(desk)
    assert update.body == html
    body = reader_body(desk, server, update)
    expect(body.locator("strong")).to_have_text("unanimous")
    expect(body.locator("em")).to_have_text("final")
    assert_not_reloaded(desk)
    assert_no_csp_violations(desk)


def test_a_link_from_the_link_dialog(desk, server):
    write_update(desk, "Read the full report here")
    select_text(desk, "report here")
    desk.keyboard.press("ControlOrMeta+k")
    dialog = desk.locator("dialog.prose-editor-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("URL").fill("https://example.org/report")
    dialog.get_by_role("button", name="Update").click()

    box = body_editor(desk)
    expect(box.locator("a")).to_have_text("report here")
    expect(box.locator("a")).to_have_attribute("href", "https://example.org/report")
    html = editor_html(desk)
    assert '<a href="https://example.org/report">report here</a>' in html
    assert_sanitiser_keeps_it(html)

    update = publish(desk)
    link = reader_body(desk, server, update).locator("a")
    expect(link).to_have_attribute("href", "https://example.org/report")
    expect(link).to_have_text("report here")
    assert_no_csp_violations(desk)


def test_a_list_from_the_toolbar(desk, server):
    write_update(desk, "What to take:")
    desk.keyboard.press("Enter")
    desk.locator("#compose").get_by_role("button", name="unordered list").click()
    desk.keyboard.type("Water")
    desk.keyboard.press("Enter")
    desk.keyboard.type("A torch")

    box = body_editor(desk)
    expect(box.locator("ul > li")).to_have_text(["Water", "A torch"])
    html = editor_html(desk)
    assert html == "<p>What to take:</p><ul><li><p>Water</p></li><li><p>A torch</p></li></ul>"

    update = publish(desk)
    assert update.body == "<p>What to take:</p><ul><li>Water</li><li>A torch</li></ul>"
    expect(reader_body(desk, server, update).locator("ul > li")).to_have_text(["Water", "A torch"])
    assert_no_csp_violations(desk)


def test_a_paste_from_google_docs_keeps_the_subset_in_front_of_the_editor(desk, server):
    paste_html(desk, GOOGLE_DOCS_HTML)
    box = body_editor(desk)

    # Kept, and seen in the editor before anything is posted.
    expect(box.locator("strong")).to_have_text(["Evacuate now"])  # not the whole paste
    expect(box.locator("em")).to_have_text("council")
    expect(box.locator("a")).to_have_text(["its alert"])
    expect(box.locator("a")).to_have_attribute("href", "https://example.org/alert")
    expect(box.locator("ul > li")).to_have_text(["Bring medicine", "Leave pets upstairs"])
    expect(box.locator("ol > li")).to_have_text(["A3 closed"])
    # The words of the heading, the table and the rest stay, as plain paragraphs.
    for words in ("Flood warning", "Rainfall 80 mm", "Roads", "Under struck local bad"):
        expect(box.locator("p", has_text=words).first).to_be_visible()
    # Dropped, visibly: no heading, table, image, style, underline or odd link.
    for dropped in ("h1", "h2", "table", "img", "span", "u", "s", "[style]", "ol[start]"):
        expect(box.locator(dropped)).to_have_count(0)
    assert desk.evaluate("window.__pwned") is None

    html = editor_html(desk)
    for gone in ("<h1", "<h2", "<table", "<img", "<span", "style=", "docs-internal-guid", "<u>"):
        assert gone not in html
    assert "<ol><li>" in html and "javascript" not in html and 'href="/local"' not in html
    assert_sanitiser_keeps_it(html)

    # What the editor showed is what readers get.
    update = publish(desk)
    assert same_body(update.body, html)
    body = reader_body(desk, server, update)
    expect(body.locator("strong")).to_have_text(["Evacuate now"])
    expect(body.locator("em")).to_have_text("council")
    expect(body.locator("ul > li")).to_have_text(["Bring medicine", "Leave pets upstairs"])
    expect(body.locator("a")).to_have_text(["its alert"])
    assert_no_csp_violations(desk)


def test_a_paste_from_word_keeps_bold_italic_and_links(desk):
    paste_html(desk, WORD_HTML)
    box = body_editor(desk)
    expect(box.locator("strong")).to_have_text("Bold lead")
    expect(box.locator("em")).to_have_text("italic")
    expect(box.locator("a")).to_have_attribute("href", "https://example.org/w")
    # Word's list is paragraphs with a bullet character: it stays one, visibly.
    expect(box.locator("p", has_text="First point")).to_be_visible()
    html = editor_html(desk)
    for gone in ("class=", "style", "<o:p", "<span", "Mso"):
        assert gone not in html
    assert_sanitiser_keeps_it(html)
    assert_no_csp_violations(desk)


def test_ctrl_enter_publishes_once_and_adds_no_line_break(desk):
    write_update(desk, "Polls have closed.")
    desk.keyboard.press("ControlOrMeta+Enter")
    desk.keyboard.press("ControlOrMeta+Enter")  # a second press, at once
    expect(desk.locator("#compose .desk-posted")).to_contain_text("Published: UPDATE")
    # The second press met a disabled button, or the fresh, empty form: one update.
    expect(body_editor(desk)).to_have_text("")
    assert list(Update.objects.values_list("body", flat=True)) == ["<p>Polls have closed.</p>"]
    update = Update.objects.get()
    expect(desk.locator(f"#desk-update-{update.pk}")).to_contain_text("Polls have closed.")
    assert_not_reloaded(desk)


def test_shift_enter_is_a_line_break(desk):
    write_update(desk, "Line one")
    desk.keyboard.press("Shift+Enter")
    desk.keyboard.type("line two")
    assert editor_html(desk) == "<p>Line one<br>line two</p>"


def test_the_edit_form_round_trips_an_updates_html_and_its_editor_goes_with_it(desk, server):
    stored = (
        '<p>Polls <strong>close</strong> at <a href="https://example.org/">ten</a>.</p>\n'
        "<ul><li>North</li><li>South</li></ul>\n<blockquote><p>We are ready.</p></blockquote>"
    )
    update = make_update(desk.story, body=stored)
    stored = update.body  # as the sanitiser keeps it: rel on the link
    open_desk(desk, server, desk.story)
    row = f"#desk-update-{update.pk}"
    desk.locator(row).get_by_role("link", name="Edit").click()

    box = body_editor(desk, row)
    expect(box).to_be_focused()
    expect(box.locator("strong")).to_have_text("close")
    expect(box.locator("a")).to_have_attribute("href", "https://example.org/")
    expect(box.locator("ul > li")).to_have_text(["North", "South"])
    expect(box.locator("blockquote")).to_have_text("We are ready.")

    # Saved untouched but for the headline: the body stays byte for byte.
    # (By name: the compose and edit forms' fields share their ids, so their labels.)
    desk.locator(f"{row} input[name=headline]").fill("Polls close")
    desk.locator(row).get_by_role("button", name="Save changes").click()
    expect(desk.locator(row)).not_to_have_class(re.compile("is-editing"))
    expect_settled(desk.locator(row))
    update.refresh_from_db()
    assert (update.headline, update.body) == ("Polls close", stored)

    # Edited: a word added, the formatting kept.
    desk.locator(row).get_by_role("link", name="Edit").click()
    box = body_editor(desk, row)
    wrapper = desk.locator(f"{row} .desk-editor").element_handle()
    box.locator("blockquote p").click()
    desk.keyboard.press("End")
    desk.keyboard.type(" Truly.")
    desk.keyboard.press("ControlOrMeta+Enter")
    expect(desk.locator(row)).not_to_have_class(re.compile("is-editing"))
    expect_settled(desk.locator(row))
    expect(desk.locator(row)).to_contain_text("We are ready. Truly.")
    update.refresh_from_db()
    assert "<strong>close</strong>" in update.body
    assert f'<a href="https://example.org/"{REL}>ten</a>' in update.body
    assert "<blockquote><p>We are ready. Truly.</p></blockquote>" in update.body
    assert "<ul><li>North</li><li>South</li></ul>" in update.body

    # The form swapped out took its editor down (the library removes its toolbar
    # on destroy), and no editor is left but the compose box's.
    assert wrapper.evaluate("el => !el.isConnected && !el.querySelector('.prose-menubar')")
    expect(desk.locator(".ProseMirror")).to_have_count(1)

    # Cancel also takes it down; opening again makes exactly one.
    desk.locator(row).get_by_role("link", name="Edit").click()
    wrapper = desk.locator(f"{row} .desk-editor").element_handle()
    desk.locator(row).get_by_role("link", name="Cancel").click()
    expect(desk.locator(row)).not_to_have_class(re.compile("is-editing"))
    expect_settled(desk.locator(row))
    assert wrapper.evaluate("el => !el.isConnected && !el.querySelector('.prose-menubar')")
    desk.locator(row).get_by_role("link", name="Edit").click()
    expect(desk.locator(f"{row} .prose-menubar")).to_have_count(1)
    assert_not_reloaded(desk)
    assert_no_csp_violations(desk)


def test_without_javascript_the_textarea_posts(server, logged_in):
    story = make_story()
    update = make_update(story, body="<p>Roads <strong>closed</strong>.</p>")
    desk = logged_in(make_editor(), java_script_enabled=False)
    desk.goto(f"{server}/admin/coverage/story/{story.pk}/desk/")
    expect(desk.locator(".ProseMirror")).to_have_count(0)
    body = desk.locator("#compose textarea[name=body]")
    expect(body).to_be_visible()
    body.fill("First paragraph.\n\nSecond, with <em>emphasis</em>.")
    desk.get_by_role("button", name="Publish", exact=True).click()
    expect(desk.locator(".messagelist")).to_contain_text("Published: UPDATE")
    posted = Update.objects.latest("pk")
    assert posted.body == "<p>First paragraph.</p><p>Second, with <em>emphasis</em>.</p>"

    desk.locator(f"#desk-update-{update.pk}").get_by_role("link", name="Edit").click()
    body = desk.locator("textarea[name=body]")
    expect(body).to_have_value("Roads <strong>closed</strong>.")
    body.fill("Roads <strong>closed</strong> until noon.")
    desk.get_by_role("button", name="Save changes").click()
    expect(desk.locator(".messagelist")).to_contain_text("Saved UPDATE")
    update.refresh_from_db()
    assert update.body == "<p>Roads <strong>closed</strong> until noon.</p>"


def test_a_poll_landing_while_the_edit_form_loads_does_not_drop_it(desk, server):
    update = make_update(desk.story, body="<p>Roads closed.</p>")
    open_desk(desk, server, desk.story)
    row = f"#desk-update-{update.pk}"
    # The edit form's answer is held until a poll has brought a newer row.
    held = []
    desk.route(re.compile(rf"/desk/updates/{update.pk}/edit/"), lambda route: held.append(route))
    with desk.expect_request(re.compile(rf"/desk/updates/{update.pk}/edit/")):
        desk.locator(row).get_by_role("link", name="Edit").click()
    with desk.expect_response(lambda r: "/desk/poll/" in r.url and r.status == 200):
        edit(update, headline="Changed by a colleague")
    held[0].continue_()
    expect(desk.locator(row)).to_have_class(re.compile("is-editing"))
    expect(desk.locator(f"{row} .prose-menubar")).to_have_count(1)
    assert_not_reloaded(desk)


def test_a_poll_landing_the_moment_the_edit_form_arrives_does_not_drop_it(desk, server):
    # By default htmx dresses a swapped-in element in its predecessor's class
    # for a tick (attribute settling), so the edit form's row looked plain and a
    # poll's row landing then (as CI saw) replaced it. The pages turn settling
    # off (attributesToSettle in the htmx config): the row is editing at once.
    update = make_update(desk.story, body="<p>Roads closed.</p>")
    open_desk(desk, server, desk.story)
    row = f"#desk-update-{update.pk}"
    plain_row = desk.locator(row).evaluate("el => el.outerHTML")
    desk.evaluate(
        """([html, row]) => {
            const oob = html.replace('class="desk-row', 'data-hx-swap-oob="true" class="desk-row');
            document.body.addEventListener("htmx:afterSwap", function once(event) {
                if (!event.detail.requestConfig?.path.includes("/edit/")) return;
                document.body.removeEventListener("htmx:afterSwap", once);
                const arrived = document.querySelector(row);
                window.__editingAtOnce = arrived.classList.contains("is-editing");
                htmx.swap(document.body, oob, {swapStyle: "none"});  // the poll's answer, now
            });
        }""",
        [plain_row, row],
    )
    desk.locator(row).get_by_role("link", name="Edit").click()
    expect(desk.locator(row)).to_have_class(re.compile("is-editing"))
    expect(desk.locator(f"{row} .prose-menubar")).to_have_count(1)
    assert desk.evaluate("window.__editingAtOnce"), "the row wore the old one's class"
    assert_not_reloaded(desk)
