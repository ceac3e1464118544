"""The administrator's and the employees' forms (issue 12 item 8): every error of a form at
once, each at its field (aria-invalid, aria-describedby, the message under the field), what
was typed kept (never a password), required fields marked; an allow-list that leaves out the
saver's own computer warns before it is saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import snapshot
from tests.custody.custody_helpers import people
from web_helpers import PASSWORD, STRANGER, authorise, client, csrf_in, session_for, user

from kustosz.access import allowlist
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault


class _Elements(HTMLParser):
    """Every element with an id: its tag, attributes and own text."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.by_id[str(found["id"])] = {"tag": tag, **found}
            self.text[str(found["id"])] = ""
            if tag not in ("input",):
                self._open.append(str(found["id"]))
        elif tag not in ("input", "br", "meta", "link") and self._open:
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for key in self._open:
            if key:
                self.text[key] += data


def elements(html: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(html)
    return parsed


def assert_at_field(html: str, field: str, message: str) -> None:
    """The message is under the field, and the field points at it and is marked invalid."""
    page = elements(html)
    assert f"err-{field}" in page.by_id, f"no error under {field}"
    assert message in page.text[f"err-{field}"], (field, page.text[f"err-{field}"])
    control = page.by_id[f"f-{field}"]
    assert f"err-{field}" in (control.get("aria-describedby") or "").split(), control
    if control["tag"] != "fieldset":  # a group's checkboxes carry aria-invalid
        assert control.get("aria-invalid") == "true", control


def assert_no_error(html: str, field: str) -> None:
    assert f"err-{field}" not in elements(html).by_id, field


def admin_client(vault: Vault, name: str = "admin",
                 address: tuple[str, int] = ("127.0.0.1", 50000)) -> tuple[TestClient, str]:
    user(vault, name, ["administrator"])
    c = client(vault, address)
    return c, session_for(vault, c, name)


def audit_actions(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


# -- users ------------------------------------------------------------------------------------
def test_new_user_form_names_every_bad_field_at_once_and_keeps_what_was_typed(
        sqlite_vault: Vault) -> None:
    c, csrf = admin_client(sqlite_vault)
    before = snapshot(sqlite_vault)
    r = c.post("/admin/users", data={"csrf": csrf, "name": "Jan Kowalski", "display_name": " ",
                                     "title": "inspektor <b>ds.</b> IT"})
    assert r.status_code == 422
    assert_at_field(r.text, "name", "Login „Jan Kowalski” może mieć 1–100 znaków")
    assert_at_field(r.text, "display_name", "Podaj imię i nazwisko")
    assert_at_field(r.text, "roles", "Wybierz co najmniej jedną rolę.")
    page = elements(r.text)
    assert page.by_id["f-name"]["value"] == "Jan Kowalski"
    assert page.by_id["f-title"]["value"] == "inspektor <b>ds.</b> IT"
    assert "&lt;b&gt;ds.&lt;/b&gt;" in r.text  # kept, and escaped
    assert snapshot(sqlite_vault) == before


def test_new_user_refusals_from_the_domain_are_at_their_fields(sqlite_vault: Vault) -> None:
    c, csrf = admin_client(sqlite_vault)
    user(sqlite_vault, "ania", ["viewer"])
    before = snapshot(sqlite_vault)
    r = c.post("/admin/users", data={"csrf": csrf, "name": "ania", "display_name": "Anna Nowak",
                                     "roles": ["viewer", "krol"]})
    assert r.status_code == 422
    assert_at_field(r.text, "name", "Użytkownik o loginie ania już istnieje.")
    assert_at_field(r.text, "roles", "Nieznana rola „krol”")
    assert_no_error(r.text, "display_name")
    page = elements(r.text)
    assert page.by_id["f-display_name"]["value"] == "Anna Nowak"
    assert 'value="viewer" checked' in r.text  # the role ticked stays ticked
    assert snapshot(sqlite_vault) == before
    # and a good one is added, with its one-time password shown once
    r = c.post("/admin/users", data={"csrf": csrf, "name": "jan.kowalski",
                                     "display_name": "Jan Kowalski", "roles": ["viewer"]})
    assert r.status_code == 200 and "hasło jednorazowe" in r.text
    assert "user.add" in audit_actions(sqlite_vault)


def test_a_refused_role_change_is_shown_in_its_row_with_the_roles_asked_for(
        sqlite_vault: Vault) -> None:
    c, csrf = admin_client(sqlite_vault)
    user(sqlite_vault, "ania", ["viewer"])
    before = snapshot(sqlite_vault)
    r = c.post("/admin/users/admin/roles", data={"csrf": csrf,
                                                 "roles": ["administrator", "approver"]})
    assert r.status_code == 409
    assert_at_field(r.text, "roles-admin", "Nikt nie zmienia własnych ról")
    assert_no_error(r.text, "roles-ania")
    # the row's roles are the ones asked for, its "change roles" opened
    row = r.text.split('action="/admin/users/admin/roles"')[1].split("</form>")[0]
    assert 'value="approver" checked' in row and 'value="administrator" checked' in row
    assert '<details open><summary>Zmień role</summary><form method="post" ' \
           'action="/admin/users/admin/roles"' in r.text
    r = c.post("/admin/users/ania/roles", data={"csrf": csrf})
    assert r.status_code == 409
    assert_at_field(r.text, "roles-ania", "Wybierz co najmniej jedną rolę.")
    assert snapshot(sqlite_vault) == before


def test_refused_account_changes_are_shown_in_their_row(sqlite_vault: Vault) -> None:
    c, csrf = admin_client(sqlite_vault)
    user(sqlite_vault, "ania", ["viewer"])
    before = snapshot(sqlite_vault)
    r = c.post("/admin/users/admin/disable", data={"csrf": csrf})
    assert r.status_code == 409
    page = elements(r.text)
    assert "jedynym aktywnym administratorem" in page.text["err-account-admin"]
    assert "err-account-ania" not in page.by_id
    r = c.post("/admin/users/ania/enable", data={"csrf": csrf})
    assert r.status_code == 409
    assert "Konto ania jest już włączone." in elements(r.text).text["err-account-ania"]
    r = c.post("/admin/users/nikt/disable", data={"csrf": csrf})
    assert r.status_code == 404 and "Nie ma użytkownika nikt." in r.text
    assert snapshot(sqlite_vault) == before


# -- required fields are marked ---------------------------------------------------------------
REQUIRED = {  # page → (who, the controls with the `required` attribute, the marked groups)
    "/admin/users": ("admin", ["f-name", "f-display_name"], ["f-roles"]),
    "/admin/settings": ("admin", ["f-allowlist"], []),
    "/authorisations": ("burmistrz", ["f-holder", "f-valid_from", "f-valid_to"],
                        ["f-actions"]),
    "/employees": ("informatyk", ["f-full_name", "f-starts_on", "f-file", "f-version"], []),
    "/account/tokens": ("admin", ["f-name", "f-days"], ["f-scopes"]),
    "/account/password": ("admin", ["f-current", "f-new", "f-again"], []),
    "/account/totp": ("admin", ["f-password", "f-code"], []),
    "/login": (None, ["f-username", "f-password"], []),
}


@pytest.mark.parametrize("url", list(REQUIRED))
def test_required_fields_carry_the_attribute_the_mark_and_the_legend(
        sqlite_vault: Vault, url: str) -> None:
    people(sqlite_vault)  # burmistrz (approver), informatyk (custodian)
    who, controls, groups = REQUIRED[url]
    c, _ = admin_client(sqlite_vault)
    if who is None:
        c = client(sqlite_vault)
    elif who != "admin":
        session_for(sqlite_vault, c, who)
    r = c.get(url)
    assert r.status_code == 200, r.text
    assert '<p class="hint req-legend"><span class="req">*</span> pole wymagane</p>' in r.text
    page = elements(r.text)
    for fid in controls:
        assert "required" in page.by_id[fid], (url, fid)
        label = r.text.split(f'<label for="{fid}">')[1].split("</label>")[0]
        assert '<span class="req" title="pole wymagane">*</span>' in label, (url, fid)
    for fid in groups:
        legend = r.text.split(f'id="{fid}"')[1].split("</legend>")[0]
        assert '<span class="req" title="pole wymagane">*</span>' in legend, (url, fid)
    # optional fields are not marked
    for optional in ("f-title", "f-basis", "f-position", "f-unit", "f-external_id"):
        if optional in page.by_id:
            assert "required" not in page.by_id[optional], (url, optional)


# -- the allow-list ---------------------------------------------------------------------------
def test_an_allowlist_without_ones_own_computer_warns_first_then_saves_on_confirmation(
        vault: Vault) -> None:
    c, csrf = admin_client(vault)  # at 127.0.0.1, on the default list
    before = snapshot(vault)
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.5.0/24, 10.0.6.7"})
    assert r.status_code == 409
    assert_at_field(r.text, "allowlist", "Twój komputer (adres 127.0.0.1) nie będzie na liście "
                                         "— po zapisaniu stracisz dostęp do nagrań z tego "
                                         "stanowiska")
    assert elements(r.text).text["f-allowlist"] == "10.0.5.0/24, 10.0.6.7"  # as typed
    assert '<button class="danger" name="confirm" value="10.0.5.0/24 10.0.6.7/32"' in r.text
    assert "Zapisz mimo to" in r.text
    assert snapshot(vault) == before  # nothing saved, nothing audited
    # "Zapisz" again (without the confirmation): the same warning, still nothing saved
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.5.0/24 10.0.6.7"})
    assert r.status_code == 409 and "Zapisz mimo to" in r.text
    # a confirmation given for another list does not cover this one
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.9.0/24",
                                        "confirm": "10.0.5.0/24 10.0.6.7/32"})
    assert r.status_code == 409 and '"10.0.9.0/24"' in r.text
    assert snapshot(vault) == before
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.5.0/24, 10.0.6.7",
                                        "confirm": "10.0.5.0/24 10.0.6.7/32"})
    assert r.status_code == 303
    with vault.reading() as s:
        assert allowlist.current(s) == "10.0.5.0/24 10.0.6.7/32"
        assert not allowlist.allowed(s, "127.0.0.1")
    assert audit_actions(vault).count("settings.allowlist") == 1


