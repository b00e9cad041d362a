// The phone pages' status buttons. They are plain forms and work without this file; with it, a tap
// (1) carries the phone's position when the browser offers one, without ever waiting long for it, and
// (2) cannot be sent twice by an impatient double tap (the server refuses a repeat anyway).
(() => {
  const WAIT_MS = 1500; // the longest a tap waits for a first GPS fix
  let position = null;

  function fill(root) {
    if (!position) return;
    root.querySelectorAll("input[data-geo=lat]").forEach((input) => { input.value = position.lat; });
    root.querySelectorAll("input[data-geo=lng]").forEach((input) => { input.value = position.lng; });
  }

  function locate(timeout) {
    return new Promise((resolve) => {
      if (!("geolocation" in navigator)) return resolve();
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          position = { lat: pos.coords.latitude.toFixed(6), lng: pos.coords.longitude.toFixed(6) };
          fill(document);
          resolve();
        },
        () => resolve(),
        { enableHighAccuracy: true, timeout, maximumAge: 120000 },
      );
    });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("fd-tap") || event.defaultPrevented) return;
    const state = form.dataset.state;
    if (state === "going") return; // our own re-submission below
    if (state) { // a second tap while the first is on its way
      event.preventDefault();
      return;
    }
    const submitter = event.submitter;
    if (submitter) submitter.classList.add("is-busy");
    // With a fix in hand (or no way to get one, or a confirmation already answered) send at once.
    if (position || !("geolocation" in navigator) || form.dataset.confirm) {
      fill(form);
      form.dataset.state = "sent";
      return;
    }
    event.preventDefault();
    form.dataset.state = "waiting";
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      fill(form);
      form.dataset.state = "going";
      // requestSubmit keeps the tapped button's name and value (a pause reason, an outcome).
      if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
      form.dataset.state = "sent";
    };
    locate(WAIT_MS).then(send);
    setTimeout(send, WAIT_MS + 100);
  });

  // Ask early, so that a fix is usually ready before the first tap.
  if (document.querySelector("input[data-geo]")) locate(10000);
  // Back from the browser's page cache: the buttons must work again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form.fd-tap").forEach((form) => { delete form.dataset.state; });
    document.querySelectorAll(".fd-btn.is-busy").forEach((button) => button.classList.remove("is-busy"));
  });
})();
