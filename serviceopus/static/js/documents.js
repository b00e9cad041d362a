// Documents and photos (the Documents tab, the visit screen's photos section). Every form here works
// without this file; with it, (1) the chosen files show as previews (photos as thumbnails, others by
// name, one too large marked) before they are sent, (2) the upload button says it is busy and cannot
// be pressed twice, and (3) a refused upload (422) or edit (409/422) swaps into the tab like a saved one.
(() => {
  "use strict";
  const PANEL = "documents-panel";
  const urls = new WeakMap();

  function limitOf(form) {
    const raw = form && form.dataset.maxBytes;
    return raw ? Number(raw) : 0;
  }

  function showPreviews(input) {
    const form = input.closest("form");
    const list = form && form.querySelector("[data-docs-previews]");
    if (!list) return;
    (urls.get(list) || []).forEach((url) => URL.revokeObjectURL(url));
    const made = [];
    list.textContent = "";
    const limit = limitOf(form);
    Array.from(input.files || []).forEach((file) => {
      const item = document.createElement("li");
      item.title = file.name;
      if (limit && file.size > limit) {
        item.classList.add("too-big");
        item.textContent = file.name + " — too large";
      } else if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
        const img = document.createElement("img");
        const url = URL.createObjectURL(file);
        made.push(url);
        img.src = url;
        img.alt = file.name;
        item.appendChild(img);
      } else {
        item.textContent = file.name;
      }
      list.appendChild(item);
    });
    urls.set(list, made);
  }

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input && input.matches && input.matches("[data-docs-input]")) showPreviews(input);
  });

  // A second tap while photos are still uploading would send them again; show that it is working.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches || !form.matches("[data-docs-upload]") || event.defaultPrevented) return;
    const button = form.querySelector("[data-docs-submit]");
    if (!button) return;
    if (button.classList.contains("is-busy")) {
      event.preventDefault();
      return;
    }
    button.classList.add("is-busy");
    button.setAttribute("aria-busy", "true");
    button.dataset.label = button.textContent;
    button.textContent = "Uploading…";
  });

  // HTMX keeps the page (no navigation), so the busy state must end with the request.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    const button = form && form.querySelector && form.querySelector("[data-docs-submit].is-busy");
    if (!button) return;
    button.classList.remove("is-busy");
    button.removeAttribute("aria-busy");
    button.textContent = button.dataset.label || "Upload";
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== PANEL) return;
    const status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Dropping files on the upload form fills its file input (desktop).
  document.addEventListener("dragover", (event) => {
    const form = event.target.closest && event.target.closest("[data-docs-upload]");
    if (!form) return;
    event.preventDefault();
    form.classList.add("is-dragging");
  });
  document.addEventListener("dragleave", (event) => {
    const form = event.target.closest && event.target.closest("[data-docs-upload]");
    if (form) form.classList.remove("is-dragging");
  });
  document.addEventListener("drop", (event) => {
    const form = event.target.closest && event.target.closest("[data-docs-upload]");
    if (!form) return;
    event.preventDefault();
    form.classList.remove("is-dragging");
    const input = form.querySelector("[data-docs-input]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showPreviews(input);
    }
  });
})();
