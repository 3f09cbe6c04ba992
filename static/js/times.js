// Times in the reader's own time zone, on request. GMT stays the house style:
// the server writes every stamp as "1941 GMT" inside <time datetime="…">, and
// this file only rewrites those texts when the reader asks (remembered in
// localStorage), back again when they ask for GMT. Intl works out each instant's
// own offset, so a stamp before a clock change and one after are both right.
(() => {
  "use strict";
  const STORAGE_KEY = "liveblog:times";
  const GMT_STAMP = /\b(\d{4}) GMT\b/;
  const locale = document.documentElement.lang || "en-GB";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  // The zone's abbreviation ("EST", "CET"…). A language names only some zones
  // (en-GB calls New York's "GMT-5"), so the reader's language first, then
  // the page's, then American English; an offset only where none has a name.
  const zoneNamers = [...new Set([navigator.language, locale, "en-US"].filter(Boolean))].map(
    (language) => new Intl.DateTimeFormat(language, { timeZoneName: "short" }),
  );
  const OFFSET_ONLY = /^(?:GMT|UTC)(?:[+\-\u2212]|$)/;
  const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long" });
  const dayKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" });

  const toggles = () => document.querySelectorAll(".time-toggle");
  let local = false;
  try {
    local = localStorage.getItem(STORAGE_KEY) === "local";
  } catch {
    // Storage refused (private mode): the toggle still works for this page.
  }

  function zoneName(date) {
    let offset = "";
    for (const namer of zoneNamers) {
      const part = namer.formatToParts(date).find((p) => p.type === "timeZoneName");
      if (!part) continue;
      if (!OFFSET_ONLY.test(part.value)) return part.value;
      offset ||= part.value;
    }
    return offset || zone;
  }

  function localStamp(date) {
    return `${clock.format(date).replace(":", "")} ${zoneName(date)}`;
  }

  function showTime(el) {
    if (el.dataset.gmt === undefined) {
      if (!GMT_STAMP.test(el.textContent)) return;
      el.dataset.gmt = el.textContent;
    }
    const date = new Date(el.dateTime);
    if (Number.isNaN(date.getTime())) return;
    if (local) {
      el.textContent = el.dataset.gmt.replace(GMT_STAMP, localStamp(date));
      el.title = el.dataset.gmt.match(GMT_STAMP)[0];
    } else {
      el.textContent = el.dataset.gmt;
      el.removeAttribute("title");
    }
  }

  // "UPDATE 2300 GMT" with no date misleads on another day than the story's; in
  // the reader's zone the days are theirs, so the server's dateline may not fit.
  function showDateline(article, started) {
    const time = article.querySelector(".update-stamp time[datetime]");
    if (!time) return;
    let line = article.querySelector(".update-date");
    if (!local) {
      if (line?.dataset.localOnly) line.remove();
      else if (line && line.dataset.gmt !== undefined) {
        line.textContent = line.dataset.gmt;
        line.hidden = false;
      }
      return;
    }
    const date = new Date(time.dateTime);
    const sameDay = dayKey.format(date) === dayKey.format(started);
    if (!line) {
      if (sameDay) return;
      line = document.createElement("p");
      line.className = "update-date";
      line.dataset.localOnly = "true";
      time.closest(".update-stamp").after(line);
    } else if (line.dataset.gmt === undefined && !line.dataset.localOnly) {
      line.dataset.gmt = line.textContent;
    }
    line.hidden = sameDay;
    const year = date.getFullYear() !== started.getFullYear() ? ` ${date.getFullYear()}` : "";
    line.textContent = dayFormat.format(date) + year;
  }

  // The story's date in its header follows too: the datelines are counted from
  // it, so in Tokyo a story begun at 2000 GMT on the 24th is the 25th's.
  function showStoryDate(el) {
    // Its own key: showTime takes any element with data-gmt for a GMT stamp.
    if (el.dataset.gmtDay === undefined) el.dataset.gmtDay = el.textContent;
    const date = new Date(el.dateTime);
    if (Number.isNaN(date.getTime())) return;
    el.textContent = local ? `${dayFormat.format(date)} ${date.getFullYear()}` : el.dataset.gmtDay;
  }

  function apply(root) {
    for (const el of root.querySelectorAll("time[datetime]")) showTime(el);
    for (const el of root.querySelectorAll("time.story-date[datetime]")) showStoryDate(el);
    const updates = document.querySelector("[data-started]");
    const started = updates && new Date(updates.dataset.started);
    if (started && !Number.isNaN(started.getTime())) {
      for (const article of root.querySelectorAll("article.update")) showDateline(article, started);
    }
  }

  function label() {
    for (const button of toggles()) {
      button.textContent = local ? "Show times in GMT" : "Show times in my time zone";
      button.setAttribute("aria-pressed", String(local));
    }
    const note = document.getElementById("times-note");
    if (note) {
      note.textContent = local ? `All times ${zoneName(new Date())}, your time zone (${zone}).` : "All times GMT.";
    }
  }

  function choose(wantLocal) {
    local = wantLocal;
    try {
      localStorage.setItem(STORAGE_KEY, local ? "local" : "gmt");
    } catch {
      // Not remembered, but shown.
    }
    label();
    apply(document);
  }

  for (const button of toggles()) {
    button.hidden = false;
    button.addEventListener("click", () => choose(!local));
  }
  label();
  if (local) apply(document);
  // What a poll or "Load older" brings is written in GMT: shown as chosen.
  // (The whole page each time: a few hundred stamps at most, and a swapped
  // element may no longer be in the page when the event names it.)
  const settled = () => local && apply(document);
  document.body.addEventListener("htmx:afterSettle", settled);
  document.body.addEventListener("htmx:oobAfterSwap", settled);
})();
