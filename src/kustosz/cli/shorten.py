"""kustosz retention shorten propose | approve | list: the two-person shortening of a retention
period (issue 28 item 5, kustosz.retention.shorten)."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli.common import actor, console, emit_json, fails_cleanly, open_vault

shorten_app = typer.Typer(no_args_is_help=True,
                          help="Shorten a retention period: one person proposes, another "
                               "approves (skrócenie okresu przechowywania).")


@fails_cleanly
def shorten_propose(kind: str = typer.Option(..., "--kind", help="camera, phone, mailbox, "
                                             "endpoint."),
                    period: str = typer.Option(..., "--period",
                                               help="The period kustosz.toml now sets."),
                    reason: str = typer.Option(..., "--reason", help="Why (przyczyna)."),
                    by: str = typer.Option(..., "--by", help="The proposing administrator's "
                                           "account.")) -> None:
    """Propose the shorter period kustosz.toml sets for a kind; another person approves."""
    from kustosz.retention.shorten import propose

    with open_vault() as vault:
        number = propose(vault, kind, period, reason, by, actor())
    console.print(f"proposal {number} recorded; another person approves it with: kustosz "
                  f"retention shorten approve {number} --by NAME / zapisano propozycję nr "
                  f"{number}; zatwierdza ją inna osoba")


@fails_cleanly
def shorten_approve(proposal: int = typer.Argument(..., help="The proposal's number."),
                    by: str = typer.Option(..., "--by", help="The approver's account "
                                           "(not the proposer)."),
                    credentials: Path = typer.Option(
                        None, "--credentials",
                        help="The re-dating identity's credentials file (access_key, "
                             "secret_key; mode 0600): the only one whose store policy grants "
                             "s3:BypassGovernanceRetention. Needed with media in an object "
                             "store."),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Approve a proposal: re-date the index and shorten each object's retention."""
    from kustosz.retention.shorten import approve
    from kustosz.storage.s3 import object_store, read_credentials

    with open_vault() as vault:
        store = None
        s3 = vault.config.s3
        if credentials is not None:
            if s3 is None:
                from kustosz.errors import FieldError

                raise FieldError("credentials", "media are not in an object store: "
                                 "--credentials is not needed",
                                 pl="Nagrania nie są w magazynie obiektów: --credentials nie "
                                    "jest potrzebne.")
            # the vault's own store (its prefix too), with the re-dating identity's credentials
            store = object_store(s3, vault.root, credentials=read_credentials(credentials))
            store.prepare()
        done = approve(vault, proposal, by, actor(), store)
    if as_json:
        emit_json(done)
        return
    console.print(f"proposal {proposal} approved: {done['kind']} material kept "
                  f"{done['period']}; {done['recordings']} recording(s) re-dated, "
                  f"{done['objects']} object(s) shortened in the store / zatwierdzono "
                  f"propozycję nr {proposal}")


@fails_cleanly
def shorten_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Proposals waiting for approval."""
    from kustosz.holds.record import record_of

    with open_vault() as vault, vault.reading() as s:
        pending = record_of(vault, s).pending_proposals()
    rows = [{"proposal": seq, **d} for seq, d in sorted(pending.items())]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print("no proposal waits for approval / żadna propozycja nie czeka na "
                      "zatwierdzenie")
    for row in rows:
        console.print(f"  {row['proposal']}: {row.get('kind')} → {row.get('period')} "
                      f"(by {row.get('by')}): {row.get('reason')}")


def register(retention_app: typer.Typer) -> None:
    shorten_app.command("propose")(shorten_propose)
    shorten_app.command("approve")(shorten_approve)
    shorten_app.command("list")(shorten_list)
    retention_app.add_typer(shorten_app, name="shorten")
