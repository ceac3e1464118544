"""Errors shown to people: one line that names the problem.

The message itself is English (logs, the API's ``detail``); ``pl`` is what an office worker
reads on a page and what the CLI prints first (``błąd: …`` before ``error: …``, for the
office's IT administrator). Every error carries one — a test walks the raise sites of the
whole package (tests/test_error_polish.py) — and pages show it through ``for_people``.
"""


class KustoszError(Exception):
    """A problem the user can act on; the CLI prints it as one line and exits non-zero."""

    def __init__(self, message: str = "", *, pl: str | None = None) -> None:
        super().__init__(message)
        self.pl = pl


class ConfigError(KustoszError):
    """A policy or configuration file is missing, malformed or inconsistent."""


class InputError(KustoszError):
    """A value given on the command line or through the API is not acceptable."""


class NotFound(KustoszError):
    """The thing named does not exist."""


class FieldError(InputError):
    """Bad input in one named field: forms show it by the field, the API answers 422 naming
    it, the CLI prints it as one line like any other input error."""

    def __init__(self, field: str, message: str, *, pl: str | None = None) -> None:
        # Field messages are written for the form, in Polish, unless an English one is given.
        super().__init__(message, pl=pl if pl is not None else message)
        self.field = field


def for_people(exc: BaseException, lang: str = "pl") -> str:
    """The words a page shows for ``exc``: Polish unless the reader chose English."""
    pl = getattr(exc, "pl", None)
    if lang == "en" or not pl:
        return str(exc)
    return pl
