// Click-to-play videos. A video card shows a poster and a Play button; only when
// the reader presses it does the player (and so the video site) load. Delegated
// from the document, so it also works for cards that arrive later by polling.
(() => {
  "use strict";

  // The same origins the Content Security Policy allows to be framed.
  const PLAYER_ORIGINS = new Set(["https://www.youtube-nocookie.com", "https://player.vimeo.com"]);

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-player-url]");
    if (!button) return;
    let url;
    try {
      url = new URL(button.dataset.playerUrl);
    } catch {
      return;
    }
    if (!PLAYER_ORIGINS.has(url.origin)) return;

    const frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = button.dataset.playerTitle || "Video player";
    frame.allow = "autoplay; encrypted-media; picture-in-picture";
    frame.allowFullscreen = true;
    frame.className = "video-frame";
    const poster = button.closest(".video-poster");
    if (poster?.classList.contains("is-portrait")) frame.classList.add("is-portrait");
    (poster || button).replaceWith(frame);
    frame.focus();
  });
})();
