"""Issue 28 items 2 and 3: the review of a data subject's masked copy cannot be faked, and the
masked video plays for nobody but its reviewer, before approval.

Item 2 — watching is counted from the media bytes the gate actually served, in order from
the file's start, played out at no more than real-time speed on the server's clock; the
player's position reports only hold that back. The fake-watch script (tiny range fetches,
position reports as fast as the client can send them, ``ended``) is refused approval and the
review keeps the true watched ratio; a reviewer who fetches the file and plays it at real
speed (its few seconds) is approved, and the register of actions states the ratio.
Item 3 — the copy's maker (and any other non-reviewer, and the reviewer after approval) gets
403 from the video route with a refusal in the audit log (the access register's source).
Bad input (a malformed or unsatisfiable Range, position reports out of order, negative,
beyond the end, not a number, for a review not in progress) gets a clear error and changes
nothing. Real PostgreSQL/SQLite, real ffmpeg and CenterFace masking, the app over ASGI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.conftest import snapshot
from tests.web.test_subject_review import subject  # noqa: F401  (the fixture)
from web_helpers import authorise, signed_in, user

from kustosz.custody import subject_review as sr
from kustosz.custody.copies import make_copy
from kustosz.db.custody import ActionEntry, Copy, ReviewPlay
from kustosz.db.models import AuditEntry
from kustosz.errors import InputError
from kustosz.vault import Vault
from kustosz.web.byte_ranges import BadRange, byte_span, parse_range

Subject = tuple[Vault, int, datetime, list[str]]


def _csrf(page_text: str) -> str:
    return page_text.split('name="csrf" value="')[1].split('"')[0]


def _opened(vault: Vault, number: str, who: str = "kustosz2") -> tuple[Any, str, str, str]:
    """``who`` opens the copy for review through the media gate: (client, csrf, video URL,
    the masked file's path in the bundle)."""
    web = signed_in(vault, who)
    with vault.reading() as s:
        copy = sr.copy_by_number(s, number)
        year, seq, path = copy.year, copy.seq, sr.masked_files(copy)[0].path
    csrf = _csrf(web.get(f"/review/{year}/{seq}").text)
    r = web.post(f"/review/{year}/{seq}/open", data={"csrf": csrf})
    assert r.status_code == 303, r.text
    page = web.get(r.headers["location"])
    return web, csrf, page.text.split('data-src="')[1].split('"')[0], path


def _report(web: Any, csrf: str, number: str, path: str, position: Any,
            ended: bool = False) -> Any:
    year, seq = number.split("/")[1], number.split("/")[0]
    return web.post(f"/review/{year}/{seq}/played",
                    data={"path": path, "position": str(position),
                          **({"ended": "1"} if ended else {})},
                    headers={"X-CSRF-Token": csrf})


def _play(vault: Vault, copy_id: int, who: str = "kustosz2") -> ReviewPlay:
    with vault.reading() as s:
        return s.execute(select(ReviewPlay).where(ReviewPlay.copy_id == copy_id,
                                                  ReviewPlay.user_name == who)).scalar_one()


def _approve(web: Any, csrf: str, copy: Copy) -> Any:
    return web.post(f"/review/{copy.year}/{copy.seq}/approve", data={"csrf": csrf})


@pytest.mark.slow
def test_fake_watch_is_refused_and_the_true_ratio_kept(subject: Subject) -> None:  # noqa: F811
    """The attack of the issue: tiny range fetches and a report every 1.5 s of media as fast
    as they go, then ``ended`` — the old code approved; now nothing served is nothing
    watched."""
    vault, rid, _base, _ = subject
    copy = make_copy(vault, rid, "informatyk", "test")
    web, csrf, url, path = _opened(vault, copy.number)
    duration = sr.masked_files(copy)[0].duration_s
    started = time.monotonic()
    for i in range(40):  # a one-byte fetch each: each is an access record, and nothing more
        r = web.get(url, headers={"Range": f"bytes={i}-{i}"})
        assert r.status_code == 206 and len(r.content) == 1
        assert r.headers["content-range"].startswith(f"bytes {i}-{i}/")
    position = 0.0
    while position < duration:
        position = min(duration, position + 1.5)
        r = _report(web, csrf, copy.number, path, position, ended=position >= duration)
        assert r.status_code == 200, r.text
        assert r.json()["ended"] is False and r.json()["watched_s"] == 0.0
    r = _approve(web, csrf, copy)
    assert r.status_code == 422 and "nie zostało obejrzane do końca" in r.text
    assert "cam-hol 0,0%" in r.text  # the true ratio, said to the reviewer
    with vault.reading() as s:
        assert s.get(Copy, copy.id).review_state == "awaiting"
    play = _play(vault, copy.id)
    assert (play.served_bytes, play.served_s, play.ended_at) == (40, 0.0, None)
    assert sr.ratio(play, duration) == 0.0 and play.skipped
    # The review page says what was really watched.
    page = web.get(f"/review/{copy.year}/{copy.seq}").text
    assert "cam-hol (obejrzano dotąd: 0,0%)" in page

    # Fetching the whole file at once does not make it watched at once either: the served
    # frames play out at 1× on the server's clock, whatever the reports say.
    full = web.get(url)
    assert full.status_code == 200 and full.content == (vault.root / copy.bundle / path) \
        .read_bytes()
    r = _report(web, csrf, copy.number, path, duration, ended=True)
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert r.json()["watched_s"] <= min(elapsed, duration)
    play = _play(vault, copy.id)
    assert play.served_s == duration and play.served_bytes == len(full.content)
    assert sr.true_watched(play) <= elapsed
    if play.ended_at is None:  # the script was faster than the video (the usual case)
        r = _approve(web, csrf, copy)
        assert r.status_code == 422 and "nie zostało obejrzane do końca" in r.text


def test_a_report_never_adds_time_domain(subject: Subject) -> None:  # noqa: F811
    """The same rule on the domain with the server's clock given: a file served whole at
    once and reported to its end within 0.8 s → 0.8 s watched, not the file."""
    vault, rid, _base, _ = subject
    copy = make_copy(vault, rid, "informatyk", "test")
    m = sr.masked_files(copy)[0]
    file = vault.root / copy.bundle / m.path
    t0 = datetime.now(UTC)
    with vault.transaction() as s:
        sr.open_plays(s, copy, "kustosz2", t0)
        sr.count_served(s, copy.id, "kustosz2", m.path, file, 0, file.stat().st_size, now=t0)
    with vault.transaction() as s:
        for i in range(1, 81):  # 80 reports within 0.8 s, running to the end
            play = sr.record_play(s, copy.number, "kustosz2", m.path,
                                  min(m.duration_s, 0.05 * i), i == 80,
                                  now=t0 + timedelta(milliseconds=10 * i))
        assert play.ended_at is None and sr.true_watched(play) <= 0.8 + 1e-6
    with vault.transaction() as s, pytest.raises(InputError, match="not watched") as exc:
        sr.approve(s, copy.number, "kustosz2", "t", now=t0 + timedelta(milliseconds=800))
    assert "cam-hol 20,0% (0,8 z 4,0 s)" in exc.value.pl
    # Served whole and the clock run past its length: now it did play out.
    with vault.transaction() as s:
        fresh = sr.record_play(s, copy.number, "kustosz2", m.path, m.duration_s, True,
                               now=t0 + timedelta(hours=1))
        assert fresh.ended_at is not None
    # Bytes out of order (a fetch that starts past what was served) count for nothing.
    other = "informatyk2"
    user(vault, other, ["custodian"])
    with vault.transaction() as s:
        sr.open_plays(s, copy, other, t0)
        sr.count_served(s, copy.id, other, m.path, file, 1000, file.stat().st_size, now=t0)
        play = sr.count_served(s, copy.id, other, m.path, file, 0, 500,
                               now=t0 + timedelta(hours=1))
        assert play is not None and play.served_bytes == 500 and play.served_s == 0.0
        assert play.watched_s == 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 30), st.floats(0, 4)), min_size=1, max_size=40))
