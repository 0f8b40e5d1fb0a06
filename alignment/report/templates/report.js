(function () {
  "use strict";
  var table = document.getElementById("findings");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var controls = {
    severity: document.getElementById("f-severity"),
    kind: document.getElementById("f-kind"),
    category: document.getElementById("f-category"),
    team: document.getElementById("f-team"),
    text: document.getElementById("f-text")
  };
  var shown = document.getElementById("f-shown");
  // data-teams is a JSON list, since a team id may contain spaces.
  var teams = rows.map(function (row) { return JSON.parse(row.dataset.teams || "[]"); });
  var texts = null;  // each row's text, lower-cased on the first search
  function apply() {
    var sev = controls.severity.value, kind = controls.kind.value;
    var cat = controls.category.value, team = controls.team.value;
    var text = controls.text.value.trim().toLowerCase();
    if (text && !texts) {
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    var count = 0;
    rows.forEach(function (row, i) {
      var d = row.dataset;
      var ok = (!sev || d.severity === sev) && (!kind || d.kind === kind) &&
        (!cat || d.category === cat) &&
        (!team || teams[i].indexOf(team) >= 0) &&
        (!text || texts[i].indexOf(text) >= 0);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }
  Object.keys(controls).forEach(function (name) {
    controls[name].addEventListener(name === "text" ? "input" : "change", apply);
  });
  apply();
})();
