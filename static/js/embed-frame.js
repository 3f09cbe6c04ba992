// Inside the embed kit's frame (templates/coverage/embed_base.html): the other
// side of embed.js's protocol. Reports this document's height whenever it
// changes (ResizeObserver: new updates, "Load older updates", late images, a
// narrower window); listens only to the page that framed it (data-parent, its
// origin, and its window) and writes only to that origin.
//
// In a frame as tall as its content the reader scrolls the host page, not
// this one: live.js asks window.liveblogEmbed whether the reader is at the
// top, and to scroll, which the host does.
(() => {
  "use strict";

  const PROTOCOL = "liveblog-embed";
  const root = document.documentElement;
  const parentOrigin = root.dataset.parent;
  // Opened directly (or previewed on the desk): an ordinary page with its own scrollbar.
  if (!parentOrigin || window.parent === window) return;
  root.classList.add("is-framed");

  const post = (message) => window.parent.postMessage({ protocol: PROTOCOL, ...message }, parentOrigin);
  // Where this frame's top is in the host's viewport, as the host last said.
  let frameTop = 0;
  let hostHeight = window.innerHeight;
  let hostPage = null;

  window.liveblogEmbed = {
    // As live.js decides on a page of its own: the list's top still in view.
    readerIsAtTop: (list) => frameTop + list.getBoundingClientRect().top >= -40,
    // Oldest first: the list's end within what the host shows.
    readerIsAtEnd: (list) => frameTop + list.getBoundingClientRect().bottom <= hostHeight + 40,
    scrollTo: (element) => post({ type: "scroll-to", offset: element.getBoundingClientRect().top + window.scrollY }),
  };

  let reported = 0;
  function reportHeight() {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height === reported) return;
    reported = height;
    post({ type: "height", height });
  }
  new ResizeObserver(reportHeight).observe(root);

  // permalink="host": Share and the teaser's links lead to the host page at
  // #liveblog-update-<id> (embed.js scrolls there on load), not to this site.
  function linkToHost() {
    if (root.dataset.permalink !== "host" || !hostPage) return;
    for (const link of document.querySelectorAll("a.share-link, a.teaser-item, a.teaser-follow-link")) {
      const id = link.dataset.update || link.closest(".update")?.id.replace("update-", "");
      const href = id ? `${hostPage}#liveblog-update-${id}` : hostPage;
      if (link.href !== href) link.href = href;
      link.target = "_top";
    }
  }
  // Updates arrive by poll and by "Load older updates".
  new MutationObserver(linkToHost).observe(document.body, { childList: true, subtree: true });

  // Scroll the host to an update; one older than those loaded is fetched
  // first, a "Load older updates" at a time (a bounded number of them).
  function show(id, slices = 20) {
    const update = document.getElementById(`update-${id}`);
    if (update) {
      window.liveblogEmbed.scrollTo(update);
      return true;
    }
    const older = document.querySelector("#updates .load-older, #updates .load-newer");
    if (!older || slices === 0) return false;
    const loaded = (event) => {
      const target = event.detail.target?.classList;
      if (!target?.contains("load-older") && !target?.contains("load-newer")) return;
      document.body.removeEventListener("htmx:afterSettle", loaded);
      show(id, slices - 1);
    };
    document.body.addEventListener("htmx:afterSettle", loaded);
    older.click();
    return false;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    const message = event.data;
    if (!message || message.protocol !== PROTOCOL) return;
    if (message.type === "hello") {
      // Only an address on the origin the server was given is believed.
      try {
        const page = new URL(message.page);
        if (page.origin === parentOrigin) hostPage = page.href.split("#")[0];
      } catch {
        hostPage = null;
      }
      linkToHost();
      reported = 0;
      reportHeight();
      if (/^\d+$/.test(String(message.show))) show(message.show);
    } else if (message.type === "viewport" && Number.isFinite(message.top)) {
      frameTop = message.top;
      if (Number.isFinite(message.height)) hostHeight = message.height;
      // The "new updates" button sticks to the top of what the reader sees of
      // the frame, not to the frame's own (whole-document) viewport.
      root.style.setProperty("--host-viewport-top", `${Math.max(0, -frameTop)}px`);
      // live.js reveals waiting updates when a reader scrolls back to the top.
      window.dispatchEvent(new Event("scroll"));
    } else if (message.type === "show" && /^\d+$/.test(String(message.id))) {
      show(message.id);
    }
  });

  // An update's stamp and the key events link to #update-<id>: scroll the
  // host page there (the frame itself does not scroll), and with
  // permalink="host" name it in the host's address bar.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#update-']");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const id = link.getAttribute("href").slice("#update-".length);
    event.preventDefault();
    if (show(id) && root.dataset.permalink === "host") post({ type: "permalink", id });
  });

  // The teaser polls by itself; like the story's poller, not from a background tab.
  document.body.addEventListener("htmx:confirm", (event) => {
    if (event.target.id === "teaser" && document.hidden) event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    const teaser = document.getElementById("teaser");
    if (!document.hidden && teaser) htmx.trigger(teaser, "poll-now");
  });

  post({ type: "ready", title: document.title });
})();
