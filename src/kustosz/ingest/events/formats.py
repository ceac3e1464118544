"""The registry of IT-event formats: each way an office's systems hand Kustosz an event,
declared once (issue 51 item 3).

An `EventFormat` names its key (a syslog frame's key is the stored event's ``format``), its
layer, its Polish and English names, the docs' anchor that explains it, and what reads it:

- ``transport``: how frames arrive with an acknowledgment of their own (RELP);
- ``frame``: a syslog message after its <PRI> (RFC 5424, RFC 3164), ``parse`` returning a
  `Parsed` or None when the text is not of this form — tried in the order registered;
- ``payload``: a form inside a frame's message (CEF), ``detect`` saying whether the message is
  of it and ``user`` whom it names (its own fields, before the loose patterns of
  syslog.user_of);
- ``document``: an event sent whole over HTTP (JSON).

The built-ins register themselves in their modules, the same way another format would, and
are loaded by name (`DEFAULT_FORMATS`, Datasette's DEFAULT_PLUGINS is the model) the first
time the registry is read. tests/monitoring/test_event_formats.py checks every registered
format has its names, its docs and its reader.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Layer = Literal["transport", "frame", "payload", "document"]
DEFAULT_FORMATS = (
    "kustosz.ingest.events.syslog",
    "kustosz.ingest.events.cef",
    "kustosz.ingest.events.relp",
    "kustosz.ingest.events.http",
)


@dataclass
class Parsed:
    format: str  # rfc5424 | rfc3164 | raw
    message: str
    at: datetime | None = None
    host: str = ""
    app: str = ""
    facility: int | None = None
    severity: int | None = None
    sd: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


FrameParser = Callable[[str, ZoneInfo, datetime, list[str]], Parsed | None]


@dataclass(frozen=True)
class EventFormat:
    key: str
    layer: Layer
    name_pl: str
    name_en: str
    doc: str  # docs page and anchor, relative to docs/: "operations/mail-events.md#cef"
    parse: FrameParser | None = None  # frame: (text after <PRI>, zone, now, problems)
    detect: Callable[[str], bool] | None = None  # payload: is the message of this form
    user: Callable[[str], str] | None = None  # payload: whom the message names, or ""
    carries: str = ""  # transport: what its frames are ("frame": syslog)


FORMATS: dict[str, EventFormat] = {}
_loaded = False


def register(fmt: EventFormat) -> EventFormat:
    if fmt.key in FORMATS:
        raise ValueError(f"the event format {fmt.key!r} is registered already")
    FORMATS[fmt.key] = fmt
    return fmt


def unregister(key: str) -> None:
    FORMATS.pop(key, None)


def formats() -> dict[str, EventFormat]:
    """Every registered format, the built-ins loaded."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in DEFAULT_FORMATS:
            importlib.import_module(module)
    return FORMATS


def of_layer(layer: Layer) -> list[EventFormat]:
    return [f for f in formats().values() if f.layer == layer]
