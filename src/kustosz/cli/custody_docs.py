"""The custody paperwork's verbs: users, requests, copies, bundle, registers, documents."""

from __future__ import annotations

import typer

from kustosz.cli import copies, copies_review, requests


def register(app: typer.Typer) -> None:
    # a data subject's video request masked and its copy reviewed without the browser
    copies_review.register(copies.copies_app, requests.requests_app)
    requests.register(app)
    copies.register(app)
