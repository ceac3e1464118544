"""init, policy, audit, serve."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from kustosz.cli.common import (
    actor,
    console,
    data_dir,
    emit_json,
    err_console,
    fails_cleanly,
    local,
    open_vault,
)
from kustosz.policy import preset_names
from kustosz.vault import Vault

policy_app = typer.Typer(no_args_is_help=True, help="The office's rules in force.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")


@fails_cleanly
def init(preset: str = typer.Option(..., "--preset", help=f"One of: {', '.join(preset_names())}"),
         database_url: str = typer.Option("", "--database-url",
                                          help="PostgreSQL URL; SQLite in the folder if empty.")
         ) -> None:
    """Create a vault in the data folder with the rules of an office."""
    from kustosz.custody.bundles import fingerprint, office_key

    vault = Vault.init(data_dir(), preset, database_url, actor=actor())
    key = office_key(vault.root)  # made now, so its fingerprint can be recorded on paper
    console.print(f"Vault created in {vault.root} for [bold]{vault.policy.office_name}[/] "
                  f"(preset {preset}).")
    console.print(f"The office's signing key for copies: Ed25519, fingerprint "
                  f"{fingerprint(key.public_key())} (export it with: kustosz bundle key).")
    vault.close()


@fails_cleanly
def policy_show(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the rules in force (preset plus this office's overrides)."""
    with open_vault() as vault:
        p = vault.policy
        if as_json:
            emit_json(p.as_dict())
            return
        console.print(f"[bold]{p.office_name}[/] (preset {p.preset or '—'})")
        table = Table("rule", "value")
        for kind, period in p.retention.items():
            table.add_row(f"retention of {kind} material",
                          str(period) if period else "not regulated (sources refused)")
        table.add_row("request deadline",
                      f"{p.request_deadline}, after it: {p.after_deadline}"
                      if p.request_deadline else "none (the regulation sets no deadline)")
        table.add_row("copy lifetime", f"{p.copy_lifetime} from {p.copy_counted_from}")
        table.add_row("call recording scope", p.call_scope)
        table.add_row("disclosure approved by", ", ".join(
            p.approver_title if a == "head" else p.deputy_title for a in p.approvers))
        table.add_row("time zone", p.timezone.key)
        n = p.names  # what documents print inside sentences (office.name_genitive, …)
        table.add_row("office in sentences", f"od {n.office_gen}; {n.office_in}")
        table.add_row("head in sentences", f"decyzja {n.approver_gen}; przez {n.approver_acc}")
        table.add_row("deputy in sentences", f"nieobecność {n.deputy_gen}; przez {n.deputy_acc}")
        console.print(table)


@fails_cleanly
def audit_verify(witness_path: Path | None = typer.Option(
        None, "--witness", help="The witness file of signed checkpoints (default: [audit] "
                                "witness in kustosz.toml).")) -> None:
    """Check the audit log, the access records and, given the witness, every signed checkpoint;
    report what was changed, removed, inserted, reordered or cut off."""
    from kustosz.audit.verifier import check
    from kustosz.audit.witness import public_key_of

    with open_vault() as vault:
        path = witness_path or vault.config.audit.witness
        with vault.reading() as s:
            report = check(s, vault.head_file, path, public_key_of(vault.root))
        latest_at = local(report.latest.get("at"), vault) if report.latest else "—"
        if witness_path is None:  # the vault's own witness: its verdict is the alert's
            from kustosz.alerts.checks import note_verify

            note_verify(vault, [str(p) for p in report.problems], by=actor())
    for problem in report.problems:
        err_console.print(f"audit log BROKEN at {problem}")
    if report.problems:
        raise typer.Exit(1)
    console.print(f"audit log intact: {report.entries} entries verified, "
                  f"{report.access_records} access records verified")
    if path is None:
        err_console.print("no witness: a log cut together with audit.head, or rewritten with "
                          "its chain recomputed, cannot be detected without one — set \\[audit] "
                          "witness in kustosz.toml or give --witness")
    elif report.latest is not None:
        console.print(f"witness {path}: {report.witnessed} signed checkpoints agree with the "
                      f"log (latest: no. {report.latest['n']}, entry {report.latest['seq']}, "
                      f"{latest_at})")


@fails_cleanly
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the audit log now (and any the witness is missing)."""
    from kustosz.audit.witness import checkpoint

    with open_vault() as vault:
        outcome = checkpoint(vault, actor(), force=True)
        where = vault.config.audit.witness
    if outcome.problem:
        err_console.print(f"checkpoint recorded in the log but not witnessed: {outcome.problem}")
        raise typer.Exit(1)
    n = json.loads(outcome.entry.details)["n"] if outcome.entry is not None else "—"
    shown = escape(str(where)) if where else "no witness file (set \\[audit] witness)"
    console.print(f"checkpoint no. {n} made; {len(outcome.written)} line(s) written to {shown}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    policy_app.command("show")(policy_show)
    audit_app.command("verify")(audit_verify)
    audit_app.command("checkpoint")(audit_checkpoint)
    app.add_typer(policy_app, name="policy")
    app.add_typer(audit_app, name="audit")
