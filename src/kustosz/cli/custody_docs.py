"""The custody paperwork's verbs: users, requests, copies, bundle, registers, documents."""

from __future__ import annotations

import typer

from kustosz.cli import copies, requests


def register(app: typer.Typer) -> None:
    requests.register(app)
    copies.register(app)
