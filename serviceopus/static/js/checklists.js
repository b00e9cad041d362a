// The visit screen's checklists. The items are plain forms and work without this file; with it,
// (1) a refused answer (422) or a refusal (409) swaps into the section like a saved one, so the error
// shows at its item, (2) choosing a photo sends it at once, and (3) after a swap the item just
// answered stays in view and keeps the focus.
(() => {
  "use strict";
  const SECTION = "checklists";

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== SECTION) return;
    const status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Which item the answer was for: found again after the swap by its id.
  let lastItem = null;
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (!form.closest || !form.closest("#" + SECTION)) return;
    const item = form.closest(".chk-item");
    lastItem = item ? item.id : null;
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (!lastItem || !event.detail.target || event.detail.target.id !== SECTION) return;
    // The section was replaced (outerHTML): look the item up in the new one.
    const item = document.getElementById(lastItem);
    lastItem = null;
    if (!item) return;
    const invalid = item.querySelector("[aria-invalid=true]");
    const focusable = invalid || item.querySelector("button, input, textarea, select");
    if (focusable) focusable.focus({ preventScroll: true });
    const rect = item.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) item.scrollIntoView({ block: "nearest" });
  });

  // A photo is sent as soon as it is taken; the Upload button stays for browsers without this file.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.classList || !input.classList.contains("chk-file") || !input.files || !input.files.length) return;
    const form = input.form;
    if (form && !form.classList.contains("htmx-request")) form.requestSubmit();
  });
})();
