// Shared by the pages whose forms come back refused as the whole page (the team page, the review
// queue): the page names its own address in <main data-page>.

// Bring the first refused field into view with the focus on it, or the form's own message when
// no field is at fault (a draft that restates an existing OKR).
(function () {
  "use strict";
  var refused = document.querySelector("[aria-invalid=true]") ||
    document.querySelector("[data-refused]");
  if (!refused) return;
  var field = refused.matches("fieldset") ? refused.querySelector("input") : refused;
  if (field) field.focus();
  refused.scrollIntoView({ block: "center" });
})();

// A refused form comes back as the page at the form's POST address: put the page's own address
// in the address bar, so reloading shows the page instead of sending the form again, and the
// address can be opened or shared (a GET there answers 405).
(function () {
  "use strict";
  var main = document.querySelector("main[data-page]");
  if (!main) return;
  var here = window.location.pathname, page = main.dataset.page;
  try {  // the browser and the server may escape an id's characters differently
    if (decodeURIComponent(here) === decodeURIComponent(page)) return;
  } catch (e) {
    if (here === page) return;
  }
  window.history.replaceState(null, "", page);
})();

// A form sent once its sign-in has ended (signed out in another tab or browser, expired) is not
// saved: the browser goes to sign in, and back to this page. What the person typed would be
// lost, so each form sent keeps its fields in this tab's sessionStorage, and the page puts them
// back when it opens again without the form having been taken: no `decided`/`job` in the
// address (the server's answer to a form it took), no refused field (a refused form comes back
// with its values already). Only for the same person (`data-signed-in`): on a shared computer
// another person signing in on that tab gets nothing of it.
(function () {
  "use strict";
  var main = document.querySelector("main[data-page]");
  if (!main || !window.sessionStorage) return;
  var KEY = "goldenthread.unsent", HOUR = 3600 * 1000, page = main.dataset.page;
  var who = main.dataset.signedIn || "";

  // A form's address carries the sign-in's token (`?csrf=`), new with every sign-in.
  function bare(action) {
    var url = new URL(action || "", window.location.href);
    url.searchParams.delete("csrf");
    return url.pathname + url.search;
  }

  function typedFields(form) {
    var fields = {}, typed = false;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) typed = true;
        if (el.checked) (fields[el.name] = fields[el.name] || []).push(el.value);
        return;
      }
      if (el.tagName === "SELECT") {  // a select has no defaultValue: its options say
        Array.prototype.forEach.call(el.options, function (o) { if (o.selected !== o.defaultSelected) typed = true; });
      } else if (el.value !== el.defaultValue) typed = true;
      fields[el.name] = [el.value];
    });
    return typed ? fields : null;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") return;  // a search: no write
    var fields = typedFields(form);
    try {
      if (!fields) { sessionStorage.removeItem(KEY); return; }
      sessionStorage.setItem(KEY, JSON.stringify({
        page: page, who: who, action: bare(form.getAttribute("action")), fields: fields, at: Date.now()
      }));
    } catch (e) { /* storage full or refused: the form is sent all the same */ }
  }, true);

  var kept = null;
  try { kept = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { kept = null; }
  if (!kept) return;
  if (kept.who !== who) { sessionStorage.removeItem(KEY); return; }  // another person's typing
  if (kept.page !== page) return;
  sessionStorage.removeItem(KEY);
  var query = new URLSearchParams(window.location.search);
  var taken = query.has("decided") || query.has("job") || document.querySelector("[aria-invalid=true], [data-refused]");
  if (taken || Date.now() - kept.at > HOUR) return;
  var form = Array.prototype.find.call(document.forms, function (f) { return bare(f.getAttribute("action")) === kept.action; });
  if (!form) { gone(kept.fields); return; }  // its item was decided meanwhile
  Object.keys(kept.fields).forEach(function (name) {
    var values = kept.fields[name];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name !== name) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = values.indexOf(el.value) >= 0;
      else el.value = values[0];
    });
  });
  var said = document.createElement("p");
  said.setAttribute("role", "status");
  said.id = "unsent-restored";
  said.textContent = "The form you sent was not saved. What you typed is back in it: check it and send it again.";
  form.parentNode.insertBefore(said, form);
  said.scrollIntoView({ block: "center" });
  var first = Array.prototype.find.call(form.elements, function (el) { return kept.fields[el.name] && el.type !== "hidden"; });
  if (first) first.focus({ preventScroll: true });

  // Nothing to put it back into: what was typed is shown, to be copied, rather than lost.
  function gone(fields) {
    var text = Object.keys(fields).map(function (n) { return fields[n].join(", "); })
      .filter(function (v) { return v.trim(); }).join("\n");
    var box = document.createElement("div");
    box.setAttribute("role", "status");
    box.id = "unsent-orphaned";
    var p = document.createElement("p");
    p.textContent = "The form you sent was not saved, and what it was about has been decided since (see below). What you typed, to copy:";
    var copy = document.createElement("textarea");
    copy.readOnly = true;
    copy.rows = 3;
    copy.value = text;
    copy.setAttribute("aria-label", "What you typed, not saved");
    box.append(p, copy);
    main.insertBefore(box, main.firstChild);
    copy.focus();
  }
})();
