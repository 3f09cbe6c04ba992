// The desk's rich text box: django-prose-editor (Tiptap, ProseMirror) on every
// update body, in the compose form and in the edit forms htmx swaps into rows;
// an editor whose form is swapped out is destroyed with it.
//
// Its extensions come from the server (EDITOR_EXTENSIONS in coverage/sanitize.py,
// in the textarea's data-django-prose-editor-desk attribute), so it offers and
// keeps what the sanitiser keeps and nothing else: a paste loses the rest in
// front of the editor, not silently on save. The textarea stays the form's field:
// every change writes the editor's HTML back into it, so htmx and plain posts send
// `body` as before, and without JavaScript the textarea is simply there.
import * as prose from "django-prose-editor/editor";

const CONFIG = "data-django-prose-editor-desk";
const editors = new Map(); // textarea -> editor

// Ctrl/Cmd+Enter publishes (desk.js), so a line break is Shift+Enter alone.
const HardBreak = prose.HardBreak.extend({
  addKeyboardShortcuts() {
    return { "Shift-Enter": () => this.editor.commands.setHardBreak() };
  },
});

// The sanitiser keeps no start or type on a list, so the editor has neither
// (nor the library's dialog that sets them): pasted "3." lists start at 1 here too.
const OrderedList = prose.OrderedList.configure({ enableListAttributes: false }).extend({
  addAttributes: () => ({}),
  renderHTML: ({ HTMLAttributes }) => ["ol", HTMLAttributes, 0],
  // (The library's node view styles the list by its type.)
  addNodeView: null,
});

// The library's link dialog gives every link a title, empty unless one is typed.
const Link = prose.Link.extend({
  addAttributes() {
    return {
      ...this.parent?.(),
      title: { default: null, renderHTML: ({ title }) => (title ? { title } : {}) },
    };
  },
});

const OWN = { HardBreak, Link, OrderedList };

// A link only where the sanitiser keeps its href: the schemes it allows, no
// relative or javascript: address (typed, pasted or loaded).
const allowedUri = (schemes) => (url, { defaultValidate }) => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(String(url).trim());
  return Boolean(scheme && schemes.includes(scheme[1].toLowerCase())) && defaultValidate(url);
};

// Under the site's CSP (no inline styles) the browser applies no style attribute,
// not even in a pasted document (and reports each one it refuses), so the
// editor's rules that read styles see none: Google Docs marks bold and italic
// with styled spans, and wraps everything in a <b> styled not to be bold. So the
// paste's style attributes are renamed before anything parses it, and read as
// text: what they say of bold and italic becomes tags; the rest is dropped.
const STYLE_ATTRIBUTE = /(<[a-z][^>]*?\s)style(\s*=)/gi;
// Word's clipboard carries a style sheet, which the parse would report too.
const STYLE_ELEMENT = /<style\b[^>]*>[\s\S]*?<\/style\s*>/gi;
const PASTED_STYLE = "data-pasted-style";
const BOLD = /^(bold(er)?|[5-9]\d{2,})$/;

function styleOf(el) {
  const style = {};
  for (const declaration of el.getAttribute(PASTED_STYLE).split(";")) {
    const [name, ...value] = declaration.split(":");
    if (value.length) style[name.trim().toLowerCase()] = value.join(":").trim().toLowerCase();
  }
  return style;
}

function wrapChildren(el, tag) {
  const wrapper = el.ownerDocument.createElement(tag);
  wrapper.append(...el.childNodes);
  el.append(wrapper);
}

function stylesAsTags(html) {
  const renamed = html.replace(STYLE_ELEMENT, "").replace(STYLE_ATTRIBUTE, `$1${PASTED_STYLE}$2`);
  // An inert document: nothing in it runs or loads.
  const doc = new DOMParser().parseFromString(renamed, "text/html");
  for (const el of doc.body.querySelectorAll(`[${PASTED_STYLE}]`)) {
    const style = styleOf(el);
    el.removeAttribute(PASTED_STYLE);
    const weight = style["font-weight"];
    const strong = el.localName === "b" || el.localName === "strong";
    if (style["font-style"] === "italic") wrapChildren(el, "em");
    if (strong && weight && !BOLD.test(weight)) el.replaceWith(...el.childNodes);
    else if (!strong && weight && BOLD.test(weight)) wrapChildren(el, "strong");
  }
  return doc.body.innerHTML;
}

function extensions(config) {
  return Object.entries(config.extensions).map(([name, options]) => {
    const extension = OWN[name] || prose[name];
    if (!extension) throw new Error(`desk-editor: no extension named ${name}`);
    if (name === "Link") {
      options = {
        ...(options === true ? {} : options),
        isAllowedUri: allowedUri(config.url_schemes),
        // Not the library's default title, "" (see Link above).
        HTMLAttributes: { target: null, rel: null, class: null, title: null },
      };
    }
    return typeof options === "object" ? extension.configure(options) : extension;
  });
}

// The library's menu bar, named as the desk's toolbar.
function nameMenu(wrapper) {
  const menubar = wrapper.querySelector(".prose-menubar");
  menubar?.setAttribute("role", "toolbar");
  menubar?.setAttribute("aria-label", "Formatting");
}

