"""Settings of a mailbox (journal) source and its registration.

Keeping full messages is off by default (R1.9, Kodeks pracy art. 22³ §1: monitoring must not
breach the secrecy of correspondence). Turning it on needs a recorded legal basis, and is
audited; even then a message the rules mark private keeps metadata only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Source
from kustosz.errors import ConfigError, InputError
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.events.chunks import GRANULARITIES
from kustosz.ingest.events.net import parse_listen, parse_networks, server_tls
from kustosz.policy import Policy

DEFAULT_PRIVATE_KEYWORDS = ["prywatne", "prywatna", "prywatny", "private", "personal"]
DEFAULT_MAX_BYTES = 64 << 20  # journal copies carry attachments; 50 MB mail exists


@dataclass
class MailSettings:
    listen: str = "127.0.0.1:2525"
    hostname: str = ""  # name in the SMTP greeting; empty: this machine's name
    allow_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    allow_senders: list[str] = field(default_factory=list)  # a@b or @domain; empty: any
    office_domains: list[str] = field(default_factory=list)
    keep_bodies: bool = False
    bodies_legal_basis: str = ""
    private_external: bool = True  # a recipient outside office_domains makes it private
    private_keywords: list[str] = field(default_factory=lambda: list(DEFAULT_PRIVATE_KEYWORDS))
    max_message_bytes: int = DEFAULT_MAX_BYTES
    tls_cert: str = ""
    tls_key: str = ""
    require_tls: bool = False
    chunk: str = "hour"

    @classmethod
    def of(cls, raw: dict[str, Any]) -> MailSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})

    def check(self) -> None:
        parse_listen(self.listen, "--listen")
        parse_networks(self.allow_hosts, "--allow-host")
        if not self.allow_hosts:
            raise ConfigError("name the mail servers allowed to deliver (--allow-host): a "
                              "journal address open to anyone would take in forged mail")
        for sender in self.allow_senders:
            if "@" not in sender:
                raise ConfigError(f"--allow-sender {sender!r} must be an address or @domain")
        if self.keep_bodies and not self.bodies_legal_basis.strip():
            raise ConfigError("keeping full messages needs a recorded legal basis "
                              "(--legal-basis); by default only metadata is kept (R1.9)")
        if self.max_message_bytes < 1024:
            raise ConfigError("--max-message-bytes must be at least 1024")
        if self.require_tls and not self.tls_cert:
            raise ConfigError("--require-tls needs --tls-cert")
        if self.chunk not in GRANULARITIES:
            raise ConfigError(f"--chunk must be one of {', '.join(GRANULARITIES)}")
        server_tls(self.tls_cert, self.tls_key)
        self.office_domains = [d.lower().lstrip("@") for d in self.office_domains]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_mail_source(session: Session, policy: Policy, name: str, actor: str,
                    settings: MailSettings, retention: str | None = None) -> Source:
    settings.check()
    source = add_source(session, policy, name, "mailbox", actor, retention=retention,
                        settings=settings.as_dict())
    audit(session, actor, "mailbox.configure", name, settings.as_dict())
    return source


def set_bodies(session: Session, name: str, actor: str, keep: bool, legal_basis: str) -> None:
    """Turn keeping of full messages on (with its legal basis) or off; audited either way."""
    source = mail_source(session, name)
    settings = MailSettings.of(source.settings)
    settings.keep_bodies, settings.bodies_legal_basis = keep, legal_basis if keep else ""
    settings.check()
    source.settings = settings.as_dict()
    audit(session, actor, "mailbox.bodies", name, {"keep_bodies": keep,
                                                    "legal_basis": legal_basis})


def mail_source(session: Session, name: str) -> Source:
    source = get_source(session, name)
    if source.kind != "mailbox":
        raise InputError(f"source {name!r} is a {source.kind} source, not a mailbox")
    return source


def mail_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).where(Source.kind == "mailbox")
                                .order_by(Source.name)).scalars())
