"""`kustosz tls self-signed`: a key and a temporary self-signed certificate for a first start
over HTTPS (`kustosz serve --tls-cert … --tls-key …`); the dashboard says it is one."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli.common import console, fails_cleanly

tls_app = typer.Typer(no_args_is_help=True, help="Certificates for the web app's HTTPS.")


@fails_cleanly
def self_signed(out: Path = typer.Option(..., "--out", help="Folder for kustosz.key and "
                                                           "kustosz.crt."),
                host: list[str] = typer.Option(None, "--host",
                                               help="A name or address browsers use to reach "
                                                    "the server; repeatable (localhost and "
                                                    "127.0.0.1 are always included)."),
                owner: str | None = typer.Option(None, "--owner", metavar="USER[:GROUP]",
                                                 help="Run as root: give the files (and the "
                                                      "folder, if made) to the account the "
                                                      "service runs as, e.g. kustosz.")
                ) -> None:
    """Make an ECDSA P-256 key (chmod 600) and a self-signed certificate valid for a year.
    Browsers warn about it: replace it with the office's certificate."""
    from kustosz.web.tls import SELF_SIGNED_DAYS, make_self_signed, parse_owner

    ids = parse_owner(owner) if owner else None
    cert, key = make_self_signed(out, list(host or []), owner=ids)
    whose = f", owner {owner}" if owner else ""
    # soft_wrap: a path or the command cut in two at 80 columns (the journal) cannot be copied
    console.print(f"key: {key} (chmod 600{whose})\ncertificate: {cert} (self-signed, valid "
                  f"{SELF_SIGNED_DAYS} days)\nstart with: kustosz serve --tls-cert {cert} "
                  f"--tls-key {key}\nbrowsers will warn about a self-signed certificate: "
                  "replace it with one from the office's certificate authority",
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    tls_app.command("self-signed")(self_signed)
    app.add_typer(tls_app, name="tls")
