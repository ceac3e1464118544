// Every htmx form shows the server's refusal in its target (issue 29 item 6). htmx swaps only
// 2xx answers by default: a 422 naming a wrong number left the previous results on screen
// as if they answered the new search. Loaded by base.html, so every page's hx- forms have it.
(function () {
  "use strict";

  // A whole page (a refusal, the sign-in page after the session ended) brings its own
  // header and menu: only its <main> belongs in the target.
  function mainOf(text) {
    if (!/<html[\s>]/i.test(text)) {
      return text;
    }
    const doc = new DOMParser().parseFromString(text, "text/html");
    const main = doc.querySelector("main");
    return main ? main.innerHTML : doc.body.innerHTML;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const status = detail.xhr.status;
    if (status >= 400 && status < 600) {
      detail.shouldSwap = true;
      detail.isError = false; // answered on the page, not a fault of the page
    }
    if (detail.shouldSwap && typeof detail.serverResponse === "string") {
      detail.serverResponse = mainOf(detail.serverResponse);
    }
  });

  // No answer at all (the server stopped, the network is down): say so where the results go.
  document.addEventListener("htmx:sendError", function (event) {
    const elt = event.detail.elt;
    const selector = elt && elt.getAttribute("hx-target");
    const target = event.detail.target || (selector && document.querySelector(selector));
    if (!target) {
      return;
    }
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = document.documentElement.lang === "en"
      ? "No answer from the server — try again in a moment."
      : "Brak odpowiedzi serwera — spróbuj ponownie za chwilę.";
    target.replaceChildren(p);
  });
}());
