// Parent suggestion while writing: after a pause in typing (one request per pause; a newer
// pause cancels the request still in flight), list the objectives the title would serve.
// Text goes in with textContent only: nothing the server returns is parsed as HTML.
(function () {
  "use strict";
  var input = document.getElementById("parent-title");
  var list = document.getElementById("parent-suggestions");
  var order = document.getElementById("parent-order");
  if (!input || !list) return;
  var timer = null;
  var inflight = null;

  // In the API's rank order (the list's numbers), which is not always the scores' order: the
  // note under the list says why.
  function show(links) {
    list.replaceChildren();
    if (order) order.hidden = links.length === 0;
    links.slice(0, 3).forEach(function (link) {
      var item = document.createElement("li");
      item.textContent = link.objective_id + " " + (link.objective_title || "") +
        " (score " + link.score.toFixed(2) + ", " + link.label + ")";
      list.appendChild(item);
    });
  }

  function ask() {
    var title = input.value.trim();
    if (title.length < 3) { show([]); return; }
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
      .catch(function (e) { if (e.name !== "AbortError") show([]); });
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

// While a drafting job runs the page asks the job's JSON (GET /jobs/{id}, read with the sign-in
// cookie) instead of reloading itself: a reload would wipe what the person is typing in other
// drafts' fields or the new OKR's title. Finished with nothing typed, the page reloads to show
// the draft; with something typed, it says so and offers the reload as a link. Without
// JavaScript the page's <noscript> meta refresh does the waiting.
(function () {
  "use strict";
  var status = document.getElementById("job-status");
  if (!status || !status.dataset.jobUrl) return;
  var wait = status.querySelector("[data-wait]");
  var seconds = Number(status.dataset.pollSeconds) || 3;
  var typed = false;
  var main = document.querySelector("main") || document;
  main.addEventListener("input", function () { typed = true; });
  main.addEventListener("change", function () { typed = true; });
  // Asked to cancel, no draft is coming: the page says when the job has stopped instead.
  if (wait) wait.textContent = status.hasAttribute("data-cancelling")
    ? "This page says so once it has stopped; what you type meanwhile is kept."
    : "The draft appears here once it is ready; what you type meanwhile is kept.";

  function finished(job) {
    if (!typed) { window.location.reload(); return; }
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Show it";
    link.id = "job-done";
    var said = job.status === "failed" ? "Drafting has stopped." :
      job.status === "cancelled" ? "Drafting was cancelled." :
      // A decline ("nothing new to suggest") succeeds with no draft: say so, not "ready".
      job.result && job.result.declined ? "Drafting has finished: there is nothing new to suggest." :
      "The draft is ready.";
    var cancel = document.getElementById("job-cancel");
    if (cancel) cancel.remove();  // nothing left to cancel
    status.replaceChildren(document.createTextNode(said + " "), link,
      document.createTextNode(" (reloads this page: what you typed here and have not sent is lost)."));
  }

  function lost() {
    if (!typed) { window.location.reload(); return; }
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Reload this page";
    link.id = "job-lost";
    status.replaceChildren(
      document.createTextNode("This page can no longer follow the draft: you may have signed out in another tab. " +
        "What you typed is still here; copy it before you "), link,
      document.createTextNode(" (signing in again may be asked)."));
  }

  function poll() {
    fetch(status.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        // Signed out (another tab), or the job gone: the page's own answer says what to do,
        // unless it would wipe what was typed; then the page says so and keeps the text.
        if (r.status === 401 || r.status === 403 || r.status === 404) { lost(); return undefined; }
        return r.ok ? r.json() : null;
      })
      .then(function (job) {
        if (job === undefined) return;
        if (job && ["succeeded", "failed", "cancelled"].indexOf(job.status) >= 0) finished(job);
        else setTimeout(poll, seconds * 1000);
      })
      .catch(function () { setTimeout(poll, seconds * 1000); });
  }
  setTimeout(poll, seconds * 1000);
})();
