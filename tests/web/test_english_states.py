"""Issue 50 item 6: the page states the English walk (test_english_pages) does not reach.
An open alarm, an authorisation of several actions and sources, a request's held period and
state, the access log's refusal of a source, a data subject's request with its masks and a
withheld copy: on English pages the words the app composes are English, and what is stored in
Polish by nature (an alert row's message) is marked ``lang="pl"`` so a screen reader reads it
in Polish (WCAG 3.1.2); on the Polish page a withheld copy's reason is Polish only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_english_pages import _data_of, marked_polish, polish_in, read_text
from web_helpers import Material, authorise, client, csrf_of, request_of, session_for, user

from kustosz.alert_rows import raise_row
from kustosz.custody import subject_review as sr
from kustosz.custody.copy_making import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy, Request
from kustosz.db.models import Source
from kustosz.ingest.camera.health import raise_down_alert
from kustosz.masking import residual
from kustosz.states import AlertRow, RequestStatus
from kustosz.vault import Vault
from kustosz.web.i18n import english
from kustosz.web.requests_pages import asked_and_held, shown_state

# A stored alert's message the catalogue does not know: Polish by nature, kept as written.
STORED = "Dysk archiwum zapełniony w 97% — nagrania po terminie usunięto, zostało 3 GB."
# The data subject's request (web_helpers.request_of): what the clerk typed.
TYPED = ("Jan Nowak, ul. Polna 3", "dostęp do własnego wizerunku (art. 15 RODO)",
         "wizyta w holu")
PL_REASON = "Zamaskowanej kopii nie przekazano do przeglądu: cam-hol: sprawdzenie wykryło"
EN_REASON = "the masked copy is not offered for review: cam-hol: the check found"


def _failed_check() -> dict[str, Any]:
    """A masked file whose every-frame check found a face (as masking.video records it)."""
    return {"path": "cam-hol.mp4", "source": {"name": "cam-hol"}, "masking": {
        "verification": {"passed": False, "frames_checked": 100, "frames_with_residual": 12,
                         "frames_match_the_file": True,
                         "worst_frames": [{"t": 1.5, "score": 0.91}]}}}


def _alarms_and_refusal(m: Material) -> None:
    v = m.vault
    with v.reading() as s:
        cam = s.execute(select(Source.id).where(Source.name == "cam-hol")).scalar_one()
    raise_down_alert(v, cam, "cam-hol", datetime.now(UTC) - timedelta(minutes=7),
                     "recorder_not_running")
    with v.transaction() as s:
        raise_row(s, AlertRow.DISK_PRESSURE, STORED, datetime.now(UTC))
    # a refusal of a source: a viewer with no authorisation for it
    c = client(v)
    session_for(v, c, "en-none")
    tz = v.policy.timezone
    r = c.post("/media/start", data={
        "csrf": csrf_of(v, c), "action": "playback", "source": "cam-hol",
        "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"), "purpose": "test",
        "case_ref": "OR.7", "witness": "user:zastepca"})
    assert r.status_code == 403, r.status_code


def _request(v: Vault, m: Material, **spec: Any) -> int:
    tz = v.policy.timezone
    with v.transaction() as s:
        return register_request(s, v.policy, RequestSpec(
            kind="authority", material="video", requester="KPP Pleszew",
            received_on=datetime.now(tz).date(), event_date=m.window[0].astimezone(tz).date(),
            purpose="postępowanie", description="kradzież", cameras=["cam-hol"],
            margin_minutes=v.config.hold_margin_minutes, **spec), "test").id


def _states(m: Material) -> dict[str, int]:
    """Each state once; the requests' numbers by name."""
    v = m.vault
    for name in ("en-view", "en-none"):
        user(v, name, ["viewer"], password=None, display="Alex Viewer")
    # several actions, sources and a kind: the scope is composed of parts
    authorise(v, "en-view", ["live", "playback", "listening"], sources=["cam-hol", "cam-inne"],
              kinds=["phone"])
    _alarms_and_refusal(m)
    # a request held with the office's margin, copied and handed over
    handed = _request(v, m, start=m.window[0], end=m.window[1])
    with v.transaction() as s:
        decide(s, v.policy, handed, by="burmistrz", agree=True,
               on=datetime.now(v.policy.timezone).date(), actor="test", keyed_by="burmistrz")
    copy = make_copy(v, handed, by="informatyk", actor="test")
    hand_over(v, copy.number, receiver="KPP Pleszew", by="informatyk", actor="test",
              request_id=handed)
    # one about an approximate hour
    approx = _request(v, m, approx_time=m.window[0].astimezone(v.policy.timezone)
                      .strftime("%H:%M"))
    # a data subject's request with a mask and the requester's box, its copy withheld
    base = m.window[0] + timedelta(seconds=5)
    subject = request_of(v, base, ["cam-hol"], 4)
    with v.transaction() as s:
        for kind in ("mask", "keep"):
            sr.add_region(s, subject, kind=kind, source="cam-hol", x=10, y=10, w=20, h=20,
                          from_s=0, to_s=4, note="", actor="informatyk")
        withheld = s.execute(select(Copy).where(Copy.number == m.copy_number)).scalar_one()
        en, pl = residual.reason([_failed_check()], base, v.policy.timezone)
        withheld.request_id, withheld.review_state = subject, residual.STATE
        withheld.review_reason = residual.stored_reason(en, pl)
        s.get(Request, subject).status = RequestStatus.APPROVED
    return {"handed": handed, "approx": approx, "subject": subject}


