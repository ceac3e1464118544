"""Directory login against a real LDAP server: Debian's slapd on 127.0.0.1, started per test
module from a temporary slapd.conf with an mdb database holding one person."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from login_clock import hold_login_clock
from sqlalchemy import select
from web_helpers import client, csrf_in, login, session_for, user

from kustosz.access import accounts, directory
from kustosz.access.throttle import FREE
from kustosz.db.access import Account, LoginThrottle
from kustosz.db.custody import User
from kustosz.db.models import AuditEntry
from kustosz.vault import Vault

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=pl"
DIRECTORY_PASSWORD = "Hasło-z-katalogu-7"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(SLAPD) and os.path.exists(SLAPADD)),
    reason="Debian's slapd is not installed (make test installs slapd and ldap-utils as root)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running slapd; yields its ldap:// URL."""
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    conf = root / "slapd.conf"
    conf.write_text(f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {root}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
directory {root}/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
""")
    (root / "people.ldif").write_text(f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Urząd Miejski

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: uid=ewa,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: ewa
cn: Ewa Nowak
sn: Nowak
userPassword: {_ssha(DIRECTORY_PASSWORD)}
""")
    subprocess.run([SLAPADD, "-f", str(conf), "-l", str(root / "people.ldif")], check=True,
                   capture_output=True)
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    # -d 0 keeps slapd in the foreground, so the test owns the process and can stop it.
    proc = subprocess.Popen([SLAPD, "-d", "0", "-h", url, "-f", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"slapd did not start: {err[-2000:]}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _configure(vault: Vault, url: str) -> None:
    settings, errors = directory.validate(url, "uid={user},ou=people," + SUFFIX, False, 2)
    assert not errors
    with vault.transaction() as s:
        directory.set_settings(s, settings, "test")


def _directory_user(vault: Vault, name: str = "ewa") -> None:
    user(vault, name, ["viewer"], password=None)
    with vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        accounts.set_directory(s, u, True, "test")


def test_right_directory_password_logs_in_and_rotates_session(sqlite_vault: Vault,
                                                              slapd: str) -> None:
    _configure(sqlite_vault, slapd)
    _directory_user(sqlite_vault)
    user(sqlite_vault, "bartek", ["viewer"])
    c = client(sqlite_vault)
    session_for(sqlite_vault, c, "bartek")
    planted = c.cookies.get("kustosz_session")
    r = login(c, "ewa", DIRECTORY_PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert c.cookies.get("kustosz_session") not in (None, planted)
    assert "Ewa" in c.get("/").text
    with sqlite_vault.reading() as s:
        u = s.execute(select(User).where(User.name == "ewa")).scalar_one()
        assert u.password_hash is None  # the directory's password is never kept


def test_wrong_directory_password_is_refused_and_counts_for_lock_out(
        sqlite_vault: Vault, slapd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # held: the right password must come within the first wait (2 s), binds to a real slapd
    # on a loaded machine can take longer than that
    hold_login_clock(monkeypatch)
    _configure(sqlite_vault, slapd)
    _directory_user(sqlite_vault)
    c = client(sqlite_vault)
    for _ in range(FREE + 1):
        r = login(c, "ewa", "zupełnie-złe-hasło")
        assert r.status_code == 401
        assert "Nieprawidłowa nazwa użytkownika lub hasło" in r.text
    r = login(c, "ewa", DIRECTORY_PASSWORD)  # right, but it must wait now
    assert r.status_code == 401 and "Zbyt wiele nieudanych prób" in r.text
    with sqlite_vault.reading() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "login.failed")).first()


def test_empty_password_never_counts_as_a_bind(sqlite_vault: Vault, slapd: str) -> None:
    _configure(sqlite_vault, slapd)
    _directory_user(sqlite_vault)
    settings = directory.validate(slapd, "uid={user},ou=people," + SUFFIX, False, 2)[0]
    # An unauthenticated bind would succeed at the server; Kustosz never asks it.
    assert directory.check_password(settings, "ewa", "") is directory.Outcome.WRONG
    r = login(client(sqlite_vault), "ewa", "")
    assert r.status_code == 401 and "kustosz_session" not in r.headers.get("set-cookie", "")


def test_directory_down_gives_a_polish_message_and_no_login(sqlite_vault: Vault) -> None:
    _configure(sqlite_vault, f"ldap://127.0.0.1:{_free_port()}")  # nothing listens there
    _directory_user(sqlite_vault)
    r = login(client(sqlite_vault), "ewa", DIRECTORY_PASSWORD)
    assert r.status_code == 401 and "Serwer katalogu" in r.text and "nie odpowiada" in r.text
    with sqlite_vault.reading() as s:
        # the server's outage is not the person's failure: nothing counted
        assert s.execute(select(LoginThrottle)).first() is None


def test_admin_edits_directory_settings_with_field_messages(sqlite_vault: Vault) -> None:
    user(sqlite_vault, "admin", ["administrator"])
    c = client(sqlite_vault)
    csrf = session_for(sqlite_vault, c, "admin")
    bad = {"csrf": csrf, "ldap_url": "http://dc1", "ldap_bind_dn": "uid=x", "ldap_timeout": "0"}
    r = c.post("/admin/settings/ldap", data=bad)
    assert r.status_code == 422
    assert "ldap:// lub ldaps://" in r.text and 'value="http://dc1"' in r.text
    assert "od 1 do 60" in r.text
    good = {"csrf": csrf, "ldap_url": "ldaps://dc1.um.example.pl",
            "ldap_bind_dn": "{user}@um.example.pl", "ldap_timeout": "4"}
    assert c.post("/admin/settings/ldap", data=good).status_code == 303
    with sqlite_vault.reading() as s:
        stored = directory.current(s)
    assert stored.url == "ldaps://dc1.um.example.pl" and stored.timeout == 4
    assert 'value="{user}@um.example.pl"' in c.get("/admin/settings").text
    # A person switched to the directory has no local password and no reset button.
    page = c.get("/admin/users")
    r = c.post("/admin/users", data={"csrf": csrf_in(page.text), "name": "ewa",
                                     "display_name": "Ewa Nowak", "roles": "viewer",
                                     "directory": "1"})
    assert r.status_code == 200 and "hasłem z katalogu" in r.text
    with sqlite_vault.reading() as s:
        u = s.execute(select(User).where(User.name == "ewa")).scalar_one()
        assert u.password_hash is None and s.get(Account, u.id).directory
