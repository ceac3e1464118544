"""Issue 30 item 11: the person present at a playback or a listening (R3.4, 002 zał.5 §7 ust. 6)
is one of the office's people — an active account or an employee of the register — chosen
from a list and stored as a reference (0032), shown by name in the access register (page and
CSV), the listening protocol and the register of actions; and the supervisor of monitoring
(001 §4: the Sekretarz Miasta; R6.3) is a role that reads the dashboard, the registers and the
access register and opens no material by itself."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.conftest import Cli, snapshot
from web_helpers import Material, authorise, csrf_of, signed_in, user

from kustosz.access.employees import add_employee, office_today
from kustosz.access.users import printed, set_active
from kustosz.custody.registers import build
from kustosz.db.access import AccessEntry, Authorisation, ListeningProtocol, ViewingSession
from kustosz.db.custody import User
from kustosz.errors import FieldError
from kustosz.vault import Vault


def _employee(vault: Vault, name: str, position: str = "", starts: date | None = None,
              ends: date | None = None) -> int:
    with vault.transaction() as s:
        emp = add_employee(s, "test", full_name=name, position=position, unit="",
                           starts_on=(starts or date(2020, 1, 1)).isoformat(), external_id="")
        emp.ends_on = ends
        return emp.id


def _form(m: Material, witness: str | None) -> dict[str, str]:
    tz = m.vault.policy.timezone
    form = {"action": "playback", "source": "cam-hol",
            "from": m.window[0].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "to": m.window[1].astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
            "purpose": "wyjaśnienie kradzieży", "case_ref": "OR.1"}
    if witness is not None:
        form["witness"] = witness
    return form


def _viewer(m: Material) -> None:
    user(m.vault, "ola", ["viewer"], password=None, display="Ola Kamińska")
    authorise(m.vault, "ola", ["playback", "listening"], sources=["cam-hol", "centrala"])


def test_the_form_lists_the_office_people_and_the_session_keeps_who(
        material: Material) -> None:
    m = material
    _viewer(m)
    sekretarz = _employee(m.vault, "Maria Wójcik", "Sekretarz Miasta")
    gone = _employee(m.vault, "Adam Były", ends=office_today() - timedelta(days=3))
    later = _employee(m.vault, "Ewa Przyszła", starts=office_today() + timedelta(days=5))
    c = signed_in(m.vault, "ola")
    page = c.get("/media/start?action=playback&source=cam-hol")
    assert page.status_code == 200
    assert '<select id="f-witness" name="witness" required' in page.text
    assert '<optgroup label="Konta w systemie">' in page.text
    assert '<optgroup label="Pracownicy (ewidencja)">' in page.text
    assert 'value="user:zastepca">Anna Nowak' in page.text
    assert f'value="employee:{sekretarz}">Maria Wójcik, Sekretarz Miasta' in page.text
    # not the viewer, nobody who left or has not started yet
    assert 'value="user:ola"' not in page.text
    assert f'employee:{gone}"' not in page.text and f'employee:{later}"' not in page.text

    r = c.post("/media/start", data={"csrf": csrf_of(m.vault, c),
                                     **_form(m, "user:zastepca")})
    assert r.status_code == 303, r.text
    r2 = c.post("/media/start", data={"csrf": csrf_of(m.vault, c),
                                      **_form(m, f"employee:{sekretarz}")})
    assert r2.status_code == 303, r2.text
    with m.vault.reading() as s:
        deputy = printed(s, "zastepca")
        rows = list(s.execute(select(ViewingSession).order_by(ViewingSession.id)).scalars())
        zastepca_id = s.execute(select(User.id).where(
            User.name == "zastepca")).scalar_one()
    assert [(v.witness, v.witness_user_id, v.witness_employee_id) for v in rows] == [
        (deputy, zastepca_id, None), ("Maria Wójcik, Sekretarz Miasta", None, sekretarz)]
    # the viewing page names who is present
    view = c.get(r.headers["location"])
    assert f"Obecny: {deputy}." in view.text

    # the access register, page and CSV, names them; a DPO reads it
    user(m.vault, "iod", ["dpo"], password=None)
    dpo = signed_in(m.vault, "iod")
    log = dpo.get("/access-log")
    assert log.status_code == 200
    assert f"<td>{deputy}</td>" in log.text
    assert "<td>Maria Wójcik, Sekretarz Miasta</td>" in log.text
    table = list(csv.reader(io.StringIO(dpo.get("/access-log?format=csv&csv=rfc4180")
                                        .content.decode("utf-8-sig"))))
    present = [row[table[0].index("Obecny")] for row in table[1:]]
    assert sorted(present) == sorted([deputy, "Maria Wójcik, Sekretarz Miasta"])


def test_an_old_typed_witness_stays_readable_and_is_marked(material: Material) -> None:
    """A session recorded before 0032 kept only the typed name: shown, marked as typed."""
    m = material
    _viewer(m)
    now = datetime.now(UTC)
    with m.vault.transaction() as s:
        ola = s.execute(select(User).where(User.name == "ola")).scalar_one()
        s.add(ViewingSession(token_hash="old", user_id=ola.id, user_name="ola",
                             action="playback", purpose="cel", case_ref="OR.0",
                             witness="Jan Świadek", client="127.0.0.1", started_at=now,
                             last_at=now, served=0, bytes_served=0))
    user(m.vault, "iod", ["dpo"], password=None)
    log = signed_in(m.vault, "iod").get("/access-log")
    assert "Jan Świadek <small" in log.text and "(wpisano ręcznie)</small>" in log.text


@pytest.mark.parametrize("case", ["empty", "blank", "typed name", "unknown login",
                                  "unknown employee", "bad employee number", "disabled",
                                  "self", "self as employee", "left", "not yet started",
                                  "too long"])
def test_a_bad_witness_is_refused_in_polish_at_its_field_and_changes_nothing(
        sqlite_material: Material, case: str) -> None:
    m = sqlite_material
    _viewer(m)
    user(m.vault, "byly", ["viewer"], password=None, display="Karol Odszedł")
    with m.vault.transaction() as s:
        set_active(s, "byly", False, "test")
    same = _employee(m.vault, "Ola  KAMIŃSKA", "referent")
    left = _employee(m.vault, "Adam Były", ends=office_today() - timedelta(days=1))
    later = _employee(m.vault, "Ewa Przyszła", starts=office_today() + timedelta(days=2))
    given, said = {
        "empty": ("", "Podaj osobę upoważnioną obecną przy przeglądzie (002 zał.5 §7.6)."),
        "blank": ("   ", "Podaj osobę upoważnioną obecną przy przeglądzie (002 zał.5 §7.6)."),
        "typed name": ("Jan Świadek", "Nie ma w urzędzie osoby „Jan Świadek”. Wybierz osobę "
                                      "obecną z listy"),
        "unknown login": ("user:nikt", "Nie ma w urzędzie osoby „user:nikt”."),
        "unknown employee": ("employee:99999", "Nie ma w urzędzie osoby „employee:99999”."),
        "bad employee number": ("employee:9999999999999", "Nie ma w urzędzie osoby"),
        "disabled": ("user:byly", "Konto Karol Odszedł (byly) jest wyłączone"),
        "self": ("user:ola", "Nie możesz wskazać siebie: przegląd odbywa się w obecności innej "
                             "osoby upoważnionej (002 zał.5 §7 ust. 6)."),
        "self as employee": (f"employee:{same}", "Nie możesz wskazać siebie"),
        "left": (f"employee:{left}", "Adam Były nie jest już pracownikiem urzędu (ostatni "
                                     "dzień pracy"),
        "not yet started": (f"employee:{later}", "Ewa Przyszła rozpoczyna pracę dopiero"),
        "too long": ("w" * 201, "może mieć najwyżej 200 znaków"),
    }[case]
    c = signed_in(m.vault, "ola")
    csrf = csrf_of(m.vault, c)
    before = snapshot(m.vault)
    r = c.post("/media/start", data={"csrf": csrf, **_form(m, given)})
    assert r.status_code == 422, r.text
    assert '<p class="error" id="err-witness">' in r.text
    error = r.text.split('<p class="error" id="err-witness">', 1)[1].split("</p>", 1)[0]
    assert said in error.replace("&#34;", '"'), error
    # the API says the same field, in English
    api = c.post("/api/media/sessions", json=_form(m, given), headers={"X-CSRF-Token": csrf})
    assert api.status_code == 422, api.text
    assert api.json()["detail"][0]["field"] == "witness"
    assert snapshot(m.vault) == before


def test_the_api_takes_a_login_or_a_reference(sqlite_material: Material) -> None:
    m = sqlite_material
    _viewer(m)
    c = signed_in(m.vault, "ola", api=True)
    for given in ("zastepca", "user:burmistrz"):
        r = c.post("/api/media/sessions", json=_form(m, given))
        assert r.status_code == 201, r.text
    with m.vault.reading() as s:
        names = [printed(s, "zastepca"), printed(s, "burmistrz")]
        got = [v.witness for v in s.execute(select(ViewingSession).order_by(
            ViewingSession.id)).scalars()]
    assert got == names


def test_a_listening_names_the_person_present_in_its_protocol_and_register(
        sqlite_material: Material) -> None:
    """Listening may name a second person (optional, 001 zał. 2 "osoby … dokonały"); the
    protocol lists them beside the listener, the register of actions says who was present."""
    m = sqlite_material
    _viewer(m)
    sekretarz = _employee(m.vault, "Maria Wójcik", "Sekretarz Miasta")
    c = signed_in(m.vault, "ola")
    csrf = csrf_of(m.vault, c)
    page = c.get(f"/media/start?action=listening&recording={m.call.id}")
    assert "Osoba obecna przy odsłuchaniu" in page.text
    assert '<select id="f-witness" name="witness" aria' in page.text  # not required here
    r = c.post("/media/start", data={"csrf": csrf, "action": "listening",
                                     "recording": str(m.call.id), "purpose": "skarga",
                                     "case_ref": "OR.5", "witness": "user:ola"})
    assert r.status_code == 422 and "Nie możesz wskazać siebie" in r.text
    r = c.post("/media/start", data={"csrf": csrf, "action": "listening",
                                     "recording": str(m.call.id), "purpose": "skarga",
                                     "case_ref": "OR.5", "witness": f"employee:{sekretarz}"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    view = c.get(f"/view/{token}")
    assert "Ola Kamińska\nMaria Wójcik, Sekretarz Miasta</textarea>" in view.text
    # typed without the person present: they are added all the same
    r = c.post(f"/view/{token}/protocol", data={"csrf": csrf, "listeners": "Ola Kamińska",
                                                "breach": "groźby"})
    assert r.status_code == 303, r.text
    with m.vault.reading() as s:
        row = s.execute(select(ListeningProtocol)).scalar_one()
        assert row.data["listeners"] == "Ola Kamińska\nMaria Wójcik, Sekretarz Miasta"
        today = office_today()
        actions = build(s, m.vault.policy, "actions", today, today)
    assert any("obecny: Maria Wójcik, Sekretarz Miasta" in cell
               for row in actions.rows for cell in row)
    pdf = (m.vault.root / row.pdf).read_bytes()
    assert pdf.startswith(b"%PDF")


# -- the supervisor of monitoring (R6.3) ----------------------------------------------------
PAGES = ("/", "/registers", "/access-log", "/requests", "/copies", "/holds", "/employees",
         "/authorisations")


def test_the_supervisor_reads_what_supervision_needs_and_gets_no_material(
        material: Material) -> None:
    m = material
    user(m.vault, "sekretarz", ["supervisor"], password=None, display="Maria Wójcik")
    # no authorisation to open material is issued for this role alone (R3.2: the role is not
    # eligible; a supervisor who must watch is given the viewer's role too)…
    with pytest.raises(FieldError, match="nie pozwala upoważnić"):
        authorise(m.vault, "sekretarz", ["playback"], sources=["cam-hol"])
    # …and one written past that check (or kept from an earlier role) opens nothing either
    now = datetime.now(UTC)
    with m.vault.transaction() as s:
        holder = s.execute(select(User).where(User.name == "sekretarz")).scalar_one()
        s.add(Authorisation(holder_id=holder.id, issued_by="burmistrz", issued_at=now,
                            sources=["cam-hol", "centrala"], source_kinds=[],
                            actions=["playback", "listening", "export"],
                            valid_from=now - timedelta(days=1),
                            valid_to=now + timedelta(days=30)))
    c = signed_in(m.vault, "sekretarz")
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
    dash = c.get("/").text
    assert "nadzorujący" in dash
    today = office_today().isoformat()
    for kind in ("disclosures", "copies", "actions"):
        r = c.get(f"/registers/{kind}.csv?start={today}&end={today}")
        assert r.status_code == 200, (kind, r.text[:300])
    assert c.get("/access-log?format=csv").status_code == 200
    before = snapshot(m.vault)
    with m.vault.reading() as s:
        entries = s.execute(select(AccessEntry)).all()
    assert entries == []
    # opening material: refused for the role, on record; no bytes
    csrf = csrf_of(m.vault, c)
    r = c.post("/media/start", data={"csrf": csrf, **_form(m, "user:zastepca")})
    assert r.status_code == 403 and "Twoja rola nie pozwala na czynność" in r.text
    r = c.post("/media/start", data={"csrf": csrf, "action": "export", "copy": m.copy_number,
                                     "purpose": "kontrola"})
    assert r.status_code == 403
    # a viewing session's token that reached them (made here as if it had) serves nothing
    import secrets

    from kustosz.access.records import digest
    from kustosz.db.models import Source

    token = secrets.token_urlsafe(16)
    with m.vault.transaction() as s:
        holder = s.execute(select(User).where(User.name == "sekretarz")).scalar_one()
        cam = s.execute(select(Source).where(Source.name == "cam-hol")).scalar_one()
        s.add(ViewingSession(token_hash=digest(token), user_id=holder.id,
                             user_name="sekretarz", action="playback", source_id=cam.id,
                             window_start=m.window[0], window_end=m.window[1],
                             purpose="nadzór", case_ref="N.1", client="127.0.0.1",
                             started_at=now, last_at=now, served=0, bytes_served=0))
    for path in ("vod.m3u8", f"segment/{m.old[0].id}.ts"):
        r = c.get(f"/media/{token}/{path}")
        assert r.status_code == 403 and r.json()["reason"] == "role", r.text
    with m.vault.transaction() as s:
        s.query(ViewingSession).delete()
    # and nothing that changes custody or people
    for path, data in (("/admin/users", {"name": "x", "display_name": "X", "roles": "viewer"}),
                       ("/requests", {"kind": "authority"})):
        r = c.post(path, data={"csrf": csrf, **data})
        assert r.status_code == 403, (path, r.status_code)
    with m.vault.reading() as s:
        assert s.execute(select(AccessEntry)).all() == []
        assert s.execute(select(ViewingSession)).all() == []
    after = snapshot(m.vault)
    # only the refusals' audit entries were added
    assert {k: v for k, v in after["tables"].items() if k != "audit_log"} == \
        {k: v for k, v in before["tables"].items() if k != "audit_log"}
    assert after["files"] == before["files"]


def test_the_supervisor_role_is_given_by_the_cli(sqlite_vault: Vault, cli: Cli) -> None:
    out = cli("users", "add", "sekretarz", "--display", "Maria Wójcik", "--role",
              "supervisor", "--title", "Sekretarz Miasta")
    assert out.exit_code == 0, out.output
    with sqlite_vault.reading() as s:
        u = s.execute(select(User).where(User.name == "sekretarz")).scalar_one()
        assert (u.roles, printed(s, "sekretarz")) == (["supervisor"],
                                                       "Maria Wójcik, Sekretarz Miasta")
    out = cli("users", "add", "x", "--display", "X", "--role", "nadzorca", ok=False)
    assert out.exit_code != 0 and "supervisor" in out.output
