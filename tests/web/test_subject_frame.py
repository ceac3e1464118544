"""The mask form's still frame (issue 17 item 2): a frame of the request's own camera at a
moment of its period, extracted by real ffmpeg from the stored segment, scaled to at most
960 px, never cached, served only to a user with the custody right on a data subject's video
request open for marking — and each frame served leaves an access record naming the request
(a viewing session of its own, checked by the audit verifier like every other) and the
authorised person present, whom the Pleszew regulation requires at every look at recorded
video (002 zał.5 §7 ust. 6) exactly as for playback. Everything else — no person present
named included — is refused with the reason in Polish first and changes nothing; a viewer with
playback rights (for another camera or for this one) gets no frame."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from tests.conftest import snapshot
from tests.custody.custody_helpers import people, record, setup_camera
from web_helpers import authorise, request_of, signed_in, user

from kustosz.access.records import WITNESS_MISSING
from kustosz.audit.verifier import check
from kustosz.db.access import AccessEntry, ViewingSession
from kustosz.db.models import AuditEntry
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault
from kustosz.web.subject_frame import seconds_in_period


def wide_segment(path: Path, seconds: float = 2.0) -> None:
    """A 1280×720 camera's segment (real H.264 MPEG-TS): its frame comes back 960 px wide."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                    "-y", "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=10:d={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", "mpegts",
                    str(path)], check=True, capture_output=True)


@pytest.fixture
def frames(vault: Vault, tmp_path: Path) -> tuple[Vault, int, datetime]:
    """Request 1: cameras cam-hol (320×240) and cam-szeroka (1280×720), recorded 4 s of a
    6 s period (the last 2 s have no material)."""
    people(vault)
    setup_camera(vault, "cam-hol")
    setup_camera(vault, "cam-szeroka")
    setup_camera(vault, "cam-inna")
    base = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    record(vault, "cam-hol", base, 2, tmp_path / "seg")
    for i in range(2):
        t = base + timedelta(seconds=2 * i)
        path = tmp_path / f"wide-{i}.ts"
        wide_segment(path)
        ingest_file(vault, "cam-szeroka", path, t, t + timedelta(seconds=2))
    record(vault, "cam-inna", base, 2, tmp_path / "seg-inna")
    # The copy maker's individual authorisation (R3.2) for the request's cameras.
    authorise(vault, "informatyk", ["export"], sources=["cam-hol", "cam-szeroka"])
    return vault, request_of(vault, base, ["cam-hol", "cam-szeroka"], 6), base


def clock(vault: Vault, at: datetime) -> str:
    return at.astimezone(vault.policy.timezone).strftime("%H:%M:%S")


# The authorised person present at the viewing (tests.custody.custody_helpers.people's
# deputy), as named (users.printed) and as the mask form's list sends her (issue 30).
WITNESS = "Anna Nowak, Zastępca Burmistrza"
WITNESS_REF = "user:zastepca"
PLAYBACK_SAYS = "Podaj osobę upoważnioną obecną przy przeglądzie (002 zał.5 §7.6)."


def refused_entries(vault: Vault) -> int:
    with vault.reading() as s:
        return len(s.execute(select(AuditEntry).where(
            AuditEntry.action == "access.refused")).scalars().all())


