"""CEF (ArcSight's Common Event Format), as firewalls and Windows collectors send it inside a
syslog message: ``CEF:Version|Vendor|Product|Version|ID|Name|Severity|key=value …``. Its
extension names the acting user (``suser``) and the target (``duser``): the event is the
acting user's, the target's only when no actor is named."""

from __future__ import annotations

import re

from kustosz.ingest.events.formats import EventFormat, register

_HEAD = re.compile(r"^\s*CEF:\d+\|")
_NAME = r"\"?([\w.@\\$-]{1,64})"
_USERS = [re.compile(r"(?:^|\s)" + key + "=" + _NAME) for key in ("suser", "duser")]


def is_cef(message: str) -> bool:
    return _HEAD.match(message) is not None


def extension(message: str) -> str:
    """What follows the seventh unescaped "|": the key=value pairs."""
    bars, i = 0, 0
    while i < len(message):
        if message[i] == "\\":
            i += 2
            continue
        if message[i] == "|":
            bars += 1
            if bars == 7:
                return message[i + 1:]
        i += 1
    return ""


def user(message: str) -> str:
    ext = extension(message)
    for pattern in _USERS:
        m = pattern.search(ext)
        if m:
            return m.group(1)
    return ""


register(EventFormat("cef", "payload", "CEF (Common Event Format)", "CEF (Common Event Format)",
                     "operations/mail-events.md#cef", detect=is_cef, user=user))
