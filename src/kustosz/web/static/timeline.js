// Kustosz timelines: places the segments of a timeline (and its hour labels) from their
// data-left / data-width attributes, in percent of the bar.
//
// Why a script: the page's CSP has no 'unsafe-inline' for styles, so a style="left: …"
// attribute is refused by the browser and every segment collapses to nothing. A nonce cannot
// help (nonces cover <style> and <script> elements, never style attributes), and a hash per
// value ('unsafe-hashes') would need a hash for every width ever drawn. Setting
// element.style from a script loaded from 'self' goes through the CSSOM, which style-src does
// not restrict. Without scripts the gaps are still listed in words under each timeline.
(function () {
  "use strict";
  function percent(value) {
    var n = parseFloat(value);
    if (!isFinite(n)) { return null; }
    return Math.min(100, Math.max(0, n)) + "%";
  }
  var items = document.querySelectorAll(".timeline [data-left], .hours [data-left]");
  for (var i = 0; i < items.length; i++) {
    var el = items[i];
    var left = percent(el.getAttribute("data-left"));
    var width = percent(el.getAttribute("data-width"));
    if (left !== null) { el.style.left = left; }
    if (width !== null) { el.style.width = width; }
  }
})();

// The zoom by keyboard (issue 29 item 14): "+" and "-" follow the page's zoom links, the
// arrows its links to the window before and after. The links themselves are the controls (Tab
// and Enter reach them too, and they work without scripts); keys typed into a form are left
// alone. Issue 50 items 3 and 5: a key pressed where the page itself uses it (a scrolled
// table region, a disclosure, a control) does that, never the page's shortcut (WCAG 2.1.1),
// and the shortcuts can be turned off by the checkbox the page shows, remembered in this
// browser (WCAG 2.1.4).
(function () {
  "use strict";
  var STORE = "kustosz.timelineKeys";
  var keys = { "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "\u2212": "zoom-out",
               "ArrowLeft": "tl-prev", "ArrowRight": "tl-next" };
  var toggle = document.getElementById("tl-keys");
  function stored() {
    try { return window.localStorage.getItem(STORE); } catch (e) { return null; }
  }
  function on() { return toggle ? toggle.checked : stored() !== "off"; }
  if (toggle) {
    toggle.checked = stored() !== "off";
    var holder = document.getElementById("tl-keys-field");
    if (holder) { holder.hidden = false; }
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(STORE, toggle.checked ? "on" : "off"); } catch (e) { }
    });
  }
  function ownKeys(target) {
    if (!target || !target.closest) { return false; }
    var tag = target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || tag === "button" ||
        tag === "summary" || target.isContentEditable) {
      return true;
    }
    return target.closest(".scroll-x, [role=region], details, [role=application]") !== null;
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !on()) { return; }
    if (ownKeys(event.target)) { return; }
    var id = keys[event.key];
    if (!id) { return; }
    var link = document.getElementById(id);
    if (!link) { return; }
    event.preventDefault();
    link.click();
  });
})();