def test_an_allowlist_that_keeps_ones_computer_saves_without_a_warning(sqlite_vault: Vault
                                                                       ) -> None:
    c, csrf = admin_client(sqlite_vault)
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.5.0/24 127.0.0.0/8"})
    assert r.status_code == 303
    with sqlite_vault.reading() as s:
        assert allowlist.current(s) == "10.0.5.0/24 127.0.0.0/8"


def test_no_warning_for_a_computer_that_was_not_on_the_list(sqlite_vault: Vault) -> None:
    """An administrator at a computer already outside the list loses nothing by saving."""
    c, csrf = admin_client(sqlite_vault, address=STRANGER)
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "10.0.5.0/24"})
    assert r.status_code == 303


@pytest.mark.parametrize("typed, named", [
    ("10.0.5.0/24 komputer-sekretariatu 10.0.0.300", ["komputer-sekretariatu", "10.0.0.300"]),
    ("10.0.5.0/33", ["10.0.5.0/33"]),
    ("127.0.0.1, 192.168.1.1-192.168.1.9", ["192.168.1.1-192.168.1.9"]),
])
def test_an_invalid_allowlist_entry_is_named_and_nothing_is_saved(
        sqlite_vault: Vault, typed: str, named: list[str]) -> None:
    c, csrf = admin_client(sqlite_vault)
    before = snapshot(sqlite_vault)
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": typed})
    assert r.status_code == 422
    message = elements(r.text).text["err-allowlist"]
    for entry in named:
        assert entry in message and "nie jest adresem ani siecią IP" in message, message
    assert "Nic nie zapisano." in message
    assert_at_field(r.text, "allowlist", "nie jest adresem ani siecią IP")
    assert elements(r.text).text["f-allowlist"] == typed
    assert "Zapisz mimo to" not in r.text
    assert snapshot(sqlite_vault) == before


