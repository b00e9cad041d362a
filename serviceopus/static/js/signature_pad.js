// The signature pad of the visit screen: <canvas data-signature-pad> inside <form data-signature-form>.
// Pointer events draw with a finger, a pen (pressure shapes the line) or the mouse; the canvas has as
// many pixels as the screen shows (high-DPI), keeps the drawing when the phone turns, and Clear empties
// it. On submit the PNG goes into the hidden input [data-signature-output] as a data URL; an empty pad
// is not sent (the server refuses a blank image too). The form posts with HTMX: a refusal (409 the
// content changed, 422 bad input) comes back as the section itself, swapped in place.
(() => {
  "use strict";

  const INK = "#0f172a";
  const BASE_WIDTH = 2.2; // CSS pixels; a pen's pressure varies it around this

  function setup(canvas) {
    if (canvas.dataset.padReady) return;
    canvas.dataset.padReady = "1";
    const ctx = canvas.getContext("2d");
    const state = { ink: 0, pointerId: null, last: null, width: 0 };
    canvas.signaturePad = state;

    function style() {
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = INK;
      ctx.fillStyle = INK;
    }

    // Size the backing store to the displayed size × devicePixelRatio; redraw what was there, scaled.
    function fit() {
      const rect = canvas.getBoundingClientRect();
      if (!rect.width || Math.round(rect.width) === state.width) return;
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      let copy = null;
      if (state.ink && canvas.width && canvas.height) {
        copy = document.createElement("canvas");
        copy.width = canvas.width;
        copy.height = canvas.height;
        copy.getContext("2d").drawImage(canvas, 0, 0);
      }
      canvas.width = Math.round(rect.width * ratio);
      canvas.height = Math.round(rect.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      style();
      if (copy) ctx.drawImage(copy, 0, 0, rect.width, rect.height);
      state.width = Math.round(rect.width);
    }

    function at(event) {
      const rect = canvas.getBoundingClientRect();
      const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
      return { x: event.clientX - rect.left, y: event.clientY - rect.top, w: BASE_WIDTH * (0.6 + pressure * 0.8) };
    }

    function dot(p) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, p.w / 2, 0, Math.PI * 2);
      ctx.fill();
      state.ink += 1;
    }

    function line(from, to) {
      ctx.beginPath();
      ctx.lineWidth = (from.w + to.w) / 2;
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
      state.ink += 1;
    }

    canvas.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      if (state.pointerId !== null) return; // one finger signs; a second is ignored
      event.preventDefault();
      fit();
      state.pointerId = event.pointerId;
      try { canvas.setPointerCapture(event.pointerId); } catch (_) { /* capture is a nicety */ }
      state.last = at(event);
      dot(state.last);
      hideEmpty(canvas);
    });

    canvas.addEventListener("pointermove", (event) => {
      if (event.pointerId !== state.pointerId) return;
      event.preventDefault();
      // Coalesced events keep fast strokes smooth on phones that batch them per frame.
      const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      for (const e of events.length ? events : [event]) {
        const p = at(e);
        line(state.last, p);
        state.last = p;
      }
    });

    const end = (event) => {
      if (event.pointerId !== state.pointerId) return;
      state.pointerId = null;
      state.last = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);

    state.clear = () => {
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
      state.ink = 0;
    };

    if ("ResizeObserver" in window) new ResizeObserver(fit).observe(canvas);
    else window.addEventListener("resize", fit);
    fit();
  }

  function hideEmpty(canvas) {
    const form = canvas.closest("form");
    const note = form && form.querySelector("[data-signature-empty]");
    if (note) note.hidden = true;
  }

  function init(root) {
    (root || document).querySelectorAll("canvas[data-signature-pad]").forEach(setup);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-signature-clear]");
    if (!button) return;
    const form = button.closest("form");
    const canvas = form && form.querySelector("canvas[data-signature-pad]");
    if (!canvas || !canvas.signaturePad) return;
    canvas.signaturePad.clear();
    const output = form.querySelector("[data-signature-output]");
    if (output) output.value = "";
  });

  // Capture phase: runs before HTMX's own submit handler, so an empty pad stops the request entirely.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches || !form.matches("[data-signature-form]")) return;
    const canvas = form.querySelector("canvas[data-signature-pad]");
    const output = form.querySelector("[data-signature-output]");
    if (!canvas || !canvas.signaturePad || !canvas.signaturePad.ink) {
      event.preventDefault();
      event.stopPropagation();
      const note = form.querySelector("[data-signature-empty]");
      if (note) note.hidden = false;
      if (canvas) canvas.focus();
      return;
    }
    if (output) output.value = canvas.toDataURL("image/png");
  }, true);

  // Refusals come back as the section to show in place (the workspace pages already swap these).
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    const status = event.detail.xhr && event.detail.xhr.status;
    if (target && target.id === "signature" && (status === 409 || status === 422)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:load", (event) => init(event.target));

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init());
  else init();
})();
