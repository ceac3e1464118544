"""kustosz clock undo propose | approve | list: the two-person undo of a wrong jump of the
server's clock forward that a later correction undid (issue 27 item 7 c, kustosz.clock.undo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kustosz.cli.common import actor, console, emit_json, fails_cleanly, open_vault

clock_app = typer.Typer(no_args_is_help=True, help="The server's clock (zegar serwera).")
undo_app = typer.Typer(no_args_is_help=True,
                       help="Undo a wrong jump of the clock forward that a correction undid: "
                            "one person proposes, another approves (cofnięcie przeskoku "
                            "zegara).")


@fails_cleanly
def undo_propose(jump: int = typer.Argument(..., help="The forward jump's number (kustosz "
                                            "clock undo list)."),
                 reason: str = typer.Option(..., "--reason", help="Why (przyczyna)."),
                 by: str = typer.Option(..., "--by", help="The proposing administrator's "
                                        "account.")) -> None:
    """Propose undoing a forward jump a correction showed wrong; another person approves."""
    from kustosz.clock.undo import propose

    with open_vault() as vault:
        number = propose(vault, jump, reason, by, actor())
    console.print(f"proposal {number} recorded; another person approves it with: kustosz "
                  f"clock undo approve {number} --by NAME / zapisano propozycję nr {number}; "
                  "zatwierdza ją inna osoba")


def redating_store(vault: Any, credentials: Path | None) -> Any:
    """The store as the re-dating identity sees it (``credentials``), or None: the vault's own
    (the local folder, where no lock needs re-dating)."""
    from kustosz.errors import FieldError
    from kustosz.storage.s3 import object_store, read_credentials

    if credentials is None:
        return None
    s3 = vault.config.s3
    if s3 is None:
        raise FieldError("credentials", "media are not in an object store: --credentials is "
                         "not needed",
                         pl="Nagrania nie są w magazynie obiektów: --credentials nie jest "
                            "potrzebne.")
    # the vault's own store (its prefix too), with the re-dating identity's credentials
    store = object_store(s3, vault.root, credentials=read_credentials(credentials))
    store.prepare()
    return store


@fails_cleanly
def undo_approve(proposal: int = typer.Argument(..., help="The proposal's number."),
                 by: str = typer.Option(..., "--by", help="The approver's account (not the "
                                        "proposer)."),
                 credentials: Path = typer.Option(
                     None, "--credentials",
                     help="The re-dating identity's credentials file (access_key, "
                          "secret_key; mode 0600): the only one whose store policy grants "
                          "s3:BypassGovernanceRetention. Needed with media in an object "
                          "store."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Approve a proposal: re-count the retention the wrong jump lengthened, re-date objects."""
    from kustosz.clock.undo import approve

    with open_vault() as vault:
        done = approve(vault, proposal, by, actor(), redating_store(vault, credentials))
    if as_json:
        emit_json(done)
        return
    console.print(f"proposal {proposal} approved: jump {done['jump']} undone; "
                  f"{done['restored']} retention base(s) put back, {done['recounted']} "
                  f"segment(s) of the ahead period counted from their true time, "
                  f"{done['objects']} object(s) re-dated in the store / zatwierdzono "
                  f"propozycję nr {proposal}: przeskok nr {done['jump']} cofnięty")


@fails_cleanly
def undo_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Corrected forward jumps that may be undone, and proposals waiting for approval."""
    from kustosz.clock.undo import corrections
    from kustosz.holds.record import record_of

    with open_vault() as vault, vault.reading() as s:
        record = record_of(vault, s)
        done, waiting = record.undone_jumps(), record.pending_undos()
        rows = [{"jump": jump, "correction": c.correction,
                 "ahead_s": max((d for _, _, d in c.ahead), default=0.0),
                 "undone": jump in done,
                 "proposals": sorted(seq for seq, d in waiting.items()
                                     if int(d.get("jump", -1)) == jump)}
                for jump, c in sorted(corrections(s).items())]
        pending = [{"proposal": seq, **d} for seq, d in sorted(waiting.items())]
    if as_json:
        emit_json({"corrected": rows, "pending": pending})
        return
    if not rows:
        console.print("no corrected jump of the clock / żaden przeskok zegara nie został "
                      "skorygowany")
    from kustosz.clock.words import span_pl

    for row in rows:
        state = ("undone / cofnięty" if row["undone"] else
                 f"proposal {row['proposals'][0]} waits / czeka propozycja"
                 if row["proposals"] else "may be undone / można cofnąć")
        console.print(f"  jump {row['jump']}: {row['ahead_s']:.0f} s ahead, corrected by jump "
                      f"{row['correction']} / zegar spieszył się o {span_pl(row['ahead_s'])}, "
                      f"skorygowany przeskokiem nr {row['correction']}: {state}")
    for p in pending:
        console.print(f"  proposal {p['proposal']}: undo jump {p.get('jump')} (by "
                      f"{p.get('by')}): {p.get('reason')}")


@fails_cleanly
def confirm(by: str = typer.Option(..., "--by", help="The administrator's account."),
            reason: str = typer.Option(..., "--reason", help="How you know the clock is right "
                                       "(skąd wiadomo, że zegar jest prawidłowy).")) -> None:
    """Vouch for the server's clock after a reboot held the retention sweep (potwierdzenie
    zegara): only when the time it shows is right."""
    from kustosz.clock.confirm import confirm as vouch

    with open_vault() as vault:
        done = vouch(vault, by, reason, actor())
    console.print("the clock is confirmed: the retention sweep runs again / zegar potwierdzony: "
                  "usuwanie po terminie wznowione" if done else
                  "nothing to confirm: no sweep is held by the clock / nic do potwierdzenia: "
                  "zegar nie wstrzymuje usuwania")


def register(app: typer.Typer) -> None:
    clock_app.command("confirm")(confirm)
    undo_app.command("propose")(undo_propose)
    undo_app.command("approve")(undo_approve)
    undo_app.command("list")(undo_list)
    clock_app.add_typer(undo_app, name="undo")
    app.add_typer(clock_app, name="clock")
