"""Issue 30 leftovers 1 and 9 in the browser: a data subject's approved request with nothing
of theirs stored is answered "nie przetwarzamy Pana/Pani danych" from its page (the hold is
released, the letter printed); a bad day changes nothing; the register form stores how the
person chose to receive the copy, and the request form's box for it is ticked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import snapshot
from tests.office_day import office_today
from web_helpers import Material, csrf_of, signed_in

from kustosz.custody.decisions import decide
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Request
from kustosz.db.models import Hold


def _nothing_there(m: Material) -> int:
    """A data subject's request for an hour with no recordings, approved."""
    received = office_today() - timedelta(days=2)
    with m.vault.transaction() as s:
        rid = register_request(
            s,
            m.vault.policy,
            RequestSpec(
                kind="data_subject",
                material="video",
                requester="Jan Żółkiewski",
                received_on=received,
                event_date=received - timedelta(days=1),
                purpose="",
                cameras=["cam-hol"],
                approx_time="03:00",
                margin_minutes=1,
            ),
            "test",
            now=datetime.now(UTC),
        ).id
        decide(
            s,
            m.vault.policy,
            rid,
            by="burmistrz",
            agree=True,
            on=received,
            actor="test",
            keyed_by="burmistrz",
        )
    return rid


def test_answering_no_data_from_the_request_page(sqlite_material: Material) -> None:
    m = sqlite_material
    rid = _nothing_there(m)
    c = signed_in(m.vault, "informatyk")
    page = c.get(f"/requests/{rid}").text
    assert f'action="/requests/{rid}/no-data"' in page
    assert "Odpowiedź: nie przetwarzamy danych" in page
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    english = c.get(f"/requests/{rid}").text
    assert "Answer: we process no data" in english and "nie przetwarzamy" not in english
    assert "When the system holds no recordings" in english
    c.cookies.set("kustosz_lang", "pl", domain="testserver.local")
    before = snapshot(m.vault)
    r = c.post(
        f"/requests/{rid}/no-data",
        data={
            "csrf": csrf_of(m.vault, c),
            "no_data_on": (office_today() + timedelta(days=3)).isoformat(),
        },
    )
    assert r.status_code == 422 and "między dniem otrzymania żądania" in r.text
    assert snapshot(m.vault) == before
    r = c.post(
        f"/requests/{rid}/no-data",
        data={"csrf": csrf_of(m.vault, c), "no_data_on": office_today().isoformat()},
    )
    assert r.status_code == 303, r.text
    page = c.get(f"/requests/{rid}").text
    assert "odpowiedziano — nie przetwarzamy danych tej osoby" in page
    assert f'action="/requests/{rid}/no-data"' not in page
    assert f'action="/requests/{rid}/copy"' not in page
    assert f'action="/requests/{rid}/regions"' not in page  # nothing to mask any more
    assert f"/requests/{rid}/answer.pdf" in page
    with m.vault.reading() as s:
        req = s.get(Request, rid)
        assert req.no_data_by == "informatyk"
        assert s.get(Hold, req.hold_id).released_at is not None
    pdf = c.get(f"/requests/{rid}/answer.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


def test_the_delivery_choice_is_stored(sqlite_material: Material) -> None:
    m = sqlite_material
    c = signed_in(m.vault, "informatyk")
    day = (office_today() - timedelta(days=1)).isoformat()
    form = {
        "kind": "data_subject",
        "material": "video",
        "requester": "Jan Żółkiewski",
        "received_on": office_today().isoformat(),
        "event_date": day,
        "approx_time": "12:00",
        "camera": "cam-hol",
    }
    before = snapshot(m.vault)
    for bad, said in (
        ({"delivery": "gołąb"}, "Nieznany sposób otrzymania kopii"),
        ({"delivery": "post"}, "wymaga adresu"),
    ):
        r = c.post("/requests", data={"csrf": csrf_of(m.vault, c), **form, **bad})
        assert r.status_code == 422 and said in r.text, r.text[-2000:]
    assert snapshot(m.vault) == before
    r = c.post(
        "/requests",
        data={
            "csrf": csrf_of(m.vault, c),
            **form,
            "delivery": "post",
            "contact": "ul. Polna 3, 63-300 Pleszew",
        },
    )
    assert r.status_code == 303, r.text[-2000:]
    rid = int(r.headers["location"].split("/requests/")[1].split("?")[0])
    with m.vault.reading() as s:
        assert s.get(Request, rid).delivery == "post"
    page = c.get(f"/requests/{rid}").text
    assert "przesyłka pocztowa na adres podany we wniosku" in page