def test_an_empty_allowlist_is_refused(sqlite_vault: Vault) -> None:
    c, csrf = admin_client(sqlite_vault)
    before = snapshot(sqlite_vault)
    r = c.post("/admin/settings", data={"csrf": csrf, "allowlist": "  ,  "})
    assert r.status_code == 422
    assert_at_field(r.text, "allowlist", "Podaj co najmniej jeden adres lub sieć")
    assert snapshot(sqlite_vault) == before


# -- authorisations ---------------------------------------------------------------------------
def test_an_empty_authorisation_form_names_every_missing_field(sqlite_vault: Vault) -> None:
    people(sqlite_vault)
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "burmistrz")
    before = snapshot(sqlite_vault)
    r = c.post("/authorisations", data={"csrf": csrf, "basis": "pismo OR.0012.3.2026"})
    assert r.status_code == 422
    assert_at_field(r.text, "holder", "Wybierz osobę upoważnioną.")
    assert_at_field(r.text, "actions", "Wybierz co najmniej jedną czynność.")
    assert_at_field(r.text, "sources", "Wskaż źródła albo rodzaje źródeł.")
    assert_at_field(r.text, "valid_from", "To pole jest wymagane.")
    assert_at_field(r.text, "valid_to", "To pole jest wymagane.")
    assert elements(r.text).by_id["f-basis"]["value"] == "pismo OR.0012.3.2026"
    assert snapshot(sqlite_vault) == before


