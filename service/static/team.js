// Parent suggestion while writing: after a pause in typing (one request per pause; a newer
// pause cancels the request still in flight), list the objectives the title would serve.
// Text goes in with textContent only: nothing the server returns is parsed as HTML.
(function () {
  "use strict";
  var input = document.getElementById("parent-title");
  var list = document.getElementById("parent-suggestions");
  if (!input || !list) return;
  var timer = null;
  var inflight = null;

  function show(links) {
    list.replaceChildren();
    links.slice(0, 3).forEach(function (link) {
      var item = document.createElement("li");
      item.textContent = link.objective_id + " " + (link.objective_title || "") +
        " (score " + link.score.toFixed(2) + ", " + link.label + ")";
      list.appendChild(item);
    });
  }

  function ask() {
    var title = input.value.trim();
    if (title.length < 3) { list.replaceChildren(); return; }
    if (inflight) inflight.abort();
    inflight = new AbortController();
    fetch(input.dataset.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: title }),
      credentials: "same-origin",
      signal: inflight.signal,
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) show(body.links); })
      .catch(function (e) { if (e.name !== "AbortError") list.replaceChildren(); });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 400);
  });
})();

// At most N ticked objectives (the request's own limit, in data-max-checked): HTML has no such
// attribute for checkboxes, so a custom validity on the first box keeps the form from
// submitting, and the message stands beside the fieldset where the server would put it.
(function () {
  "use strict";
  var group = document.querySelector("fieldset[data-max-checked]");
  if (!group) return;
  var max = Number(group.dataset.maxChecked);
  var note = document.getElementById("objectives-error");
  var first = group.querySelector("input[type=checkbox]");
  if (!first || !note) return;

  function check(show) {
    var over = group.querySelectorAll("input[type=checkbox]:checked").length > max;
    var message = over ? group.dataset.maxMessage : "";
    first.setCustomValidity(message);
    // On load the server's own message (whatever it is about) stays until the ticks change.
    if (!show) return;
    note.textContent = message;
    note.hidden = !over;
    if (over) group.setAttribute("aria-invalid", "true");
    else group.removeAttribute("aria-invalid");
  }

  group.addEventListener("change", function () { check(true); });
  check(false);
})();
