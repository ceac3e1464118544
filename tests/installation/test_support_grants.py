"""The installation's administrator is locked out of every office's material (issue 67 item 2):
in an installation the command line is theirs, and every command that is not the
infrastructure's — material, personal data, registers, the office's decisions — runs only
while the office's head grants support access on the office's own page, each run an entry of
the office's audit chain, each attempt without it refused in words and recorded too. The real
`kustosz` command on SQLite and PostgreSQL, and the real web server."""

from __future__ import annotations

import getpass
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, update
from tests.installation.install_helpers import Install, drop_office, installation
from tests.installation.web_install import csrf_in, login, served
from tests.web.web_helpers import user
from typer.testing import CliRunner

from kustosz.access import support
from kustosz.access.bootstrap import first_admin
from kustosz.cli import app
from kustosz.cli.commands import build, whole
from kustosz.cli.common import data_dir, fails_cleanly
from kustosz.cli.office_gate import INFRASTRUCTURE
from kustosz.db.access import Account, SupportGrant
from kustosz.db.custody import User
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

PERSON = "Żaneta Ćwiklińska 👩‍💼"
# What the installation's administrator might try on an office: its people, its requests and
# registers, its recordings' index, and taking over its administrator's account.
GATED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("users list", ()), ("requests list", ()), ("recordings list", ()), ("copies list", ()),
    ("holds list", ()), ("registers print", ("--kind", "copies", "--from", "2026-01-01",
                                             "--to", "2026-12-31", "--format", "csv")),
    ("users reset", ("admin",)))
NEVER_INFRASTRUCTURE = {
    "users list", "users reset", "users add", "users roles", "requests show", "requests list",
    "copies make", "copies list", "copies handover", "recordings list", "registers print",
    "calls show", "calls search", "mail bodies", "mail search", "events search",
    "report accountability", "holds list", "holds place", "tokens list", "documents render",
    "ingest file", "clock undo approve", "retention shorten approve", "bundle verify",
    "commission appoint"}


def _leaves() -> set[str]:
    found: set[str] = set()

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            found.add(" ".join(path))
            return
        for name, child in children.items():
            walk(child, [*path, name])

    walk(typer.main.get_command(whole()), [])
    return found


def _office(inst: Install, slug: str) -> Vault:
    return Vault.open(inst.root / "offices" / slug, actor="test")


def _entries(inst: Install, slug: str, *actions: str) -> list[tuple[str, dict[str, object]]]:
    """The office's audit entries of ``actions``: the action and its details, without who
    ran it (``_runners`` has that)."""
    return [(action, {k: v for k, v in details.items() if k not in {"os_user", "actor"}})
            for _who, action, details in _rows(inst, slug, *actions)]


def _rows(inst: Install, slug: str, *actions: str) -> list[tuple[str, str, dict[str, object]]]:
    vault = _office(inst, slug)
    try:
        with vault.reading() as s:
            rows = s.execute(select(AuditEntry).where(AuditEntry.action.in_(actions))
                             .order_by(AuditEntry.seq)).scalars()
            return [(r.actor, r.action, json.loads(r.details)) for r in rows]
    finally:
        vault.close()


def _with_person(inst: Install, slug: str) -> None:
    """The office's people: a custodian, and its first administrator as serve's first start
    makes it (the account the installation's administrator would like to take over)."""
    vault = _office(inst, slug)
    try:
        user(vault, "zaneta", ["custodian"], display=PERSON)
        first_admin(vault)
    finally:
        vault.close()


def _admin_password_hash(inst: Install, slug: str) -> tuple[object, ...]:
    vault = _office(inst, slug)
    try:
        with vault.reading() as s:
            row = s.execute(select(User.password_hash, Account.one_time)
                            .join(Account, Account.user_id == User.id, isouter=True)
                            .where(User.name == "admin")).one()
            return tuple(row)
    finally:
        vault.close()


def test_every_command_is_named_infrastructure_or_gated() -> None:
    leaves = _leaves()
    assert leaves >= INFRASTRUCTURE, sorted(INFRASTRUCTURE - leaves)  # a name that is gone
    assert leaves >= NEVER_INFRASTRUCTURE, sorted(NEVER_INFRASTRUCTURE - leaves)
    assert not NEVER_INFRASTRUCTURE & INFRASTRUCTURE


