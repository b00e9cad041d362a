// Small behaviours shared by every page. Page-specific code (the board's drag and drop) lives in its
// own file next to this one.
document.addEventListener("click", (event) => {
  // Close an open popover when clicking elsewhere.
  const pop = document.getElementById("popover");
  if (pop && !pop.hidden && !pop.contains(event.target) && !event.target.closest("[data-quick]")) {
    pop.hidden = true;
  }
});
// Destructive buttons ask first: <button data-confirm="Remove this line?">
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
}, true);
document.addEventListener("htmx:confirm", (event) => {
  const message = event.detail.elt.dataset.confirm;
  if (message) {
    event.preventDefault();
    if (window.confirm(message)) event.detail.issueRequest();
  }
});
