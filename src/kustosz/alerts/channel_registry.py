"""The alerts layer's side of the channel registry (kustosz.alert_channels): a registered
kind's sender factory and web form, named there as "module:attribute" because they live up
here, resolved here; and the kinds' names as the office reads them.

A sender is anything with ``name`` and ``send(message)``; a form is a `ChannelForm`
(kustosz.alerts.channel_forms). Adding a channel: one `register(ChannelKind(...))`, with
its table, sender and form — docs/design.md, "How the product grows".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from kustosz.alert_channels import CHANNELS, ChannelKind
from kustosz.alerts.messages import Message

if TYPE_CHECKING:
    from kustosz.config import AlertsConfig


class Sender(Protocol):
    name: str

    def send(self, msg: Message) -> None: ...


class Seal(Protocol):
    """Seals a secret typed in the form with the vault's secrets key (``what``: which)."""

    def __call__(self, text: str, what: str = ...) -> str: ...


class ChannelForm(Protocol):
    template: str  # the section's fields (web/templates)
    secret_fields: tuple[str, ...]  # never shown back, not even as typed

    def section_of(self, value: Any) -> dict[str, Any]: ...

    def value_of(self, section: dict[str, Any], base: AlertsConfig) -> object: ...

    def fields_of(self, section: dict[str, Any] | None) -> dict[str, str]: ...

    def parse(self, form: dict[str, str], seal: Seal, current: dict[str, Any] | None,
              base: AlertsConfig | None, errors: dict[str, str]) -> dict[str, Any] | None: ...

    def context(self, value: Any) -> dict[str, Any]: ...


def resolve(ref: object) -> Any:
    """"module:attr" imported, or the object itself."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def sender_factory(kind: ChannelKind) -> Callable[..., Sender]:
    factory: Callable[..., Sender] = resolve(kind.sender)
    return factory


def form_of(kind: ChannelKind) -> ChannelForm:
    form: ChannelForm = resolve(kind.form)
    return form


def forms() -> dict[str, ChannelForm]:
    """Each registered kind's form, in the registry's order."""
    return {key: form_of(kind) for key, kind in CHANNELS.items()}


def name(key: str, lang: str = "pl") -> str:
    kind = CHANNELS.get(key)
    if kind is None:
        return key
    return kind.name_en if lang == "en" else kind.name_pl


class _NamesPl(Mapping[str, str]):
    """Channel key -> its Polish name, read from the registry each time (a kind registered
    later is named too)."""

    def __getitem__(self, key: str) -> str:
        return CHANNELS[key].name_pl

    def __iter__(self) -> Iterator[str]:
        return iter(CHANNELS)

    def __len__(self) -> int:
        return len(CHANNELS)


NAMES_PL: Mapping[str, str] = _NamesPl()
