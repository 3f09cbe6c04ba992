// The embed kit's loader, for a newsroom's own pages:
//
//   <script src="https://live.example.com/embed.js" data-story="<slug>" async></script>
//
// puts the story's live coverage in an iframe just after the snippet and keeps
// the frame as tall as its content (no inner scrollbar). Options are the
// snippet's data-* attributes: mode, limit, theme, order, permalink, show.
//
// It talks to the frame by postMessage, a small protocol of its own (see
// embed-frame.js for the other side): messages are accepted only from the
// frame's window and origin, and sent only to that origin. The frame reports
// its height and asks to be scrolled to; this page says where the frame sits
// in its viewport (the reader scrolls this page, not the frame) and its own
// address (for permalinks to it, #liveblog-update-<id>).
(() => {
  "use strict";

  const PROTOCOL = "liveblog-embed";
  const OPTIONS = ["mode", "limit", "theme", "order", "permalink", "show"];
  const WANTED = /^#liveblog-update-(\d+)$/;

  function mount(script) {
    if (!script || script.hasAttribute("data-liveblog-mounted") || !script.dataset.story) return;
    script.setAttribute("data-liveblog-mounted", "");
    const origin = new URL(script.src, location.href).origin;
    const params = new URLSearchParams();
    for (const name of OPTIONS) {
      if (script.dataset[name]) params.set(name, script.dataset[name]);
    }
    params.set("parent", location.origin);

    const frame = document.createElement("iframe");
    frame.src = `${origin}/embed/${encodeURIComponent(script.dataset.story)}/?${params}`;
    frame.title = "Live coverage";
    frame.className = "liveblog-embed";
    frame.setAttribute("scrolling", "no");
    frame.allow = "clipboard-write; web-share";
    // The frame may run its scripts and open links (a new tab, or this page
    // when the reader clicks one that says so); nothing else.
    frame.sandbox =
      "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation";
    Object.assign(frame.style, { display: "block", width: "100%", border: "0", height: "20rem" });
    script.after(frame);

    const post = (message) => frame.contentWindow?.postMessage({ protocol: PROTOCOL, ...message }, origin);
    const wanted = () => WANTED.exec(location.hash)?.[1];

    // Where the frame is in this page's viewport, at most once a frame (the
    // browser's, not the iframe) however fast the reader scrolls.
    let queued = false;
    function sendViewport() {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        post({ type: "viewport", top: frame.getBoundingClientRect().top, height: window.innerHeight });
      });
    }

    const lessMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
    function scrollToOffset(offset) {
      const top = frame.getBoundingClientRect().top + window.scrollY + offset;
      window.scrollTo({ top, behavior: lessMotion.matches ? "auto" : "smooth" });
    }

    window.addEventListener("message", (event) => {
      if (event.source !== frame.contentWindow || event.origin !== origin) return;
      const message = event.data;
      if (!message || message.protocol !== PROTOCOL) return;
      if (message.type === "ready") {
        if (typeof message.title === "string" && message.title) frame.title = message.title;
        post({ type: "hello", page: location.href.split("#")[0], show: wanted() });
        sendViewport();
      } else if (message.type === "height" && Number.isFinite(message.height)) {
        frame.style.height = `${Math.max(0, Math.ceil(message.height))}px`;
        sendViewport();
      } else if (message.type === "scroll-to" && Number.isFinite(message.offset)) {
        scrollToOffset(message.offset);
      } else if (message.type === "permalink" && /^\d+$/.test(String(message.id))) {
        // The address bar names the update the reader went to: a link to share.
        history.replaceState(history.state, "", `#liveblog-update-${message.id}`);
      }
    });
    window.addEventListener("scroll", sendViewport, { passive: true });
    window.addEventListener("resize", sendViewport);
    window.addEventListener("hashchange", () => {
      if (wanted()) post({ type: "show", id: wanted() });
    });
  }

  // Async: each snippet runs this file once, as its currentScript. A page that
  // copies the snippet without async (or a tag manager) is caught by the search.
  mount(document.currentScript);
  for (const script of document.querySelectorAll("script[data-story]")) {
    if (/\/embed\.js(\?|$)/.test(script.src)) mount(script);
  }
})();
