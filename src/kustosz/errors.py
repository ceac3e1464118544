"""Errors shown to people: one line that names the problem."""


class KustoszError(Exception):
    """A problem the user can act on; the CLI prints it as one line and exits non-zero."""


class ConfigError(KustoszError):
    """A policy or configuration file is missing, malformed or inconsistent."""


class InputError(KustoszError):
    """A value given on the command line or through the API is not acceptable."""


class NotFound(KustoszError):
    """The thing named does not exist."""


class FieldError(InputError):
    """Bad input in one named field: forms show it by the field, the API answers 422 naming
    it, the CLI prints it as one line like any other input error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
