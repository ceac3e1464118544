"""Settings of an endpoint source (kept in Source.settings) and its registration."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.config_schema.sources import stored
from kustosz.db.models import Source
from kustosz.digests import token_digest as token_hash
from kustosz.errors import ConfigError, InputError
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.chunks.spool import GRANULARITIES
from kustosz.ingest.events.rules import DEFAULT_FALLBACK, Rules
from kustosz.ingest.net import parse_listen, parse_networks, server_tls
from kustosz.kinds import SourceKind, kind_of
from kustosz.policy import Policy

LISTENERS = ("syslog_udp", "syslog_tcp", "syslog_tls", "relp", "http")


@dataclass
class EndpointSettings:
    # what `of` refuses: keys not declared here (kustosz.config_schema.sources)
    __pydantic_config__ = ConfigDict(extra="forbid")

    syslog_udp: str = ""  # HOST:PORT, empty = off
    syslog_tcp: str = ""
    syslog_tls: str = ""  # TCP with TLS (RFC 5425); needs tls_cert
    http: str = ""  # JSON events; HTTPS when tls_cert is set
    relp: str = ""  # RELP (rsyslog's omrelp): acknowledged after the fsync, nothing lost
    tls_cert: str = ""
    tls_key: str = ""
    token_sha256: str = ""  # the API token is shown once and kept only as its hash
    allow_hosts: list[str] = field(default_factory=list)  # empty: this machine only
    chunk: str = "hour"
    rules: list[dict[str, Any]] | None = None  # None: the default rules
    fallback: str = DEFAULT_FALLBACK

    @classmethod
    def of(cls, raw: dict[str, Any]) -> EndpointSettings:
        """Stored settings read back: an unknown key or a wrong type is refused, never
        dropped (kustosz.config_schema.sources)."""
        return stored(cls, raw, "endpoint settings")

    def check(self) -> None:
        for name in LISTENERS:
            if getattr(self, name):
                parse_listen(getattr(self, name), name.replace("_", "-"))
        if not any(getattr(self, name) for name in LISTENERS):
            raise ConfigError("an endpoint source needs at least one of --syslog-udp, "
                              "--syslog-tcp, --syslog-tls, --relp, --http",
                              pl="Źródło zdarzeń IT wymaga co najmniej jednej z opcji: "
                                 "--syslog-udp, --syslog-tcp, --syslog-tls, --relp, --http.")
        if self.syslog_tls and not self.tls_cert:
            raise ConfigError("--syslog-tls needs --tls-cert (and --tls-key)",
                              pl="Opcja --syslog-tls wymaga --tls-cert (i --tls-key).")
        if self.chunk not in GRANULARITIES:
            raise ConfigError(f"--chunk must be one of {', '.join(GRANULARITIES)}",
                              pl=f"Wartość --chunk musi być jedną z: {', '.join(GRANULARITIES)}.")
        parse_networks(self.allow_hosts, "--allow-host")
        server_tls(self.tls_cert, self.tls_key)
        Rules(self.rules, self.fallback)  # a bad pattern fails now, not in the listener

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_endpoint_source(session: Session, policy: Policy, name: str, actor: str,
                        settings: EndpointSettings,
                        retention: str | None = None) -> tuple[Source, str | None]:
    """Register the source; returns the API token (only now, never again) when HTTP is on."""
    settings.check()
    token = None
    if settings.http:
        token = secrets.token_urlsafe(32)
        settings.token_sha256 = token_hash(token)
    source = add_source(session, policy, name, "endpoint", actor, retention=retention,
                        settings=settings.as_dict())
    audit(session, actor, "endpoint.configure", name,
          {k: v for k, v in settings.as_dict().items() if k != "token_sha256"})
    return source, token


def new_token(session: Session, name: str, actor: str) -> str:
    source = endpoint_source(session, name)
    settings = EndpointSettings.of(source.settings)
    if not settings.http:
        raise InputError(f"endpoint source {name!r} has no HTTP intake (--http)",
                         pl=f"Źródło zdarzeń IT „{name}” nie przyjmuje zdarzeń przez HTTP "
                            "(--http).")
    token = secrets.token_urlsafe(32)
    settings.token_sha256 = token_hash(token)
    source.settings = settings.as_dict()
    audit(session, actor, "endpoint.token", name, {})
    return token


# What `change_endpoint` may change; the token and the rules have their own verbs.
CHANGEABLE = ("syslog_udp", "syslog_tcp", "syslog_tls", "relp", "http", "tls_cert",
              "tls_key", "allow_hosts", "chunk")


def change_endpoint(session: Session, name: str, actor: str,
                    changes: dict[str, Any]) -> str | None:
    """Change where and how an endpoint source listens (checked first, audited); a running
    `kustosz serve` restarts its listener. Returns a new API token when HTTP was just turned
    on (shown once, like at `add`)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise InputError(f"cannot change {', '.join(sorted(unknown))} of an endpoint source",
                         pl="W źródle zdarzeń IT nie można zmienić: "
                            f"{', '.join(sorted(unknown))}.")
    source = endpoint_source(session, name)
    settings = EndpointSettings.of(source.settings)
    for key, value in changes.items():
        setattr(settings, key, value)
    settings.check()
    token = None
    if settings.http and not settings.token_sha256:
        token = secrets.token_urlsafe(32)
        settings.token_sha256 = token_hash(token)
    source.settings = settings.as_dict()
    audit(session, actor, "endpoint.configure", name, changes)
    return token


def set_rules(session: Session, name: str, actor: str, rules: list[dict[str, Any]] | None,
              fallback: str) -> None:
    """Replace the source's categorisation rules (None: the defaults); checked first."""
    if rules is not None and (not isinstance(rules, list)
                              or not all(isinstance(r, dict) for r in rules)):
        raise ConfigError("rules must be a JSON list of objects with name, category, pattern "
                          "and optionally field",
                          pl="Reguły muszą być listą JSON obiektów z polami name, category, "
                             "pattern i opcjonalnie field.")
    source = endpoint_source(session, name)
    settings = EndpointSettings.of(source.settings)
    settings.rules, settings.fallback = rules, fallback
    Rules(rules, fallback)
    source.settings = settings.as_dict()
    audit(session, actor, "endpoint.rules", name, {"rules": rules, "fallback": fallback})


def endpoint_source(session: Session, name: str) -> Source:
    source = get_source(session, name)
    if source.kind != SourceKind.ENDPOINT:
        raise InputError(f"source {name!r} is a {source.kind} source, not an endpoint source",
                         pl=f"Źródło „{name}” nie jest źródłem zdarzeń IT (rodzaj źródła: "
                            f"{kind_of(source.kind).label_pl}).")
    return source


def endpoint_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).where(Source.kind == SourceKind.ENDPOINT)
                                .order_by(Source.name)).scalars())
