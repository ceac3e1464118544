// The session's time limit, warned and extendable (WCAG 2.2.1; issue 33). The server gives the
// seconds left in #session-expiry (templates/_session_expiry.html): counted from this page's
// load, not from the workstation's clock, which may be wrong. Two minutes before the idle end
// the live region says so and "Przedłuż sesję" appears; it posts /session/extend with the
// page's CSRF token. The absolute end cannot be moved: it is announced earlier, without a
// button. Other tabs of the same session share what they learn (localStorage), and the page's
// own htmx requests and the player's media fetches count as activity, as the server counts
// them.
(function () {
  "use strict";
  var box = document.getElementById("session-expiry");
  if (!box) { return; }
  var msg = document.getElementById("session-expiry-msg");
  var form = document.getElementById("session-expiry-form");
  var login = document.getElementById("session-expiry-login");
  var button = form.querySelector("button");
  // The office's prefix in an installation (base.html's data-root): each office's sign-in
  // ends on its own, and tabs share only their own office's.
  var root = document.documentElement.getAttribute("data-root") || "";
  var KEY = "kustosz-session-ends" + (root ? ":" + root : "");
  // The server moves the idle end only when the last request is a minute old (accounts.
  // session_for): after a request the session lives at least this long.
  var TOUCH_MS = 60000;

  function seconds(name) {
    var n = parseInt(box.getAttribute("data-" + name), 10);
    return isFinite(n) ? n * 1000 : 0;
  }
  var loaded = Date.now();
  var idle = seconds("idle"), warn = seconds("warn"), hardWarn = seconds("hard-warn");
  var hard = loaded + seconds("hard-left");
  var ends = loaded + seconds("left");
  var shown = "";      // the message on screen: "", "idle", "hard", "ended" or "extended"
  var before = null;   // what had the focus before the warning took it

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) { var d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function words(kind, at) {
    return (box.getAttribute("data-text-" + kind) || "").replace("{time}", clock(at));
  }

  function typing() {
    var el = document.activeElement;
    var tag = el && el.tagName ? el.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }

  function show(kind, at) {
    if (shown === kind) { return; }
    shown = kind;
    msg.textContent = words(kind, at);
    form.hidden = kind !== "idle";
    login.hidden = kind !== "ended";
    box.classList.add("open");
    // The button is where a keyboard or screen-reader user needs to be; a person typing into
    // a form keeps the focus (the alert is announced anyway).
    if (kind === "idle" && !typing()) {
      before = document.activeElement;
      button.focus();
    }
  }

  function close() {
    var ours = document.activeElement === button;
    shown = "";
    msg.textContent = "";
    form.hidden = true;
    login.hidden = true;
    box.classList.remove("open");
    if (ours && before && before.focus) { before.focus(); }
    before = null;
  }

  function tick() {
    var now = Date.now(), left = ends - now;
    if (left <= 0) { show("ended", ends); return; }
    if (ends < hard && left <= warn) { show("idle", ends); return; }
    if (hard - now <= hardWarn) { show("hard", hard); return; }
    if (shown === "idle" || shown === "hard" || shown === "ended") { close(); }
  }

  function share() {
    try { window.localStorage.setItem(KEY, JSON.stringify({ ends: ends, hard: hard })); } catch (e) { /* storage off */ }
  }

  function later(at) {  // the session lives at least until `at`
    at = Math.min(at, hard);
    if (at > ends) { ends = at; tick(); }
  }

  window.addEventListener("storage", function (event) {
    if (event.key !== KEY || !event.newValue) { return; }
    try { later(JSON.parse(event.newValue).ends); } catch (e) { /* not ours */ }
  });
  document.addEventListener("htmx:afterRequest", function () {
    later(Date.now() + idle - TOUCH_MS);
    share();
  });
  // The player's own fetches (a recording's HLS playlists and segments, its MP4, a call's
  // audio) pass the gate as well, which counts them as activity: a person watching a long
  // recording is not idle. The browser's resource timing sees them, whoever made them.
  if (window.PerformanceObserver) {
    try {
      new PerformanceObserver(function (list) {
        var fetched = list.getEntries().some(function (e) {
          return e.name.indexOf(window.location.origin + root + "/media/") === 0 && e.transferSize !== 0;
        });
        if (fetched) { later(Date.now() + idle - TOUCH_MS); share(); }
      }).observe({ type: "resource" });
    } catch (e) { /* no resource timing: the warning may come early, the button still works */ }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var csrf = form.querySelector("input[name=csrf]").value;
    fetch(form.action, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok || type.indexOf("application/json") < 0) { throw new Error("not extended"); }
      return r.json();
    }).then(function (t) {
      var now = Date.now();
      hard = now + t.hard_left * 1000;
      ends = now + t.left * 1000;
      share();
      var ours = document.activeElement === button;
      shown = "extended";
      msg.textContent = words("extended", ends);
      form.hidden = true;
      if (ours && before && before.focus) { before.focus(); }
      before = null;
      window.setTimeout(function () { if (shown === "extended") { close(); } }, 8000);
    }).catch(function () {  // the server no longer knows the session
      ends = Date.now();
      show("ended", ends);
    });
  });

  share();
  tick();
  window.setInterval(tick, 1000);
})();
