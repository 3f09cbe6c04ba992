// The posting desk's helper. htmx posts the forms and swaps the answers; this
// file adds the keyboard (Ctrl/Cmd+Enter publishes; the shortcuts listed in
// #desk-shortcuts), the GMT clock, and puts rows that arrive or change status
// in the right list (retracted ones in "Retracted"). The rich text box is
// desk-editor.js.
// Everything it does is a convenience: the desk works with plain form posts.
(() => {
  "use strict";

  const isRow = (el) => el && el.nodeType === 1 && el.classList.contains("desk-row");

  // The clock shows the server's GMT time, corrected for this machine's clock.
  const clock = document.getElementById("gmt-clock");
  if (clock) {
    const offset = Number(clock.dataset.epochMs) - Date.now();
    const tick = () => {
      const now = new Date(Date.now() + offset);
      clock.textContent = now.toISOString().slice(11, 19);
      clock.dateTime = now.toISOString();
    };
    tick();
    setInterval(tick, 1000);
  }

  // Rows --------------------------------------------------------------------

  // Into its section's list, by its sort key (placement.js). A row older than
  // every one loaded, while older ones are still behind "Load older updates",
  // is not placed (it comes with them, where it belongs).
  function place(row) {
    const list = document.getElementById("desk-list-" + row.dataset.section);
    if (!list) return false;
    return placement.place(row, list, isRow, !list.querySelector(":scope > .desk-load-older"));
  }

  // A row in the wrong list (its status changed) or out of order (re-timed,
  // pinned) moves; the others stay put, so nobody's focus is taken away.
  function tidy() {
    for (const row of document.querySelectorAll(".desk-list > .desk-row")) {
      // The desk keeps newest first whatever the story's reading order.
      const misplaced =
        row.parentElement.dataset.section !== row.dataset.section ||
        placement.outOfOrder(row, isRow);
      if (misplaced) place(row);
    }
  }

  // Before an answer is swapped (a poll's, a post's): every out-of-band part
  // needs its target, or htmx logs an error. A row the page does not have yet
  // (posted here or by a colleague) gets a placeholder where it belongs, for htmx
  // to swap it into; one that belongs to a slice not loaded, or any other part
  // without a target, is dropped.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (!event.detail.serverResponse || !event.detail.shouldSwap) return;
    placement.giveTargets(event.detail, (part) => {
      if (!isRow(part)) return false;
      const standIn = placement.placeholder(part, "div", "desk-row");
      standIn.dataset.section = part.dataset.section;
      return place(standIn);
    });
  });

  document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    // Never replace a row someone is editing here: tell them instead. Their
    // save then meets the other version (the server refuses a stale one).
    if (isRow(target) && target.classList.contains("is-editing")) {
      event.preventDefault();
      const incoming = event.detail.fragment.firstElementChild;
      if (incoming && Number(incoming.dataset.version) > Number(target.dataset.version)) {
        target.querySelector(".desk-changed-elsewhere")?.removeAttribute("hidden");
      }
      return;
    }
    // Nor a row whose own request is on its way (Edit being loaded, an action
    // posted): that answer replaces the row, fresh from the server, and would
    // otherwise land in a row the poll has already taken off the page.
    if (isRow(target) && target.querySelector(".htmx-request")) {
      event.preventDefault();
      return;
    }
    if (target.id === "desk-story-actions") {
      // Nor the story's actions while someone is typing in them (the next day's title).
      if (target.contains(document.activeElement) && document.activeElement.matches("input")) {
        event.preventDefault();
        return;
      }
      // A menu (or the End coverage step) left open stays open in the new one.
      const incoming = event.detail.fragment.querySelector("#desk-story-actions") ||
        event.detail.fragment.firstElementChild;
      for (const open of target.querySelectorAll("details[open][id]")) {
        incoming?.querySelector("#" + open.id)?.setAttribute("open", "");
      }
      revealShortcuts(incoming);
      // And the keyboard's place in it stays where it was (a colleague's post
      // must not throw someone half way to End coverage back to the top).
      const focused = document.activeElement;
      if (incoming && focused !== target && target.contains(focused)) {
        const same = [...incoming.querySelectorAll(focused.tagName)].find(
          (el) => el.textContent.trim() === focused.textContent.trim(),
        );
        if (same) setTimeout(() => same.isConnected && same.focus());
      }
    }
  });

  document.body.addEventListener("htmx:afterSettle", tidy);

  // "Load older updates": the link is its own target, swapped for the next
  // slice. Focus goes to the first row it brought (not the top of the page),
  // and a row the poll placed meanwhile (re-dated) is not listed twice.
  let lastBeforeOlder = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target?.classList?.contains("desk-load-older")) {
      lastBeforeOlder = event.detail.target.previousElementSibling || event.detail.target.parentElement;
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (!lastBeforeOlder) return;
    const seen = new Set();
    for (const row of document.querySelectorAll(".desk-list > .desk-row")) {
      if (seen.has(row.id)) row.remove();
      else seen.add(row.id);
    }
    const first = lastBeforeOlder.classList.contains("desk-list")
      ? lastBeforeOlder.firstElementChild
      : lastBeforeOlder.nextElementSibling;
    lastBeforeOlder = null;
    if (isRow(first)) {
      first.tabIndex = -1;
      first.focus({ preventScroll: false });
    }
  });

  // New content: put the cursor where the writing happens (the rich text box
  // once desk-editor.js has made it; until then its textarea, whose focus that
  // file passes on).
  document.body.addEventListener("htmx:load", (event) => {
    const el = event.detail.elt;
    if (!(el instanceof Element)) return;
    if (el.id === "compose" || el.classList.contains("is-editing")) {
      const body = el.querySelector(".ProseMirror.desk-body") || el.querySelector("textarea.desk-body");
      if (body && !el.querySelector(".errorlist")) body.focus();
      else el.querySelector(".errorlist, .errornote")?.scrollIntoView({ block: "center" });
    }
  });

  // What the server refused (a permission, a missing update) is said, not swallowed.
  const alertBox = document.getElementById("desk-alert");
  document.body.addEventListener("htmx:responseError", (event) => {
    if (!alertBox) return;
    const xhr = event.detail.xhr;
    alertBox.textContent =
      xhr.status === 403
        ? "You do not have permission to do that."
        : `The server could not do that (${xhr.status}). Reload the page and try again.`;
    alertBox.hidden = false;
  });
  document.body.addEventListener("htmx:sendError", () => {
    if (!alertBox) return;
    alertBox.textContent = "The server cannot be reached; nothing was sent. Try again.";
    alertBox.hidden = false;
  });
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (alertBox && event.detail.elt.id !== "desk-poller") alertBox.hidden = true;
  });

  // Keyboard shortcuts ------------------------------------------------------

  const shortcuts = document.getElementById("desk-shortcuts");

  // The menu's "Keyboard shortcuts" item only means something with this file.
  function revealShortcuts(root) {
    root?.querySelector?.(".desk-shortcuts-item")?.removeAttribute("hidden");
  }
  revealShortcuts(document);

  function openShortcuts() {
    if (!shortcuts || shortcuts.open) return;
    shortcuts.showModal();
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest?.(".desk-shortcuts-open")) openShortcuts();
    // A click elsewhere closes the menu, as a menu does.
    const menu = document.getElementById("desk-menu");
    if (menu?.open && !menu.contains(event.target)) menu.open = false;
  });

  // The rich text box, else its textarea (a selector list would give whichever
  // comes first in the page: the textarea, hidden while the box runs).
  function composeBody() {
    return document.querySelector("#compose .ProseMirror.desk-body") ||
      document.querySelector("#compose textarea.desk-body");
  }

  // Typing in a field (or the rich text box, or a button's own keys) is never a shortcut.
  function isTyping(target) {
    return Boolean(
      target.closest?.("input, textarea, select, [contenteditable=''], [contenteditable=true]"),
    );
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const menu = document.getElementById("desk-menu");
    if (event.key === "Escape") {
      // The dialog closes itself on Esc; an open menu closes here, focus back on its button.
      if (menu?.open && !shortcuts?.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
      return;
    }
    if (isTyping(event.target) || shortcuts?.open) return;
    if (event.key === "?") {
      event.preventDefault();
      openShortcuts();
    } else if (event.key === "/" || event.key === "n") {
      const body = composeBody();
      if (!body) return;
      event.preventDefault();
      body.scrollIntoView({ block: "center" });
      body.focus();
    } else if (event.key === "m" && menu) {
      event.preventDefault();
      menu.open = !menu.open;
      menu.querySelector("summary").focus();
    }
  });

  // Writing -----------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const target = event.target;
    const form = target.closest?.("form.desk-compose, form.desk-edit-form");
    if (!form) return;
    // Ctrl/Cmd+Enter: publish (or submit, or save) from anywhere in the form.
    if (event.key === "Enter") {
      const button = form.querySelector(".desk-publish, .desk-save");
      if (!button || button.disabled || button.closest("fieldset:disabled")) return;
      event.preventDefault();
      button.click();
    }
  });
})();