def test_a_command_added_later_is_gated_before_anyone_names_it(inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    program = build(("admin",))
    opened: list[Path] = []

    @program.command("nowe-polecenie")
    @fails_cleanly
    def _new() -> None:  # a later version's command that reads the office
        opened.append(data_dir())

    where = ["--data", str(inst.root), "--office", office]
    result = CliRunner().invoke(program, [*where, "nowe-polecenie"],
                                env={"KUSTOSZ_ACTOR": "tester", "KUSTOSZ_OFFICE": None})
    assert result.exit_code == 2 and opened == [], result.output
    assert _entries(inst, office, support.REFUSED) == [
        (support.REFUSED, {"command": "nowe-polecenie"})]
    inst.grant(office)
    assert CliRunner().invoke(program, [*where, "nowe-polecenie"],
                              env={"KUSTOSZ_ACTOR": "tester"}).exit_code == 0
    assert opened == [inst.root / "offices" / office]


def test_the_installation_administrator_reaches_no_material_without_a_grant(
        inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    _with_person(inst, office)
    before = _admin_password_hash(inst, office)  # the first administrator's
    for command, extra in GATED:
        result = inst(*command.split(), *extra, office=office, ok=False)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.strip().splitlines()[0].startswith("błąd:")
        assert "Administrator instalacji może to zrobić tylko z dostępem serwisowym" in \
            result.output.replace("\n", " ")
        assert "support access" in result.output.replace("\n", " ")
        assert PERSON not in result.output and "Żaneta" not in result.output
    assert _admin_password_hash(inst, office) == before  # the office's admin not taken over
    refused = _entries(inst, office, support.REFUSED, support.USED)
    assert refused == [(support.REFUSED, {"command": c}) for c, _x in GATED]
    verified = inst("audit", "verify", office=office)  # infrastructure: no grant needed
    assert "audit log intact" in verified.output


def test_a_grant_lets_commands_through_and_each_is_recorded(inst: Install) -> None:
    inst.init()
    office = inst.add("urzad", grant=False)
    other = inst.add("mops", grant=False)
    _with_person(inst, office)
    grant = inst.grant(office, hours=2)
    listed = inst("users", "list", office=office)
    assert PERSON in listed.output
    inst("requests", "list", office=office)
    used = _entries(inst, office, support.USED, support.REFUSED)
    assert used == [(support.USED, {"grant": grant, "command": "users list"}),
                    (support.USED, {"grant": grant, "command": "requests list"})]
    # the grant is the office's: the other office is as locked as before
    assert inst("users", "list", office=other, ok=False).exit_code == 2
    assert _entries(inst, other, support.USED) == []
    assert "audit log intact" in inst("audit", "verify", office=office).output


def test_a_revoked_or_ended_grant_refuses_again(inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    first = inst.grant(office)
    vault = _office(inst, office)
    try:
        with vault.transaction() as s:
            support.revoke(s, first, "kierownik")
    finally:
        vault.close()
    assert inst("users", "list", office=office, ok=False).exit_code == 2
    second = inst.grant(office)
    assert inst("users", "list", office=office).exit_code == 0
    vault = _office(inst, office)
    try:  # its time run out (as the clock would take it there)
        with vault.transaction() as s:
            s.execute(update(SupportGrant).where(SupportGrant.id == second)
                      .values(until=datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        vault.close()
    assert inst("users", "list", office=office, ok=False).exit_code == 2
    actions = [a for a, _d in _entries(inst, office, support.GRANTED, support.REVOKED,
                                        support.USED, support.REFUSED)]
    assert actions == [support.GRANTED, support.REVOKED, support.REFUSED, support.GRANTED,
                       support.USED, support.REFUSED]


def test_infrastructure_commands_run_without_a_grant_and_record_nothing(inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    for args in (("sources", "list"), ("zones", "list"), ("cameras", "list"),
                 ("policy", "show"), ("audit", "verify")):
        assert inst(*args, office=office).exit_code == 0
    assert _entries(inst, office, support.USED, support.REFUSED) == []


def test_a_single_offices_vault_has_no_installation_administrator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with installation(tmp_path, "sqlite", monkeypatch) as inst:
        plain = tmp_path / "urzad"
        inst("init", "--preset-file", str(inst.preset()), root=plain)
        listed = inst("users", "list", root=plain)  # its command line is the office's own
        assert listed.exit_code == 0
        vault = Vault.open(plain, actor="test")
        try:
            with vault.reading() as s:
                assert s.execute(select(AuditEntry.seq).where(AuditEntry.action.in_(
                    (support.USED, support.REFUSED)))).first() is None
        finally:
            vault.close()


def test_the_office_by_another_name_is_still_the_office(inst: Install, tmp_path: Path) -> None:
    """A link to the office's folder, and on PostgreSQL a copy of it elsewhere (it opens the
    same office's schema), are refused as the office is; on SQLite a copy is a copy of the
    files, which whoever holds the server can read anyway (docs/operations/offices.md)."""
    inst.init()
    office = inst.add("mops", grant=False)
    _with_person(inst, office)
    link = tmp_path / "skrot-do-mops"
    link.symlink_to(inst.root / "offices" / office)
    names = [link]
    if inst.url:
        copy = tmp_path / "kopia-mops"
        shutil.copytree(inst.root / "offices" / office, copy, symlinks=True)
        names.append(copy)
    for name in names:
        refused = inst("users", "list", root=name, ok=False)
        assert refused.exit_code == 2 and PERSON not in refused.output, name
        assert "dostępem serwisowym" in " ".join(refused.output.split())


def test_an_offices_backup_is_never_restored_as_a_vault_of_its_own(inst: Install,
                                                                    tmp_path: Path) -> None:
    """The installation's administrator makes the backups: restored as a vault alone, an
    office's backup would be its material outside the gate. It is restored as an office
    (`offices restore`), where the gate holds, or not at all."""
    inst.init()
    office = inst.add("mops", grant=False)
    passphrase = tmp_path / "haslo-kopii"
    passphrase.write_text("Zażółć gęślą jaźń — kopia 🗝️", "utf-8")
    passphrase.chmod(0o600)
    backup = tmp_path / "kopia"
    inst("backup", "--to", str(backup), "--passphrase-file", str(passphrase), office=office)
    into = tmp_path / "osobny-skarbiec"
    refused = inst("restore", "--from", str(backup), "--passphrase-file", str(passphrase),
                   "--into", str(into), *(["--database", inst.url] if inst.url else []),
                   ok=False)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and f"To kopia urzędu „{office}”" in said
    assert "offices restore" in said and not into.exists()
    checked = inst("restore", "--from", str(backup), "--passphrase-file", str(passphrase),
                   "--check")
    assert checked.exit_code == 0  # checking it writes nothing and stays the infrastructure's


def _backup(inst: Install, tmp_path: Path, data: Path | None = None,
            office: str | None = None) -> tuple[Path, Path]:
    passphrase = tmp_path / "haslo-kopii"
    passphrase.write_text("Zażółć gęślą jaźń — kopia 🗝️", "utf-8")
    passphrase.chmod(0o600)
    backup = tmp_path / f"kopia-{uuid.uuid4().hex[:6]}"
    inst("backup", "--to", str(backup), "--passphrase-file", str(passphrase), office=office,
         root=data)
    return backup, passphrase


def test_a_backup_made_through_a_link_is_still_the_offices(inst: Install,
                                                           tmp_path: Path) -> None:
    """Found attacking the gate: a backup made through a link to the office's folder named
    no office in its manifest (the folder's path was asked), so `restore` made a vault of its
    own of it, outside the gate. The manifest now says what the office's database knows."""
    inst.init()
    office = inst.add("mops", grant=False)
    _with_person(inst, office)
    link = tmp_path / "skrot"
    link.symlink_to(inst.root / "offices" / office)
    backup, passphrase = _backup(inst, tmp_path, data=link)
    manifest = json.loads((backup / "kustosz-backup.json").read_text("utf-8"))
    assert manifest["installation"]["slug"] == office
    into = tmp_path / "osobny"
    refused = inst("restore", "--from", str(backup), "--passphrase-file", str(passphrase),
                   "--into", str(into), *(["--database", inst.url] if inst.url else []),
                   ok=False)
    assert refused.exit_code == 2 and not into.exists()


def test_another_file_pointing_at_the_offices_database_is_the_office(inst: Install,
                                                                      tmp_path: Path) -> None:
    """Found attacking the gate: a second folder whose kustosz.toml names the live office's
    database (on SQLite its file; on PostgreSQL its schema, the URL spelt `%3d`) was no office
    to a gate that read paths and URLs — and wrote into the office. The office is now what
    its database says it is (kustosz.office_identity)."""
    inst.init()
    office = inst.add("mops", grant=False)
    _with_person(inst, office)
    folder = inst.root / "offices" / office
    shadow = tmp_path / "cien"
    shadow.mkdir(mode=0o700)
    text = (folder / "kustosz.toml").read_text("utf-8")
    if inst.url:
        assert "search_path%3Doffice_" in text
        text = text.replace("search_path%3Doffice_", "search_path%3doffice_")
    else:
        assert 'database_url = ""' in text
        text = text.replace('database_url = ""',
                            f'database_url = "sqlite:///{folder / "kustosz.db"}"')
    (shadow / "kustosz.toml").write_text(text, "utf-8")
    (shadow / "keys").symlink_to(folder / "keys")
    for args in (("users", "list"), ("users", "add", "szpieg", "--display", "Szpieg 🕵️",
                                     "--role", "approver")):
        refused = inst(*args, root=shadow, ok=False)
        assert refused.exit_code == 2 and PERSON not in refused.output, refused.output
    vault = _office(inst, office)
    try:
        with vault.reading() as s:
            assert s.execute(select(User.id).where(User.name == "szpieg")).first() is None
    finally:
        vault.close()


def test_a_restored_office_brings_back_no_grant(inst: Install, tmp_path: Path) -> None:
    """A grant in force when the backup was made, revoked since, must not come back with the
    office restored into another installation (one its administrator made)."""
    inst.init()
    office = inst.add("mops", grant=False)
    inst.grant(office)
    backup, passphrase = _backup(inst, tmp_path, office=office)
    other = Install(tmp_path / "druga", inst.url, tmp_path)
    other.slugs = inst.slugs  # the same slug: dropped once, after this test
    other.init("Druga instalacja")
    if inst.url:
        drop_office(office)  # its role and schema are the server's: the restore makes them anew
    other("offices", "restore", office, "--from", str(backup), "--passphrase-file",
          str(passphrase))
    assert other("users", "list", office=office, ok=False).exit_code == 2
    assert [a for _w, a, _d in _rows(other, office, support.REVOKED)][-1:] == [support.REVOKED]


def test_a_sweep_dated_ahead_is_the_offices_decision(inst: Install) -> None:
    """Found attacking the gate: `retention run --now` in five years deleted an office's
    material early with no grant. Ahead of the clock it is the office's decision; a dry run
    and a sweep dated now stay the infrastructure's."""
    inst.init()
    office = inst.add("mops", grant=False)
    ahead = "2031-01-01T00:00:00+00:00"
    refused = inst("retention", "run", "--now", ahead, office=office, ok=False)
    assert refused.exit_code == 2 and "retention run --now" in refused.output
    assert inst("retention", "run", "--now", ahead, "--dry-run", office=office).exit_code == 0
    assert inst("retention", "run", office=office).exit_code == 0
    assert _entries(inst, office, support.REFUSED) == [
        (support.REFUSED, {"command": "retention run --now"})]


def test_the_record_names_the_systems_account_not_a_variable(inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    result = inst.runner.invoke(app, ["--data", str(inst.root), "--office", office, "users",
                                      "list"], env={"KUSTOSZ_ACTOR": "kierownik"})
    assert result.exit_code == 2
    [(who, _action, details)] = _rows(inst, office, support.REFUSED)
    assert who == f"cli:{getpass.getuser()}" and details["actor"] == "kierownik"


def test_a_serve_start_never_prints_a_password_for_an_office_with_people(inst: Install) -> None:
    """Found attacking the gate: an office left without an active administrator got a new
    one's password printed by the installation's `serve` — on the installation
    administrator's console. Only an office that never had a user gets one."""
    inst.init()
    office = inst.add("mops", grant=False)
    vault = _office(inst, office)
    try:
        user(vault, "kierownik", ["approver"], display="Kierownik Żaneta")
        assert first_admin(vault, new_only=True) is None
        assert first_admin(vault) is not None  # a vault alone: its own console, as before
    finally:
        vault.close()
    fresh = inst.add("szkola", grant=False)
    vault = _office(inst, fresh)
    try:
        assert first_admin(vault, new_only=True) is not None
    finally:
        vault.close()


def test_grants_are_bounded_and_one_at_a_time(inst: Install) -> None:
    inst.init()
    office = inst.add("mops", grant=False)
    vault = _office(inst, office)
    try:
        for reason, hours in (("", 2), ("   ", 2), ("x" * 501, 2), ("naprawa", 0),
                              ("naprawa", 73), ("naprawa", "dwie")):
            with pytest.raises(Exception) as refused, vault.transaction() as s:
                support.grant(s, "kierownik", reason, hours)
            assert getattr(refused.value, "pl", None), refused.value
        with vault.transaction() as s:
            support.grant(s, "kierownik", "Wymiana dysku 💾 — zgłoszenie ŻÓŁĆ-7", 4)
        with pytest.raises(Exception, match="in force already"), vault.transaction() as s:
            support.grant(s, "kierownik", "druga", 4)
        with vault.reading() as s:
            assert s.execute(select(SupportGrant.reason)).scalars().all() == [
                "Wymiana dysku 💾 — zgłoszenie ŻÓŁĆ-7"]
    finally:
        vault.close()


def test_the_head_grants_and_revokes_on_the_offices_page(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with installation(tmp_path, "sqlite", monkeypatch) as inst, served(inst) as web:
        for slug in (web.a, web.b):  # served() grants for its tests; these start without
            vault = web.vaults[slug]
            with vault.transaction() as s:
                current = support.in_force(s)
                assert current is not None
                support.revoke(s, current.id, "kierownik")
        user(web.vaults[web.a], "wojt", ["approver"], display="Wójt Łukasz Źrebiec")
        with web.client() as c:
            login(c, web.a, "anna")  # a custodian: reads nothing here, grants nothing
            assert c.get(f"/o/{web.a}/admin/support").status_code == 403
        with web.client() as c:
            assert login(c, web.a, "wojt").status_code == 303
            page = c.get(f"/o/{web.a}/admin/support")
            assert page.status_code == 200
            assert "nie ma teraz dostępu do materiału urzędu" in page.text
            assert f'href="/o/{web.a}/admin/support"' in page.text  # in the menu
            csrf = csrf_in(page.text)
            for form, field in (({"reason": " ", "hours": "4"}, "err-reason"),
                                ({"reason": "naprawa", "hours": "73"}, "err-hours"),
                                ({"reason": "naprawa", "hours": "cztery"}, "err-hours")):
                bad = c.post(f"/o/{web.a}/admin/support", data={**form, "csrf": csrf})
                assert bad.status_code == 422 and f'id="{field}"' in bad.text
            reason = "Wymiana dysku w rejestratorze 💾 — zgłoszenie ŻÓŁĆ-7"
            done = c.post(f"/o/{web.a}/admin/support",
                          data={"reason": reason, "hours": "2", "csrf": csrf})
            assert done.status_code == 303
            page = c.get(f"/o/{web.a}/admin/support")
            assert reason in page.text and "Dostęp serwisowy jest udzielony do" in page.text
            assert inst("users", "list", office=web.a).exit_code == 0
            assert inst("users", "list", office=web.b, ok=False).exit_code == 2
            page = c.get(f"/o/{web.a}/admin/support")
            assert "wykonane z dostępem serwisowym" in page.text and "users list" in page.text
            with web.vaults[web.a].reading() as s:
                grant_id = support.in_force(s).id  # type: ignore[union-attr]
            ended = c.post(f"/o/{web.a}/admin/support/{grant_id}/revoke", data={"csrf": csrf})
            assert ended.status_code == 303
            assert inst("users", "list", office=web.a, ok=False).exit_code == 2
            again = c.post(f"/o/{web.a}/admin/support/{grant_id}/revoke", data={"csrf": csrf})
            assert again.status_code == 409
        with web.vaults[web.b].reading() as s:  # nothing of A's grant is B's
            assert support.in_force(s) is None
        assert "audit log intact" in inst("audit", "verify", office=web.a).output
