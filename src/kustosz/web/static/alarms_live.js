// The alarm list keeps itself up to date (issue 65 item 3; web/alarms_live.py). Every few
// seconds the page asks /alarms/live for what it shows now; the answer is empty (204) when
// nothing changed. A change is put into the list item by item, each known by its alert's id
// (data-alarm): the items that stay are not touched, so a focused link keeps its focus. The
// polite live region says only what changed ("Nowy alarm: …", "Alarm ustał: …"), never the
// whole list at each refresh. /cameras' "nie nagrywa od" marks follow too.
//
// Notifications on this device, for the roles that watch (#alarm-notify): the browser's
// Notification API while a Kustosz page is open; with Web Push (the server's [alerts.push]
// and a push service the browser reaches) also when none is. A push and this page tell one
// alarm under one tag, so the device shows it once.
(function () {
  "use strict";
  var box = document.getElementById("alarms");
  if (!box || !window.fetch) { return; }
  var list = document.getElementById("alarms-list");
  var none = document.getElementById("alarms-none");
  var news = document.getElementById("alarms-news");
  var every = (parseInt(box.getAttribute("data-every"), 10) || 5) * 1000;
  var version = box.getAttribute("data-version") || "";
  var day = box.getAttribute("data-day");
  var stopped = false;
  // The office's prefix in an installation ("/o/mops"; "" for an office served alone,
  // base.html's data-root): its own addresses, and a push registration of its own, so that
  // office A's sign-out never ends office B's notifications on a shared browser.
  var root = document.documentElement.getAttribute("data-root") || "";
  var SCOPE = "/static/" + (root ? root.slice(1) + "/" : "");
  // per person and office: on a workstation shared by shifts, one's choice is not the next one's
  var KEY = "kustosz-alarm-notify:" + root + (box.getAttribute("data-who") || "");

  function textOf(li) {
    var copy = li.cloneNode(true);
    copy.querySelectorAll("a.button").forEach(function (a) { a.remove(); });
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function keys() {
    var out = {};
    list.querySelectorAll("li[data-alarm]").forEach(function (li) {
      out[li.getAttribute("data-alarm")] = li;
    });
    return out;
  }

  function say(text) {
    // emptied first: the same words said again are still a change the reader hears
    news.textContent = "";
    window.setTimeout(function () { news.textContent = text; }, 50);
  }

  function patch(html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var before = keys(), added = [], gone = [];
    var wanted = Array.prototype.slice.call(fresh.content.querySelectorAll("li[data-alarm]"));
    var seen = {};
    var at = list.firstElementChild;
    wanted.forEach(function (item) {
      var key = item.getAttribute("data-alarm");
      seen[key] = true;
      var old = before[key];
      if (old && old === at) {  // in its place: changed in words only, if at all
        if (old.innerHTML !== item.innerHTML) {
          var focused = old.contains(document.activeElement);
          old.replaceWith(item);
          if (focused) { var link = item.querySelector("a"); if (link) { link.focus(); } }
          at = item.nextElementSibling;
        } else {
          at = old.nextElementSibling;
        }
        return;
      }
      if (old) { old.remove(); }  // moved: the order is the server's (most urgent first)
      list.insertBefore(item, at);
      if (!old && key !== "more") { added.push(item); }
    });
    Object.keys(before).forEach(function (key) {
      if (!seen[key]) {
        if (key !== "more") { gone.push(textOf(before[key])); }
        before[key].remove();
      }
    });
    var empty = !list.querySelector("li[data-alarm]");
    list.hidden = empty;
    none.hidden = !empty;
    var said = added.map(function (li) { return news.getAttribute("data-new") + " " + textOf(li); })
      .concat(gone.map(function (t) { return news.getAttribute("data-gone") + " " + t; }));
    if (said.length) { say(said.join(" ")); }
    added.forEach(function (li) { notify(li.getAttribute("data-alarm"), textOf(li)); });
  }

  function marks(down) {
    document.querySelectorAll(".down-mark[data-camera]").forEach(function (mark) {
      var words = down[mark.getAttribute("data-camera")];
      var now = mark.textContent.trim();
      if ((words || "") === now) { return; }
      mark.textContent = "";
      if (words) {
        var strong = document.createElement("strong");
        strong.className = "error";
        strong.textContent = words;
        mark.appendChild(document.createElement("br"));
        mark.appendChild(strong);
      }
    });
  }

  function ask() {
    if (stopped) { return; }
    var url = box.getAttribute("data-live") + "&seen=" + encodeURIComponent(version) +
      (day ? "&day=" + encodeURIComponent(day) : "");
    fetch(url, { credentials: "same-origin", redirect: "manual",
                 headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) {
          stopped = true;  // the sign-in ended: session_expiry.js says so
          return null;
        }
        if (r.status === 204 || !r.ok) { return null; }
        return r.json();
      })
      .then(function (answer) {
        if (!answer) { return; }
        version = answer.version;
        patch(answer.items);
        if (answer.down) { marks(answer.down); }
      })
      .catch(function () { /* the server away a moment: asked again */ })
      .then(function () { if (!stopped) { window.setTimeout(ask, every); } });
  }

  // -- notifications on this device -------------------------------------------------------
  var panel = document.getElementById("alarm-notify");
  var state = document.getElementById("alarm-notify-state");
  var onButton = document.getElementById("alarm-notify-on");
  var offButton = document.getElementById("alarm-notify-off");

  function wanted() {
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }
  function remember(on) {
    try { window.localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* storage off */ }
  }

  function notify(key, text) {
    if (!wanted() || !("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    var title = document.getElementById("alarms-title").textContent + " — Kustosz";
    var options = { body: text, tag: "kustosz-alarm-" + key, lang: document.documentElement.lang };
    var shown = navigator.serviceWorker && navigator.serviceWorker.getRegistration
      ? navigator.serviceWorker.getRegistration(SCOPE).then(function (reg) {
        if (reg) { return reg.showNotification(title, options); }
        return new Notification(title, options);
      }) : Promise.resolve(new Notification(title, options));
    shown.catch(function () { /* a browser that allows none here */ });
  }

  function show(kind) {
    state.textContent = panel.getAttribute("data-" + kind) || "";
    onButton.hidden = kind === "on" || kind === "page-only" || kind === "denied";
    offButton.hidden = !(kind === "on" || kind === "page-only");
  }

  function post(path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin", redirect: "manual",
                         headers: { "Content-Type": "application/json",
                                    "X-CSRF-Token": panel.getAttribute("data-csrf") },
                         body: JSON.stringify(body) });
  }

  function b64(text) {  // base64url to the bytes pushManager.subscribe takes
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(s + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function pushable() {
    return panel.getAttribute("data-key") && navigator.serviceWorker && window.PushManager;
  }

  function subscribe(confirmOnly) {
    if (!pushable()) { return Promise.resolve(false); }
    return navigator.serviceWorker.register(
      "/static/alarms_sw.js" + (root ? "?root=" + encodeURIComponent(root) : ""), { scope: SCOPE }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        if (sub || confirmOnly) { return sub; }
        return reg.pushManager.subscribe({ userVisibleOnly: true,
                                           applicationServerKey: b64(panel.getAttribute("data-key")) });
      });
    }).then(function (sub) {
      if (!sub) { return false; }
      return post(root + "/alarms/devices", { subscription: sub.toJSON() }).then(function (r) { return r.ok; });
    }).catch(function () { return false; });
  }

  function unsubscribe() {
    if (!pushable()) { return Promise.resolve(); }
    return navigator.serviceWorker.getRegistration(SCOPE).then(function (reg) {
      return reg && reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) { return null; }
      var endpoint = sub.endpoint;
      return sub.unsubscribe().then(function () { return post(root + "/alarms/devices/off", { endpoint: endpoint }); });
    }).catch(function () { /* nothing to end */ });
  }

  if (panel && "Notification" in window) {
    panel.hidden = false;
    if (Notification.permission === "denied") { show("denied"); }
    else if (wanted() && Notification.permission === "granted") {
      show("page-only");
      // each page confirms this device to the sign-in it is under now: signing out ends it
      subscribe(true).then(function (ok) { if (ok) { show("on"); } });
    } else { show("off"); }
    onButton.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        if (answer !== "granted") { show(answer === "denied" ? "denied" : "off"); return; }
        remember(true);
        show("page-only");
        subscribe(false).then(function (ok) { if (ok) { show("on"); } });
      });
    });
    offButton.addEventListener("click", function () {
      remember(false);
      unsubscribe().then(function () { show("off"); });
    });
  }

  window.setTimeout(ask, every);
})();
