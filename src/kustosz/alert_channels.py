"""The registry of alert channels: each way an alert leaves the vault, declared once.

A channel kind (e-mail, webhook, syslog, or one a later version or an office adds) is one
`ChannelKind` given to `register`: its key (the `[alerts.<key>]` table and the web page's
section), the pydantic table that checks it in kustosz.toml, the function turning a checked
table into the value its sender takes, its Polish and English names, the docs' anchor that
explains it, and — named as "module:attribute", since they live in the alerts layer above
this one — its sender factory and its web form (`kustosz.alerts.channel_registry` resolves
them). The built-ins register themselves in `kustosz.config_schema.alerts` the same way a
third party would (Datasette's DEFAULT_PLUGINS is the model); the configuration schema,
`AlertsConfig`, `alerts.channels.build`, the page's form and the names shown all read this
registry. A kind registered after the schema was built is added to it (`on_register`).
tests/test_channel_registry.py checks every registered kind has what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ChannelKind:
    key: str  # [alerts.<key>] in kustosz.toml, the page's section, the sender's name
    name_pl: str  # as the office reads it ("e-mail", "webhook", "syslog")
    name_en: str
    doc: str  # docs page and anchor, relative to docs/: "operations/alerts.md#e-mail"
    table: type[BaseModel]  # the [alerts.<key>] table, extra keys refused
    # (its checked table, the whole checked [alerts] table, the data folder) -> the value
    # the sender and the web form take (a frozen dataclass)
    value: Callable[[Any, Any, Path], object]
    sender: str | Callable[..., Any]  # "module:attr": (value, secrets) -> a sender
    form: str | Any  # "module:attr": the web page's form of this channel (ChannelForm)


CHANNELS: dict[str, ChannelKind] = {}  # in the order the page and the schema show them
_LISTENERS: list[Callable[[ChannelKind], None]] = []
_UNLISTENERS: list[Callable[[ChannelKind], None]] = []


def register(kind: ChannelKind) -> ChannelKind:
    """Add a channel kind; one key once (a second registration of a key is a mistake)."""
    if kind.key in CHANNELS:
        raise ValueError(f"the alert channel {kind.key!r} is registered already")
    if not kind.key.isidentifier() or kind.key in _RESERVED:
        raise ValueError(f"{kind.key!r} cannot name an alert channel")
    CHANNELS[kind.key] = kind
    for listener in _LISTENERS:
        listener(kind)
    return kind


def unregister(key: str) -> None:
    """Take a kind out again (a test's fake one): the schema drops its table too."""
    kind = CHANNELS.pop(key, None)
    if kind is not None:
        for listener in _UNLISTENERS:
            listener(kind)


def on_register(listener: Callable[[ChannelKind], None],
                removed: Callable[[ChannelKind], None] | None = None) -> None:
    """``listener(kind)`` runs for each kind registered from now on, ``removed(kind)`` for
    each taken out."""
    _LISTENERS.append(listener)
    if removed is not None:
        _UNLISTENERS.append(removed)


def names_pl() -> dict[str, str]:
    return {key: kind.name_pl for key, kind in CHANNELS.items()}


# [alerts]'s own keys and the page's other sections: never a channel's key
_RESERVED = frozenset({"kinds", "general", "forecast_days", "digest_at", "digest_to",
                       "webhook_local"})
