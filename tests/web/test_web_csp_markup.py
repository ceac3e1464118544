"""The pages' markup obeys their Content-Security-Policy (no 'unsafe-inline' for styles or
scripts): a style attribute, a <style> element or an inline script in a template is refused by
every browser, so what it draws silently disappears (the timelines did). The browser test
(test_web_browser.py) sees the violations when Chromium is installed; this check runs always."""

from __future__ import annotations

import re
from importlib import resources

from kustosz.web.app import CSP

# attribute names after whitespace inside a tag: style=, onclick= …; elements <style>, <script>
# without src
INLINE = re.compile(r"<[a-z][^>]*\s(style|on[a-z]+)\s*=|<style[\s>]|<script(?![^>]*\ssrc=)[^>]*>",
                    re.IGNORECASE)
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)  # Jinja comments never reach the browser


def test_the_csp_allows_no_inline_styles_or_scripts() -> None:
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "style-src" not in CSP and "script-src" not in CSP  # both fall back to 'self'
    assert "default-src 'self'" in CSP


def test_no_template_carries_inline_styles_or_scripts() -> None:
    templates = resources.files("kustosz.web") / "templates"
    found = {}
    for item in templates.iterdir():
        if item.name.endswith(".html"):
            text = COMMENT.sub("", item.read_text(encoding="utf-8"))
            hits = [m.group(0)[:80] for m in INLINE.finditer(text)]
            if hits:
                found[item.name] = hits
    assert found == {}


def test_the_check_finds_what_the_browser_refuses() -> None:
    refused = ['<span class="rec" style="left: 3%">', "<p\nstyle='x'>", "<style>p{}</style>",
               '<a href="/" onclick="go()">', "<script>alert(1)</script>"]
    allowed = ['<span class="rec" data-left="3">', '<script src="/static/timeline.js"></script>',
               "<p>a style=b</p>", "{# a <style> #}",
               '<meta name="htmx-config" content=\'{"a": 1}\'>']
    assert all(INLINE.search(text) for text in refused)
    assert not any(INLINE.search(COMMENT.sub("", text)) for text in allowed)
