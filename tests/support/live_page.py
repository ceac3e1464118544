"""The live page opened in a browser as a person does it (issue 52): signed in, the live
view's purpose form filled, its view page reached. Shared by the live-stream tests and
bench/live_latency.py."""

from __future__ import annotations

from typing import Any

PASSWORD_FIELD = "#f-password"


def open_live_page(page: Any, base: str, user: str, password: str, source: str,
                   purpose: str, refuse_stream: bool = False) -> None:
    """``refuse_stream``: the fMP4 stream refused to the page, so it plays its HLS fallback
    (as a browser without Media Source Extensions would)."""
    sign_in(page, base, user, password)
    start_live_view(page, base, source, purpose, refuse_stream)


def sign_in(page: Any, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#f-username", user)
    page.fill(PASSWORD_FIELD, password)
    with page.expect_navigation():
        page.press(PASSWORD_FIELD, "Enter")


def start_live_view(page: Any, base: str, source: str, purpose: str,
                    refuse_stream: bool = False) -> None:
    """The live view's purpose form filled and its view page reached, signed in already."""
    if refuse_stream:
        page.route("**/live.mp4", lambda route: route.abort())
    page.goto(f"{base}/media/start?action=live&source={source}")
    if page.locator("#f-purpose").count():
        page.fill("#f-purpose", purpose)
    with page.expect_navigation():
        page.locator("main button").first.click()
    page.wait_for_selector("#player")
