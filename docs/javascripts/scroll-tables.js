// Issue 65 item 6: Material wraps each table in a box that scrolls sideways when the table is
// wider than the page (.md-typeset__scrollwrap), and the keyboard could not reach it to scroll
// (WCAG 2.1.1; axe-core's scrollable-region-focusable). Each box that scrolls becomes a Tab
// stop, a region named after the table's heading and first columns; a box that does not scroll
// stays out of the Tab order. Checked again when the window's width changes.
(function () {
  "use strict";

  function heading(box) {
    var found = null;
    var all = document.querySelectorAll(".md-content h1, .md-content h2, .md-content h3, " +
                                        ".md-content h4, .md-content h5, .md-content h6");
    for (var i = 0; i < all.length; i++) {
      if (all[i].compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING) {
        found = all[i];
      }
    }
    return found ? found.textContent.replace("¶", "").trim() : document.title;
  }

  function label(box) {
    var caption = box.querySelector("caption");
    if (caption) return "Tabela: " + caption.textContent.trim();
    var columns = [].slice.call(box.querySelectorAll("thead th"), 0, 3)
      .map(function (th) { return th.textContent.trim(); })
      .filter(function (text) { return text; });
    return "Tabela: " + heading(box) + (columns.length ? " (" + columns.join(", ") + ")" : "");
  }

  function mark() {
    var boxes = document.querySelectorAll(".md-typeset__scrollwrap");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", label(box));
      } else if (box !== document.activeElement) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }

  var pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; mark(); });
  }

  // Material wraps the tables when it mounts the page (document$); without it, on load
  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(soon);
  } else {
    window.addEventListener("load", soon);
  }
  window.addEventListener("resize", soon);
})();
