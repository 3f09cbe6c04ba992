// Where an arriving element goes in a list ordered by its data-sort key. Shared
// by the reader's page (live.js: updates) and the editors' desk (desk.js: rows);
// loaded before both, as a plain script.
(() => {
  "use strict";

  // Keys are fixed-width strings (pinned, time, id): larger sorts first. An
  // element already in its place is not moved: moving it would take focus away
  // from it (and restart a video playing in it). With canAppend false, an
  // element that sorts after every item is not placed but removed (false).
  function place(element, list, isItem, canAppend = true) {
    const key = element.dataset.sort;
    for (const sibling of list.children) {
      if (sibling !== element && isItem(sibling) && sibling.dataset.sort < key) {
        if (element.nextElementSibling !== sibling) list.insertBefore(element, sibling);
        return true;
      }
    }
    if (!canAppend) {
      element.remove();
      return false;
    }
    if (element.parentElement !== list || element.nextElementSibling) list.appendChild(element);
    return true;
  }

  window.placement = Object.freeze({ place });
})();