def without_audit(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot less the audit log and its head (a refusal is an audit entry)."""
    return {**snap, "tables": {k: v for k, v in snap["tables"].items() if k != "audit_log"},
            "head": None}


def url(rid: int) -> str:
    return f"/requests/{rid}/frame.jpg"


def browser(vault: Vault, name: str, **kw: Any) -> Any:
    """``name`` signed in, sending the session's CSRF token as the mask form's script does."""
    return signed_in(vault, name, api=True, **kw)


def ask(web: Any, rid: int, source: str, at: str, witness: str | None = WITNESS_REF,
        **kw: Any) -> Any:
    """POST the mask form's frame fields (the CSRF token rides in the client's header)."""
    data = {"source": source, "at": at}
    if witness is not None:
        data["witness"] = witness
    return web.post(url(rid), data=data, **kw)


def test_frame_served_scaled_not_cached_and_recorded(
        frames: tuple[Vault, int, datetime]) -> None:
    vault, rid, base = frames
    web = browser(vault, "informatyk")  # custodian with an export authorisation, no playback
    got = {}
    for source, second, size in (("cam-hol", 0, (320, 240)), ("cam-hol", 1, (320, 240)),
                                 ("cam-hol", 3, (320, 240)), ("cam-szeroka", 0, (960, 540))):
        # The name as typed, spaces around it: stored trimmed.
        r = ask(web, rid, source, clock(vault, base + timedelta(seconds=second)),
                f"  {WITNESS_REF} ")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"] == "no-store"
        img = Image.open(io.BytesIO(r.content))
        img.load()
        assert (img.format, img.size) == ("JPEG", size)
        got[(source, second)] = np.asarray(img.convert("L"), dtype=float)
    # The moment matters: testsrc2 moves, so 0 s and 1 s into the period differ; 3 s is 1 s
    # into the second segment (the same test picture as the first).
    assert np.abs(got[("cam-hol", 0)] - got[("cam-hol", 1)]).mean() > 2
    assert np.abs(got[("cam-hol", 1)] - got[("cam-hol", 3)]).mean() < 1
    with vault.reading() as s:
        sessions = list(s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%")).order_by(ViewingSession.id)).scalars())
        entries = list(s.execute(select(AccessEntry).where(
            AccessEntry.viewing_id.in_([v.id for v in sessions]))).scalars())
        assert len(sessions) == 4 and len(entries) == 4
        for v in sessions:
            assert (v.user_name, v.request_id, v.served, v.action, v.witness) == (
                "informatyk", rid, 1, "export", WITNESS)
            assert v.authorisation_id is not None  # served under her own authorisation
            assert v.ended_at is not None
            assert v.window_end - v.window_start == timedelta(seconds=1)
        assert sessions[1].window_start == base + timedelta(seconds=1)
        assert all(f"request {rid}" in e.what and e.bytes > 0 for e in entries)
        opened = s.execute(select(AuditEntry).where(AuditEntry.action == "access.open")
                           ).scalars().all()
        assert [json.loads(e.details)["witness"] for e in opened] == [WITNESS] * 4
        # The access chain and every viewing session against its audit entry: intact.
        report = check(s, vault.head_file)
        assert not report.problems, report.problems
    # The DPO sees it in the access register, in Polish, with the request's number.
    user(vault, "iod", ["dpo"], display="Ewa Iodowa")
    dpo = signed_in(vault, "iod")
    register = dpo.get("/access-log?show=access")
    assert register.status_code == 200
    assert "klatka do zaznaczenia masek" in register.text and f"wniosek {rid}" in register.text
    # …and who was present: the register's row of each frame names the witness.
    rows = [row for row in register.text.split("<tr") if "klatka do zaznaczenia" in row]
    assert len(rows) == 4 and all(f"<td>{WITNESS}</td>" in row for row in rows), rows


def test_bad_input_refused_nothing_changed(frames: tuple[Vault, int, datetime],
                                           tmp_path: Path) -> None:
    vault, rid, base = frames
    other = request_of(vault, base, ["cam-inna"], 4)  # another data subject's request
    police = request_of(vault, base, ["cam-hol"], 4, kind="authority")
    web = browser(vault, "informatyk")
    inside = clock(vault, base + timedelta(seconds=1))
    for address, status, said in (
            ((rid, "cam-hol", clock(vault, base + timedelta(seconds=7))), 403,
             "poza okresem wniosku"),
            ((rid, "cam-hol", clock(vault, base - timedelta(seconds=1))), 403,
             "poza okresem wniosku"),
            ((rid, "cam-hol", "25:61:00"), 422, "GG:MM:SS"),
            ((rid, "cam-hol", "abc"), 422, "GG:MM:SS"),
            ((rid, "cam-hol", "3"), 422, "GG:MM:SS"),
            ((rid, "cam-hol", ""), 422, "GG:MM:SS"),
            ((rid, "cam-inna", inside), 403, "nie należy do kamer wniosku"),
            ((rid, "", inside), 403, "nie należy do kamer wniosku"),
            ((other, "cam-hol", inside), 403, "nie należy do kamer wniosku"),
            ((rid, "cam-hol", clock(vault, base + timedelta(seconds=5))), 404,
             "Brak nagrania w tej chwili"),
            ((police, "cam-hol", inside), 404, "nie jest żądaniem osoby")):
        before = snapshot(vault)
        refusals = refused_entries(vault)
        r = ask(web, *address)
        assert r.status_code == status, (address, r.text)
        assert said in r.json()["detail_pl"], (address, r.json())
        assert next(iter(r.json())) == "detail_pl"  # Polish first
        assert r.headers["content-type"].startswith("application/json")
        if status == 403:  # another camera or time: a refused look, on record, nothing else
            assert refused_entries(vault) == refusals + 1, address
            assert without_audit(snapshot(vault)) == without_audit(before), address
        else:  # bad input or nothing there: nothing changes at all
            assert snapshot(vault) == before, address
    before = snapshot(vault)
    assert ask(web, 999999, "cam-hol", inside).status_code == 404
    assert snapshot(vault) == before
    # A data subject's request of a kind without video (calls): no frame.
    from kustosz.db.custody import Request

    with vault.transaction() as s:
        s.get(Request, rid).material = "calls"
    before = snapshot(vault)
    r = ask(web, rid, "cam-hol", inside)
    assert r.status_code == 404 and "o nagranie wizyjne" in r.json()["detail_pl"]
    assert snapshot(vault) == before
    with vault.transaction() as s:
        s.get(Request, rid).material = "video"
    # A request no longer open for marking (copied, or not yet decided): no frame either.
    with vault.transaction() as s:
        s.get(Request, rid).status = "copied"
    before = snapshot(vault)
    r = ask(web, rid, "cam-hol", inside)
    assert r.status_code == 404 and "po zgodzie na wniosek" in r.json()["detail_pl"]
    assert snapshot(vault) == before


def test_viewers_and_strangers_get_no_frame(frames: tuple[Vault, int, datetime]) -> None:
    """The attacker's side: playback rights are not the custody right on the request."""
    vault, rid, base = frames
    user(vault, "ogladajacy", ["viewer"], display="Adam Widz")
    user(vault, "ogladajacy2", ["viewer"], display="Ola Widz")
    authorise(vault, "ogladajacy", ["playback"], sources=["cam-inna"])
    authorise(vault, "ogladajacy2", ["playback", "live"], sources=["cam-hol"])
    address = (rid, "cam-hol", clock(vault, base + timedelta(seconds=1)))
    before = snapshot(vault)
    for name in ("ogladajacy", "ogladajacy2"):
        r = ask(browser(vault, name), *address, headers={"accept": "text/html"})
        assert r.status_code == 403, (name, r.status_code)
        assert "Formularz wygasł" not in r.text  # refused for the right, not the token
        assert not r.content.startswith(b"\xff\xd8")
        api = signed_in(vault, name, api=True)
        assert ask(api, *address).status_code in (401, 403)
    # An API token, even with every scope: this address takes none.
    from kustosz.access.tokens import create
    from kustosz.db.custody import User
    from kustosz.web.gate import SCOPES

    with vault.transaction() as s:
        owner = s.execute(select(User).where(User.name == "informatyk")).scalar_one()
        token, _ = create(s, owner, "skrypt", list(SCOPES), 1, SCOPES)
    from web_helpers import client

    r = ask(client(vault), *address, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 403 and not r.content.startswith(b"\xff\xd8")
    anonymous = ask(client(vault), *address, follow_redirects=False)
    assert anonymous.status_code in (303, 401, 403)
    assert not anonymous.content.startswith(b"\xff\xd8")
    with vault.reading() as s:
        assert not s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).first()
    after = snapshot(vault)
    # Only the token's own rows (made above) differ; no frame session, no access entry.
    assert after["tables"]["access_log"] == before["tables"]["access_log"]
    assert after["tables"]["access_viewing_sessions"] == before["tables"][
        "access_viewing_sessions"]


