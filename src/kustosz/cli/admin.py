"""init, policy, audit, serve."""

from __future__ import annotations

import typer
from rich.table import Table

from kustosz.audit import verify
from kustosz.cli.common import (
    actor,
    console,
    data_dir,
    emit_json,
    err_console,
    fails_cleanly,
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
        table.add_row("request deadline", f"{p.request_deadline}, after it: {p.after_deadline}")
        table.add_row("copy lifetime", f"{p.copy_lifetime} from {p.copy_counted_from}")
        table.add_row("call recording scope", p.call_scope)
        table.add_row("disclosure approved by", ", ".join(
            p.approver_title if a == "head" else p.deputy_title for a in p.approvers))
        table.add_row("time zone", p.timezone.key)
        console.print(table)


@fails_cleanly
def audit_verify() -> None:
    """Check the audit chain; report the first changed, removed or reordered entry."""
    with open_vault() as vault, vault.reading() as s:
        count, problem = verify(s, vault.head_file)
    if problem:
        err_console.print(f"audit log BROKEN at {problem}")
        raise typer.Exit(1)
    console.print(f"audit log intact: {count} entries verified")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    policy_app.command("show")(policy_show)
    audit_app.command("verify")(audit_verify)
    app.add_typer(policy_app, name="policy")
    app.add_typer(audit_app, name="audit")
