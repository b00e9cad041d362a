// The visit screen's "Materials used" section. Its forms are plain forms and work without this file;
// with it, (1) a refused write (403, 409, 422) swaps into the section like a saved one, so the reason
// shows where the technician is looking, (2) the quantity gets − and + buttons, and (3) after a swap
// the focus stays in the section.
(() => {
  "use strict";
  const SWAPPED = new Set(["materials", "materials-results"]);

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !SWAPPED.has(target.id)) return;
    const status = event.detail.xhr.status;
    if (status === 403 || status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The − and + buttons step by one unit and never below the smallest quantity (0.001).
  function reveal(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-qty-step]").forEach((button) => { button.hidden = false; });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-qty-step]");
    if (!button) return;
    const input = button.parentElement.querySelector("input[type=number]");
    if (!input) return;
    const step = Number(button.dataset.qtyStep);
    const current = Number(input.value) || 0;
    let next = Math.round((current + step) * 1000) / 1000;
    if (next < 0.001) next = current > 1 ? 1 : current || 1;
    input.value = String(next);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Only a write moves the view: the section loading with the page must not scroll it.
  let wrote = false;
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("#materials form[method=post]")) wrote = true;
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    reveal(document);
    if (!target || target.id !== "materials" || !wrote) return;
    wrote = false;
    // The section was replaced (outerHTML): bring the new one's message or first error into view.
    const section = document.getElementById("materials");
    if (!section) return;
    const invalid = section.querySelector("[aria-invalid=true]");
    const note = section.querySelector("[role=alert], [role=status]");
    if (invalid) invalid.focus({ preventScroll: true });
    const shown = invalid || note || section;
    const rect = shown.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) shown.scrollIntoView({ block: "center" });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => reveal(document));
  else reveal(document);
})();
