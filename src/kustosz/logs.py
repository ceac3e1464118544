"""The service's log (issue 14 item 7): one line per event on stdout, for journald.

`[logging] format = "json"` (the default under `kustosz serve`) or `"text"` in kustosz.toml,
or `kustosz serve --log-format`. A JSON line holds `ts` (UTC, ISO 8601), `level`, `logger`,
`msg` and every field a call passes with ``extra=``; an exception adds `exc`. The audit log is
another thing (hash-chained rows in the database, kustosz.audit) and is never written here.

No secret reaches a line, whichever format: passwords and tokens named in the text
(`password=…`, `"token": "…"`, `Authorization: Bearer …`), the credentials of a URL
(`rtsp://user:…@camera`), phone numbers (a PBX file name carries the caller's) and every
secret value the process has read and registered with
`keep_out_of_logs` (a camera's password, the SMTP relay's) are replaced by `***` — in the
message, its extra fields and a traceback alike, including an uncaught one (a crashed
thread's, `hook_uncaught`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kustosz import config_schema as schema
from kustosz.errors import ConfigError

FORMATS = ("json", "text")
HIDDEN = "***"
_MIN_SECRET = 4  # shorter values would blank ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):([^@\s/]+)@")
_NAMED = re.compile(r"(?i)\b(password|passwd|pass|secret|token|passphrase|api[_-]?key)"
                    r"(\"?'?\s*[:=]\s*\"?'?)([^\s\"',;&}]+)")
_SECRET_KEY = re.compile(r"(?i)^(password|passwd|pass|secret|token|passphrase|api[_-]?key|"
                         r"authorization)$")
_AUTH = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{6,}")
# A Polish phone number (nine digits, +48/0048/48 before them or not) standing on its own, as
# PBX file names carry the caller's: a person's number is not what an administrator needs to
# find the file (its time and line are). Letters next to it make it part of something else
# (a hash, a UUID).
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+48|0048|48)?[ -]?\d{3}[ -]?\d{3}[ -]?\d{3}"
                    r"(?![0-9A-Za-z])")
# Attributes every LogRecord has: what is left in its __dict__ came with extra=.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                        "taskName"}


def keep_out_of_logs(secret: str | None) -> str | None:
    """Register a secret value this process holds; returns it unchanged."""
    if secret and len(secret) >= _MIN_SECRET:
        with _lock:
            _secrets.add(secret)
    return secret


def redact(text: str) -> str:
    text = _URL_CREDENTIALS.sub(rf"\1:{HIDDEN}@", text)
    text = _NAMED.sub(rf"\1\2{HIDDEN}", text)
    text = _AUTH.sub(rf"\1 {HIDDEN}", text)
    text = _PHONE.sub(HIDDEN, text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): HIDDEN if _SECRET_KEY.search(str(k)) and v else _clean(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


def extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key, value in extras(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        # One line whatever the message holds: json.dumps escapes newlines.
        return json.dumps(_clean(line), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        return redact(f"{text} {fields}" if fields else text)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler `setup` installed, so a second call replaces it."""


def read_format(root: Path) -> str | None:
    """`[logging] format` from the data folder's kustosz.toml (None if not set); the table's
    keys: kustosz.config_schema.logging."""

    path = root / "kustosz.toml"
    try:
        data = schema.parse(path)
    except ConfigError:
        return None  # read_config says what is wrong with the file
    return schema.table("logging", data, path, root).format


def check_format(value: object, what: str = "--log-format") -> str:
    if value not in FORMATS:
        raise ConfigError(f"{what} must be \"json\" or \"text\", got {value!r}",
                          pl=f"{what}: dozwolone wartości to „json” i „text” "
                             f"(podano „{value}”).")
    return str(value)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("kustosz").critical("uncaught %s: the program stops", exc_type.__name__,
                                          exc_info=(exc_type, exc, tb))


def _log_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as threading's own hook: a thread may end so
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("kustosz").error(
        "thread %s stopped on an uncaught %s", name, args.exc_type.__name__,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]


def hook_uncaught() -> Callable[[], None]:
    """Uncaught exceptions (a thread's that crashed, and the main thread's) go through the log
    formatter — one line, secrets masked — instead of a plain traceback on stderr. Returns
    what puts the hooks back."""
    before = (sys.excepthook, threading.excepthook)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_crash

    def undo() -> None:
        sys.excepthook, threading.excepthook = before
    return undo


def setup(fmt: str = "json", level: int = logging.INFO,
          stream: Any = None) -> Callable[[], None]:
    """One handler on the root logger, writing ``fmt`` lines to stdout (journald reads it);
    the handlers `logging.basicConfig` put on stderr before are replaced. Returns what undoes
    it (serve run inside another program, e.g. a test, leaves its logging as it found it)."""
    check_format(fmt)
    handler = _Handler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    ours = logging.getLogger("kustosz")
    level_before = ours.level
    removed = [old for old in root.handlers
               # what basicConfig or an earlier setup put there; a test's capturing one stays
               if type(old) in (logging.StreamHandler, _Handler)]
    for old in removed:
        root.removeHandler(old)
    root.addHandler(handler)
    if not ours.isEnabledFor(level):
        ours.setLevel(level)
    unhook = hook_uncaught()

    def undo() -> None:
        unhook()
        root.removeHandler(handler)
        for old in removed:
            root.addHandler(old)
        ours.setLevel(level_before)
    return undo


def setup_cli(verbose: bool) -> None:
    """Every other command: text lines on stderr, warnings only unless ``--verbose`` — as
    `logging.basicConfig` did, with the same redaction as serve's lines. Like basicConfig, it
    leaves a root logger that already has handlers alone."""
    root = logging.getLogger()
    if root.handlers:
        return
    hook_uncaught()
    handler = _Handler(sys.stderr)
    handler.setFormatter(TextFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
