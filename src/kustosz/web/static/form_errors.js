// A form sent back with errors (base.html's #error-summary, issue 50 M3): the page opens with
// focus on the summary, so a screen reader says at once that the form was not accepted and
// what is wrong, and a keyboard user starts from there instead of the top of the page. Each
// message links to its field's message, with the field's label before it; following the link
// puts focus into the field itself (the message is its description), opening a folded
// <details> around it. A message whose field is not on the page stays plain words, not a link
// to nowhere. A file, not an inline script: the CSP refuses those.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }

  function described(id) {
    var all = document.querySelectorAll("[aria-describedby]");
    for (var i = 0; i < all.length; i += 1) {
      if (all[i].getAttribute("aria-describedby").split(/\s+/).indexOf(id) >= 0) {
        return all[i];
      }
    }
    return null;
  }

  // The field's name before its message: "To pole jest wymagane." twice says nothing.
  function nameOf(control) {
    var label = control.tagName === "FIELDSET" ? control.querySelector("legend")
      : (control.labels && control.labels[0]);
    if (!label) { return control.getAttribute("aria-label") || ""; }
    var copy = label.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll(".req"), function (mark) {
      mark.parentNode.removeChild(mark);
    });
    return copy.textContent.trim();
  }

  var links = summary.querySelectorAll("a[href^='#err-']");
  Array.prototype.forEach.call(links, function (link) {
    var id = link.getAttribute("href").slice(1);
    var message = document.getElementById(id);
    if (!message) {
      var words = document.createElement("span");
      words.textContent = link.textContent;
      link.parentNode.replaceChild(words, link);
      return;
    }
    var field = described(id);
    var name = field ? nameOf(field) : "";
    if (name && link.textContent.indexOf(name) !== 0) {
      link.textContent = name + ": " + link.textContent;
    }
    link.addEventListener("click", function (event) {
      var control = described(id);
      if (control && control.tagName === "FIELDSET") {  // a group: its first box
        control = control.querySelector("input, select, textarea, button");
      }
      if (!control) { return; }  // the browser's own jump to the message
      event.preventDefault();
      for (var up = control.parentNode; up; up = up.parentNode) {
        if (up.tagName === "DETAILS") { up.open = true; }
      }
      control.focus();
      control.scrollIntoView({ block: "center" });
    });
  });
  summary.focus();
})();
