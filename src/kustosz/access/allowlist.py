"""The workstation allow-list (R3.5): media answer only to these client addresses.

Kept in the vault's settings table (key ``web_allowlist``) as networks separated by commas or
spaces; set in the browser by an administrator. Without a setting only this machine is let
in. Client addresses come from the connection itself, never from a forwarded-for header.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy.orm import Session

from kustosz.addresses import in_networks
from kustosz.audit import append as audit
from kustosz.db.models import Setting
from kustosz.db.settings import put_setting
from kustosz.errors import InputError

KEY = "web_allowlist"
DEFAULT = "127.0.0.1/32 ::1/128"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse(text: str) -> list[Network]:
    nets = []
    for part in (text or "").replace(",", " ").split():
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InputError(f"{part!r} is not an IP address or network (e.g. 10.0.5.0/24)",
                             pl=f"„{part}” nie jest adresem ani siecią IP (np. 10.0.5.0/24).") \
                from None
    return nets


def current(session: Session) -> str:
    row = session.get(Setting, KEY)
    return row.value if row is not None else DEFAULT


def set_allowlist(session: Session, text: str, actor: str) -> str:
    nets = parse(text)
    value = " ".join(str(n) for n in nets)
    previous = current(session)
    put_setting(session, KEY, value)
    session.flush()
    audit(session, actor, "settings.allowlist", KEY, {"from": previous, "to": value})
    return value


def allowed(session: Session, host: str | None) -> bool:
    return in_networks(host, parse(current(session)))
