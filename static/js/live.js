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
  const readerIsAtTop = () => list.getBoundingClientRect().top >= -40;

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

  function revealPending() {
    for (const article of pending) article.hidden = false;
    pending = [];
    showPendingCount();
    list.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // A new update: htmx found no element with its id, so it is ours to insert.
  document.body.addEventListener("htmx:oobErrorNoTarget", (event) => {
    const article = event.detail.content;
    if (!isUpdate(article)) return; // a removal of something this page never had
    if (!place(article)) return;
    list.querySelector(".no-updates")?.remove();
    htmx.process(article);
    if (readerIsAtTop()) {
      announce("New update: " + (article.querySelector(".update-stamp")?.textContent || ""));
    } else {
      article.hidden = true;
      pending.push(article);
      showPendingCount();
      announce(newButton.textContent);
    }
  });

  // An edited update replaced in place: re-place it if its time or pin changed.
  document.body.addEventListener("htmx:oobAfterSwap", (event) => {
    const article = event.target;
    if (isUpdate(article) && article.parentElement === list) {
      const prev = article.previousElementSibling;
      const next = article.nextElementSibling;
      const outOfOrder =
        (isUpdate(prev) && prev.dataset.sort < article.dataset.sort) ||
        (isUpdate(next) && next.dataset.sort > article.dataset.sort);
      if (outOfOrder) place(article);
    }
  });

  // A pending update edited before the reader saw it: keep its replacement
  // hidden and pending too.
  document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
    const index = pending.indexOf(event.detail.target);
    const replacement = event.detail.fragment.firstElementChild;
    if (index === -1 || !isUpdate(replacement)) return;
    replacement.hidden = true;
    pending[index] = replacement;
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
    const normal = Number(el.dataset.pollSeconds || /every (\d+)s/.exec(el.getAttribute("hx-trigger"))?.[1] || 10);
    el.dataset.pollSeconds = normal;
    const current = Number(el.dataset.backoffSeconds || normal);
    const next = Math.min(current * 2, MAX_BACKOFF_SECONDS);
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

  // Background tabs do not poll; coming back polls at once.
  document.body.addEventListener("htmx:confirm", (event) => {
    if (event.target.id === "poller" && document.hidden) event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    const el = poller();
    if (!document.hidden && el && el.hasAttribute("hx-get")) htmx.trigger(el, "poll-now");
  });
})();
