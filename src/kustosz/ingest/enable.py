"""Turning a mailbox or an event endpoint on or off: the one place that knows both kinds of
chunked source, so that mail and events stay siblings that do not import each other (the
import-linter contract in pyproject.toml)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kustosz.audit import append as audit
from kustosz.db.models import Source
from kustosz.errors import InputError
from kustosz.index.sources import get_source
from kustosz.ingest.events.settings import EndpointSettings
from kustosz.ingest.mail.settings import MailSettings
from kustosz.kinds import SourceKind, kind_of


def set_enabled(session: Session, name: str, actor: str, enabled: bool) -> Source:
    """Enable or disable a mailbox or endpoint source (audited); a running `kustosz serve`
    starts or stops its listener, and stopping stores what it received. Cameras and phone
    lines have their own verbs: theirs check notices and legal bases."""
    source = get_source(session, name)
    if source.kind not in (SourceKind.MAILBOX, SourceKind.ENDPOINT):
        verb = "cameras" if source.kind == SourceKind.CAMERA else "phones"
        raise InputError(f"source {name!r} is a {source.kind}; use: kustosz {verb} "
                         f"{'enable' if enabled else 'disable'} {name}",
                         pl=f"Źródło „{name}” nie jest dziennikiem poczty ani źródłem zdarzeń IT "
                            f"(rodzaj źródła: {kind_of(source.kind).label_pl}); użyj: kustosz "
                            f"{verb} {'enable' if enabled else 'disable'} {name}.")
    if enabled:  # a source that could not listen is refused now, not in serve's log
        if source.kind == SourceKind.ENDPOINT:
            EndpointSettings.of(source.settings).check()
        else:
            MailSettings.of(source.settings).check()
    if source.enabled != enabled:
        source.enabled = enabled
        audit(session, actor, "source.enable" if enabled else "source.disable", name, {})
    return source