def test_authorisation_dates_in_the_wrong_order_and_a_domain_refusal(sqlite_vault: Vault
                                                                       ) -> None:
    people(sqlite_vault)
    user(sqlite_vault, "ochrona", ["operator"], password=None)
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "burmistrz")
    before = snapshot(sqlite_vault)
    form = {"csrf": csrf, "holder": "zastepca", "actions": ["playback"],
            "source_kinds": ["camera"], "valid_from": "2026-05-10T08:00",
            "valid_to": "2026-05-01T08:00"}
    r = c.post("/authorisations", data=form)
    assert r.status_code == 422
    assert_at_field(r.text, "valid_to", "Koniec obowiązywania musi być po jego początku.")
    page = elements(r.text)
    assert page.by_id["f-valid_from"]["value"] == "2026-05-10T08:00"
    assert 'value="zastepca" selected' in r.text and 'value="camera" checked' in r.text
    # the domain's own finding, at its field, in Polish
    r = c.post("/authorisations", data={**form, "holder": "ochrona",
                                        "valid_to": "2026-06-01T08:00"})
    assert r.status_code == 422
    assert_at_field(r.text, "actions", "nie pozwala upoważnić")
    assert snapshot(sqlite_vault) == before


def test_revoking_without_a_reason_is_refused_at_its_row(sqlite_vault: Vault) -> None:
    people(sqlite_vault)
    number = authorise(sqlite_vault, "zastepca", ["playback"], kinds=["camera"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "burmistrz")
    before = snapshot(sqlite_vault)
    r = c.post(f"/authorisations/{number}/revoke", data={"csrf": csrf, "reason": "   "})
    assert r.status_code == 422
    assert_at_field(r.text, f"reason-{number}", "Podaj powód odwołania.")
    assert "required" in elements(r.text).by_id[f"f-reason-{number}"]
    assert snapshot(sqlite_vault) == before


# -- employees --------------------------------------------------------------------------------
def _hr(vault: Vault) -> tuple[TestClient, str]:
    user(vault, "kadry", ["custodian"], password=None)
    c = client(vault)
    return c, session_for(vault, c, "kadry")


def test_the_employee_form_marks_each_bad_field(sqlite_vault: Vault) -> None:
    c, csrf = _hr(sqlite_vault)
    before = snapshot(sqlite_vault)
    r = c.post("/employees/add", data={"csrf": csrf, "full_name": "", "position": "referent",
                                       "unit": "u" * 201, "starts_on": "5 stycznia",
                                       "external_id": ""})
    assert r.status_code == 422
    assert_at_field(r.text, "full_name", "Podaj imię i nazwisko.")
    assert_at_field(r.text, "starts_on", "Podaj datę dopuszczenia do pracy")
    assert_at_field(r.text, "unit", "najwyżej 200 znaków (podano 201)")
    assert_no_error(r.text, "position")
    page = elements(r.text)
    assert page.by_id["f-position"]["value"] == "referent"
    assert page.by_id["f-starts_on"]["value"] == "5 stycznia"
    assert snapshot(sqlite_vault) == before


def test_bad_acknowledgment_dates_are_refused_in_their_row(sqlite_vault: Vault) -> None:
    c, csrf = _hr(sqlite_vault)
    r = c.post("/employees/add", data={"csrf": csrf, "full_name": "Anna Kowalczyk",
                                       "position": "", "unit": "", "starts_on": "2026-01-05",
                                       "external_id": ""})
    assert r.status_code == 303
    before = snapshot(sqlite_vault)
    r = c.post("/employees/1/acknowledge", data={"csrf": csrf, "on": "wczoraj"})
    assert r.status_code == 422
    assert_at_field(r.text, "on-1", "Podaj datę oświadczenia")
    assert elements(r.text).by_id["f-on-1"]["value"] == "wczoraj"
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    r = c.post("/employees/1/acknowledge", data={"csrf": csrf, "on": tomorrow})
    assert r.status_code == 422
    assert_at_field(r.text, "on-1", "Data oświadczenia jest w przyszłości.")
    assert snapshot(sqlite_vault) == before


def test_bad_import_and_version_are_refused_at_their_fields(sqlite_vault: Vault) -> None:
    c, csrf = _hr(sqlite_vault)
    before = snapshot(sqlite_vault)
    r = c.post("/employees/import", data={"csrf": csrf},
               files={"file": ("p.csv", b"nazwisko;data\nAnna;2026-01-05\n",
                               "text/csv")})
    assert r.status_code == 422
    assert_at_field(r.text, "file", "Plik CSV musi mieć nagłówek: imie_nazwisko;")
    r = c.post("/employees/version", data={"csrf": csrf, "version": "v" * 41})
    assert r.status_code == 422
    assert_at_field(r.text, "version", "Podaj oznaczenie wersji informacji (do 40 znaków).")
    assert elements(r.text).by_id["f-version"]["value"] == "v" * 41
    assert snapshot(sqlite_vault) == before


# -- login, password, second factor, tokens ---------------------------------------------------
def test_an_empty_login_names_both_fields_and_counts_no_failure(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    before = snapshot(sqlite_vault)
    page = c.get("/login")
    r = c.post("/login", data={"username": "", "password": "", "csrf": csrf_in(page.text),
                               "next": "/"})
    assert r.status_code == 401
    assert_at_field(r.text, "username", "Podaj nazwę użytkownika.")
    assert_at_field(r.text, "password", "Podaj hasło.")
    r = c.post("/login", data={"username": "ania", "password": "", "csrf": csrf_in(page.text),
                               "next": "/"})
    assert r.status_code == 401
    assert elements(r.text).by_id["f-username"]["value"] == "ania"
    assert_no_error(r.text, "username")
    assert_at_field(r.text, "password", "Podaj hasło.")
    assert snapshot(sqlite_vault) == before  # nothing checked, nothing counted or audited


def test_a_wrong_second_factor_is_shown_at_the_code(sqlite_vault: Vault) -> None:
    from kustosz.access import accounts
    from kustosz.db.custody import User

    user(sqlite_vault, "ania", ["viewer"])
    secret = pyotp.random_base32()
    with sqlite_vault.transaction() as s:
        u = s.execute(select(User).where(User.name == "ania")).scalar_one()
        accounts.account_of(s, u).totp_secret = secret
    c = client(sqlite_vault)
    page = c.get("/login")
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    r = c.post("/login", data={"username": "ania", "password": PASSWORD, "totp": wrong,
                               "csrf": csrf_in(page.text), "next": "/"})
    assert r.status_code == 401
    assert_at_field(r.text, "totp", "Nieprawidłowy lub już użyty kod jednorazowy.")
    assert PASSWORD not in r.text and wrong not in r.text  # nothing secret sent back


def test_the_password_form_names_every_problem_and_sends_no_password_back(
        sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    before = snapshot(sqlite_vault)
    r = c.post("/account/password", data={"csrf": csrf, "current": "zle-haslo-123",
                                          "new": "krotkie", "again": "inne-krotkie"})
    assert r.status_code == 422
    assert_at_field(r.text, "current", "Obecne hasło jest nieprawidłowe.")
    assert_at_field(r.text, "new", "co najmniej 12 znaków")
    assert_at_field(r.text, "again", "Hasła się różnią.")
    for typed in ("zle-haslo-123", "krotkie", "inne-krotkie"):
        assert typed not in r.text
    r = c.post("/account/password", data={"csrf": csrf, "current": "", "new": "",
                                          "again": ""})
    assert r.status_code == 422
    assert_at_field(r.text, "current", "Podaj obecne hasło.")
    assert_at_field(r.text, "new", "Podaj nowe hasło.")
    assert_at_field(r.text, "again", "Powtórz nowe hasło.")
    assert snapshot(sqlite_vault)["tables"]["access_accounts"] == \
        before["tables"]["access_accounts"]


def test_the_second_factor_form_names_both_problems(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    r = c.post("/account/totp", data={"csrf": csrf, "secret": pyotp.random_base32(),
                                      "password": "zgadywane-haslo", "code": ""})
    assert r.status_code == 422
    assert_at_field(r.text, "password", "Podaj swoje obecne hasło")
    assert_at_field(r.text, "code", "Przepisz kod pokazany przez aplikację.")
    assert "zgadywane-haslo" not in r.text


def test_the_token_form_names_every_bad_field_at_once(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "ania", ["viewer"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    before = snapshot(sqlite_vault)
    r = c.post("/account/tokens", data={"csrf": csrf, "name": " ", "days": "0"})
    assert r.status_code == 422
    assert_at_field(r.text, "name", "Podaj nazwę tokenu")
    assert_at_field(r.text, "scopes", "Wybierz co najmniej jeden zakres tokenu.")
    assert_at_field(r.text, "days", "od 1 do 730 dni")
    r = c.post("/account/tokens", data={"csrf": csrf, "name": "skrypt kopii",
                                        "scopes": ["read", "root"], "days": "dużo"})
    assert r.status_code == 422
    assert_at_field(r.text, "scopes", "Nieznany zakres „root”")
    assert_at_field(r.text, "days", "Podaj liczbę dni.")
    assert_no_error(r.text, "name")
    page = elements(r.text)
    assert page.by_id["f-name"]["value"] == "skrypt kopii"
    assert 'value="read" checked' in r.text
    assert snapshot(sqlite_vault) == before


def test_revoking_a_token_twice_is_refused_in_polish(sqlite_vault: Vault) -> None:
    from kustosz.access import tokens
    from kustosz.db.custody import User
    from kustosz.web.gate import SCOPES

    user(sqlite_vault, "ania", ["viewer"])
    with sqlite_vault.transaction() as s:
        u = s.execute(select(User).where(User.name == "ania")).scalar_one()
        _, row = tokens.create(s, u, "skrypt", ["read"], 30, SCOPES)
        token_id = row.id
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "ania")
    assert c.post(f"/account/tokens/{token_id}/revoke", data={"csrf": csrf}).status_code == 303
    r = c.post(f"/account/tokens/{token_id}/revoke", data={"csrf": csrf})
    assert r.status_code == 409
    error = r.text.split('id="error-summary"')[1].split("</div>")[0]  # focused (issue 50 M3)
    assert f"Token nr {token_id}" in error and "już unieważniony" in error
    r = c.post("/account/tokens/999/revoke", data={"csrf": csrf})
    assert r.status_code == 404 and "Nie ma tokenu nr 999." in r.text
    assert "already revoked" not in r.text and "no token" not in r.text


@pytest.mark.parametrize("typed, step", [("2026-03-02T14:05:33", "1"), ("2026-03-02T14:05", None)])
def test_a_time_to_the_second_can_be_sent_back(sqlite_vault: Vault, typed: str,
                                               step: str | None) -> None:
    """A start form reached from a link with seconds would fail the browser's default
    60-second step, and could not be sent at all: such a field steps by the second."""
    people(sqlite_vault)
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "burmistrz")
    r = c.get(f"/media/start?action=playback&source=cam-hol&from={typed}&to={typed}")
    assert r.status_code == 200, r.text
    found = elements(r.text).by_id["f-from"]
    assert found["value"] == typed and found.get("step") == step
