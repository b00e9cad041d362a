// Approval requests. The office's request form (<form data-approval-form>): it shows the line rows in use plus
// one empty row, "Add a line" reveals the next (without JavaScript all ten rows show), and each row's
// amount, the subtotal, the tax and the total follow what is typed. The preview prices like the server
// does — integer cents, quantity × unit price rounded half-up per line, tax per line rounded half-up —
// with BigInt, so it shows the same cents the request will be sent with.
(() => {
  "use strict";

  function milli(text) {
    const t = (text || "").replace(/[\s,]/g, "");
    const m = /^(\d{1,9})(?:\.(\d{0,3}))?$/.exec(t);
    if (!m) return null;
    return BigInt(m[1]) * 1000n + BigInt((m[2] || "").padEnd(3, "0"));
  }

  function cents(text) {
    const t = (text || "").replace(/[\s,$]/g, "");
    const m = /^(\d{1,11})(?:\.(\d{0,2}))?$/.exec(t);
    if (!m) return null;
    return BigInt(m[1]) * 100n + BigInt((m[2] || "").padEnd(2, "0"));
  }

  // round(num / den) half-up, for num ≥ 0
  const halfUp = (num, den) => (num * 2n + den) / (2n * den);

  function money(value) {
    const whole = (value / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "$" + whole + "." + (value % 100n).toString().padStart(2, "0");
  }

  function rowInUse(row) {
    if (row.classList.contains("has-error")) return true;
    return Array.from(row.querySelectorAll("input[type=text]")).some((input) => input.value.trim() !== "" && !input.hasAttribute("data-approval-qty"));
  }

  function setup(form) {
    if (form.dataset.approvalReady) return;
    form.dataset.approvalReady = "1";
    const rate = BigInt(form.dataset.taxRate || "0");
    const taxLabour = form.dataset.taxLabour === "true";
    const rows = Array.from(form.querySelectorAll("tr[data-approval-row]"));
    const addButton = form.querySelector("[data-approval-add]");

    function recalc() {
      let subtotal = 0n;
      let tax = 0n;
      let complete = true;
      for (const row of rows) {
        const out = row.querySelector("[data-approval-amount]");
        if (row.hidden || !rowInUse(row)) {
          if (out) out.textContent = "";
          continue;
        }
        const q = milli(row.querySelector("[data-approval-qty]").value);
        const p = cents(row.querySelector("[data-approval-price]").value);
        if (q === null || p === null) {
          complete = false;
          if (out) out.textContent = "—";
          continue;
        }
        const amount = halfUp(q * p, 1000n);
        subtotal += amount;
        const kind = row.querySelector("[data-approval-kind]").value;
        if (kind !== "labour" || taxLabour) tax += halfUp(amount * rate, 100000n);
        if (out) out.textContent = money(amount);
      }
      const set = (name, value) => {
        const el = form.querySelector(`[data-approval-${name}]`);
        if (el) el.textContent = value;
      };
      set("subtotal", money(subtotal));
      set("tax", money(tax));
      set("total", money(subtotal + tax));
      const partial = form.querySelector("[data-approval-partial]");
      if (partial) partial.hidden = complete;
    }

    function showAddButton() {
      if (addButton) addButton.hidden = !rows.some((row) => row.hidden);
    }

    // Rows in use stay, plus the first empty one; the rest wait behind "Add a line".
    let lastUsed = -1;
    rows.forEach((row, i) => { if (rowInUse(row)) lastUsed = i; });
    rows.forEach((row, i) => { row.hidden = i > lastUsed + 1; });
    if (addButton) {
      addButton.hidden = false;
      addButton.addEventListener("click", () => {
        const next = rows.find((row) => row.hidden);
        if (!next) return;
        next.hidden = false;
        const first = next.querySelector("input[type=text]");
        if (first) first.focus();
        showAddButton();
      });
    }
    showAddButton();
    form.addEventListener("input", recalc);
    form.addEventListener("change", recalc);
    recalc();
  }

  function init() {
    document.querySelectorAll("form[data-approval-form]").forEach(setup);
  }

  // The customer's approval page (portal/approval.html): a refusal (409 the request changed or was
  // decided, 422 a missing name, signature or reason) comes back as the page and replaces it; then the
  // first message about it (or the top, where a decision taken meanwhile shows) is brought into view.
  const PORTAL_PAGE = "approval-page";
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    const status = event.detail.xhr && event.detail.xhr.status;
    if (target && target.id === PORTAL_PAGE && (status === 409 || status === 422)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", () => {
    const page = document.getElementById(PORTAL_PAGE);
    if (!page) return;
    const first = page.querySelector(".apc-refused, .apc-error:not([hidden])");
    if (first) first.scrollIntoView({ block: "center" });
    else page.scrollIntoView({ block: "start" }); // decided meanwhile: its state box is at the top
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
