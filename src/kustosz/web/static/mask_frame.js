// The mask form's still frame (templates/request.html): the frame of the chosen camera and
// moment is fetched from the server (which checks the right, the camera and the period, and
// records the access), shown as a data: URL (the CSP's img-src), with the request's
// rectangles of that camera drawn over it; dragging on it fills the form's x, y, w, h (%).
// A frame is a look at recorded video: the authorised person present is named with it
// (002 zał.5 §7 ust. 6) and sent in the POST body (with the CSRF token), never in the URL.
(function () {
  "use strict";
  var form = document.getElementById("frame-form");
  if (!form) { return; }
  var figure = document.getElementById("kadr");
  var img = document.getElementById("frame-img");
  var overlay = document.getElementById("frame-overlay");
  var caption = document.getElementById("frame-caption");
  var error = document.getElementById("frame-error");
  var sourceField = document.getElementById("f-frame-source");
  var atField = document.getElementById("f-frame-at");
  var witnessField = document.getElementById("f-frame-witness");
  var regions = JSON.parse(form.getAttribute("data-regions") || "[]");
  var memory = "kustosz-kadr-" + form.getAttribute("data-request");
  var shown = null; // {source, seconds}

  function clockSeconds(text) {
    var m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text || "");
    if (!m) { return null; }
    return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] || 0);
  }

  function intoPeriod(text) { // seconds from the period's start (a time before it: next day)
    var at = clockSeconds(text), start = clockSeconds(form.getAttribute("data-start"));
    return at === null || start === null ? null : (at - start + 86400) % 86400;
  }

  function place(el, x, y, w, h) {
    el.style.left = x + "%"; el.style.top = y + "%";
    el.style.width = w + "%"; el.style.height = h + "%";
  }

  function draw() {
    while (overlay.firstChild) { overlay.removeChild(overlay.firstChild); }
    if (!shown) { return; }
    regions.forEach(function (r, i) {
      if (r.source !== shown.source) { return; }
      var el = document.createElement("div");
      var active = shown.seconds >= r.from_s && shown.seconds < r.to_s;
      el.className = "frame-rect " + (r.kind === "keep" ? "keep" : "mask") +
        (active ? "" : " inactive");
      el.title = "Obszar nr " + (i + 1) + (r.note ? ": " + r.note : "") +
        (active ? "" : " (nie obowiązuje w tej chwili)");
      var label = document.createElement("span");
      label.textContent = String(i + 1);
      el.appendChild(label);
      place(el, r.x, r.y, r.w, r.h);
      overlay.appendChild(el);
    });
  }

  function fail(text) {
    error.textContent = text;
    error.hidden = false;
    figure.hidden = true;
  }

  function show() {
    var source = sourceField.value, at = atField.value.trim();
    var witness = witnessField.value.trim();
    var body = new URLSearchParams(new FormData(form)); // csrf, source, at, witness
    error.hidden = true;
    return fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "image/jpeg" } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (body) {
            fail(body.detail_pl || body.detail || "Nie udało się pobrać klatki.");
          }, function () { fail("Nie udało się pobrać klatki (błąd " + r.status + ")."); });
        }
        return r.blob().then(function (blob) {
          return new Promise(function (done) {
            var reader = new FileReader();
            reader.onload = function () {
              img.onload = function () {
                shown = { source: source, seconds: intoPeriod(at) };
                figure.hidden = false;
                caption.textContent = "Kamera " + source + ", " + at + " — " +
                  img.naturalWidth + " × " + img.naturalHeight + " px.";
                img.setAttribute("data-shown", source + " " + at);
                draw();
                try {
                  sessionStorage.setItem(memory, JSON.stringify(
                    { source: source, at: at, witness: witness }));
                }
                catch (e) { /* private mode: the frame is simply not restored */ }
                done();
              };
              img.src = reader.result;
            };
            reader.readAsDataURL(blob);
          });
        });
      }, function () { fail("Nie udało się połączyć z serwerem."); });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });

  // Dragging a rectangle on the frame: its corners in per cent, into the form above.
  var drag = null;
  function percent(event) {
    var box = overlay.getBoundingClientRect();
    var x = Math.min(Math.max((event.clientX - box.left) / box.width * 100, 0), 100);
    var y = Math.min(Math.max((event.clientY - box.top) / box.height * 100, 0), 100);
    return { x: x, y: y };
  }
  function rect(a, b) {
    var x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
    return { x: x, y: y, w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
  }
  overlay.addEventListener("pointerdown", function (event) {
    if (!shown) { return; }
    event.preventDefault();
    overlay.setPointerCapture(event.pointerId);
    var el = document.createElement("div");
    el.className = "frame-rect draft";
    overlay.appendChild(el);
    drag = { from: percent(event), el: el };
    place(el, drag.from.x, drag.from.y, 0, 0);
  });
  overlay.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var r = rect(drag.from, percent(event));
    place(drag.el, r.x, r.y, r.w, r.h);
  });
  overlay.addEventListener("pointerup", function (event) {
    if (!drag) { return; }
    var r = rect(drag.from, percent(event));
    drag = null;
    if (r.w < 0.5 || r.h < 0.5) { draw(); return; } // a click, not a rectangle
    // Rounded to 0.1 %: x + w and y + h stay within 100 (the server refuses more).
    var x = Math.floor(r.x * 10) / 10, y = Math.floor(r.y * 10) / 10;
    var w = Math.min(Math.ceil(r.w * 10) / 10, Math.round((100 - x) * 10) / 10);
    var h = Math.min(Math.ceil(r.h * 10) / 10, Math.round((100 - y) * 10) / 10);
    var fields = { "f-x": x, "f-y": y, "f-w": w, "f-h": h };
    Object.keys(fields).forEach(function (id) {
      var field = document.getElementById(id);
      if (field) { field.value = String(fields[id]); }
    });
    var camera = document.getElementById("f-source");
    if (camera) { camera.value = shown.source; }
  });

  // After adding or removing a rectangle the page reloads: show the same frame again, with
  // the new rectangle drawn (a new frame served: a new access record, with the same person
  // present — remembered in this tab only, sessionStorage).
  var remembered = null;
  try { remembered = JSON.parse(sessionStorage.getItem(memory) || "null"); } catch (e) { }
  if (remembered && remembered.source && remembered.at) {
    sourceField.value = remembered.source;
    atField.value = remembered.at;
    witnessField.value = remembered.witness || "";
    if (witnessField.value.trim()) { show(); }
  }
})();
