// "Share" on each update: the phone's share sheet where the browser has one
// (Web Share API), else the link copied to the clipboard. Without either, or
// without JavaScript, the link simply opens the update's own page.
(() => {
  "use strict";

  function say(link, text) {
    const status = link.parentElement.querySelector(".share-status");
    if (!status) return;
    status.textContent = text;
    clearTimeout(status.clearing);
    status.clearing = setTimeout(() => (status.textContent = ""), 4000);
  }

  // Delegated: updates arrive later by poll and by "Load older updates".
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a.share-link");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const url = link.href;
    const title = link.dataset.shareTitle || document.title;
    if (navigator.share) {
      event.preventDefault();
      try {
        await navigator.share({ title, url });
      } catch (error) {
        // The reader closed the sheet (AbortError): nothing to say.
        if (error.name !== "AbortError") say(link, "Could not share; the link is this update's page.");
      }
    } else if (navigator.clipboard?.writeText) {
      event.preventDefault();
      try {
        await navigator.clipboard.writeText(url);
        say(link, "Link copied");
      } catch {
        // Clipboard refused (permissions): go to the page, whose address can be copied.
        location.href = url;
      }
    }
  });
})();