def _client(m: Material, name: str, lang: str) -> TestClient:
    c = client(m.vault)
    session_for(m.vault, c, name)
    c.cookies.set("kustosz_lang", lang, domain="testserver.local")
    return c


def test_the_states_speak_english(sqlite_material: Material) -> None:
    m = sqlite_material
    reqs = _states(m)
    seq, year = m.copy_number.split("/")
    data = _data_of(m) + TYPED
    pages = {
        "burmistrz": ["/", "/authorisations", "/access-log", "/requests", "/copies",
                      *(f"/requests/{n}" for n in reqs.values())],
        "en-view": ["/"],
        "informatyk": [f"/requests/{reqs['subject']}", f"/review/{year}/{seq}"],
    }
    found, said = {}, {}
    for name, paths in pages.items():
        c = _client(m, name, "en")
        for path in paths:
            r = c.get(path)
            assert r.status_code == 200, (name, path, r.status_code)
            said[f"{name} {path}"] = r.text
            left = polish_in(read_text(r.text), data)
            if left:
                found[f"{name} {path}"] = left
    assert not found, "\n".join(f"{k}: {t!r}" for k, v in found.items() for t in v)
    # what the app composed reads in English; the stored Polish alert is marked Polish
    for who in ("burmistrz", "en-view"):
        dash = said[f"{who} /"]
        assert 'Camera "cam-hol" has not recorded since' in "".join(read_text(dash)), who
    assert STORED in marked_polish(said["burmistrz /"])
    assert STORED not in read_text(said["burmistrz /"])
    assert STORED not in said["en-view /"]  # the disk is oversight's alarm
    scope = ("listening to call recordings, live view (live camera picture), playback (review) "
             "of recordings — source cam-hol, source cam-inne, all phone lines")
    assert scope in read_text(said["burmistrz /authorisations"])
    assert any(scope in t for t in read_text(said["en-view /"]))  # "My authorisations"
    assert "source cam-hol" in read_text(said["burmistrz /access-log"])
    subject = " ".join(read_text(said[f"burmistrz /requests/{reqs['subject']}"]))
    assert "manual mask" in subject and "the requester's area" in subject
    assert EN_REASON in subject and "Zamaskowanej" not in subject
    handed = " ".join(read_text(said[f"burmistrz /requests/{reqs['handed']}"]))
    assert "min before and after)" in handed and "copy handed over" in handed
    review = " ".join(read_text(said[f"informatyk /review/{year}/{seq}"]))
    assert EN_REASON in review and "Zamaskowanej" not in review


def test_the_polish_page_says_the_withheld_reason_in_polish_only(
        sqlite_material: Material) -> None:
    m = sqlite_material
    reqs = _states(m)
    seq, year = m.copy_number.split("/")
    for name, path in (("burmistrz", f"/requests/{reqs['subject']}"),
                       ("informatyk", f"/review/{year}/{seq}")):
        text = " ".join(read_text(_client(m, name, "pl").get(path).text))
        assert PL_REASON in text and "sporządź kopię ponownie" in text, path
        assert "the masked copy" not in text and "make the copy again" not in text, path
    dash = _client(m, "burmistrz", "pl").get("/").text
    assert STORED in read_text(dash) and STORED not in marked_polish(dash)  # nothing apart
    assert "Kamera „cam-hol” nie nagrywa od" in " ".join(read_text(dash))


def test_every_state_and_held_period_in_english() -> None:
    """Each branch of the state and held period the request pages compose reads English."""
    tz, day = UTC, date(2026, 3, 2)
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    def req(**kw: Any) -> Any:
        return SimpleNamespace(**{"id": 1, "no_data_on": None, "status": "copied",
                                  "kind": "authority", "start_at": at,
                                  "end_at": at + timedelta(hours=1), "event_date": day,
                                  "approx_time": None, **kw})

    copy = SimpleNamespace(number="7/2026", review_state=None, state="kept")
    gone = SimpleNamespace(number="7/2026", review_state=None, state="destroyed")
    handed = [SimpleNamespace(request_id=1, handed_at=at)]
    done = SimpleNamespace(second_at=at + timedelta(days=3))
    cases = [
        (req(no_data_on=day), None, [], None),
        (req(status="approved"), SimpleNamespace(number="7/2026", review_state="residual",
                                                 state="kept"), [], None),
        (req(status="registered"), None, [], None), (req(status="approved"), None, [], None),
        (req(status="refused"), None, [], None),
        (req(), gone, handed, done), (req(), gone, handed, SimpleNamespace(second_at=None)),
        (req(), gone, [], done), (req(), gone, [], None), (req(), copy, handed, None),
        (req(), SimpleNamespace(number="7/2026", review_state="awaiting", state="kept"), [],
         None),
        (req(), copy, [], None), (req(kind="internal"), copy, [], None),
    ]
    words = [shown_state(*case, tz)[1] for case in cases]
    for margin, r in ((30, req()), (0, req()), (30, req(approx_time="10:30")),
                      (0, req(start_at=datetime(2026, 3, 2, tzinfo=UTC),
                              end_at=datetime(2026, 3, 3, tzinfo=UTC)))):
        words += [w for w in asked_and_held(r, margin, tz).values() if w]
    assert len(words) == 13 + 6
    assert [(w, english(w)) for w in words if polish_in([english(w)], ())] == []
