// The desk's "Embed on another site": copy the snippet, and load the preview
// the first time the disclosure opens.
(() => {
  "use strict";

  const panel = document.getElementById("desk-embed");
  if (!panel) return;
  const status = panel.querySelector(".desk-embed-status");

  panel.addEventListener("toggle", () => {
    const preview = panel.querySelector("iframe[data-src]");
    if (!panel.open || !preview || preview.src) return;
    preview.src = preview.dataset.src;
    preview.hidden = false;
  });

  panel.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const code = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(code.textContent);
      status.textContent = "Copied";
    } catch {
      // No clipboard (an insecure origin, or refused): select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
    }
  });
})();
