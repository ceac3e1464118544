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
                                                    "127.0.0.1 are always included).")) -> None:
    """Make an ECDSA P-256 key (chmod 600) and a self-signed certificate valid for a year.
    Browsers warn about it: replace it with the office's certificate."""
    from kustosz.web.tls import SELF_SIGNED_DAYS, make_self_signed

    cert, key = make_self_signed(out, list(host or []))
    console.print(f"key: {key} (chmod 600)\ncertificate: {cert} (self-signed, valid "
                  f"{SELF_SIGNED_DAYS} days)\nstart with: kustosz serve --tls-cert {cert} "
                  f"--tls-key {key}\nbrowsers will warn about a self-signed certificate: "
                  "replace it with one from the office's certificate authority")


def register(app: typer.Typer) -> None:
    tls_app.command("self-signed")(self_signed)
    app.add_typer(tls_app, name="tls")
