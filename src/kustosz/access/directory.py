"""Login through the office's directory (LDAP or Active Directory), as an option.

The directory proves the password by a simple bind as the person; Kustosz keeps the roles and
authorisations. The directory password is never stored. An empty password is refused before
the directory is asked: many servers treat a simple bind with an empty password as an
anonymous bind and answer "success", which must never count as a login.

Kept in the vault's settings table (key ``web_ldap``, JSON) next to the workstation allow-list
and edited on the administrator's settings page.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
from dataclasses import asdict, dataclass
from enum import Enum

from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Setting
from kustosz.db.settings import put_setting

KEY = "web_ldap"
log = logging.getLogger(__name__)
_INVALID_CREDENTIALS = 49  # RFC 4511 resultCode
_SERVER_TROUBLE = {51, 52}  # busy, unavailable: the server's state, not a wrong password


@dataclass(frozen=True)
class DirectorySettings:
    url: str = ""  # ldap://host[:port] or ldaps://host[:port]; empty: directory login off
    bind_dn: str = ""  # e.g. "{user}@um.example.pl" (AD UPN) or "uid={user},ou=people,dc=..."
    start_tls: bool = False
    timeout: int = 5  # seconds, for connecting and for each answer

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class Outcome(Enum):
    OK = "ok"
    WRONG = "wrong"  # the directory refused the password: counts towards lock-out
    UNAVAILABLE = "unavailable"  # no answer or TLS failure: not the person's fault


def validate(url: str, bind_dn: str, start_tls: bool, timeout: str | int
             ) -> tuple[DirectorySettings, dict[str, str]]:
    """Settings from a form; the second value names each bad field with a Polish message."""
    url, bind_dn = (url or "").strip(), (bind_dn or "").strip()
    errors: dict[str, str] = {}
    if url and not url.lower().startswith(("ldap://", "ldaps://")):
        errors["ldap_url"] = "Adres serwera musi zaczynać się od ldap:// lub ldaps://."
    elif url and len(url.split("://", 1)[1].strip("/")) == 0:
        errors["ldap_url"] = "Podaj nazwę lub adres serwera katalogu."
    if url and bind_dn.count("{user}") != 1:
        errors["ldap_bind_dn"] = ("Wzorzec musi zawierać dokładnie raz {user}, np. "
                                  "{user}@um.example.pl lub uid={user},ou=people,dc=example,dc=pl.")
    elif "{" in bind_dn.replace("{user}", "") or "}" in bind_dn.replace("{user}", ""):
        errors["ldap_bind_dn"] = "Jedynym dozwolonym polem we wzorcu jest {user}."
    if start_tls and url.lower().startswith("ldaps://"):
        errors["ldap_start_tls"] = "StartTLS dotyczy tylko ldap:// (ldaps:// jest już szyfrowane)."
    try:
        seconds = int(str(timeout).strip() or "5")
        if not 1 <= seconds <= 60:
            raise ValueError
    except ValueError:
        errors["ldap_timeout"] = "Limit czasu to liczba sekund od 1 do 60."
        seconds = 5
    return DirectorySettings(url, bind_dn if url else "", bool(start_tls), seconds), errors


def current(session: Session) -> DirectorySettings:
    row = session.get(Setting, KEY)
    if row is None:
        return DirectorySettings()
    data = json.loads(row.value)
    return DirectorySettings(**{k: data[k] for k in ("url", "bind_dn", "start_tls", "timeout")
                                if k in data})


def set_settings(session: Session, settings: DirectorySettings, actor: str) -> None:
    previous = current(session)
    put_setting(session, KEY, json.dumps(asdict(settings)))
    session.flush()
    audit(session, actor, "settings.ldap", KEY, {"from": asdict(previous),
                                                 "to": asdict(settings)})


def bind_dn_for(settings: DirectorySettings, name: str) -> str:
    from ldap3.utils.dn import escape_rdn  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    # User names are already restricted to [a-z0-9._-]; escaping is defence in depth
    # against a DN built from a name the directory would read as more than one value.
    return settings.bind_dn.replace("{user}", escape_rdn(name))


def check_password(settings: DirectorySettings, name: str, password: str) -> Outcome:
    """A simple bind as the person; OK only when the directory accepts this password."""
    if not settings.enabled or not password:
        return Outcome.WRONG
    import ldap3  # noqa: PLC0415 - a heavy library, loaded by the work that needs it
    from ldap3.core.exceptions import LDAPException  # noqa: PLC0415 - a heavy library, loaded by the work that needs it

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED)
    server = ldap3.Server(settings.url, connect_timeout=settings.timeout, get_info=ldap3.NONE,
                          tls=tls)
    conn = ldap3.Connection(server, user=bind_dn_for(settings, name), password=password,
                            authentication=ldap3.SIMPLE, receive_timeout=settings.timeout,
                            auto_bind=ldap3.AUTO_BIND_NONE, raise_exceptions=False,
                            read_only=True)
    try:
        conn.open()
        if settings.start_tls and not conn.start_tls():
            log.warning("LDAP StartTLS refused by %s: %s", settings.url, conn.result)
            return Outcome.UNAVAILABLE
        if conn.bind():
            return Outcome.OK
        code = (conn.result or {}).get("result")
        if code in _SERVER_TROUBLE:
            log.warning("LDAP server %s could not answer: %s", settings.url, conn.result)
            return Outcome.UNAVAILABLE
        if code != _INVALID_CREDENTIALS:
            log.warning("LDAP bind for %s refused with %s", name, conn.result)
        return Outcome.WRONG
    except LDAPException as exc:
        log.warning("LDAP server %s unavailable: %s", settings.url, exc)
        return Outcome.UNAVAILABLE
    finally:
        with contextlib.suppress(LDAPException):
            conn.unbind()
