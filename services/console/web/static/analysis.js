// avenir console, needs analysis form: progressive enhancement only, the
// form works without it. ROME code fields suggest trades by name (from
// /metiers, as JSON) and show the title of the code typed; a step shows the
// fields of its kind only; Enter in the ROME search runs the search.
"use strict";
(function () {
  var form = document.querySelector("form[action$='/analyse']");
  if (!form) return;

  // ROME suggestions: one list, filled for the field being typed in.
  var list = document.createElement("datalist");
  list.id = "rome-suggestions";
  form.appendChild(list);
  var titles = {}; // ROME code -> title, from the answers so far
  var timer = null;
  var asked = 0;

  function codeOf(input) {
    return (input.value.trim().split(/[\s—,;]+/)[0] || "").toUpperCase();
  }

  function showTitle(input) {
    var out = document.getElementById(input.id + "-rome");
    if (!out) return;
    var code = codeOf(input);
    if (titles[code]) {
      out.textContent = code + " : " + titles[code];
    } else if (code === "") {
      out.textContent = "";
    }
  }

  function suggest(input) {
    var q = input.value.trim();
    if (q.length < 2) return;
    var mine = ++asked;
    fetch("/metiers?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || mine !== asked) return;
        list.textContent = "";
        data.results.forEach(function (t) {
          titles[t.code] = t.label;
          var o = document.createElement("option");
          o.value = t.code;
          o.textContent = t.label;
          list.appendChild(o);
        });
        showTitle(input);
      })
      .catch(function () { /* no suggestions: the field still works */ });
  }

  form.querySelectorAll("input[data-rome]").forEach(function (input) {
    input.setAttribute("list", list.id);
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { suggest(input); }, 200);
    });
    input.addEventListener("change", function () { showTitle(input); });
  });

  // A step shows the fields of its kind only (those with a problem stay).
  function showStepFields(select) {
    var row = select.closest("fieldset");
    if (!row) return;
    row.querySelectorAll("[data-step-field]").forEach(function (el) {
      var wrong = el.querySelector("[aria-invalid='true']") !== null;
      el.hidden = !wrong && el.getAttribute("data-step-field") !== select.value;
    });
  }
  form.querySelectorAll("select[data-step-type]").forEach(function (select) {
    showStepFields(select);
    select.addEventListener("change", function () { showStepFields(select); });
  });

  // Enter in the ROME search searches (not the form's first button).
  var query = document.getElementById("recherche");
  var button = document.getElementById("recherche-bouton");
  if (query && button) {
    query.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        button.click();
      }
    });
  }
})();
