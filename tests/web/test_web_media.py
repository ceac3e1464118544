"""Playback, listening and export through the pages: the purpose first, HLS from the index
(program date-time, discontinuities at gaps, TS as stored), access records, the listening
protocol attached to the request; bad input keeps what was typed and saves nothing."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select
from tests.conftest import snapshot
from web_helpers import (
    STRANGER,
    Material,
    authorise,
    client,
    csrf_of,
    session_for,
    user,
)

from kustosz.access.users import printed
from kustosz.db.access import AccessEntry, ListeningProtocol, ViewingSession
from kustosz.db.custody import ActionEntry, Request
from kustosz.db.models import Recording


def _start(m: Material, c, **form):  # type: ignore[no-untyped-def]
    return c.post("/media/start", data={"csrf": csrf_of(m.vault, c), **form})


def _local(m: Material, value) -> str:  # type: ignore[no-untyped-def]
    return value.astimezone(m.vault.policy.timezone).strftime("%Y-%m-%dT%H:%M:%S")


def test_playback_needs_purpose_and_witness_then_plays_from_the_index(
        material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    window = {"action": "playback", "source": "cam-hol", "from": _local(m, m.window[0]),
              "to": _local(m, m.window[1])}
    before = snapshot(m.vault)["tables"]["access_viewing_sessions"]
    r = _start(m, c, **window, purpose="wyjaśnienie kradzieży", case_ref="")
    assert r.status_code == 422
    assert "Podaj sprawę" in r.text and "wyjaśnienie kradzieży" in r.text  # kept as typed
    r = _start(m, c, **window, purpose="wyjaśnienie kradzieży", case_ref="OR.123")
    assert r.status_code == 422 and "osobę upoważnioną obecną" in r.text
    assert snapshot(m.vault)["tables"]["access_viewing_sessions"] == before
    r = _start(m, c, **window, purpose="wyjaśnienie kradzieży", case_ref="OR.123",
               witness="user:zastepca")
    assert r.status_code == 303
    view = r.headers["location"]
    token = view.rsplit("/", 1)[1]
    page = c.get(view)
    assert page.status_code == 200
    assert "Fotografowanie i filmowanie ekranu" in page.text  # R3.4
    assert "hls.min.js" in page.text and "Przerwa w nagraniu" in page.text
    playlist = c.get(f"/media/{token}/vod.m3u8").text
    assert playlist.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in playlist
    assert playlist.count("#EXT-X-PROGRAM-DATE-TIME:") == 3
    # files taken in one by one: each its own timeline; recorder segments of one session
    # are continuous, so then only the gap starts a new one
    assert playlist.count("#EXT-X-DISCONTINUITY") == 2
    with m.vault.transaction() as s:
        for rec in m.old:
            s.get(Recording, rec.id).meta = {"session": "s1"}
    playlist = c.get(f"/media/{token}/vod.m3u8").text
    assert playlist.count("#EXT-X-DISCONTINUITY") == 1
    assert "#EXT-X-DISCONTINUITY" in playlist.split(f"segment/{m.old[1].id}.ts")[1]
    names = re.findall(r"^segment/(\d+)\.ts$", playlist, re.M)
    assert [int(n) for n in names] == [r.id for r in m.old]
    seg = c.get(f"/media/{token}/segment/{m.old[0].id}.ts")
    assert seg.content == m.vault.storage.path(m.old[0].storage_key).read_bytes()
    assert seg.headers["content-type"] == "video/mp2t"
    with m.vault.reading() as s:
        vs = s.execute(select(ViewingSession)).scalar_one()
        entries = list(s.execute(select(AccessEntry)).scalars())
        deputy = printed(s, "zastepca")
    # the person present: one of the office's people, by name and as a reference (issue 30)
    assert (vs.purpose, vs.case_ref, vs.witness, vs.client) == (
        "wyjaśnienie kradzieży", "OR.123", deputy, "127.0.0.1")
    assert vs.witness_user_id is not None and vs.witness_employee_id is None
    assert vs.served == 3 and len(entries) == 3 and vs.last_at >= vs.started_at
    # outside the window, or another camera's segment: refused
    assert c.get(f"/media/{token}/segment/{m.live.id}.ts").status_code == 403


def test_refused_without_authorisation_or_from_a_stranger_address(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    form = {"action": "playback", "source": "cam-hol", "from": _local(m, m.window[0]),
            "to": _local(m, m.window[1]), "purpose": "p", "case_ref": "c", "witness": "zastepca"}
    r = _start(m, c, **form)
    assert r.status_code == 403 and "upoważnienia" in r.text
    authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    far = client(m.vault, STRANGER)
    session_for(m.vault, far, "ola")
    assert _start(m, far, **form).status_code == 403
    assert _start(m, c, **form).status_code == 303


def test_listening_protocol_is_printed_and_attached_to_the_request(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    authorise(m.vault, "ola", ["listening"], kinds=["phone"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    with m.vault.reading() as s:
        req_id = s.execute(select(Request.id)).scalar_one()
    r = _start(m, c, action="listening", recording=str(m.call.id), purpose="skarga klienta",
               case_ref="", request_id=str(req_id))
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    audio = c.get(f"/media/{token}/audio")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    csrf = csrf_of(m.vault, c)
    r = c.post(f"/view/{token}/protocol", data={"csrf": csrf, "listeners": "Ola Nowak",
                                                 "breach": "", "causes": "nieznane"})
    assert r.status_code == 422 and "nieznane" in r.text and "wymagane" in r.text
    # another person's session: the refusal names its condition, like every media refusal
    other = client(m.vault)
    user(m.vault, "ela", ["viewer"], password=None)
    session_for(m.vault, other, "ela")
    r = other.post(f"/view/{token}/protocol", data={
        "csrf": csrf_of(m.vault, other), "listeners": "Ela", "breach": "x"})
    assert r.status_code == 403 and "Nie ma takiej sesji przeglądu" in r.text, r.text
    r = c.post(f"/view/{token}/protocol", data={
        "csrf": csrf, "listeners": "Ola Nowak, inspektor", "breach": "groźby wobec pracownika",
        "actions": "zawiadomienie Policji"})
    assert r.status_code == 303
    with m.vault.reading() as s:
        p = s.execute(select(ListeningProtocol)).scalar_one()
        action = s.execute(select(ActionEntry).where(
            ActionEntry.kind == "listening.protocol")).scalar_one()
    assert p.request_id == req_id and action.request_id == req_id
    pdf = c.get(f"/protocols/{p.id}/pdf")
    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "odsłuchania rozmowy" in text and "groźby wobec pracownika" in text


def test_revoked_mid_session_stops_the_next_segment(material: Material) -> None:
    m = material
    user(m.vault, "ola", ["viewer"], password=None)
    auth_id = authorise(m.vault, "ola", ["playback"], sources=["cam-hol"])
    c = client(m.vault)
    session_for(m.vault, c, "ola")
    r = _start(m, c, action="playback", source="cam-hol",
               **{"from": _local(m, m.window[0]), "to": _local(m, m.window[1]),
                  "purpose": "p", "case_ref": "c", "witness": "zastepca"})
    token = r.headers["location"].rsplit("/", 1)[1]
    assert c.get(f"/media/{token}/segment/{m.old[0].id}.ts").status_code == 200
    from kustosz.access.authorisations import revoke

    with m.vault.transaction() as s:
        revoke(s, auth_id, "burmistrz", "zmiana stanowiska", "test")
    assert c.get(f"/media/{token}/segment/{m.old[1].id}.ts").status_code == 403


def test_export_downloads_the_copy_bundle(material: Material) -> None:
    m = material
    authorise(m.vault, "informatyk", ["export"], sources=["cam-hol"])
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    r = _start(m, c, action="export", copy=m.copy_number, purpose="przekazanie Policji")
    assert r.status_code == 303
    token = r.headers["location"].rsplit("/", 1)[1]
    z = c.get(f"/media/{token}/copy.zip")
    assert z.status_code == 200 and z.content[:2] == b"PK"
