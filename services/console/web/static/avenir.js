// avenir console: progressive enhancement only; every page works without it.
"use strict";
document.addEventListener("submit", function (ev) {
  // Ask before a destructive action (buttons marked data-confirm).
  var btn = ev.submitter;
  var msg = btn && btn.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
    return;
  }
  // A form sent once is not sent twice by an impatient second click.
  var form = ev.target;
  if (form.dataset.sent === "1") {
    ev.preventDefault();
    return;
  }
  form.dataset.sent = "1";
});
