"""Issue 13 items 7-10, in the domain (SQLite and PostgreSQL): Miedziana Góra's list of positions
(003 §3 ust. 4), Bolesławiec's listening purposes (001 §1 ust. 2, §3 ust. 1), Pleszew's
destruction commission appointed by the Burmistrz (002 zał. 5 §8 ust. 2), Wałbrzych's
maintenance contractors under a processing agreement (004 §6 ust. 3). Each bad input is
refused with a clear error and changes nothing."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from custody_helpers import people, record, setup_camera
from pypdf import PdfReader
from tests.conftest import Cli, make_vault, snapshot
from tests.office_day import office_today

from kustosz.access import accounts, contractors, listening, records, tokens
from kustosz.access.authorisations import active_for, issue
from kustosz.access.users import add_user, get_user, set_position
from kustosz.custody import commission
from kustosz.custody.copies import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.destruction import confirm, protocol_data
from kustosz.custody.papers import authorisation_doc_data as document_data
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.db.custody import Copy
from kustosz.db.models import Source
from kustosz.documents import render
from kustosz.errors import FieldError
from kustosz.vault import Vault

NOW = datetime.now(UTC)


def _pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


@pytest.fixture
def gmina(tmp_path: Path, backend_url: str) -> Vault:
    """Miedziana Góra: a camera, the Wójt (approver), the Sekretarz Gminy and a referent."""
    v = make_vault(tmp_path / "mg", "miedziana-gora", url=backend_url)
    setup_camera(v)
    with v.transaction() as s:
        add_user(s, "wojt", "Jan Kowalski", ["approver"], "test", title="Wójt Gminy",
                 position="Wójt Gminy")
        add_user(s, "sekretarz", "Ewa Sekretarska", ["viewer"], "test",
                 title="Sekretarz Gminy Miedziana Góra", position="Sekretarz Gminy")
        add_user(s, "referent", "Adam Nowak", ["viewer"], "test", title="referent ds. kadr",
                 position="referent")
        add_user(s, "bez", "Ola Bez", ["viewer"], "test")
    return v


def _issue(vault: Vault, holder: str, by: str = "wojt", actions: list[str] | None = None,
           kinds: list[str] | None = None, sources: list[str] | None = None,
           until: datetime | None = None) -> int:
    with vault.transaction() as s:
        a = issue(s, holder=holder, actions=actions or ["playback"],
                  sources=sources if sources is not None else ["cam-hol"],
                  source_kinds=kinds or [], valid_from=NOW - timedelta(hours=1),
                  valid_to=until or NOW + timedelta(days=30), by=by, actor=by,
                  policy=vault.policy)
        return a.id


# -- item 7: positions [003 §3.4] ---------------------------------------------------------------
def test_003_3_4_an_unlisted_position_gets_no_authorisation(gmina: Vault) -> None:
    before = snapshot(gmina)
    for holder, said in (("referent", "zajmuje stanowisko: referent"),
                         ("bez", "nie ma wpisanego stanowiska")):
        with pytest.raises(FieldError) as err:
            _issue(gmina, holder)
        assert err.value.field == "holder" and said in err.value.pl
        assert "Wójt Gminy, Zastępca Wójta, Sekretarz Gminy, informatyk" in err.value.pl
    assert snapshot(gmina) == before


def test_003_3_4_an_authorisation_stops_when_the_position_changes(gmina: Vault) -> None:
    aid = _issue(gmina, "sekretarz")
    with gmina.reading() as s:
        cam = s.query(Source).filter_by(name="cam-hol").one()
        assert active_for(s, get_user(s, "sekretarz"), "playback", [cam]).id == aid
    with gmina.transaction() as s:
        set_position(s, "sekretarz", "referent", "admin")
    with gmina.transaction() as s:
        user = get_user(s, "sekretarz")
        cam = s.query(Source).filter_by(name="cam-hol").one()
        assert active_for(s, user, "playback", [cam]) is None
        refused = records.try_open(s, user=user, action="playback", client="127.0.0.1",
                                   purpose="kontrola", case_ref="OR.1", witness="wojt",
                                   source=cam, window=(NOW - timedelta(hours=2), NOW))
    assert isinstance(refused, records.Refused)
    assert refused.code is records.Reason.POSITION_NOT_LISTED
    said = refused.said(gmina.policy.timezone)
    assert said.startswith(f"Twoje upoważnienie nr {aid} wydano na stanowisku: Sekretarz "
                           "Gminy, a zajmujesz teraz stanowisko: referent.")
    # back in the listed position, the same authorisation opens again
    with gmina.transaction() as s:
        set_position(s, "sekretarz", "Sekretarz Gminy", "admin")
    with gmina.reading() as s:
        cam = s.query(Source).filter_by(name="cam-hol").one()
        assert active_for(s, get_user(s, "sekretarz"), "playback", [cam]).id == aid


def test_an_office_without_a_list_authorises_any_position(vault: Vault) -> None:
    """Pleszew's regulation lists no positions (002 zał.5 §4.2: the head's authorisation)."""
    people(vault)
    setup_camera(vault)
    with vault.transaction() as s:
        add_user(s, "referent", "Adam Nowak", ["viewer"], "test", position="referent")
    _issue(vault, "referent", by="burmistrz")


# -- item 8: listening purposes [001 §1.2, §3.1] ------------------------------------------------
def test_001_3_1_listening_purpose_is_one_of_the_list(tmp_path: Path) -> None:
    v = make_vault(tmp_path / "b", "boleslawiec")
    with pytest.raises(FieldError) as err:
        listening.check_purpose(v.policy, "listening", "ciekawość")
    assert err.value.field == "purpose" and "zapewnienie bezpieczeństwa informacji" in err.value.pl
    listening.check_purpose(v.policy, "listening", "zapewnienie bezpieczeństwa informacji")
    listening.check_purpose(v.policy, "playback", "dowolny cel")  # only listening is listed
    assert v.policy.access.listening_protocol  # §3.3


# -- item 9: the commission appointed by the head [002 zał.5 §8.2] -------------------------------
def _copy(vault: Vault, tmp: Path) -> str:
    tz = vault.policy.timezone
    day = datetime.now(UTC).astimezone(tz).date() - timedelta(days=2)
    event = datetime.combine(day, time(12, 0), tzinfo=tz)
    record(vault, "cam-hol", event - timedelta(seconds=4), 3, tmp / "segs")
    with vault.transaction() as s:
        rid = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="video", requester="Komenda Powiatowa Policji",
            received_on=day, event_date=day, purpose="postępowanie", approx_time="12:00",
            place="Ratusz/hol parter", margin_minutes=1, description="bójka"), "test").id
    with vault.transaction() as s:
        decide(s, vault.policy, rid, by="burmistrz", agree=True, on=office_today(), actor="t",
               keyed_by="burmistrz")
    return make_copy(vault, rid, by="informatyk", actor="t").number


@pytest.fixture
def pleszew(vault: Vault) -> Vault:
    people(vault)  # appoints komisja1 and komisja2 (order 1/2020)
    setup_camera(vault)
    with vault.transaction() as s:
        add_user(s, "komisja3", "Irena Trzecia", ["commission"], "test")
    return vault


def test_002_zal5_8_2_a_member_not_appointed_cannot_confirm(pleszew: Vault,
                                                            tmp_path: Path) -> None:
    number = _copy(pleszew, tmp_path)
    before = snapshot(pleszew)
    with pytest.raises(FieldError) as err:
        confirm(pleszew, number, "komisja3", "t", reason="sprawa zakończona")
    assert err.value.field == "by"
    assert "do komisji niszczącej nie jest wyznaczona osoba" in (err.value.pl or "")
    assert "zarządzeniem Burmistrza Miasta i Gminy Pleszew" in (err.value.pl or "")
    assert snapshot(pleszew) == before
    # an appointment that ended yesterday no longer counts
    today = datetime.now(UTC).astimezone(pleszew.policy.timezone).date()
    with pleszew.transaction() as s:
        row = commission.current(s, "komisja2", today)
        assert row is not None
        commission.end(s, row.id, today - timedelta(days=1), "burmistrz")
    before = snapshot(pleszew)
    with pytest.raises(FieldError):
        confirm(pleszew, number, "komisja2", "t", reason="sprawa zakończona")
    assert snapshot(pleszew) == before
    # the Burmistrz appoints komisja3; two appointed members destroy the copy
    with pleszew.transaction() as s:
        commission.appoint(s, member="komisja3", order_ref="12/2026",
                           appointed_on=today, approver="burmistrz", actor="burmistrz")
    confirm(pleszew, number, "komisja1", "t", reason="sprawa zakończona")
    _d, done = confirm(pleszew, number, "komisja3", "t")
    assert done
    with pleszew.reading() as s:
        data = protocol_data(s, pleszew.policy, s.query(Copy).one())
    assert data["appointment"] == ("zarządzenie nr 1/2020 z dnia 02.01.2020; zarządzenie nr "
                                   f"12/2026 z dnia {today:%d.%m.%Y}")
    text = _pdf_text(render("destruction-protocol", data, data_root=pleszew.root))
    assert "wyznaczona przez Burmistrza Miasta i Gminy Pleszew (zarządzenie nr 1/2020 z dnia " \
           "02.01.2020;" in text


def test_002_zal5_8_2_only_the_head_appoints(pleszew: Vault) -> None:
    before = snapshot(pleszew)
    bad = [({"approver": "komisja1"}, "approver", "Komisję niszczącą wyznacza kierownik"),
           ({"approver": "nikt"}, "approver", "nie ma tej roli"),
           ({"order_ref": "  "}, "order_ref", "Podaj numer zarządzenia"),
           ({"member": "informatyk"}, "member", "nie ma potrzebnej roli: komisja"),
           ({"member": "nieznany"}, "member", "Nie ma użytkownika nieznany"),
           ({"appointed_on": None}, "appointed_on", "Podaj datę zarządzenia"),
           ({"ends_on": date(2019, 1, 1)}, "ends_on", "przed datą zarządzenia")]
    for change, field, said in bad:
        args = {"member": "komisja3", "order_ref": "7/2026", "appointed_on": date(2026, 3, 2),
                "approver": "burmistrz", "actor": "t", **change}
        with pleszew.transaction() as s, pytest.raises(FieldError) as err:
            commission.appoint(s, **args)
        assert err.value.field == field and said in err.value.pl, (change, err.value.pl)
    assert snapshot(pleszew) == before


# -- item 10: maintenance contractors [004 §6.3] -----------------------------------------------
@pytest.fixture
def mops(tmp_path: Path, backend_url: str) -> Vault:
    from custody_helpers import setup_phone

    v = make_vault(tmp_path / "mops", "walbrzych", url=backend_url)
    setup_phone(v, tmp_path / "pbx")
    with v.transaction() as s:
        add_user(s, "dyrektor", "Jan Dyrektor", ["approver"], "test")
    return v


def test_004_6_3_a_contractor_needs_a_current_agreement(mops: Vault) -> None:
    before = snapshot(mops)
    today = datetime.now(UTC).astimezone(mops.policy.timezone).date()
    for agreement, until, field, said in (
            (None, today + timedelta(days=30), "contractor_agreement", "umowy powierzenia"),
            ("  ", today + timedelta(days=30), "contractor_agreement", "podaj jej numer"),
            ("UP/3/2026", None, "contractor_until", "Podaj datę"),
            ("UP/3/2026", today - timedelta(days=1), "contractor_until", "już wygasła")):
        with mops.transaction() as s, pytest.raises(FieldError) as err:
            add_user(s, "serwis", "Firma Serwis", ["viewer"], "test", contractor=True,
                     contractor_agreement=agreement, contractor_until=until)
        assert err.value.field == field and said in err.value.pl
    assert snapshot(mops) == before


def test_004_6_3_access_ends_with_the_agreement(mops: Vault) -> None:
    tz = mops.policy.timezone
    until = datetime.now(UTC).astimezone(tz).date() + timedelta(days=10)
    with mops.transaction() as s:
        u = add_user(s, "serwis", "Piotr Serwisant", ["viewer"], "test", contractor=True,
                     contractor_agreement="UP/3/2026", contractor_until=until)
        accounts.set_password(s, u, "Bardzo-tajne-hasło-1", "test")
    with mops.transaction() as s:
        token, _row = tokens.create(s, get_user(s, "serwis"), "skrypt", ["read"], 90,
                                    ("read",))
        web, _ws = accounts.start_session(s, get_user(s, "serwis"), "127.0.0.1")
    # an authorisation no longer than the agreement
    before = snapshot(mops)
    with pytest.raises(FieldError) as err:
        _issue(mops, "serwis", by="dyrektor", actions=["listening"], kinds=["phone"],
               sources=[], until=NOW + timedelta(days=40))
    assert err.value.field == "valid_to" and "UP/3/2026" in err.value.pl
    assert snapshot(mops) == before
    aid = _issue(mops, "serwis", by="dyrektor", actions=["listening"], kinds=["phone"],
                 sources=[], until=NOW + timedelta(days=5))
    with mops.transaction() as s:
        assert accounts.authenticate(s, "serwis", "Bardzo-tajne-hasło-1", "127.0.0.1").user
        assert tokens.resolve(s, token) is not None
        data = document_data(s, mops.policy, s.get(records.Authorisation, aid))
    assert data["contractor"] == {"agreement": "UP/3/2026", "until": f"{until:%d.%m.%Y}"}
    text = _pdf_text(render("authorisation", data, data_root=mops.root))
    assert "umowy powierzenia przetwarzania danych osobowych nr UP/3/2026" in text
    assert "ustania stosunku pracy" not in text
    # the day after its last day: nothing proves the contractor any more
    after = datetime.combine(until + timedelta(days=1), time(9), tzinfo=tz)
    with mops.transaction() as s:
        result = accounts.authenticate(s, "serwis", "Bardzo-tajne-hasło-1", "127.0.0.1",
                                       now=after)
        assert result.user is None and "Umowa powierzenia nr UP/3/2026" in str(result.error)
        assert accounts.session_for(s, web, after) is None
        assert tokens.resolve(s, token, after) is None
        user = get_user(s, "serwis")
        phone = s.query(Source).filter_by(kind="phone").first()
        assert active_for(s, user, "listening", [phone], after) is None
        refused = records.why_not(s, user, "listening", [phone], after)
    assert refused.code is records.Reason.AGREEMENT_ENDED
    assert "UP/3/2026" in refused.said(tz) and until.strftime("%d.%m.%Y") in refused.said(tz)
    assert contractors.ended(user, after) and not contractors.ended(user, NOW)


def test_004_6_3_renewing_an_agreement_in_the_past_is_refused(mops: Vault) -> None:
    today = datetime.now(UTC).astimezone(mops.policy.timezone).date()
    with mops.transaction() as s:
        add_user(s, "serwis", "Piotr Serwisant", ["viewer"], "test",
                 contractor_agreement="UP/3/2026", contractor_until=today)
    before = snapshot(mops)
    with mops.transaction() as s, pytest.raises(FieldError) as err:
        contractors.set_agreement(s, get_user(s, "serwis"), "UP/4/2026",
                                  today - timedelta(days=3), "admin")
    assert err.value.field == "contractor_until"
    assert snapshot(mops) == before


def test_the_command_line_keeps_the_same_rules(cli: Cli) -> None:
    """`commission appoint` by someone who is not the head (002 zał.5 §8.2), `users contractor`
    with an agreement already over (004 §6.3), `users position` off the list (003 §3.4): each
    refused in Polish, nothing changed."""
    cli("init", "--preset", "miedziana-gora")
    cli("users", "add", "ewa", "--display", "Ewa S", "--role", "viewer", "--role",
        "commission", "--position", "Sekretarz Gminy")
    cli("users", "add", "serwis", "--display", "Serwis", "--role", "viewer",
        "--contractor-agreement", "UP/1/2026", "--contractor-until", "2099-12-31")
    vault = Vault.open(cli.data)
    before = snapshot(vault)
    bad = cli("commission", "appoint", "ewa", "--order", "1/2026", "--date", "2026-01-02",
              "--by", "ewa", ok=False)
    assert bad.exit_code == 2 and "Komisję niszczącą wyznacza kierownik jednostki" in bad.output
    bad = cli("users", "contractor", "serwis", "--agreement", "UP/2/2026", "--until",
              "2020-01-01", ok=False)
    assert bad.exit_code == 2 and "już wygasła" in bad.output
    bad = cli("users", "add", "firma", "--display", "Firma", "--role", "viewer",
              "--contractor-until", "2099-01-01", ok=False)
    assert bad.exit_code == 2 and "umowy powierzenia" in bad.output
    bad = cli("users", "position", "ewa", "referent", ok=False)
    assert bad.exit_code == 2 and "referent" in bad.output
    assert snapshot(vault) == before
    listed = json.loads(cli("users", "list", "--json").output)
    assert {u["name"]: (u["position"], u["contractor"]) for u in listed} == {
        "ewa": ("Sekretarz Gminy", None),
        "serwis": (None, {"agreement": "UP/1/2026", "until": "2099-12-31"})}
