// The customer's job page. Everything works without it (the progress then updates on reload, the
// message form posts and the page comes back); with it, a refused message (422) shows its reason in
// place and the send button cannot be pressed twice.
(() => {
  "use strict";
  const MESSAGES = "portal-messages";

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === MESSAGES && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (!form || !form.matches || !form.matches(".pt-send")) return;
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.textContent = "Sending…";
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (!form || !form.matches || !form.matches(".pt-send") || !document.body.contains(form)) return;
    // The request failed without a swap (no connection): let the customer try again.
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = false;
      button.textContent = "Send message";
    }
  });
})();
