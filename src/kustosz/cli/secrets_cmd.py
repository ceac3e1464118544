"""`kustosz secrets`: the vault's key for the passwords it keeps (keys/secrets.key)."""

from __future__ import annotations

import typer

from kustosz.atrest.sealing import key_path
from kustosz.cli.common import actor, console, data_dir, fails_cleanly
from kustosz.errors import InputError
from kustosz.vault import Vault

secrets_app = typer.Typer(no_args_is_help=True,
                          help="The key that seals the cameras' and mailboxes' passwords.")


@fails_cleanly
def forget_lost_key(yes: bool = typer.Option(False, "--yes",
                                             help="Yes, the key is lost for good.")) -> None:
    """Make a new key when keys/secrets.key is lost for good; the cameras' and mailboxes'
    passwords sealed with it are forgotten and must be given again (cameras password,
    mail password). Restoring the file from the backup is always better."""
    if not yes:
        raise InputError("this forgets every stored camera and mailbox password: restore "
                         f"{key_path(data_dir())} from the backup if you can; otherwise "
                         "run again with --yes",
                         pl="To polecenie usuwa wszystkie zapisane hasła kamer i skrzynek "
                            f"pocztowych: jeśli możesz, odtwórz {key_path(data_dir())} z kopii "
                            "zapasowej; w przeciwnym razie uruchom je ponownie z --yes.")
    vault = Vault.open(data_dir(), actor=actor(), forget_lost_key=True)
    vault.close()
    console.print("a new secrets key was made; give the passwords again: kustosz cameras "
                  "password NAME, kustosz mail password NAME")


def register(app: typer.Typer) -> None:
    secrets_app.command("forget-lost-key")(forget_lost_key)
    app.add_typer(secrets_app, name="secrets")
