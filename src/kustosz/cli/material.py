"""sources, ingest, recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import typer
from rich.table import Table
from sqlalchemy import select

from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
    parse_time,
)
from kustosz.db.models import Recording, Source
from kustosz.holds.coverage import held_map
from kustosz.index.expiry import period_for
from kustosz.index.sources import add_source, get_source, list_sources
from kustosz.ingest.files import ingest_file
from kustosz.ingest.length import end_of
from kustosz.kinds import SourceKind
from kustosz.states import RecordingState


class SourceRow(TypedDict):
    """One line of `sources list` (its --json object)."""

    name: str
    kind: str
    enabled: bool
    retention: str
    retention_origin: str


class RecordingRow(TypedDict):
    """One line of `recordings list` (its --json object)."""

    id: int
    source: str
    kind: str
    start: str
    end: str
    size: int
    sha256: str | None
    storage_key: str
    expires_at: str | None
    held_by: list[int]
    meta: dict[str, Any]  # as the intake wrote it (JSON)

sources_app = typer.Typer(no_args_is_help=True, help="Sources: cameras, lines, mailboxes.")
ingest_app = typer.Typer(no_args_is_help=True, help="Take material into the vault.")
recordings_app = typer.Typer(no_args_is_help=True, help="The index of recorded material.")


@fails_cleanly
def sources_add(name: str, kind: str = typer.Option(..., "--kind",
                                                    help=" | ".join(SourceKind)),
                retention: str = typer.Option(None, "--retention",
                                              help="Shorter period for this source only.")
                ) -> None:
    """Register a source."""
    with open_vault() as vault, vault.transaction() as s:
        source = add_source(s, vault.policy, name, kind, actor(), retention=retention)
        period = period_for(source, vault.policy)
    console.print(f"source {name} ({kind}) added; material kept {period}")


@fails_cleanly
def sources_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List sources with their retention."""
    with open_vault() as vault, vault.reading() as s:
        rows: list[SourceRow] = [
            {"name": src.name, "kind": src.kind, "enabled": src.enabled,
             "retention": str(period_for(src, vault.policy)),
             "retention_origin": "source" if src.retention else "policy"}
            for src in list_sources(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "kind", "enabled", "retention")
    for r in rows:
        table.add_row(r["name"], r["kind"], "yes" if r["enabled"] else "no", r["retention"])
    console.print(table)


def _set_enabled(name: str, enabled: bool) -> None:
    from kustosz.ingest.enable import set_enabled
    from kustosz.ingest.listeners import RESCAN_S

    with open_vault() as vault, vault.transaction() as s:
        source = set_enabled(s, name, actor(), enabled)
    console.print(f"{source.kind} source {name} {'enabled' if enabled else 'disabled'}; a "
                  f"running `kustosz serve` picks this up within {RESCAN_S:.0f} s")


@fails_cleanly
def sources_enable(name: str) -> None:
    """Enable a mailbox or endpoint source (cameras and phones: their own verbs)."""
    _set_enabled(name, True)


@fails_cleanly
def sources_disable(name: str) -> None:
    """Disable a mailbox or endpoint source: serve stops its listener and stores what it
    received."""
    _set_enabled(name, False)


@fails_cleanly
def ingest_one(source: str, path: Path,
               start: str = typer.Option(..., "--start", help="ISO time with zone."),
               end: str = typer.Option(None, "--end", help="ISO time with zone (default: "
                                       "the start plus the file's own length).")) -> None:
    """Take in one file as material recorded at that time; a video or a call without --end
    lasts as long as the file does (refused when its length cannot be read)."""
    t0 = parse_time(start, "--start")
    t1 = parse_time(end, "--end") if end else None
    with open_vault() as vault:
        if t1 is None and path.is_file():  # its own length ends it (issue 66 item 5)
            with vault.reading() as s:
                kind = get_source(s, source).kind
            t1 = end_of(kind, path, t0)
        rec = ingest_file(vault, source, path, t0, t1, actor=actor())
        assert rec.sha256 is not None  # stored or waiting in the spool: hashed either way
        console.print(f"recording {rec.id}: {path.name} from {local(rec.start_at, vault)}, "
                      f"sha256 {rec.sha256[:16]}…, kept until {local(rec.expires_at, vault)}")
        if rec.state == RecordingState.PENDING:  # kustosz.ingest.upload_queue
            console.print("Magazyn obiektów nie odpowiada: plik czeka w buforze lokalnym, "
                          "kustosz serve prześle go, gdy magazyn wróci. / The object store "
                          "does not answer: the file waits in the local spool; kustosz serve "
                          "uploads it when the store is back.")


@fails_cleanly
def recordings_list(source: str = typer.Option(None, "--source"),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """List stored material, with when it expires and which holds keep it."""
    with open_vault() as vault, vault.reading() as s:
        query = select(Recording, Source.name).join(Source, Source.id == Recording.source_id) \
            .where(Recording.state == RecordingState.STORED) \
            .order_by(Recording.start_at, Recording.id)
        if source:
            query = query.where(Recording.source_id == get_source(s, source).id)
        rows = s.execute(query).all()
        held = held_map(s, [rec.id for rec, _ in rows])
        items: list[RecordingRow] = [
            {"id": rec.id, "source": name, "kind": rec.kind,
             "start": rec.start_at.isoformat(), "end": rec.end_at.isoformat(),
             "size": rec.size, "sha256": rec.sha256, "storage_key": rec.storage_key,
             "expires_at": rec.expires_at.isoformat() if rec.expires_at else None,
             "held_by": held.get(rec.id, []), "meta": rec.meta} for rec, name in rows]
        if as_json:
            emit_json(items)
            return
        table = Table("id", "source", "start (local)", "end (local)", "size", "kept until",
                      "holds")
        for (rec, name), item in zip(rows, items, strict=True):
            table.add_row(str(rec.id), name, local(rec.start_at, vault), local(rec.end_at, vault),
                          str(rec.size), local(rec.expires_at, vault),
                          ", ".join(map(str, item["held_by"])) or "—")
        console.print(table)


def register(app: typer.Typer) -> None:
    sources_app.command("add")(sources_add)
    sources_app.command("list")(sources_list)
    sources_app.command("enable")(sources_enable)
    sources_app.command("disable")(sources_disable)
    ingest_app.command("file")(ingest_one)
    recordings_app.command("list")(recordings_list)
    app.add_typer(sources_app, name="sources")
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(recordings_app, name="recordings")
