"""init, policy, audit, serve."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from kustosz.cli.common import (
    actor,
    console,
    data_dir,
    err_console,
    fails_cleanly,
    local,
    open_vault,
)
from kustosz.cli.config_cmd import report
from kustosz.config_schema.policy_file import check_preset_file
from kustosz.errors import InputError
from kustosz.policy import preset_names
from kustosz.vault import Vault

policy_app = typer.Typer(no_args_is_help=True, help="The office's rules in force.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")


@fails_cleanly
def init(preset: str = typer.Option(None, "--preset", help=f"One of: {', '.join(preset_names())}"),
         preset_file: Path = typer.Option(None, "--preset-file",
                                          help="An office's own preset file (docs/policies.md)."),
         database_url: str = typer.Option("", "--database-url",
                                          help="PostgreSQL URL; SQLite in the folder if empty.")
         ) -> None:
    """Create a vault in the data folder with the rules of an office: a shipped preset, or
    a preset file of its own (checked first, as `kustosz policy check` does: nothing is
    created when it has a problem)."""
    if (preset is None) == (preset_file is None):
        raise InputError("give one of --preset NAME and --preset-file FILE",
                         pl="Podaj jedno z: --preset NAZWA albo --preset-file PLIK.")
    text = None if preset_file is None else checked_preset(preset_file)
    vault = Vault.init(data_dir(), preset, database_url, actor=actor(), preset_file=text)
    told_created(vault, f"preset {preset}" if preset else str(preset_file))
    vault.close()


def checked_preset(preset_file: Path) -> str:
    """The text of a preset file that passes `kustosz policy check`; else its findings are
    told, Polish first, and the command ends with exit status 1 before anything is made."""
    problems = check_preset_file(preset_file)
    if problems:
        report(preset_file, problems, as_json=False)  # exits 1
    return preset_file.read_text("utf-8-sig")


def told_created(vault: Vault, rules: str) -> None:
    """What `init` says of a new vault: where, for which office, and its signing key."""
    from kustosz.custody.bundles import fingerprint, office_key

    key = office_key(vault.root)  # made now, so its fingerprint can be recorded on paper
    console.print(f"Vault created in {vault.root} for [bold]{escape(vault.policy.office_name)}[/] "
                  f"({escape(rules)}).")
    console.print(f"The office's signing key for copies: Ed25519, fingerprint "
                  f"{fingerprint(key.public_key())} (export it with: kustosz bundle key).")


IDENTITY_HELP = ("The witness identity pinned by root (default: /etc/kustosz/"
                 "audit-witness.json when it exists; see `audit pin-witness`).")


@fails_cleanly
def audit_verify(witness_path: Path | None = typer.Option(
        None, "--witness", help="The witness file of signed checkpoints (default: the one "
                                "pinned by root, else [audit] witness in kustosz.toml)."),
        identity_path: Path | None = typer.Option(None, "--identity", help=IDENTITY_HELP)
        ) -> None:
    """Check the audit log, the access records and, given the witness, every signed checkpoint;
    report what was changed, removed, inserted, reordered or cut off."""
    from kustosz.audit import identity
    from kustosz.audit.log import AuditProblem
    from kustosz.audit.verifier import Report, check, not_yet_written
    from kustosz.audit.witness import public_key_of, vault_id
    from kustosz.errors import InputError

    with open_vault() as vault:
        with vault.reading() as s:
            vid = vault_id(s)
        # The witness and key pinned outside the data folder, not what the data folder says
        # (kustosz.audit.identity: a repointed [audit] witness fails here).
        pinned = identity.resolve(vault.root, vault.config.audit.witness,
                                  public_key_of(vault.root), vid, identity_path)
        path = witness_path or pinned.witness
        with vault.reading() as s:
            # The vault's own witness still waiting for its first checkpoint is no violation
            # (issue 29 item 4); one named with --witness must be there.
            pending = path if witness_path is None and not_yet_written(
                s, path, pinned.identity) else None
            try:
                report = check(s, vault.head_file, None if pending else path, pinned.key,
                               pending)
            except InputError as exc:
                if witness_path is not None:  # the file asked for: a bad input, exit 2
                    raise
                # The vault's own witness, written before and now gone or unreadable: a
                # finding of the check (exit 1, and its alert), as the daily check says it.
                report = Report(witness=path, problems=[AuditProblem(0, str(exc), "witness")])
        latest_at = local(report.latest.get("at"), vault) if report.latest else "—"
        problems = [*pinned.problems, *(str(p) for p in report.problems)]
        if witness_path is None:  # the vault's own witness: its verdict is the alert's
            from kustosz.alerts.checks import note_verify

            note_verify(vault, problems, by=actor(), pending=pending)
    if pinned.problems:
        err_console.print("Weryfikacja nie powiodła się: tożsamość świadka (zapisana przez "
                          "roota poza katalogiem danych) nie zgadza się ze skarbcem albo nie "
                          "jest chroniona / verify FAILED: the witness identity pinned by root "
                          "does not match the vault or is not protected")
        for text in pinned.problems:
            err_console.print(f"audit log BROKEN at {escape(text)}")
    for problem in report.problems:
        err_console.print(f"audit log BROKEN at {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"audit log intact: {report.entries} entries verified, "
                  f"{report.access_records} access records verified")
    if pending is not None:
        err_console.print(f"uwaga / note: plik-świadek {escape(str(pending))} nie został "
                          "jeszcze zapisany — zapisze go pierwszy punkt kontrolny (`kustosz "
                          "audit checkpoint` albo uruchomiona usługa); dziennik sprawdzono bez "
                          "niego / the witness is not written yet — the first checkpoint "
                          "writes it; the log was checked without it")
    elif path is None:
        err_console.print("no witness: a log cut together with audit.head, or rewritten with "
                          "its chain recomputed, cannot be detected without one — set \\[audit] "
                          "witness in kustosz.toml or give --witness")
    elif report.latest is not None:
        console.print(f"witness {path}: {report.witnessed} signed checkpoints agree with the "
                      f"log (latest: no. {report.latest['n']}, entry {report.latest['seq']}, "
                      f"{latest_at})")
    if pinned.identity is not None:
        console.print(f"witness identity {escape(str(pinned.identity.path))}: pinned by root "
                      f"(witness {escape(str(pinned.identity.witness))}, key "
                      f"{pinned.identity.fingerprint})")
    elif pinned.note is not None:
        err_console.print(f"uwaga / note: {escape(pinned.note)}")


@fails_cleanly
def audit_pin_witness(identity_path: Path = typer.Option(
        None, "--identity", help="Where to write it (default /etc/kustosz/audit-witness.json).")
        ) -> None:
    """As root: pin the witness of this vault — its path from kustosz.toml, the office's public
    key, the vault's id — in a root-owned file outside the data folder, which `audit verify`
    then uses instead of what the data folder says."""
    from kustosz.audit import identity
    from kustosz.audit.verifier import read_witness
    from kustosz.audit.witness import parse_line, public_key_of, signature_ok
    from kustosz.config import read_config
    from kustosz.errors import InputError
    from kustosz.keys import fingerprint

    # Run by root, so the vault is not opened (the data folder is the service account's, and
    # a database opened as root could leave root's files in it): the setting and key are read
    # as files, the vault's id from the witness's first line, which its key must have signed.
    root = data_dir()
    where = read_config(root).audit.witness
    key = public_key_of(root)
    if where is None or key is None:
        raise InputError("nothing to pin: set [audit] witness in kustosz.toml (and start the "
                         "vault once, which makes the office key)",
                         pl="Nie ma czego zapisać: ustaw [audit] witness w kustosz.toml (i raz "
                            "uruchom skarbiec, co utworzy klucz urzędu).")
    try:
        first = parse_line(read_witness(where)[0])
    except (InputError, ValueError) as exc:
        raise InputError(f"the witness {where} holds no checkpoint to pin ({exc}); make one "
                         "first: kustosz audit checkpoint",
                         pl=f"Plik-świadek {where} nie zawiera punktu kontrolnego ({exc}); "
                            "najpierw wykonaj: kustosz audit checkpoint") from None
    if first["key"] != fingerprint(key) or not signature_ok(first, key):
        raise InputError(f"the witness {where} was signed by the key {first['key']}, keys/ "
                         f"holds {fingerprint(key)}: nothing pinned",
                         pl=f"Plik-świadek {where} podpisano kluczem {first['key']}, a w "
                            f"keys/ jest {fingerprint(key)}: niczego nie zapisano.")
    target = identity_path or identity.DEFAULT_PATH
    identity.pin(target, root, str(first["vault"]), where, key)
    console.print(f"Świadek przypięty / witness pinned: {escape(str(target))} (root, 0644): "
                  f"witness {escape(str(where))}")


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
    audit_app.command("verify")(audit_verify)
    audit_app.command("checkpoint")(audit_checkpoint)
    audit_app.command("pin-witness")(audit_pin_witness)
    app.add_typer(policy_app, name="policy")
    app.add_typer(audit_app, name="audit")
