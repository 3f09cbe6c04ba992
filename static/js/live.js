// The live page's small helper. htmx polls and swaps; this file only decides
// where arriving updates go and keeps readers who scrolled down in place.
(() => {
  "use strict";

  const list = document.getElementById("updates");
  if (!list) return;
  const newButton = document.getElementById("new-updates");
  const announcer = document.getElementById("live-announcer");
  const baseTitle = document.title;
  let pending = [];

  const poller = () => document.getElementById("poller");
  const isUpdate = (el) => el && el.nodeType === 1 && el.classList.contains("update");

  // A reader is "reading" once the top of the list has scrolled out of view:
  // inserting above them then would move the text under their eyes.
  // In the embed kit's frame the host page scrolls, not this one: embed-frame.js
  // (window.liveblogEmbed) answers from where the host says the frame is.
  const embed = window.liveblogEmbed;
  const readerIsAtTop = () =>
    embed ? embed.readerIsAtTop(list) : list.getBoundingClientRect().top >= -40;

  // By its sort key (placement.js). Returns false for an update older than
  // everything loaded while older ones are still behind "Load older updates":
  // it belongs to a later slice.
  const place = (article) =>
    placement.place(article, list, isUpdate, !list.querySelector(".load-older"));

  function announce(text) {
    if (announcer) announcer.textContent = text;
  }

  function showPendingCount() {
    const n = pending.length;
    if (!newButton) return;
    newButton.hidden = n === 0;
    newButton.textContent = n === 1 ? "1 new update" : `${n} new updates`;
    document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
  }

  // A smooth scroll up a long page is motion that makes some readers ill: for
  // those who ask for less (prefers-reduced-motion) the jump is immediate.
  // CSS cannot overrule a script's own "smooth", so the script asks the media
  // query itself ("auto" then defers to site.css, which says no smooth scrolling).
  const lessMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const scrollBehaviour = () => (lessMotion.matches ? "auto" : "smooth");

  function revealPending() {
    for (const article of pending) article.hidden = false;
    pending = [];
    showPendingCount();
    if (embed) embed.scrollTo(list);
    else list.scrollIntoView({ behavior: scrollBehaviour(), block: "start" });
  }

  // Ids of updates a poll is bringing that this page did not have.
  const arriving = new Set();

  // Before a poll's answer is swapped: every out-of-band part needs its target
  // (htmx logs an error for each one that has none). A new update gets a
  // placeholder where it belongs, for htmx to swap it into; the removal of an
  // update this page never had (or one beyond the loaded slices) is dropped.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target?.id !== "poller" || !event.detail.serverResponse) return;
    const answer = document.createElement("template");
    answer.innerHTML = event.detail.serverResponse;
    let edited = false;
    for (const part of [...answer.content.children]) {
      if (!part.hasAttribute("hx-swap-oob") || !part.id || document.getElementById(part.id)) {
        continue;
      }
      const placeholder = document.createElement("article");
      placeholder.id = part.id;
      placeholder.className = "update";
      placeholder.dataset.sort = part.dataset.sort || "";
      placeholder.hidden = true;
      if (part.getAttribute("hx-swap-oob") !== "delete" && isUpdate(part) && place(placeholder)) {
        arriving.add(part.id);
      } else {
        part.remove();
        edited = true;
      }
    }
    if (edited) event.detail.serverResponse = answer.innerHTML;
  });

  // Is this update the newest one unpinned (above everything the reader has)?
  // A backdated one lands further down, among what they have already seen.
  function isNewest(article) {
    for (let el = article.previousElementSibling; el; el = el.previousElementSibling) {
      if (isUpdate(el) && !el.classList.contains("is-pinned")) return false;
    }
    return true;
  }

  function arrived(article) {
    list.querySelector(".no-updates")?.remove();
    // Filtered to key events: another kind of update arrives hidden, unannounced.
    if (filtering() && !article.classList.contains("is-key-event")) return;
    const stamp = article.querySelector(".update-stamp")?.textContent || "";
    if (readerIsAtTop() || !isNewest(article)) {
      // Shown where it belongs; the browser's scroll anchoring keeps a reader
      // further down where they are.
      announce("New update: " + stamp);
    } else {
      article.hidden = true;
      pending.push(article);
      showPendingCount();
      announce(newButton.textContent);
    }
  }

  // Swapped in: a new update (into its placeholder), or an edited one in
  // place, which is re-placed if its time or pin changed.
  document.body.addEventListener("htmx:oobAfterSwap", (event) => {
    const article = event.target;
    if (!isUpdate(article) || article.parentElement !== list) return;
    if (arriving.delete(article.id)) return arrived(article);
    keepInOrder(article);
  });

  function keepInOrder(article) {
    const prev = article.previousElementSibling;
    const next = article.nextElementSibling;
    const outOfOrder =
      (isUpdate(prev) && prev.dataset.sort < article.dataset.sort) ||
      (isUpdate(next) && next.dataset.sort > article.dataset.sort);
    if (outOfOrder) place(article);
  }

  // A playing video is part of the page the reader is using: an edit of its
  // update must not put it back to its poster. Such an update is updated
  // around the player, which is never detached (moving a frame reloads it).
  function updateAroundPlayers(old, replacement) {
    const playing = new Map();
    for (const frame of old.querySelectorAll("iframe.video-frame")) {
      playing.set(frame.src, frame.closest("figure") || frame);
    }
    const keep = (node) => {
      const button = node.nodeType === 1 && node.querySelector("button[data-player-url]");
      return button ? playing.get(new URL(button.dataset.playerUrl, location.href).href) : null;
    };
    const kept = new Set([...replacement.childNodes].map(keep).filter(Boolean));
    if (!kept.size) return false;
    for (const node of [...old.childNodes]) if (!kept.has(node)) node.remove();
    let cursor = null;
    for (const node of [...replacement.childNodes]) {
      const figure = keep(node);
      if (figure && kept.has(figure)) {
        cursor = figure;
        continue;
      }
      if (cursor) cursor.after(node);
      else old.prepend(node);
      cursor = node;
    }
    for (const name of ["class", "data-sort", "data-version"]) {
      old.setAttribute(name, replacement.getAttribute(name) || "");
    }
    return true;
  }

  document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
    const old = event.detail.target;
    const replacement = event.detail.fragment.firstElementChild;
    if (!isUpdate(old) || !isUpdate(replacement)) return;
    const index = pending.indexOf(old);
    if (index !== -1) {
      // A pending update edited before the reader saw it: its replacement
      // stays hidden and pending too.
      replacement.hidden = true;
      pending[index] = replacement;
    } else if (old.querySelector("iframe.video-frame") && updateAroundPlayers(old, replacement)) {
      event.preventDefault();
      keepInOrder(old);
    }
  });

  // "Load older updates" by keyboard: focus goes to the first update it
  // brought, not back to the top of the document.
  let lastBeforeOlder = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    // The link is its own target: it is swapped for the slice it brings.
    if (event.detail.target?.classList?.contains("load-older")) {
      lastBeforeOlder = event.detail.target.previousElementSibling;
    }
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!lastBeforeOlder || !event.detail.target?.classList?.contains("load-older")) return;
    const first = lastBeforeOlder.nextElementSibling;
    lastBeforeOlder = null;
    if (isUpdate(first)) {
      first.tabIndex = -1;
      first.focus({ preventScroll: true });
    }
  });

  // Removed updates leave the pending list too; an older slice may repeat an
  // update that a poll already placed (re-dated): keep the first copy.
  document.body.addEventListener("htmx:afterSwap", () => {
    const seen = new Set();
    for (const article of list.querySelectorAll(":scope > .update")) {
      if (seen.has(article.id)) article.remove();
      else seen.add(article.id);
    }
    const before = pending.length;
    pending = pending.filter((article) => article.isConnected);
    if (pending.length !== before) showPendingCount();
  });

  // Key events: the box starts open (readers without JavaScript get it so);
  // on a phone it starts closed, a tap away, above the updates rather than
  // in their place. Polls replace its contents only, so the choice stays.
  const keyEvents = document.getElementById("key-events");
  if (keyEvents && window.matchMedia("(max-width: 40rem)").matches) keyEvents.open = false;
  // A key event that is waiting behind the "new updates" button is shown first.
  keyEvents?.addEventListener("click", (event) => {
    if (event.target.closest("a[href^='#update-']") && pending.length) {
      for (const article of pending) article.hidden = false;
      pending = [];
      showPendingCount();
    }
  });

  // "Key events only": a link to the filtered page without JavaScript; here a
  // toggle that hides the other updates (CSS) without a reload.
  const filtering = () => list.classList.contains("key-events-only");
  const toggle = document.getElementById("key-events-toggle");
  toggle?.setAttribute("role", "button");
  toggle?.setAttribute("aria-pressed", "false");
  toggle?.addEventListener("click", (event) => {
    event.preventDefault();
    const on = !filtering();
    list.classList.toggle("key-events-only", on);
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Show all updates" : "Key events only";
  });

  newButton?.addEventListener("click", revealPending);
  window.addEventListener(
    "scroll",
    () => {
      if (pending.length && readerIsAtTop()) revealPending();
    },
    { passive: true },
  );

  // A server in trouble (5xx) or no answer at all: poll half as often each
  // time, up to once a minute, and return to the normal pace after a success.
  // (A 200 swaps in a fresh poller at the normal pace by itself.)
  const MAX_BACKOFF_SECONDS = 60;
  const pollTrigger = (seconds) => `every ${seconds}s, poll-now`;
  function setPollSeconds(el, seconds) {
    el.setAttribute("hx-trigger", pollTrigger(seconds));
    htmx.process(el); // re-reads the trigger
  }
  function backOff(event) {
    const el = event.detail.elt;
    if (!el || el.id !== "poller" || !el.hasAttribute("hx-get")) return;
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (event.type === "htmx:responseError" && status < 500) return;
    const trigger = /every (\d+)s/.exec(el.getAttribute("hx-trigger"));
    const normal = Number(el.dataset.pollSeconds || trigger?.[1] || 10);
    el.dataset.pollSeconds = normal;
    const current = Number(el.dataset.backoffSeconds || normal);
    // Never faster than the page's own pace (an ended story's is slower still).
    const next = Math.min(current * 2, Math.max(MAX_BACKOFF_SECONDS, normal));
    el.dataset.backoffSeconds = next;
    setPollSeconds(el, next);
  }
  document.body.addEventListener("htmx:responseError", backOff);
  document.body.addEventListener("htmx:sendError", backOff);
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const el = event.detail.elt;
    if (!el || el.id !== "poller" || !event.detail.successful || !el.dataset.backoffSeconds) return;
    delete el.dataset.backoffSeconds;
    if (el.isConnected) setPollSeconds(el, Number(el.dataset.pollSeconds));
  });

  // An address naming an update this page has not loaded (older than the
  // newest slice, or a key event far down): the story view sends the reader to
  // the page that holds it, keeping the #update-<id>.
  function findLinkedUpdate() {
    const match = /^#update-(\d+)$/.exec(location.hash);
    if (!match || document.getElementById(match[0].slice(1))) return;
    if (!list.querySelector(".load-older")) return;
    // Once per update: one that was withdrawn is answered with the live page,
    // which does not have it either.
    try {
      if (sessionStorage.getItem("sought-update") === match[1]) return;
      sessionStorage.setItem("sought-update", match[1]);
    } catch {
      return; // no storage, no way to tell a second try from the first
    }
    location.replace(`${location.pathname}?around=${match[1]}${location.hash}`);
  }
  findLinkedUpdate();
  window.addEventListener("hashchange", findLinkedUpdate);

  // Background tabs do not poll; coming back polls at once.
  document.body.addEventListener("htmx:confirm", (event) => {
    if (event.target.id === "poller" && document.hidden) event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    const el = poller();
    if (!document.hidden && el && el.hasAttribute("hx-get")) htmx.trigger(el, "poll-now");
  });
})();
