// The live page's small helper. htmx polls and swaps; this file says when to
// poll, decides where arriving updates go and keeps readers who scrolled in place.
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
  // "newest" first, or "oldest" first (the story's reading order): new updates
  // arrive at the top, or at the bottom.
  const order = list.dataset.order === "oldest" ? "oldest" : "newest";
  const oldestFirst = order === "oldest";
  const LOAD_MORE = ".load-older, .load-newer";
  const isLoadMore = (el) => Boolean(el?.matches?.(LOAD_MORE));

  // A reader is "reading" once the top of the list has scrolled out of view:
  // inserting above them then would move the text under their eyes.
  // In the embed kit's frame the host page scrolls, not this one: embed-frame.js
  // (window.liveblogEmbed) answers from where the host says the frame is.
  const embed = window.liveblogEmbed;
  const readerIsAtTop = () =>
    embed ? embed.readerIsAtTop(list) : list.getBoundingClientRect().top >= -40;
  // Oldest first, new updates go below: a reader who has reached the end of
  // the list sees them come; one reading further up is told of them instead.
  const readerIsAtEnd = () =>
    embed ? embed.readerIsAtEnd(list) : list.getBoundingClientRect().bottom <= window.innerHeight + 40;
  const readerSeesArrivals = () => (oldestFirst ? readerIsAtEnd() : readerIsAtTop());

  // By its sort key (placement.js). Returns false for an update beyond
  // everything loaded while more are still behind "Load older updates" (or
  // "Load newer updates"): it belongs to a later slice, and comes with it.
  const place = (article) =>
    placement.place(article, list, isUpdate, !list.querySelector(LOAD_MORE), order);

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
    const first = pending.find((article) => article.isConnected);
    for (const article of pending) article.hidden = false;
    pending = [];
    showPendingCount();
    // Down to the first of them at the bottom, oldest first; else up to the top.
    const destination = oldestFirst && first ? first : list;
    if (embed) embed.scrollTo(destination);
    else destination.scrollIntoView({ behavior: scrollBehaviour(), block: "start" });
  }

  // Ids of updates a poll is bringing that this page did not have.
  const arriving = new Set();

  // Before a poll's answer is swapped: every out-of-band part needs its target
  // (htmx logs an error for each one that has none). A new update gets a
  // placeholder where it belongs, for htmx to swap it into; the removal of an
  // update this page never had (or one beyond the loaded slices) is dropped.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target?.id !== "poller" || !event.detail.serverResponse) return;
    placement.giveTargets(event.detail, (part) => {
      if (part.getAttribute("data-hx-swap-oob") === "delete" || !isUpdate(part)) return false;
      if (!place(placement.placeholder(part, "article", "update"))) return false;
      arriving.add(part.id);
      return true;
    });
  });

  // Is this update the newest one unpinned (above everything the reader has,
  // or below it oldest first)? A backdated one lands among what they have
  // already seen, as does a pinned one oldest first (at the top).
  function isNewest(article) {
    if (oldestFirst) {
      if (article.classList.contains("is-pinned")) return false;
      for (let el = article.nextElementSibling; el; el = el.nextElementSibling) {
        if (isUpdate(el)) return false;
      }
      return true;
    }
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
    if (readerSeesArrivals() || !isNewest(article)) {
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
    if (placement.outOfOrder(article, isUpdate, order)) place(article);
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

  // "Load older updates" (or newer) by keyboard: focus goes to the first
  // update it brought, not back to the top of the document.
  let lastBeforeOlder = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    // The link is its own target: it is swapped for the slice it brings.
    if (isLoadMore(event.detail.target)) {
      lastBeforeOlder = event.detail.target.previousElementSibling;
    }
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!lastBeforeOlder || !isLoadMore(event.detail.target)) return;
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
      if (pending.length && readerSeesArrivals()) revealPending();
    },
    { passive: true },
  );

  // When to poll. The poller answers "poll-now"; this fires it on a timer, at
  // the pace each answer's Poll-Interval header gives (the desk's poll mode,
  // the site's kill switch: a paused story's pages keep a slow heartbeat, so
  // they resume when the desk resumes). A server in trouble (5xx, 429, or no
  // answer at all) is asked again after growing gaps with jitter, or when its
  // Retry-After says; the first answer after restores the pace.
  const MAX_BACKOFF_SECONDS = 300;
  let timer = null;
  let failures = 0;
  // A back-off (or Retry-After) wait is running: showing the tab does not cut it short.
  let troubled = false;
  // The timer fired while the tab was hidden: showing it polls at once.
  let dueWhileHidden = false;

  const pace = () => Number(poller()?.dataset.pollSeconds) || 10;

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(pollNow, seconds * 1000);
  }

  function pollNow() {
    clearTimeout(timer);
    timer = null;
    const el = poller();
    if (el && el.hasAttribute("data-hx-get")) htmx.trigger(el, "poll-now");
  }

  // Equal jitter: half the gap fixed, half random. Readers of a struggling
  // server spread out, none asks again sooner than the page's own pace, and
  // each gap is at least the one before until the cap.
  function backOffSeconds() {
    const ceiling = Math.min(pace() * 2 ** failures, Math.max(MAX_BACKOFF_SECONDS, pace() * 2));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  // Seconds or an HTTP date; a wait longer than the back-off's cap is cut to it.
  function retryAfterSeconds(xhr) {
    const value = (xhr?.getResponseHeader("Retry-After") || "").trim();
    if (!value) return null;
    const seconds = /^\d+$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
    return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_BACKOFF_SECONDS) : null;
  }

  const inTrouble = (status) => status === 0 || status === 429 || status >= 500;

  // After every poll, answered or not. When the answer replaced the poller,
  // htmx fires this on the nearest element still in the page (as detail.elt):
  // the request's own element says whose it was.
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const el = event.detail.requestConfig?.elt;
    if (!el || el.id !== "poller") return;
    const xhr = event.detail.xhr;
    const status = xhr ? xhr.status : 0;
    if (inTrouble(status)) {
      failures += 1;
      troubled = true;
      let seconds = backOffSeconds();
      const retryAfter = status === 503 || status === 429 ? retryAfterSeconds(xhr) : null;
      // Never before the server's Retry-After; readers spread out over a pace after it.
      if (retryAfter !== null) seconds = Math.max(seconds, retryAfter + Math.random() * pace());
      schedule(seconds);
      return;
    }
    failures = 0;
    troubled = false;
    const told = Number(xhr.getResponseHeader("Poll-Interval"));
    const current = poller();
    if (told > 0 && current) current.dataset.pollSeconds = told;
    schedule(pace());
  });

  // An address naming an update this page has not loaded (older than the
  // newest slice, or a key event far down): the story view sends the reader to
  // the page that holds it, keeping the #update-<id>.
  function findLinkedUpdate() {
    const match = /^#update-(\d+)$/.exec(location.hash);
    if (!match || document.getElementById(match[0].slice(1))) return;
    if (!list.querySelector(LOAD_MORE)) return;
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

  // Background tabs do not poll; coming back polls at once (but not before a
  // struggling server's wait is over, unless it ended while hidden).
  document.body.addEventListener("htmx:confirm", (event) => {
    if (event.target.id === "poller" && document.hidden) {
      event.preventDefault();
      dueWhileHidden = true;
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden || (troubled && !dueWhileHidden)) return;
    dueWhileHidden = false;
    pollNow();
  });
  if (poller()?.hasAttribute("data-hx-get")) schedule(pace());
})();