def test_played_out_never_outruns_the_clock_or_the_bytes(
        events: list[tuple[float, float]]) -> None:
    """Whatever the order and spacing of events (seconds apart, media served so far), what
    played out is at most the wall time since the first bytes and at most what was served."""
    t = datetime(2026, 11, 24, tzinfo=UTC)
    first = t
    watched = served = 0.0
    for gap, more in events:
        now = t + timedelta(seconds=gap)
        before = watched
        watched = sr.played_out(watched, served, t, now)
        assert before <= watched <= served + 1e-9 or watched == before
        assert watched <= (now - first).total_seconds() + 1e-9
        served = min(4.0, max(served, more))
        t = now


def _refused_entries(vault: Vault, who: str) -> list[dict[str, Any]]:
    with vault.reading() as s:
        return [json.loads(e.details) for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "access.refused", AuditEntry.actor == who)).scalars()]


@pytest.mark.slow
def test_only_the_reviewer_plays_the_masked_video_before_approval(
        subject: Subject) -> None:  # noqa: F811
    vault, rid, _base, _ = subject
    copy = make_copy(vault, rid, "informatyk", "test")
    maker = signed_in(vault, "informatyk")
    csrf = _csrf(maker.get(f"/requests/{rid}").text)
    # The maker holds an export authorisation for the camera: opening an export viewing of
    # the copy succeeds (the ZIP answers 409 there), the video route must refuse too.
    authorise(vault, "informatyk", ["export"], kinds=["camera"])
    r = maker.post("/media/start", data={"csrf": csrf, "action": "export",
                                         "copy": copy.number, "purpose": "sprawdzenie",
                                         "case_ref": f"wniosek {rid}"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    before = len(_refused_entries(vault, "informatyk"))
    got = maker.get(f"/media/{token}/video/1.mp4")
    assert got.status_code == 403, got.status_code
    assert got.json()["reason"] == "review_only" and b"ftyp" not in got.content
    refused = _refused_entries(vault, "informatyk")
    assert len(refused) == before + 1 and refused[-1]["reason"] == "review_only"
    assert refused[-1]["copy"] == copy.number
    # In a browser: the Polish page naming the rule.
    page = maker.get(f"/media/{token}/video/1.mp4", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "wyłącznie druga osoba" in page.text
    assert maker.get(f"/media/{token}/video/1.mp4",
                     headers={"Range": "bytes=0-99"}).status_code == 403

    # Whoever holds neither the custodian's nor the administrator's role is no reviewer: the
    # gate opens no export viewing for them at all (so no video either).
    user(vault, "ola", ["viewer"])
    ola = signed_in(vault, "ola")
    r = ola.post("/media/start", data={"csrf": _csrf(ola.get("/requests").text),
                                       "action": "export", "copy": copy.number,
                                       "purpose": "ciekawość", "case_ref": "x"})
    assert r.status_code == 403, r.status_code

    # The reviewer, before approval: served (206 for a range), with an access record.
    web, _csrf2, url, path = _opened(vault, copy.number)
    part = web.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    from kustosz.db.access import AccessEntry

    with vault.reading() as s:
        assert s.execute(select(AccessEntry).where(
            AccessEntry.what == sr.served_what(copy, path), AccessEntry.bytes == 100)).first()
    # Approved (watched in full, server time given): from then on the video route refuses
    # the reviewer too; the copy leaves whole, as its ZIP.
    m = sr.masked_files(copy)[0]
    file = vault.root / copy.bundle / m.path
    t0 = datetime.now(UTC)
    with vault.transaction() as s:
        sr.count_served(s, copy.id, "kustosz2", m.path, file, 0, file.stat().st_size, now=t0)
    with vault.transaction() as s:
        sr.record_play(s, copy.number, "kustosz2", m.path, m.duration_s, True,
                       now=t0 + timedelta(seconds=m.duration_s + 1))
        sr.approve(s, copy.number, "kustosz2", "t")
    after = web.get(url)
    assert after.status_code == 403 and after.json()["reason"] == "review_only"
    assert _refused_entries(vault, "kustosz2")[-1]["reason"] == "review_only"


@pytest.mark.slow
def test_a_reviewer_playing_at_real_speed_is_approved(subject: Subject) -> None:  # noqa: F811
    """The honest path over HTTP: the whole file fetched, then the position reported as the
    real clock runs (the player's way), until the server says the file played out."""
    vault, rid, _base, _ = subject
    copy = make_copy(vault, rid, "informatyk", "test")
    web, csrf, url, path = _opened(vault, copy.number)
    duration = sr.masked_files(copy)[0].duration_s
    assert web.get(url).status_code == 200
    t0 = time.monotonic()
    ended = False
    while not ended:  # waits on the server's answer; the clip is 4 s
        assert time.monotonic() - t0 < duration + 30, "never counted as watched"
        at = min(duration, time.monotonic() - t0)
        r = _report(web, csrf, copy.number, path, at, ended=at >= duration)
        assert r.status_code == 200, r.text
        ended = r.json()["ended"]
        if not ended:
            time.sleep(0.25)  # the player's report interval, not a wait for a result
    assert time.monotonic() - t0 >= duration - sr.END_SLACK_S
    r = _approve(web, csrf, copy)
    assert r.status_code == 303, r.text
    with vault.reading() as s:
        said = [a.description for a in s.execute(select(ActionEntry).where(
            ActionEntry.copy_id == copy.id)).scalars()]
        entry = s.execute(select(AuditEntry).where(
            AuditEntry.action == "copy.review.approve")).scalars().all()[-1]
    assert any("obejrzano przed wydaniem: cam-hol 100,0% (4,0 z 4,0 s)" in d for d in said), said
    assert json.loads(entry.details)["watched"][path]["ratio"] == 1.0


@pytest.mark.slow
def test_bad_input_changes_nothing(subject: Subject) -> None:  # noqa: F811
    vault, rid, _base, _ = subject
    copy = make_copy(vault, rid, "informatyk", "test")
    web, csrf, url, path = _opened(vault, copy.number)
    size = (vault.root / copy.bundle / path).stat().st_size
    assert web.get(url, headers={"Range": "bytes=0-"}).status_code == 206  # rows exist now
    duration = sr.masked_files(copy)[0].duration_s
    assert _report(web, csrf, copy.number, path, 1.0).status_code == 200
    for header, status, words in (
            ("bytes=abc-", 400, "Nieprawidłowy nagłówek Range"),
            ("items=0-10", 400, "Nieprawidłowy nagłówek Range"),
            ("bytes=0-10,20-30", 400, "Nieprawidłowy nagłówek Range"),
            ("bytes=10-5", 400, "koniec zakresu przed jego początkiem"),
            ("bytes=-", 400, "Nieprawidłowy nagłówek Range"),
            ("bytes=-0", 416, "pusty"),
            (f"bytes={size}-", 416, "za końcem pliku"),
            ("bytes=99999999999999-", 416, "za końcem pliku")):
        before = snapshot(vault)
        r = web.get(url, headers={"Range": header})
        assert r.status_code == status, (header, r.status_code)
        assert words in r.json()["detail_pl"] and r.json()["detail"], header
        if status == 416:
            assert r.headers["content-range"] == f"bytes */{size}"
        assert snapshot(vault) == before, header
    for position, ended, en in (
            (0.5, False, "reports come in order"),  # 1.0 was reported already
            (-1, False, "negative"),
            (duration + 5, True, "beyond the end"),
            ("abc", False, "not a number"),
            ("nan", False, "not a finite number"),
            ("inf", True, "not a finite number")):
        before = snapshot(vault)
        r = _report(web, csrf, copy.number, path, position, ended)
        assert r.status_code == 422 and en in r.json()["detail"], (position, r.text)
        assert r.json()["detail_pl"]
        assert snapshot(vault) == before, position
    before = snapshot(vault)
    r = _report(web, csrf, copy.number, "inny.mp4", 2.0)
    assert r.status_code == 422 and snapshot(vault) == before
    # Unit level: the parser and the span.
    assert parse_range(None) is None and parse_range("bytes=5-") == (5, None)
    assert byte_span((None, 10), 100) == (90, 100) and byte_span((5, 500), 100) == (5, 100)
    with pytest.raises(BadRange):
        parse_range("bytes=1-2-3")
    # For a review not in progress: approved (then also sent back: destroyed) — refused.
    m = sr.masked_files(copy)[0]
    file = vault.root / copy.bundle / m.path
    t0 = datetime.now(UTC)
    with vault.transaction() as s:
        sr.count_served(s, copy.id, "kustosz2", m.path, file, 0, file.stat().st_size, now=t0)
    with vault.transaction() as s:
        sr.record_play(s, copy.number, "kustosz2", m.path, m.duration_s, True,
                       now=t0 + timedelta(seconds=m.duration_s + 1))
        sr.approve(s, copy.number, "kustosz2", "t")
    before = snapshot(vault)
    r = _report(web, csrf, copy.number, path, duration)
    assert r.status_code == 422 and "not awaiting review" in r.json()["detail"]
    assert "nie czeka na przegląd" in r.json()["detail_pl"]
    with vault.transaction() as s:  # and the gate's counting of a late stream adds nothing
        assert sr.count_served(s, copy.id, "kustosz2", m.path, file, 0, 10) is None
    assert snapshot(vault) == before
