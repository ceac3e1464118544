"""What the forms share: every error of a form at once, each by its field, in the reader's
language (the templates' `field` and `checks` macros show each under its field)."""

from __future__ import annotations

from collections.abc import Iterable

from kustosz.errors import FieldError
from kustosz.web.common import Ctx


def by_field(ctx: Ctx, problems: Iterable[FieldError]) -> dict[str, str]:
    """field → message, the first problem of each field."""
    errors: dict[str, str] = {}
    for exc in problems:
        errors.setdefault(exc.field, ctx.said(exc))
    return errors
