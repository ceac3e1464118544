// The page header's menu on a narrow screen (issue 33, WCAG 1.4.10 Reflow): folded behind the
// "Menu" button, which says whether it is open (aria-expanded). A file, not an inline script:
// the CSP refuses those. Without scripts the button stays hidden and the menu simply wraps.
// The "Więcej" group is a <details>: it opens by keyboard on its own; this closes it on Escape
// (focus back on its summary) and on a click elsewhere, as a menu does.
(function () {
  "use strict";
  var button = document.querySelector(".menu-toggle");
  var nav = document.getElementById("main-nav");
  if (button && nav) {
    document.documentElement.classList.add("menu-js");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  var more = document.querySelector("details.more");
  if (!more) { return; }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && more.open) {
      more.open = false;
      more.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (more.open && !more.contains(event.target)) { more.open = false; }
  });
})();
