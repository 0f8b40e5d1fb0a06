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
