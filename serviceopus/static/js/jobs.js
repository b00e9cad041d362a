// Behaviours of the job pages: HTMX handling of 409/422 answers, the quick-info popover, the list's
// bulk selection, and small form helpers. Plain JS, no build step; every feature also works as links
// and forms without it.
(() => {
  "use strict";

  // Form errors (422) and refusals (409) come back as HTML to show in place: let HTMX swap them.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "409|422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  // ---- quick-info popover -------------------------------------------------------------------------
  const popover = () => document.getElementById("popover");
  let popoverOwner = null;
  let hideTimer = null;

  function placePopover(trigger) {
    const pop = popover();
    if (!pop || !trigger) return;
    pop.hidden = false;
    const rect = trigger.getBoundingClientRect();
    const width = pop.offsetWidth || 340;
    const height = pop.offsetHeight || 200;
    let left = rect.right + window.scrollX - width;
    left = Math.max(8 + window.scrollX, Math.min(left, window.scrollX + document.documentElement.clientWidth - width - 8));
    let top = rect.bottom + window.scrollY + 6;
    if (rect.bottom + height + 12 > window.innerHeight && rect.top > height + 12) {
      top = rect.top + window.scrollY - height - 6; // no room below: open upwards
    }
    pop.style.left = `${left}px`;
    pop.style.top = `${top}px`;
    popoverOwner = trigger;
  }

  function hidePopover() {
    const pop = popover();
    if (pop) pop.hidden = true;
    popoverOwner = null;
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "popover") {
      placePopover(event.detail.requestConfig && event.detail.requestConfig.elt);
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && popover() && !popover().hidden) {
      const owner = popoverOwner;
      hidePopover();
      if (owner) owner.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-popover-close]")) hidePopover();
  });
  // A popover opened by hovering closes when the pointer leaves both the button and the popover.
  document.addEventListener("mouseout", (event) => {
    const from = event.target.closest && event.target.closest("[data-quick], #popover");
    if (!from || !popoverOwner) return;
    const to = event.relatedTarget;
    if (to && (popover().contains(to) || popoverOwner.contains(to))) return;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => {
      const pop = popover();
      if (pop && !pop.matches(":hover") && !(popoverOwner && popoverOwner.matches(":hover")) && !pop.contains(document.activeElement)) hidePopover();
    }, 350);
  });

  // ---- list: bulk selection -----------------------------------------------------------------------
  function syncBulk(root) {
    const form = root.querySelector("[data-bulk]");
    if (!form) return;
    const boxes = [...root.querySelectorAll('input[type=checkbox][name=job]')];
    const chosen = boxes.filter((b) => b.checked);
    boxes.forEach((b) => b.closest("tr").classList.toggle("is-selected", b.checked));
    const count = form.querySelector("[data-selected-count]");
    if (count) count.textContent = chosen.length ? `${chosen.length} selected` : "No jobs selected";
    const all = root.querySelector("[data-select-all]");
    if (all) {
      all.checked = chosen.length > 0 && chosen.length === boxes.length;
      all.indeterminate = chosen.length > 0 && chosen.length < boxes.length;
    }
    const submit = form.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = chosen.length === 0;
    const to = form.querySelector("select[name=to]");
    const hold = form.querySelector("[data-hold-reason]");
    if (to && hold) {
      hold.hidden = to.value !== "on_hold";
      hold.required = to.value === "on_hold";
    }
  }
  document.addEventListener("change", (event) => {
    const root = event.target.closest("#job-results");
    if (!root) return;
    if (event.target.matches("[data-select-all]")) {
      root.querySelectorAll('input[type=checkbox][name=job]').forEach((b) => { b.checked = event.target.checked; });
    }
    syncBulk(root);
  });
  const initBulk = () => { const root = document.getElementById("job-results"); if (root) syncBulk(root); };
  document.addEventListener("DOMContentLoaded", initBulk);
  document.addEventListener("htmx:afterSettle", initBulk);

  // ---- forms ---------------------------------------------------------------------------------------
  // Enter in a live search box (the job form's customer search) must not submit the whole form.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-no-submit]")) {
      event.preventDefault();
      if (window.htmx) htmx.trigger(event.target, "search");
    }
  });
})();
