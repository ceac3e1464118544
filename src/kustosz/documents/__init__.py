"""Printable documents in Polish (Typst templates): forms, protocols, labels, registers, clauses,
the monitoring sign. Rendered with the `typst` wheel, which embeds its own fonts with Polish
characters, so no system fonts are needed."""

from kustosz.documents.render import NAMES, render

__all__ = ["NAMES", "render"]
