// The job page (web/jobs_pages.py, job.html) follows its job in place, never by reloading
// (issue 50 item 4, WCAG 2.2.1): a reload threw focus and a screen reader back to the top every
// two seconds. It asks the job's JSON (the page's own gate and owner check), moves the bar,
// and puts the words into a polite live region only when they change — a phase, the end, a
// failure — so each is said once. Focus is never moved. A file, not an inline script: the
// CSP refuses those. Without scripts the page keeps its "Odśwież" link.
(function () {
  "use strict";
  var job = document.querySelector("[data-job-poll]");
  if (!job || !window.fetch) { return; }
  var said = document.getElementById("job-said");
  var bar = document.getElementById("job-bar");
  var percent = job.querySelector(".job-percent");
  var eta = job.querySelector(".job-eta");
  var next = document.getElementById("job-next");
  var close = document.getElementById("job-close");
  var refresh = document.getElementById("job-refresh");
  var every = parseInt(job.getAttribute("data-poll-ms"), 10) || 2000;
  var misses = 0;
  if (refresh) { refresh.hidden = true; }  // the page follows the job by itself

  function show(state) {
    var shown = String(state.percent) + "%";
    job.setAttribute("data-state", state.state);
    if (bar) { bar.value = state.percent; bar.textContent = shown; }
    if (percent) { percent.textContent = shown; }
    if (eta) { eta.textContent = state.estimate || ""; eta.hidden = !state.estimate; }
    if (said && said.textContent !== state.said) { said.textContent = state.said; }
    if (state.state === "failed" && said) { said.classList.add("error", "box"); }
    if (state.state === "done" && state.next && next) {
      next.querySelector("a").setAttribute("href", state.next);
      next.hidden = false;
    }
    if ((state.state === "done" || state.state === "failed") && close) { close.hidden = true; }
  }

  function ask() {
    fetch(job.getAttribute("data-job-poll"), {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
    }).then(function (answer) {
      if (!answer.ok) { throw answer.status; }
      return answer.json();
    }).then(function (state) {
      misses = 0;
      show(state);
      if (state.state !== "done" && state.state !== "failed") {
        window.setTimeout(ask, every);
      }
    }).catch(function (status) {
      // Signed out or no longer this person's: asking again cannot help; a network hiccup
      // may pass. Either way the link is back, for a person to reload by hand.
      if (refresh) { refresh.hidden = false; }
      misses += 1;
      if (status !== 401 && status !== 403 && status !== 404 && misses < 30) {
        window.setTimeout(ask, every * Math.min(misses + 1, 5));
      }
    });
  }

  window.setTimeout(ask, every);
})();
