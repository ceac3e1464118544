"""In a real browser (Debian's chromium through Playwright, the app's CSP in force): the mask
form of a data subject's request shows a still frame of the request's camera at the chosen
moment, with the marked rectangles drawn over it; dragging on the frame fills the form's
x, y, width and height; after the rectangle is added the page shows the same frame again with
it drawn; a moment outside the period is said in Polish and no frame is shown. No frame
without the authorised person present (002 zał.5 §7 ust. 6) and without the maker's own
authorisation for the camera (export, R3.2): the field is required, its value
goes in the POST body (never a URL), is remembered in the tab with the camera and moment, and
every frame's access record names that person. Screenshot of the form with the frame (looked
at)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_subject_frame import WITNESS, WITNESS_REF, wide_segment
from test_web_browser import ARGS, CHROMIUM, REPORT_VIOLATIONS, SHOTS_DIR
from tests.conftest import make_vault
from tests.custody.custody_helpers import people, setup_camera
from web_helpers import PASSWORD, authorise, request_of

from kustosz.access import accounts
from kustosz.db.access import ViewingSession
from kustosz.db.custody import Request, User
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault
from kustosz.web.server import WebServer

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Vault, int, datetime]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it when root)")
    pytest.importorskip("playwright.sync_api")
    vault = make_vault(tmp_path / "vault")
    people(vault)
    setup_camera(vault, "cam-hol")
    with vault.transaction() as s:
        accounts.set_password(s, s.execute(select(User).where(User.name == "informatyk"))
                              .scalar_one(), PASSWORD, "test")
    base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    for i in range(2):
        t = base + timedelta(seconds=2 * i)
        path = tmp_path / f"wide-{i}.ts"
        wide_segment(path)
        ingest_file(vault, "cam-hol", path, t, t + timedelta(seconds=2))
    # Frames are served under the copy maker's own authorisation for the camera (R3.2).
    authorise(vault, "informatyk", ["export"], sources=["cam-hol"])
    rid = request_of(vault, base, ["cam-hol"], 4)
    web = WebServer(vault, "127.0.0.1", _free_port())
    web.start()
    try:
        yield web.url.rstrip("/"), vault, rid, base
    finally:
        web.stop()
        vault.close()


def test_frame_on_the_mask_form(served: tuple[str, Vault, int, datetime],
                                tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, vault, rid, base = served
    shots = SHOTS_DIR or tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tz = vault.policy.timezone
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
        ctx.add_init_script(REPORT_VIOLATIONS)
        page = ctx.new_page()
        page.set_default_timeout(20000)
        page.on("pageerror", lambda e: problems.append(str(e)))
        frame_asks: list[tuple[str, str, str]] = []  # (method, URL, body) of frame fetches
        page.on("request", lambda r: frame_asks.append((r.method, r.url, r.post_data or ""))
                if "/frame.jpg" in r.url else None)
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text or "CSP violation" in msg.text
                else None)
        page.goto(f"{url}/login")
        page.fill("#f-username", "informatyk")
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")

        # One mask marked first (typed in), for the whole period.
        page.goto(f"{url}/requests/{rid}")
        start = base.astimezone(tz).strftime("%H:%M:%S")
        assert page.input_value("#f-frame-at") == start  # the period's start by default
        assert page.locator("#kadr").is_hidden()
        for field, value in (("#f-x", "5"), ("#f-y", "10"), ("#f-w", "25"), ("#f-h", "30"),
                             ("#f-note", "ekran komputera")):
            page.fill(field, value)
        page.select_option("#f-kind", "mask")
        page.fill("#f-from", start)
        page.fill("#f-to", (base + timedelta(seconds=4)).astimezone(tz).strftime("%H:%M:%S"))
        page.click("#add-region")
        page.wait_for_selector(".flash")

        # No person present named: the browser does not send the form (required field).
        assert page.input_value("#f-frame-witness") == ""
        page.click("#show-frame")
        page.wait_for_timeout(300)
        assert frame_asks == [] and page.locator("#kadr").is_hidden()
        assert page.evaluate("() => document.getElementById('f-frame-witness')"
                             ".validity.valueMissing")
        page.select_option("#f-frame-witness", WITNESS_REF)  # from the office's people

        # A moment outside the period: said in Polish, no frame.
        page.fill("#f-frame-at", (base + timedelta(minutes=5)).astimezone(tz)
                  .strftime("%H:%M:%S"))
        page.click("#show-frame")
        page.wait_for_selector("#frame-error:not([hidden])")
        assert "poza okresem wniosku" in page.inner_text("#frame-error")
        assert page.locator("#kadr").is_hidden()

        # The frame 1 s into the period, with the mask drawn over it.
        page.fill("#f-frame-at", (base + timedelta(seconds=1)).astimezone(tz)
                  .strftime("%H:%M:%S"))
        page.click("#show-frame")
        page.wait_for_selector("#kadr:not([hidden])")
        assert page.locator("#frame-error").is_hidden()
        size = page.evaluate("() => [document.getElementById('frame-img').naturalWidth,"
                             " document.getElementById('frame-img').naturalHeight]")
        assert size == [960, 540]
        assert page.locator(".frame-rect.mask").count() == 1
        img = page.locator("#frame-img").bounding_box()
        drawn = page.locator(".frame-rect.mask").bounding_box()
        assert img and drawn
        assert abs(drawn["x"] - (img["x"] + 0.05 * img["width"])) < 3
        assert abs(drawn["width"] - 0.25 * img["width"]) < 4

        # Dragging on the frame: the requester's box, its per cent into the form.
        page.select_option("#f-kind", "keep")
        page.fill("#f-note", "wnioskodawca")
        # Filling the note may scroll the page: the frame is measured again where it now is.
        page.locator("#frame-img").scroll_into_view_if_needed()
        img = page.locator("#frame-img").bounding_box()
        assert img
        x0, y0 = img["x"] + 0.55 * img["width"], img["y"] + 0.2 * img["height"]
        x1, y1 = img["x"] + 0.85 * img["width"], img["y"] + 0.9 * img["height"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        page.mouse.move(x1, y1, steps=4)
        page.mouse.up()
        got = [float(page.input_value(f)) for f in ("#f-x", "#f-y", "#f-w", "#f-h")]
        for have, want in zip(got, (55, 20, 30, 70), strict=True):
            assert abs(have - want) < 1, got
        page.locator("#maski").screenshot(path=str(shots / "25-maski-klatka.png"))
        page.click("#add-region")
        page.wait_for_selector(".flash")
        # The same frame again after the reload, both rectangles on it.
        page.wait_for_selector("#kadr:not([hidden])")
        page.wait_for_function("() => document.querySelectorAll('.frame-rect').length === 2")
        assert page.locator(".frame-rect.keep").count() == 1
        assert page.input_value("#f-frame-witness") == WITNESS_REF  # remembered in the tab
        page.locator("#maski").screenshot(path=str(shots / "26-maski-klatka-dwa.png"))
        browser.close()
    with vault.reading() as s:
        regions = s.get(Request, rid).subject_regions
        frames = s.execute(select(ViewingSession).where(
            ViewingSession.request_id == rid)).scalars().all()
    assert [r["kind"] for r in regions] == ["mask", "keep"]
    assert abs(regions[1]["x"] - 55) < 1 and abs(regions[1]["w"] - 30) < 1
    assert len(frames) == 2  # each frame shown: one access record (the refused one: none)
    assert [f.witness for f in frames] == [WITNESS, WITNESS]
    # Three fetches (outside the period, the frame, the frame again), each a POST with the
    # person present in its body, never in its address.
    assert [m for m, _, _ in frame_asks] == ["POST"] * 3, frame_asks
    assert all("witness=" in body and "zastepca" in body for _, _, body in frame_asks)
    assert not any("zastepca" in u or "witness" in u for _, u, _ in frame_asks)
    assert problems == []
