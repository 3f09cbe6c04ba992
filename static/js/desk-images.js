// The compose form's image, the way editors work: paste one into the update (a
// screenshot, a picture copied from a web page) or drop a file on the form, and
// it goes into the form's file field, not into the text. A preview shows beside
// its alt text, caption and credit (the extras open, the alt field takes the
// focus), with a button that removes it; while the form posts, the upload's
// progress shows under it.
//
// The server checks the file as it always did (ComposeForm, coverage/images.py);
// this only turns away, before anything is sent, what is plainly not an image or
// is over the limit. Without JavaScript the file field is all there is, and posts
// the same. htmx replaces the form after each post (outerHTML): the new one is set
// up when it arrives, and the old one's preview is let go.
(() => {
  "use strict";

  const FORM = "form.desk-compose";
  const PREVIEW_ALT = "Preview of the image to post";
  const states = new Map(); // form -> its elements and its preview's object URL

  const sizeText = (bytes) =>
    bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;

  function say(state, text, isError = false) {
    state.status.textContent = text;
    state.status.classList.toggle("is-error", isError);
  }

  function letGo(state) {
    if (state.url) URL.revokeObjectURL(state.url);
    state.url = null;
  }

  function hidePreview(state) {
    letGo(state);
    state.preview.querySelector("img")?.remove();
    state.preview.hidden = true;
  }

  function show(state, file) {
    letGo(state);
    state.url = URL.createObjectURL(file);
    let img = state.preview.querySelector("img");
    if (!img) {
      img = document.createElement("img");
      img.className = "desk-image-thumb";
      img.alt = PREVIEW_ALT;
      img.addEventListener("error", () => {
        if (img.isConnected && img.src === state.url) {
          say(state, `This browser cannot show “${file.name}”; it is checked when you post.`);
        }
      });
      state.preview.prepend(img);
    }
    img.src = state.url;
    state.preview.hidden = false;
    say(state, `Image added: ${file.name}, ${sizeText(file.size)}. Give it alt text, a caption and a credit.`);
    state.details.open = true;
    state.alt?.focus();
  }

  // What is plainly not postable, said in the words the server would use.
  function refusal(state, file) {
    if (!file.type.startsWith("image/")) {
      return `“${file.name}” is not an image: choose a JPEG, PNG, GIF or WebP file.`;
    }
    if (state.maxBytes && file.size > state.maxBytes) {
      return `This image is ${sizeText(file.size)}; the limit is ${sizeText(state.maxBytes)}.`;
    }
    return "";
  }

  // A pasted or dropped file, into the file field (which is what the form posts).
  // A refused one leaves the image already chosen, if any, as it was.
  function take(state, file) {
    const refused = refusal(state, file);
    if (refused) {
      const kept = state.input.files.length ? " The image chosen before stays." : "";
      say(state, refused + kept, true);
      state.details.open = true;
      return;
    }
    const transfer = new DataTransfer();
    transfer.items.add(file);
    state.input.files = transfer.files;
    show(state, file);
  }

  // The clipboard's image, unless the paste is text: Word and Excel put a picture
  // of the copied text beside it, and that is not what the editor meant. A copied
  // picture comes alone, or with HTML that is nothing but the <img>.
  function pastedImage(data) {
    const file = data?.files?.[0];
    if (!file) return null;
    const html = data.getData("text/html");
    if (html) {
      const doc = new DOMParser().parseFromString(html, "text/html");
      if (doc.body.textContent.trim()) return null;
    }
    return file;
  }

  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");

  function setup(form) {
    if (states.has(form)) return;
    const input = form.querySelector("input[type=file][name=image]");
    const preview = form.querySelector(".desk-image-preview");
    const status = form.querySelector(".desk-image-status");
    if (!input || !preview || !status) return;
    const state = {
      form,
      input,
      preview,
      status,
      details: input.closest("details") || { open: true },
      alt: form.querySelector("[name=image_alt]"),
      upload: form.querySelector(".desk-upload"),
      bar: form.querySelector(".desk-upload-progress"),
      maxBytes: Number(input.dataset.maxBytes) || 0,
      url: null,
      sending: false,
    };
    states.set(form, state);
    form.querySelector(".desk-image-hint")?.removeAttribute("hidden");

    // Captured at the form, before the rich text box (its target) sees it: the
    // editor never puts the image in the text.
    form.addEventListener(
      "paste",
      (event) => {
        const file = pastedImage(event.clipboardData);
        if (!file) return;
        event.preventDefault();
        event.stopPropagation();
        take(state, file);
      },
      true,
    );

    form.addEventListener(
      "dragover",
      (event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.stopPropagation();
        event.dataTransfer.dropEffect = "copy";
        form.classList.add("is-drop-target");
      },
      true,
    );
    form.addEventListener("dragleave", (event) => {
      if (!form.contains(event.relatedTarget)) form.classList.remove("is-drop-target");
    });
    form.addEventListener(
      "drop",
      (event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.stopPropagation();
        form.classList.remove("is-drop-target");
        const file = event.dataTransfer.files[0];
        if (file) take(state, file);
      },
      true,
    );

    // Chosen through the field itself.
    input.addEventListener("change", () => {
      const file = input.files[0];
      if (!file) {
        hidePreview(state);
        say(state, "");
        return;
      }
      const refused = refusal(state, file);
      if (refused) {
        input.value = "";
        hidePreview(state);
        say(state, refused, true);
        return;
      }
      show(state, file);
    });

    form.querySelector(".desk-image-remove")?.addEventListener("click", () => {
      input.value = "";
      hidePreview(state);
      say(state, "Image removed.");
      input.focus();
    });

    // The upload's progress (htmx:xhr:progress comes from the upload, then from
    // the answer's download: the bar only goes forward).
    form.addEventListener("htmx:beforeSend", () => {
      state.sending = Boolean(input.files.length && state.bar);
      if (!state.sending) return;
      state.bar.value = 0;
      state.upload.hidden = false;
    });
    form.addEventListener("htmx:xhr:progress", (event) => {
      const { lengthComputable, loaded, total } = event.detail;
      if (!state.sending || !lengthComputable || !total) return;
      state.bar.value = Math.max(state.bar.value, (loaded / total) * state.bar.max);
    });
    form.addEventListener("htmx:afterRequest", (event) => {
      if (!state.sending) return;
      state.sending = false;
      // A refusal the form is not swapped for (a 500, no connection) leaves the
      // form as it was, its image still chosen: no bar.
      if (event.detail.successful) state.bar.value = state.bar.max;
      else state.upload.hidden = true;
    });
  }

  function setupWithin(root) {
    if (root.matches?.(FORM)) setup(root);
    for (const form of root.querySelectorAll?.(FORM) || []) setup(form);
  }

  // Forms htmx swapped out: their previews' memory goes with them.
  function releaseDetached() {
    for (const [form, state] of states) {
      if (!form.isConnected) {
        letGo(state);
        states.delete(form);
      }
    }
  }

  // A file that misses the form by a little is not opened in place of the desk
  // (with the update being written in it).
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "none";
  });
  document.addEventListener("drop", (event) => {
    if (carriesFiles(event)) event.preventDefault();
  });

  setupWithin(document);
  document.body.addEventListener("htmx:load", (event) => {
    if (event.detail.elt instanceof Element) setupWithin(event.detail.elt);
  });
  document.body.addEventListener("htmx:afterSettle", releaseDetached);
})();
