"""Passwords given to the command line come from a file or an environment variable, never
as an argument: an argument sits in the shell's history and, while the command runs, in
/proc/PID/cmdline, which every local account may read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from kustosz.errors import InputError


def read_secret(file: Path | None, env: str | None, what: str, file_option: str,
                env_option: str, what_pl: str = "hasło") -> str | None:
    """The secret from ``file`` (its first line) or the variable ``env``; None if neither
    was given. Both, an unreadable or empty file, an unset or empty variable: InputError.
    ``what_pl`` names the secret in Polish, in the nominative ("hasło kamery")."""
    if file is not None and env:
        raise InputError(f"give the {what} once: {file_option} or {env_option}, not both",
                         pl=f"Podaj {what_pl} tylko raz: {file_option} albo {env_option}, nie "
                            "obie opcje.")
    if file is not None:
        try:
            text = file.read_text("utf-8")
        except (OSError, UnicodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else None
            raise InputError(f"cannot read the {what} file {file}: "
                             f"{why if isinstance(exc, OSError) else 'not UTF-8'}",
                             pl=f"Nie można odczytać pliku {file} ({what_pl}): "
                                f"{why if isinstance(exc, OSError) else 'nie jest w UTF-8'}."
                             ) from None
        secret = text.splitlines()[0] if text.splitlines() else ""
        if not secret:
            raise InputError(f"the {what} file {file} is empty",
                             pl=f"Plik {file} ({what_pl}) jest pusty.")
        return secret
    if env:
        secret = os.environ.get(env, "")
        if not secret:
            raise InputError(f"the environment variable {env} ({env_option}) is not set or "
                             "empty",
                             pl=f"Zmienna środowiskowa {env} ({env_option}) nie jest ustawiona "
                                "albo jest pusta.")
        return secret
    return None


PASSWORD_FILE, PASSWORD_ENV = "--password-file", "--password-env"


def password_file_option(whose: str = "the camera's password") -> Any:
    """The `--password-file FILE` option, one definition for every command that takes one."""
    return typer.Option(None, PASSWORD_FILE, help=f"File holding {whose} (first line).")


def password_env_option(whose: str = "the camera's password") -> Any:
    return typer.Option(None, PASSWORD_ENV, help=f"Environment variable holding {whose}.")


def camera_password(file: Path | None, env: str | None) -> str | None:
    """The camera's password from --password-file or --password-env (None: neither)."""
    return read_secret(file, env, "camera password", PASSWORD_FILE, PASSWORD_ENV,
                       "hasło kamery")
