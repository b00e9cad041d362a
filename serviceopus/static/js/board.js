// The board's drag and drop, in plain JS with HTML5 drag events. A drop POSTs to jobs:transition, which
// runs the same action and guards as every other status change and answers with the card's HTML:
// 200 → the updated card goes to the new column; 409/422 → the card returns to where it was, showing
// the reason. Moving to On hold first asks why. Each card's "Move to…" form is the keyboard path and
// goes through the same code.
(() => {
  "use strict";
  const board = document.querySelector("[data-board]");
  if (!board) return;

  const csrfToken = () => (board.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const dialog = document.getElementById("hold-dialog");
  const live = document.querySelector("[data-live]");
  let dragged = null;

  const columnOf = (status) => board.querySelector(`[data-column="${CSS.escape(status)}"]`);
  const labelOf = (column) => column.querySelector("header [id^=col-]").textContent.trim();

  function announce(text, kind) {
    if (!live) return;
    const toast = document.createElement("div");
    toast.className = `toast toast-${kind || "success"}`;
    toast.setAttribute("role", "status");
    toast.textContent = text;
    live.replaceChildren(toast);
    setTimeout(() => { if (toast.isConnected) toast.remove(); }, 5000);
  }

  function adjustCount(column, delta) {
    const el = column && column.querySelector("[data-count]");
    if (!el || el.textContent.includes("+")) return; // a capped count ("1,000+") stays as it is
    const n = parseInt(el.textContent.replace(/[^0-9]/g, ""), 10) || 0;
    el.textContent = Math.max(0, n + delta).toLocaleString("en-US");
  }

  function swapCard(card, html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.querySelector(".job-card");
    if (!fresh) return card;
    card.replaceWith(fresh);
    if (window.htmx) htmx.process(fresh);
    return fresh;
  }

  function showCardError(card, text) {
    let p = card.querySelector("[data-refused]");
    if (!p) {
      p = document.createElement("p");
      p.className = "card-error";
      p.setAttribute("role", "alert");
      p.dataset.refused = "";
      card.insertBefore(p, card.querySelector("[data-move-form]"));
    }
    p.textContent = text;
    card.classList.add("is-refused");
  }

  // Move `card` to the column of status `to`; `extra` carries hold_reason and note.
  async function move(card, to, extra, options) {
    const keyboard = Boolean(options && options.keyboard);
    const from = card.dataset.status;
    const target = columnOf(to);
    const origin = { parent: card.parentNode, next: card.nextSibling, column: card.closest("[data-column]") };
    if (from === to) return;
    const body = new FormData();
    body.append("to", to);
    body.append("expected", from);
    body.append("response", "card");
    body.append("next", window.location.pathname + window.location.search);
    Object.entries(extra || {}).forEach(([key, value]) => body.append(key, value));
    // Show the move at once; undo it if the server refuses.
    if (target) target.querySelector("[data-cards]").prepend(card);
    card.classList.add("saving");
    card.classList.remove("is-refused");
    const old = card.querySelector("[data-refused]");
    if (old) old.remove();
    let response;
    let html = "";
    try {
      response = await fetch(card.dataset.url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      });
      html = await response.text();
    } catch (err) {
      response = null;
    }
    if (response && response.ok) {
      const fresh = swapCard(card, html);
      // A job may land in another column than the one dropped on (the server has the last word).
      const landed = columnOf(fresh.dataset.status);
      if (landed && fresh.closest("[data-column]") !== landed) landed.querySelector("[data-cards]").prepend(fresh);
      adjustCount(origin.column, -1);
      adjustCount(landed, +1);
      announce(`${fresh.dataset.number} moved to ${landed ? labelOf(landed) : fresh.dataset.status.replace("_", " ")}.`);
      if (!landed) {
        fresh.remove(); // its new status is filtered out of this board
        return;
      }
      fresh.classList.add("just-moved");
      if (keyboard) focusCard(fresh);
      return;
    }
    // Refused (409), unreadable (422) or failed: back to where it came from, with the reason on it.
    origin.parent.insertBefore(card, origin.next && origin.next.parentNode === origin.parent ? origin.next : null);
    card.classList.remove("saving");
    let back = card;
    if (response && html.includes("job-card")) {
      back = swapCard(card, html);
    } else {
      showCardError(card, response ? `Not moved (error ${response.status}). Reload the page and try again.` : "Not moved: the server could not be reached.");
    }
    announce(`${back.dataset.number} was not moved.`, "error");
    if (keyboard) focusCard(back);
  }

  // After a move from the keyboard, keep the focus on the card so the user can carry on from there.
  function focusCard(card) {
    const target = card.querySelector("select[name=to]") || card.querySelector("a.number");
    if (target) target.focus({ preventScroll: false });
  }

  // Going on hold needs a reason: ask with the dialog, then move (or leave the card where it is).
  function askHoldThenMove(card, options) {
    if (!dialog || typeof dialog.showModal !== "function") {
      const reason = window.prompt("Why is the job on hold? parts, customer, permit or other", "parts");
      if (reason) move(card, "on_hold", { hold_reason: reason.trim().toLowerCase() }, options);
      return;
    }
    const form = dialog.querySelector("form");
    form.reset();
    dialog.querySelector("[data-hold-number]").textContent = card.dataset.number;
    dialog.returnValue = "";
    const onClose = () => {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "ok") return;
      const data = new FormData(form);
      move(card, "on_hold", { hold_reason: data.get("hold_reason") || "", note: data.get("note") || "" }, options);
    };
    dialog.addEventListener("close", onClose);
    dialog.showModal();
  }

  function requestMove(card, to, options) {
    if (to === "on_hold") askHoldThenMove(card, options);
    else move(card, to, {}, options);
  }

  // ---- HTML5 drag and drop -----------------------------------------------------------------------------
  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest && event.target.closest(".job-card");
    if (!card || card.classList.contains("saving")) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.jobId);
    requestAnimationFrame(() => card.classList.add("dragging"));
    const pop = document.getElementById("popover");
    if (pop) pop.hidden = true;
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest && event.target.closest("[data-column]");
    if (!column) return;
    event.preventDefault(); // allow the drop
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach((c) => { if (c !== column) c.classList.remove("drop-target"); });
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest && event.target.closest("[data-column]");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest && event.target.closest("[data-column]");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const id = event.dataTransfer.getData("text/plain");
    const card = (id && document.getElementById(`card-${id}`)) || dragged;
    if (card) card.classList.remove("dragging");
    dragged = null;
    if (!card || column.dataset.column === card.dataset.status) return;
    requestMove(card, column.dataset.column);
  });

  // ---- the "Move to…" form: same path, no dragging needed ------------------------------------------------
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-move-form]");
    if (!form) return;
    event.preventDefault();
    const value = form.querySelector("select[name=to]").value;
    if (!value) return;
    const card = form.closest(".job-card");
    const [to, reason] = value.split(":");
    if (to === "on_hold" && reason) move(card, to, { hold_reason: reason }, { keyboard: true });
    else requestMove(card, to, { keyboard: true });
  });
})();
