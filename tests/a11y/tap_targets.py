"""WCAG 2.2 SC 2.5.8 Target Size (Minimum), measured in the browser (issue 50 item 6: the
duty officer's phone). A pointer target passes when it is at least 24×24 CSS px, or when the
spacing exception holds — a 24-px circle centred on its box intersects no other target and no
other undersized target's circle — or when it is inline in a sentence (its height set by the
line of the text around it: an inline link with words on its line or right beside it, never one
in a <nav>). `TARGETS` returns the targets that pass none of these, or with ``strict`` every
target under 24×24 px that is not inline in a sentence, however far from the others."""

from __future__ import annotations

from typing import Any

MIN = 24  # CSS px, SC 2.5.8

# Targets: links, buttons, fields, disclosure summaries, anything made clickable or focusable by
# the page. A checkbox or radio button with its <label> is one target (a tap on the label
# toggles it): their boxes joined. Visible only: an element hidden, clipped to a pixel (.sr-only)
# or above the page (the skip link until focused) is no target.
TARGETS = """([MIN, strict]) => {
  const SEL = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], [tabindex]:not([tabindex='-1'])";
  const LETTERS = /\\p{L}{2,}/u;
  const seen = new Set(), out = [];
  const shown = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const box = r => ({l: r.left, t: r.top, r: r.right, b: r.bottom});
  for (const el of document.querySelectorAll(SEL)) {
    if (seen.has(el) || !shown(el) || el.closest("[inert]")) continue;
    seen.add(el);
    let b = box(el.getBoundingClientRect());
    if (b.r - b.l <= 1 || b.b - b.t <= 1 || b.b + window.scrollY < 0) continue;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      for (const label of el.labels || []) {
        seen.add(label);
        if (!shown(label)) continue;
        const lb = label.getBoundingClientRect();
        b = {l: Math.min(b.l, lb.left), t: Math.min(b.t, lb.top),
             r: Math.max(b.r, lb.right), b: Math.max(b.b, lb.bottom)};
      }
    }
    out.push({el, b});
  }
  const inlineInText = el => {
    if (getComputedStyle(el).display !== "inline" || el.closest("nav, [role=toolbar]"))
      return false;
    // words right beside it: a link that wrapped to a line of its own is still in its sentence
    for (const n of [el.previousSibling, el.nextSibling])
      if (n && n.nodeType === Node.TEXT_NODE && LETTERS.test(n.data)) return true;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline"))
      block = block.parentElement;
    if (!block) return false;
    const r = el.getBoundingClientRect();
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!LETTERS.test(n.data) || el.contains(n)) continue;
      const p = n.parentElement;
      if (p.closest("a[href], button, summary, label, [role=button]") || !shown(p)) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const t of range.getClientRects())
        if (Math.min(t.bottom, r.bottom) - Math.max(t.top, r.top)
            > Math.min(t.height, r.height) / 2) return true;
    }
    return false;
  };
  const small = t => t.b.r - t.b.l < MIN - 0.01 || t.b.b - t.b.t < MIN - 0.01;
  const centre = t => [(t.b.l + t.b.r) / 2, (t.b.t + t.b.b) / 2];
  const toBox = ([x, y], b) =>
    Math.hypot(Math.max(b.l - x, 0, x - b.r), Math.max(b.t - y, 0, y - b.b));
  const related = (a, b) => a.el.contains(b.el) || b.el.contains(a.el);
  const name = el => {
    const text = (el.getAttribute("aria-label") || el.innerText || el.value || el.title
      || el.getAttribute("name") || "").replace(/\\s+/g, " ").trim().slice(0, 40);
    const where = el.closest("[id]");
    const type = el.tagName === "INPUT" ? `[${el.type}]` : "";
    const cls = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `${el.tagName.toLowerCase()}${type}${cls} "${text}"`
      + (where && where !== el ? ` in #${where.id}` : "");
  };
  const failing = [];
  for (const a of out) {
    if (!small(a) || inlineInText(a.el)) continue;
    const c = centre(a);
    const near = strict ? a : out.find(o => o !== a && !related(a, o) && (small(o)
      ? Math.hypot(c[0] - centre(o)[0], c[1] - centre(o)[1]) < MIN - 0.01
      : toBox(c, o.b) < MIN / 2 - 0.01));
    if (!near) continue;
    failing.push({target: name(a.el), w: Math.round(a.b.r - a.b.l), h: Math.round(a.b.b - a.b.t),
                  near: near === a ? "" : name(near.el)});
  }
  return {count: out.length, failing};
}"""


def undersized(page: Any, strict: bool = False) -> tuple[int, list[str]]:
    """How many targets the page shows, and each one under 24×24 px that neither the spacing
    nor the inline exception lets pass, in words; ``strict``: each one under 24×24 px that is
    not inline in a sentence, however far from the others."""
    found = page.evaluate(TARGETS, [MIN, strict])
    return found["count"], [f"{f['target']} {f['w']}×{f['h']} px"
                            + (f", too near {f['near']}" if f["near"] else "")
                            for f in found["failing"]]