def test_workstation_off_the_allow_list_refused_and_logged(
        frames: tuple[Vault, int, datetime]) -> None:
    vault, rid, base = frames
    from web_helpers import OFFICE_PC

    from kustosz.access import allowlist

    with vault.transaction() as s:
        allowlist.set_allowlist(s, "10.9.9.0/24", "test")
    r = ask(browser(vault, "informatyk", address=OFFICE_PC), rid, "cam-hol",
            clock(vault, base + timedelta(seconds=1)))
    assert r.status_code == 403 and not r.content.startswith(b"\xff\xd8")
    assert "nie jest na liście stanowisk" in r.text  # the refusal page, in Polish
    with vault.reading() as s:
        refusal = s.execute(select(AuditEntry).where(
            AuditEntry.action == "access.blocked_address")).scalars().all()
        assert [e.subject for e in refusal] == [f"frame of cam-hol for request {rid}"]
        assert not s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).first()


def test_no_frame_without_the_person_present(frames: tuple[Vault, int, datetime]) -> None:
    """002 zał.5 §7 ust. 6, as for playback: no person present named (field missing, empty,
    only spaces) — 422 with playback's own Polish words, no frame, nothing changed (no viewing
    session, no access entry, no audit entry); a name over the column's limit likewise."""
    vault, rid, base = frames
    web = browser(vault, "informatyk")
    inside = clock(vault, base + timedelta(seconds=1))
    assert WITNESS_MISSING == PLAYBACK_SAYS  # the one rule, worded once
    for witness, said in ((None, PLAYBACK_SAYS), ("", PLAYBACK_SAYS), ("  \t ", PLAYBACK_SAYS),
                          ("A" * 201, "najwyżej 200 znaków")):
        before = snapshot(vault)
        r = ask(web, rid, "cam-hol", inside, witness)
        assert r.status_code == 422, (witness, r.text)
        assert next(iter(r.json())) == "detail_pl"  # Polish first
        assert said in r.json()["detail_pl"], r.json()
        assert r.headers["content-type"].startswith("application/json")
        assert not r.content.startswith(b"\xff\xd8")
        assert snapshot(vault) == before, witness
    # Playback says the same words for the same omission (the start form, no witness).
    user(vault, "ogladajacy", ["viewer"], display="Adam Widz")
    authorise(vault, "ogladajacy", ["playback"], sources=["cam-hol"])
    playback = browser(vault, "ogladajacy").post("/api/media/sessions", json={
        "action": "playback", "source": "cam-hol", "purpose": "test", "request_id": rid,
        "from": (base.astimezone(vault.policy.timezone)).strftime("%Y-%m-%dT%H:%M:%S"),
        "to": (base + timedelta(seconds=4)).astimezone(vault.policy.timezone)
        .strftime("%Y-%m-%dT%H:%M:%S")})
    assert playback.status_code == 422
    assert playback.json()["detail"][0]["msg"] == PLAYBACK_SAYS
    # The old address form (GET with the fields in the query) serves nothing: the name of the
    # person present is never in a URL.
    before = snapshot(vault)
    r = web.get(f"{url(rid)}?source=cam-hol&at={inside}&witness=Anna")
    assert r.status_code == 405 and not r.content.startswith(b"\xff\xd8")
    assert snapshot(vault) == before
    with vault.reading() as s:
        assert not s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).first()
    # Named: served, and stored.
    # A name typed instead of a person of the office (issue 30 item 11): refused likewise.
    before = snapshot(vault)
    r = ask(web, rid, "cam-hol", inside, "Jan Kierownik")
    assert r.status_code == 422 and "Nie ma w urzędzie osoby „Jan Kierownik”" in \
        r.json()["detail_pl"], r.text
    assert snapshot(vault) == before
    # Named: served, and stored by name and reference.
    r = ask(web, rid, "cam-hol", inside, "user:burmistrz")
    assert r.status_code == 200 and r.content.startswith(b"\xff\xd8")
    with vault.reading() as s:
        assert s.execute(select(ViewingSession.witness).where(
            ViewingSession.purpose.like("klatka%"))).scalars().all() == [
            "Jan Kowalski, Burmistrz Miasta i Gminy Pleszew"]


