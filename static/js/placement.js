// Where an arriving element goes in a list ordered by its data-sort key. Shared
// by the reader's page (live.js: updates) and the editors' desk (desk.js: rows);
// loaded before both, as a plain script.
(() => {
  "use strict";

  // Keys are fixed-width strings (pinned, time, id; Update.sort_key). The one
  // rule: pinned ones first, then by time — newest first, or oldest first for
  // order "oldest" (a story read from the top: Q&As, sports, timelines).
  function precedes(key, other, order = "newest") {
    if (order !== "oldest" || key[0] !== other[0]) return key > other;
    return key < other;
  }

  // Is this element out of place between its neighbours (an edit changed its
  // time, or its pin)?
  function outOfOrder(element, isItem, order = "newest") {
    const prev = element.previousElementSibling;
    const next = element.nextElementSibling;
    const key = element.dataset.sort;
    return (
      (isItem(prev) && precedes(key, prev.dataset.sort, order)) ||
      (isItem(next) && precedes(next.dataset.sort, key, order))
    );
  }

  // An element already in its place is not moved: moving it would take focus
  // away from it (and restart a video playing in it). With canAppend false,
  // an element that sorts after every item is not placed but removed (false):
  // it belongs to a slice not loaded yet.
  function place(element, list, isItem, canAppend = true, order = "newest") {
    const key = element.dataset.sort;
    for (const sibling of list.children) {
      if (sibling !== element && isItem(sibling) && precedes(key, sibling.dataset.sort, order)) {
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

  // A hidden stand-in for an arriving element, carrying its id and sort key:
  // placed where the element belongs, for htmx to swap it into.
  function placeholder(part, tagName, className) {
    const standIn = document.createElement(tagName);
    standIn.id = part.id;
    standIn.className = className;
    standIn.dataset.sort = part.dataset.sort || "";
    standIn.hidden = true;
    return standIn;
  }

  // Before an answer is swapped (htmx:beforeSwap's detail): every out-of-band
  // part needs its target, or htmx logs an error. For each part whose target
  // the page lacks, placeTarget(part) puts a placeholder in the page and says
  // true; a part it refuses (a slice not loaded, a removal of what the page
  // never had) is dropped from the answer.
  function giveTargets(detail, placeTarget) {
    const answer = document.createElement("template");
    answer.innerHTML = detail.serverResponse;
    let edited = false;
    for (const part of [...answer.content.children]) {
      if (!part.hasAttribute("data-hx-swap-oob") || !part.id || document.getElementById(part.id)) {
        continue;
      }
      if (!placeTarget(part)) {
        part.remove();
        edited = true;
      }
    }
    if (edited) detail.serverResponse = answer.innerHTML;
  }

  window.placement = Object.freeze({ place, precedes, outOfOrder, placeholder, giveTargets });
})();
