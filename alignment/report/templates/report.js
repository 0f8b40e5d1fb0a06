(function () {
  "use strict";
  var form = document.getElementById("f-form");
  if (!form) { return; }
  var controls = {
    severity: document.getElementById("f-severity"),
    kind: document.getElementById("f-kind"),
    category: document.getElementById("f-category"),
    team: document.getElementById("f-team"),
    perspective: document.getElementById("f-perspective"),
    q: document.getElementById("f-text")
  };
  function snake(value) {  // alignment/report/config.py snake_name
    return value.trim().toLowerCase().replace(/-/g, " ").split(/\s+/).filter(Boolean).join("_");
  }
  // Back and Forward may show the page as it was left (bfcache, restored form state): the
  // controls then say the URL's filters, the ones the listed findings were chosen by.
  // A filter may be repeated (?kind=a&kind=b): a list box then shows each value chosen.
  function fromUrl() {
    var params = new URLSearchParams(window.location.search);
    Object.keys(controls).forEach(function (name) {
      var control = controls[name];
      if (!control) { return; }
      if (control.tagName !== "SELECT") { control.value = params.get(name) || ""; return; }
      var options = Array.prototype.map.call(control.options, function (o) { return o.value; });
      // As the service reads them: ?perspective=Customer is "customer" (a team id is as given).
      var wanted = params.getAll(name).map(function (value) {
        return name === "team" ? value : snake(value);
      }).filter(function (value) { return value && options.indexOf(value) >= 0; });
      if (wanted.length > 1 && !control.multiple) {
        control.multiple = true;
        control.size = Math.min(wanted.length + 1, 6);
      }
      // Not option by option on a one-choice list: Chromium puts a deselected list back on
      // its first option ("all"), which then reads as chosen and hides the real choice.
      if (!control.multiple) { control.value = wanted[0] || ""; return; }
      Array.prototype.forEach.call(control.options, function (option) {
        option.selected = wanted.length ? wanted.indexOf(option.value) >= 0 : !option.value;
      });
    });
  }
  // The values a select has chosen ([] for "all").
  function chosen(control) {
    if (!control) { return []; }
    return Array.prototype.filter.call(control.options, function (option) {
      return option.selected && option.value;
    }).map(function (option) { return option.value; });
  }
  // The served page filters on the server (findings are paginated there) when the form is
  // sent ("Apply filters", or Enter in the search): not on each change, which a keyboard
  // user arrowing through a list would turn into a reload per option. The form carries no
  // page number: new filters start on page 1.
  if (form.dataset.mode === "server") {
    // Leave unused filters out of the URL: ?kind=orphan_okr, not ?severity=&category=&kind=...
    form.addEventListener("formdata", function (event) {
      var empty = [];
      event.formData.forEach(function (value, key) { if (!value) { empty.push(key); } });
      empty.forEach(function (key) { event.formData.delete(key); });
    });
    window.addEventListener("pageshow", fromUrl);
    return;
  }
  // An exported file holds every finding and filters them here; a card's link (?kind=...)
  // chooses the filter the same way the served page's query does.
  var table = document.getElementById("findings");
  var shown = document.getElementById("f-shown");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  // data-teams and data-perspectives are JSON lists, since a team id may contain spaces.
  function listed(row, name) { return JSON.parse(row.dataset[name] || "[]"); }
  var teams = rows.map(function (row) { return listed(row, "teams"); });
  var perspectives = rows.map(function (row) { return listed(row, "perspectives"); });
  var texts = null;  // each row's text, lower-cased on the first search
  // A query that looks like one record id finds that id whole (O-11: not SO-11, not O-110),
  // as the served page does (alignment/report/page.py, text_match); other text anywhere.
  function textTest(text) {
    if (/^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(text) && /[0-9]/.test(text)) {
      var whole = new RegExp("(^|[^a-z0-9_-])" + text + "($|[^a-z0-9_-])");
      return function (t) { return whole.test(t); };
    }
    return function (t) { return t.indexOf(text) >= 0; };
  }
  function any(wanted, have) {
    return !wanted.length || wanted.some(function (v) { return have.indexOf(v) >= 0; });
  }
  function apply() {
    var sev = chosen(controls.severity), kind = chosen(controls.kind);
    var cat = chosen(controls.category), team = chosen(controls.team);
    var persp = chosen(controls.perspective);
    var text = controls.q.value.trim().toLowerCase();
    if (text && !texts) {
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    var matches = textTest(text);
    var count = 0;
    rows.forEach(function (row, i) {
      var d = row.dataset;
      var ok = any(sev, [d.severity]) && any(kind, [d.kind]) && any(cat, [d.category]) &&
        any(team, teams[i]) && any(persp, perspectives[i]) &&
        (!text || matches(texts[i]));
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = String(count); }
  }
  // A card's link is a query alone (?kind=orphan_okr): served as an export, that would drop the
  // address's own query (?format=html) and open the JSON. So a card keeps the address and
  // swaps only the filters, and chooses them here without reading the whole file again.
  function cardAddress(card) {
    var given = new URL(card.getAttribute("href"), window.location.href);
    var params = new URLSearchParams(window.location.search);
    Object.keys(controls).forEach(function (name) { params.delete(name); });
    given.searchParams.forEach(function (value, name) { params.append(name, value); });
    var url = new URL(window.location.href);
    url.search = params.toString();
    url.hash = given.hash;
    return url.href;
  }
  Array.prototype.forEach.call(document.querySelectorAll("a.card[href^='?']"), function (card) {
    card.href = cardAddress(card);
    card.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      try {
        window.history.pushState(null, "", card.href);
      } catch (refused) {
        return;  // a browser that keeps a file's address fixed opens the link instead
      }
      event.preventDefault();
      fromUrl();
      apply();
      var target = document.getElementById(new URL(card.href).hash.slice(1));
      if (target) { target.scrollIntoView(); }
    });
  });
  // The address follows the filters chosen here, as it does for a card: reloading, a bookmark
  // or a shared link then shows the same findings. Replaced, not pushed: Back leaves the page
  // rather than stepping through each keystroke of a search.
  function toUrl() {
    var params = new URLSearchParams(window.location.search);
    Object.keys(controls).forEach(function (name) {
      params.delete(name);
      var control = controls[name];
      if (!control) { return; }
      var values = control.tagName === "SELECT" ? chosen(control) : [control.value.trim()];
      values.filter(Boolean).forEach(function (value) { params.append(name, value); });
    });
    var url = new URL(window.location.href);
    url.search = params.toString();
    try { window.history.replaceState(null, "", url.href); } catch (refused) { /* kept as is */ }
  }
  function applyAndShow() { apply(); toUrl(); }
  Object.keys(controls).forEach(function (name) {
    if (!controls[name]) { return; }
    controls[name].addEventListener(name === "q" ? "input" : "change", applyAndShow);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); applyAndShow(); });
  window.addEventListener("pageshow", function () { fromUrl(); apply(); });
  window.addEventListener("popstate", function () { fromUrl(); apply(); });
  fromUrl();
  apply();
})();
// While a new report is under way (the service puts a banner with data-wait-seconds first in
// the body) the page asks its own address again instead of reloading over the search the reader
// is typing: once the answer comes back without the banner the new report is in (or its build
// was cancelled), and the page reloads, or, when a filter was touched, says so with a link.
// Without JavaScript a <noscript> meta refresh does the waiting.
(function () {
  "use strict";
  var banner = document.querySelector(".recomputing[data-wait-seconds]");
  if (!banner) { return; }
  var seconds = Number(banner.dataset.waitSeconds) || 3;
  var touched = false;
  var wait = banner.querySelector("[data-wait]");
  // Asked to cancel, no new report is coming: the page says when the job has stopped instead.
  if (wait) {
    wait.textContent = banner.hasAttribute("data-cancelling")
      ? "This page says so here once it has stopped, and what you type meanwhile is kept."
      : "the new one shows here once it is in, and what you type meanwhile is kept.";
  }
  document.addEventListener("input", function () { touched = true; });
  document.addEventListener("change", function () { touched = true; });

  // `next`: the page as it is now; the build it waited for may have been cancelled instead.
  function arrived(next) {
    if (!touched) { window.location.reload(); return; }
    var cancelled = next.querySelector("[data-job-cancelled]");
    var link = document.createElement("a");
    link.href = window.location.href;
    link.id = "report-ready";
    link.textContent = "Show it";
    banner.replaceChildren(
      document.createTextNode(cancelled ? "The build was cancelled: no new report. " : "The new report is in. "),
      link, document.createTextNode(" (reloads this page with the filters in its address)."));
  }

  function lost() {
    if (!touched) { window.location.reload(); return; }
    var link = document.createElement("a");
    link.href = window.location.href;
    link.id = "report-lost";
    link.textContent = "Reload this page";
    banner.replaceChildren(
      document.createTextNode("This page can no longer check for the new report: you may have signed out in another tab. "),
      link, document.createTextNode(" (signing in again may be asked)."));
  }

  function poll() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) {
        // Signed out (another tab: sent on to the sign-in page) or no longer allowed: the
        // page's own answer says what to do.
        if (r.redirected || r.status === 401 || r.status === 403 || r.status === 404) {
          lost();
          return undefined;
        }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === undefined) return;
        var next = html === null ? null : new DOMParser().parseFromString(html, "text/html");
        if (next && !next.querySelector(".recomputing[data-wait-seconds]")) { arrived(next); }
        else { setTimeout(poll, seconds * 1000); }
      })
      .catch(function () { setTimeout(poll, seconds * 1000); });
  }
  setTimeout(poll, seconds * 1000);
})();
