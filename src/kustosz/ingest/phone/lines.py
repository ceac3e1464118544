"""Phone sources: registering a PBX, enabling it only with a documented legal basis, status.

UODO's 2023 position is that many offices have no legal basis for recording citizens' calls;
so a phone source starts disabled, and enabling it requires the basis and purpose on record
(they are written to the audit log with the change).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.calls import PhoneIntakeState, PhoneProblem
from kustosz.db.models import Source
from kustosz.errors import InputError
from kustosz.index.sources import add_source, get_source
from kustosz.kinds import SourceKind, kind_of
from kustosz.phones.settings import (
    PhoneSettings,
    make_capture_settings,
    make_settings,
    make_siprec_settings,
)
from kustosz.policy import Policy


def add_phone_source(session: Session, policy: Policy, name: str, actor: str, *, spool: Path,
                     cdr: Path, numbers: list[str], retention: str | None = None,
                     **options: Any) -> Source:
    cfg = make_settings(spool, cdr, numbers, **options)
    source = add_source(session, policy, name, SourceKind.PHONE, actor, retention=retention,
                        settings=cfg.as_settings())
    source.enabled = False  # recording calls needs a documented basis first
    audit(session, actor, "phone.configure", name, _public(cfg))
    return source


def add_siprec_line(session: Session, policy: Policy, name: str, actor: str, *,
                    sources: list[str], numbers: list[str], retention: str | None = None,
                    extension_max_digits: int = 4, legal_basis: str = "",
                    purpose: str = "") -> Source:
    """A line whose calls Kustosz records itself (issue 35): the recording sessions of the SBCs
    at ``sources``; disabled until enabled with its legal basis, as every line."""
    cfg = make_siprec_settings(sources, numbers, extension_max_digits=extension_max_digits,
                               legal_basis=legal_basis, purpose=purpose)
    taken = {net: src.name for src in phone_sources(session)
             for net in PhoneSettings.of(src.settings).siprec_from}
    clash = [f"{net} ({taken[net]})" for net in cfg.siprec_from if net in taken]
    if clash:
        raise InputError(f"already the SBC of another line: {', '.join(clash)}; a recording "
                         "session must belong to one line",
                         pl=f"Te adresy są już adresami SBC innej linii: {', '.join(clash)}; sesja "
                            "nagrywania musi należeć do jednej linii.")
    source = add_source(session, policy, name, SourceKind.PHONE, actor, retention=retention,
                        settings=cfg.as_settings())
    source.enabled = False  # recording calls needs a documented basis first
    audit(session, actor, "phone.configure", name, _public(cfg))
    return source


def add_capture_line(session: Session, policy: Policy, name: str, actor: str, *,
                     interface: str, numbers: list[str], retention: str | None = None,
                     extension_max_digits: int = 4, legal_basis: str = "",
                     purpose: str = "", tcp_ports: list[int] | None = None) -> Source:
    """A line whose calls Kustosz records itself from a mirrored switch port on ``interface``
    (issue 35 item 2); disabled until enabled with its legal basis, as every line. SIP over
    TCP is followed on ``tcp_ports`` (5060 and 5061 when none are named)."""
    cfg = make_capture_settings(interface, numbers, extension_max_digits=extension_max_digits,
                                legal_basis=legal_basis, purpose=purpose, tcp_ports=tcp_ports)
    try:
        socket.if_nametoindex(cfg.capture)
    except OSError:
        raise InputError(f"this machine has no network interface {cfg.capture!r} (`ip link` "
                         "lists them); the mirrored switch port must be connected to one "
                         "of its own",
                         pl=f"Ten komputer nie ma interfejsu sieciowego „{cfg.capture}” (wymienia "
                            "je `ip link`); port lustrzany przełącznika musi być podłączony do "
                            "jednego z jego interfejsów.") from None
    for src in phone_sources(session):
        other = PhoneSettings.of(src.settings)
        if other.by_capture and other.capture == cfg.capture:
            raise InputError(f"the interface {cfg.capture} is already the mirrored port of "
                             f"line {src.name!r}; a call read off it must belong to one line",
                             pl=f"Interfejs {cfg.capture} jest już portem lustrzanym linii "
                                f"„{src.name}”; połączenie odczytane z niego musi należeć do "
                                "jednej linii.")
    source = add_source(session, policy, name, SourceKind.PHONE, actor, retention=retention,
                        settings=cfg.as_settings())
    source.enabled = False  # recording calls needs a documented basis first
    audit(session, actor, "phone.configure", name, _public(cfg))
    return source


def _phone(session: Session, name: str) -> tuple[Source, PhoneSettings]:
    source = get_source(session, name)
    if source.kind != SourceKind.PHONE:
        raise InputError(f"source {name!r} is a {source.kind}, not a phone line",
                         pl=f"Źródło „{name}” nie jest linią telefoniczną (rodzaj źródła: "
                            f"{kind_of(source.kind).label_pl}).")
    return source, PhoneSettings.of(source.settings)


def enable_phone_source(session: Session, name: str, actor: str, *, legal_basis: str = "",
                        purpose: str = "") -> Source:
    source, cfg = _phone(session, name)
    if legal_basis.strip():
        cfg.legal_basis = legal_basis.strip()
    if purpose.strip():
        cfg.purpose = purpose.strip()
    if not cfg.documented():
        missing = [w for w, v in (("--legal-basis", cfg.legal_basis), ("--purpose", cfg.purpose))
                   if not v.strip()]
        raise InputError(f"phone source {name!r} cannot be enabled without a documented legal "
                         f"basis and purpose of recording calls; give {' and '.join(missing)}",
                         pl=f"Nie można włączyć linii telefonicznej „{name}” bez udokumentowanej "
                            "podstawy prawnej i celu rejestrowania rozmów telefonicznych; podaj "
                            f"{' i '.join(missing)}.")
    source.settings = cfg.as_settings()
    source.enabled = True
    audit(session, actor, "phone.enable", name,
          {"legal_basis": cfg.legal_basis, "purpose": cfg.purpose})
    return source


def disable_phone_source(session: Session, name: str, actor: str, reason: str = "") -> Source:
    source, _ = _phone(session, name)
    source.enabled = False
    audit(session, actor, "phone.disable", name, {"reason": reason})
    return source


def _public(cfg: PhoneSettings) -> dict[str, Any]:
    out = cfg.as_settings()
    out.pop("item_key")  # the key of the spool hashes stays out of the audit log
    return out


@dataclass
class PhoneStatus:
    name: str
    enabled: bool
    settings: dict[str, Any]
    stored: int
    out_of_scope: int
    skipped: int
    waiting: int
    cdr_offset: int
    last_scan_at: datetime | None
    last_file_at: datetime | None
    last_intake_at: datetime | None
    problems: list[tuple[datetime, str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, "settings": self.settings,
                "stored": self.stored, "out_of_scope": self.out_of_scope,
                "skipped": self.skipped, "waiting": self.waiting, "cdr_offset": self.cdr_offset,
                "last_scan_at": _iso(self.last_scan_at), "last_file_at": _iso(self.last_file_at),
                "last_intake_at": _iso(self.last_intake_at),
                "problems": [{"at": a.isoformat(), "item": i, "message": m}
                             for a, i, m in self.problems]}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def phone_status(session: Session, name: str, problems: int = 20) -> PhoneStatus:
    source, cfg = _phone(session, name)
    state = session.get(PhoneIntakeState, source.id)
    rows = session.execute(select(PhoneProblem).where(PhoneProblem.source_id == source.id)
                           .order_by(PhoneProblem.id.desc()).limit(problems)).scalars()
    return PhoneStatus(
        name=name, enabled=source.enabled, settings=_public(cfg),
        stored=state.stored if state else 0, out_of_scope=state.out_of_scope if state else 0,
        skipped=state.skipped if state else 0, waiting=state.waiting if state else 0,
        cdr_offset=state.cdr_offset if state else 0,
        last_scan_at=state.last_scan_at if state else None,
        last_file_at=state.last_file_at if state else None,
        last_intake_at=state.last_intake_at if state else None,
        problems=[(p.at, p.item, p.message) for p in rows])


def phone_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).where(Source.kind == SourceKind.PHONE)
                                .order_by(Source.name)).scalars())