function create(textarea) {
  if (editors.has(textarea)) return;
  const config = JSON.parse(textarea.getAttribute(CONFIG));
  const hadFocus = document.activeElement === textarea;
  // In its own form: the compose and edit forms' fields share their ids.
  const label = textarea.form?.querySelector(`label[for="${textarea.id}"]`);

  const wrapper = document.createElement("div");
  wrapper.className = "prose-editor desk-editor";
  textarea.before(wrapper);
  wrapper.append(textarea);

  const write = (editor) => {
    textarea.value = editor.isEmpty ? "" : editor.getHTML();
  };
  const editor = new prose.Editor({
    element: wrapper,
    extensions: extensions(config),
    // The server's HTML of what the textarea holds (typed text as paragraphs).
    content: textarea.dataset.html ?? textarea.value,
    // Tiptap's own <style> element is an inline style the CSP refuses; its
    // rules are in desk-editor.css.
    injectCSS: false,
    editorProps: {
      transformPastedHTML: stylesAsTags,
      attributes: {
        class: "desk-body",
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": textarea.getAttribute("aria-label") || label?.textContent.trim() || "Text",
      },
    },
    onUpdate({ editor }) {
      write(editor);
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    },
  });
  // From the start: an untouched body posts the editor's HTML, which the server
  // recognises as unchanged.
  write(editor);
  nameMenu(wrapper);
  label?.addEventListener("click", () => editor.commands.focus());
  editors.set(textarea, editor);

  const autofocus = textarea.autofocus && document.activeElement === document.body;
  if (hadFocus || autofocus) editor.commands.focus("end");
}

function createWithin(root) {
  for (const textarea of root.querySelectorAll(`textarea[${CONFIG}]`)) {
    try {
      create(textarea);
    } catch (error) {
      // The textarea is still there, and still posts.
      console.error("desk-editor:", error);
    }
  }
}

// Editors whose form htmx swapped out: their listeners and plugins go with them.
function destroyDetached() {
  for (const [textarea, editor] of editors) {
    if (!textarea.isConnected) {
      editor.destroy();
      editors.delete(textarea);
    }
  }
}

// The compose box is kept across publishes: its box is preserved when the
// server's answer swaps the form (data-hx-preserve in _compose.html), and it is
// emptied the moment the form's values are sent, so what an editor types straight
// after Publish is the next update, every keystroke of it. If the post does not
// go through (an error to correct, no connection), what was sent comes back,
// ahead of anything typed since.
const COMPOSE = "compose";
let sent = null; // the compose editor's content as posted, until the answer comes

function composeEditor(form) {
  const textarea = form.querySelector(`textarea[${CONFIG}]`);
  return { textarea, editor: textarea && editors.get(textarea) };
}

document.body.addEventListener("htmx:beforeSend", (event) => {
  const form = event.detail.elt;
  if (form.id !== COMPOSE) return;
  const { textarea, editor } = composeEditor(form);
  if (editor) {
    sent = { json: editor.getJSON() };
    editor.commands.clearContent(true);
  } else if (textarea) {
    // No rich text box (it failed to start): the textarea itself is kept.
    sent = { text: textarea.value };
    textarea.value = "";
  }
});

function restore(form) {
  const { textarea, editor } = composeEditor(form);
  if (!sent || !textarea) return;
  if (editor && sent.json) {
    const since = editor.isEmpty ? [] : editor.getJSON().content;
    editor.commands.setContent({ type: "doc", content: [...sent.json.content, ...since] }, true);
    editor.commands.focus("end");
  } else if (sent.text !== undefined) {
    textarea.value = [sent.text, textarea.value].filter(Boolean).join("\n\n");
  }
  sent = null;
}

// An answer that is swapped in (a 200: posted; a 422: the form's errors) is seen
// here, while the old form is still in the page; a refusal or a failure that is
// not swapped in (a 5xx, no connection) ends the request on the form as it is.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target?.id !== COMPOSE || !sent) return;
  if (event.detail.xhr.status === 200 && event.detail.shouldSwap) sent = null;
});

document.body.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.elt.id === COMPOSE && event.detail.elt.isConnected) restore(event.detail.elt);
});

// The box is moved into the answer's new form. Moving it keeps its focus (where
// the browser can move an element whole) but not the caret, which the browser
// puts at the start: the selection as it is in the page (the editor may not have
// read the last Shift+arrow yet) is put back in the same task as the swap, before
// the next keystroke, so typing and a selection being made go on where they were.
// If the focus was elsewhere in the old form (the Publish button, say), or the
// move lost it, the cursor goes back into the box.
let caret = null;

document.body.addEventListener("htmx:beforeSwap", (event) => {
  caret = null;
  const form = event.detail.target;
  if (form?.id !== COMPOSE || !event.detail.shouldSwap) return;
  const { editor } = composeEditor(form);
  const selection = document.getSelection();
  if (editor?.view.hasFocus() && editor.view.dom.contains(selection.anchorNode)) {
    const { anchorNode, anchorOffset, focusNode, focusOffset } = selection;
    caret = [anchorNode, anchorOffset, focusNode, focusOffset];
  }
});

document.body.addEventListener("htmx:afterSwap", (event) => {
  const form = event.target;
  if (form.id !== COMPOSE) return;
  const { editor } = composeEditor(form);
  if (!editor) return;
  restore(form); // a 422: nothing was posted
  if (caret && caret[0].isConnected && caret[2].isConnected) {
    if (!editor.view.hasFocus()) editor.view.dom.focus({ preventScroll: true });
    document.getSelection().setBaseAndExtent(...caret);
  } else if (!document.activeElement || document.activeElement === document.body) {
    if (!form.querySelector(".errorlist")) editor.commands.focus("end");
  }
  caret = null;
});

createWithin(document);
document.body.addEventListener("htmx:load", (event) => {
  if (event.detail.elt instanceof Element) createWithin(event.detail.elt);
});
document.body.addEventListener("htmx:afterSettle", destroyDetached);
