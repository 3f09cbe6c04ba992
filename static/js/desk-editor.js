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
});

const OWN = { HardBreak, OrderedList };

// A link only where the sanitiser keeps its href: the schemes it allows, no
// relative or javascript: address (typed, pasted or loaded).
const allowedUri = (schemes) => (url, { defaultValidate }) => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(String(url).trim());
  return Boolean(scheme && schemes.includes(scheme[1].toLowerCase())) && defaultValidate(url);
};

function extensions(config) {
  return Object.entries(config.extensions).map(([name, options]) => {
    const extension = OWN[name] || prose[name];
    if (!extension) throw new Error(`desk-editor: no extension named ${name}`);
    if (name === "Link") {
      options = { ...(options === true ? {} : options), isAllowedUri: allowedUri(config.url_schemes) };
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
  const label = document.querySelector(`label[for="${textarea.id}"]`);

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

createWithin(document);
document.body.addEventListener("htmx:load", (event) => {
  if (event.detail.elt instanceof Element) createWithin(event.detail.elt);
});
document.body.addEventListener("htmx:afterSettle", destroyDetached);