def test_the_custody_right_alone_gets_no_frame(frames: tuple[Vault, int, datetime]) -> None:
    """R3.2, attacked: marking masks is a custody task, but a frame is recorded video, so it
    is served only under the person's own authorisation to handle that camera's material
    (export). A custodian without one, an administrator, a commission member (custody roles,
    not eligible for export or without an authorisation), a custodian authorised for another
    camera or for playback only, and one whose authorisation was revoked: 403, the refusal on
    record with its reason, no frame session, no access entry."""
    vault, rid, base = frames
    from kustosz.access.authorisations import revoke

    user(vault, "kustosz3", ["custodian"], display="Celina Bez")
    user(vault, "admin2", ["administrator"], display="Adam Admin")
    user(vault, "komisja9", ["commission"], display="Kamil Komisja")
    user(vault, "kustosz4", ["custodian"], display="Dorota Inna")
    authorise(vault, "kustosz4", ["export"], sources=["cam-inna"])
    user(vault, "kustosz5", ["custodian", "viewer"], display="Ewa Ogląda")
    authorise(vault, "kustosz5", ["playback"], sources=["cam-hol"])
    user(vault, "kustosz6", ["custodian"], display="Filip Odwołany")
    revoked = authorise(vault, "kustosz6", ["export"], sources=["cam-hol"])
    with vault.transaction() as s:
        revoke(s, revoked, by="burmistrz", actor="test", reason="zmiana stanowiska")
    inside = clock(vault, base + timedelta(seconds=1))
    for name, reason in (("kustosz3", "no_authorisation"), ("admin2", "no_authorisation"),
                         ("komisja9", "role"), ("kustosz4", "other_source"),
                         ("kustosz5", "no_authorisation"), ("kustosz6", "revoked")):
        before = snapshot(vault)
        refusals = refused_entries(vault)
        r = ask(browser(vault, name), rid, "cam-hol", inside)
        assert r.status_code == 403, (name, r.status_code, r.text[:200])
        assert not r.content.startswith(b"\xff\xd8")
        body = r.json()
        assert next(iter(body)) == "detail_pl" and body["detail_pl"], body  # Polish first
        assert body["reason"] == reason, (name, body)
        assert refused_entries(vault) == refusals + 1, name
        after = snapshot(vault)
        # the login made a web session; no viewing session and no access entry were made
        for table in ("access_viewing_sessions", "access_log"):
            assert after["tables"][table] == before["tables"][table], (name, table)
    with vault.reading() as s:
        assert {v.user_name for v in s.execute(select(ViewingSession).where(
            ViewingSession.purpose.like("klatka%"))).scalars()} == set()


WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(("start", "text", "seconds"), [
    # 25.10.2026: 03:00 CEST becomes 02:00 CET; 01:00 CEST to 03:30 CET is 3.5 h, not 2.5
    (datetime(2026, 10, 25, 1, 0, tzinfo=WARSAW), "03:30", 3.5 * 3600),
    # the hour that happens twice: the first 02:30 (CEST), then, from 02:40 CET, the second
    (datetime(2026, 10, 25, 1, 0, tzinfo=WARSAW), "02:30", 1.5 * 3600),
    (datetime(2026, 10, 25, 2, 40, fold=1, tzinfo=WARSAW), "02:50", 600),
    # 29.03.2026: 02:00 CET becomes 03:00 CEST; 01:00 CET to 03:30 CEST is 1.5 h, not 2.5
    (datetime(2026, 3, 29, 1, 0, tzinfo=WARSAW), "03:30", 1.5 * 3600),
    (datetime(2026, 11, 23, 23, 55, tzinfo=WARSAW), "00:10", 15 * 60),  # past midnight
    (datetime(2026, 11, 23, 14, 5, tzinfo=WARSAW), "14:05:30", 30),
])
def test_a_clock_time_is_real_seconds_into_the_period(start: datetime, text: str,
                                                      seconds: float) -> None:
    """Review s24 N4: the masks' and the frame's clock times were wall-clock differences, an
    hour off on the nights the time changes."""
    assert seconds_in_period(text, start, WARSAW) == seconds


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                          timezones=st.just(UTC)),
       offset=st.integers(min_value=0, max_value=20 * 3600))
def test_a_clock_time_names_the_first_such_moment_of_the_period(start: datetime,
                                                                offset: int) -> None:
    """Whatever the start (across every change of time of two years): the seconds returned
    land on the clock time asked, no later than the moment it was read from."""
    start = start.replace(microsecond=0)
    text = (start + timedelta(seconds=offset)).astimezone(WARSAW).strftime("%H:%M:%S")
    got = seconds_in_period(text, start, WARSAW)
    assert got is not None and 0 <= got <= offset
    assert (start + timedelta(seconds=got)).astimezone(WARSAW).strftime("%H:%M:%S") == text


def test_request_copied_after_the_frame_was_checked_gets_no_frame(
        frames: tuple[Vault, int, datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    """Review N3: the request is asked again where the frame's session is opened. Its copy is
    made between the check of what is asked and the opening: no session, no frame."""
    from kustosz.db.custody import Request
    from kustosz.web import subject_frame

    vault, rid, base = frames
    checked = subject_frame.wanted

    def then_copied(*args: Any, **kw: Any) -> Any:
        w = checked(*args, **kw)
        with vault.transaction() as s:  # the copy maker finishes in another window
            s.get(Request, rid).status = "copied"
        return w

    monkeypatch.setattr(subject_frame, "wanted", then_copied)
    before = snapshot(vault)
    r = ask(browser(vault, "informatyk"), rid, "cam-hol", clock(vault, base))
    assert r.status_code == 404 and "po zgodzie na wniosek" in r.json()["detail_pl"]
    assert not r.content.startswith(b"\xff\xd8")
    after = snapshot(vault)
    assert after["tables"]["access_log"] == before["tables"]["access_log"]
    assert after["tables"]["access_viewing_sessions"] == before["tables"][
        "access_viewing_sessions"]
