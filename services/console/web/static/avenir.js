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

// Hour reports: send the spreadsheet with a progress bar (forms marked
// data-upload="<id of the bar's container>"), then open the import's page;
// without script the form posts as usual.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var boxID = form.getAttribute && form.getAttribute("data-upload");
  if (ev.defaultPrevented || !boxID || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var box = document.getElementById(boxID);
  var bar = box && box.querySelector("progress");
  if (!bar) {
    return;
  }
  ev.preventDefault();
  box.hidden = false;
  var xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.upload.onprogress = function (e) {
    if (e.lengthComputable) {
      bar.max = e.total;
      bar.value = e.loaded;
      bar.textContent = Math.round((100 * e.loaded) / e.total) + " %";
    }
  };
  xhr.onload = function () {
    if (xhr.status === 200 && xhr.responseURL && xhr.responseURL.indexOf("/declarations/import/") >= 0) {
      window.location.assign(xhr.responseURL);
      return;
    }
    // A refusal: show it as the browser would have (the form posts again).
    form.submit();
  };
  xhr.onerror = function () {
    form.submit();
  };
  xhr.send(new FormData(form));
});

// An import running: follow its progress, reload once it is finished (the
// page also has a link to reload by hand).
(function () {
  var bar = document.querySelector("progress[data-state]");
  if (!bar || !window.fetch) {
    return;
  }
  var text = document.getElementById(bar.getAttribute("aria-describedby"));
  function poll() {
    fetch(bar.getAttribute("data-state"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) {
          throw new Error("HTTP " + res.status);
        }
        return res.json();
      })
      .then(function (st) {
        bar.max = Math.max(st.total, 1);
        bar.value = st.done;
        bar.textContent = st.text;
        if (text) {
          text.textContent = st.text;
        }
        if (st.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 500);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 500);
})();

// Statement review (statements.go): a checkbox in the header of the lines
// ticks or unticks every line shown.
document.querySelectorAll("form.statement-review").forEach(function (form) {
  var th = form.querySelector("table thead th:first-child");
  if (!th || !form.querySelector('input[name="ligne"]')) {
    return;
  }
  var box = document.createElement("input");
  box.type = "checkbox";
  box.id = "choix-tout";
  var label = document.createElement("label");
  label.htmlFor = "choix-tout";
  label.className = "visually-hidden";
  label.textContent = "Cocher toutes les lignes affichées";
  th.textContent = "";
  th.appendChild(box);
  th.appendChild(label);
  box.addEventListener("change", function () {
    form.querySelectorAll('input[name="ligne"]').forEach(function (c) {
      c.checked = box.checked;
    });
  });
});
