"""The register of sources (źródła): cameras, phone lines, mailboxes, endpoints."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Source
from kustosz.errors import InputError, NotFound
from kustosz.index.expiry import check_override
from kustosz.policy import Period, Policy
from kustosz.policy.model import SOURCE_KINDS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


def add_source(session: Session, policy: Policy, name: str, kind: str, actor: str,
               retention: str | None = None, settings: dict[str, Any] | None = None) -> Source:
    if kind not in SOURCE_KINDS:
        raise InputError(f"unknown source kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}",
                         pl=f"Nieznany rodzaj źródła „{kind}”; dozwolone: "
                            f"{', '.join(SOURCE_KINDS)}.")
    if not _NAME.match(name):
        raise InputError(f"source name {name!r} must be 1-100 letters, digits, '.', '_' or '-'",
                         pl=f"Nazwa źródła „{name}” może mieć od 1 do 100 znaków: litery "
                            "(bez polskich znaków), cyfry, kropkę, podkreślenie lub łącznik, "
                            "zaczynając od litery lub cyfry.")
    policy.retention_for(kind)  # a kind the office's rules do not cover cannot be recorded
    if retention:
        check_override(kind, Period.parse(retention), policy)
    if session.execute(select(Source.id).where(Source.name == name)).first():
        raise InputError(f"a source named {name!r} already exists",
                         pl=f"Źródło o nazwie {name} już istnieje.")
    source = Source(name=name, kind=kind, retention=retention, enabled=True,
                    created_at=datetime.now(UTC), max_duration_s=0.0, settings=settings or {})
    session.add(source)
    session.flush()
    audit(session, actor, "source.add", name, {"kind": kind, "retention": retention})
    return source


def get_source(session: Session, name: str) -> Source:
    source = session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()
    if source is None:
        raise NotFound(f"no source named {name!r} (see: kustosz sources list)",
                       pl=f"Nie ma źródła o nazwie {name}.")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).order_by(Source.name)).scalars())
