"""holds."""

from __future__ import annotations

import typer
from rich.table import Table

from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
    parse_time,
)
from kustosz.custody.holds import list_holds, place_hold, release_hold
from kustosz.errors import InputError
from kustosz.index.sources import get_source

holds_app = typer.Typer(no_args_is_help=True, help="Holds: material kept beyond its period.")


@fails_cleanly
def holds_place(source: list[str] = typer.Option(None, "--source", help="Repeatable."),
                start: str = typer.Option(None, "--from", help="ISO time with zone."),
                end: str = typer.Option(None, "--to", help="ISO time with zone."),
                item: list[int] = typer.Option(None, "--item", help="Recording id; repeatable."),
                basis: str = typer.Option(..., "--basis", help="Why (podstawa)."),
                case_ref: str = typer.Option(None, "--case", help="Case or request reference."),
                ) -> None:
    """Place a hold on sources x time range, or on listed recordings."""
    t0 = parse_time(start, "--from") if start else None
    t1 = parse_time(end, "--to") if end else None
    if (t0 is None) != (t1 is None):
        raise InputError("give both --from and --to",
                         pl="Podaj obie opcje: --from i --to.")
    with open_vault() as vault, vault.transaction() as s:
        sources = [get_source(s, name) for name in (source or [])]
        hold = place_hold(s, sources=sources, start=t0, end=t1, basis=basis, actor=actor(),
                          case_ref=case_ref, items=list(item or []))
        hold_id = hold.id
    console.print(f"hold {hold_id} placed")


@fails_cleanly
def holds_list(all_: bool = typer.Option(False, "--all", help="Include released holds."),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """List holds."""
    with open_vault() as vault, vault.reading() as s:
        views = list_holds(s, include_released=all_)
        rows = [{"id": v.hold.id, "basis": v.hold.basis, "case_ref": v.hold.case_ref,
                 "sources": v.sources, "items": v.items,
                 "from": v.hold.start_at.isoformat() if v.hold.start_at else None,
                 "to": v.hold.end_at.isoformat() if v.hold.end_at else None,
                 "placed_by": v.hold.placed_by, "placed_at": v.hold.placed_at.isoformat(),
                 "released_at": v.hold.released_at.isoformat() if v.hold.released_at else None,
                 "release_reason": v.hold.release_reason} for v in views]
        if as_json:
            emit_json(rows)
            return
        table = Table("id", "covers", "from (local)", "to (local)", "basis", "placed by",
                      "released")
        for v in views:
            covers = ", ".join(v.sources) + (f" items {v.items}" if v.items else "")
            table.add_row(str(v.hold.id), covers, local(v.hold.start_at, vault),
                          local(v.hold.end_at, vault), v.hold.basis, v.hold.placed_by,
                          local(v.hold.released_at, vault) if v.hold.released_at else "—")
        console.print(table)


@fails_cleanly
def holds_release(hold_id: int, reason: str = typer.Option(..., "--reason")) -> None:
    """Release a hold (the material then follows its normal period)."""
    with open_vault() as vault, vault.transaction() as s:
        release_hold(s, hold_id, reason, actor())
    console.print(f"hold {hold_id} released")


def register(app: typer.Typer) -> None:
    holds_app.command("place")(holds_place)
    holds_app.command("list")(holds_list)
    holds_app.command("release")(holds_release)
    app.add_typer(holds_app, name="holds")
