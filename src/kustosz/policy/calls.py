"""Which calls an office records, and how its callers are told (issue 66 item 4).

`[calls] scope` is any combination of external incoming, external outgoing and internal calls,
as a regulation lists them: seed 001 §1 ust. 1 records "przychodzących, wychodzących oraz
wewnętrznych" (`"all"`), seed 004 §3 ust. 4 "wyłącznie zewnętrzne połączenia przychodzące"
(`"external_incoming"`), and another office its external calls both ways but not the internal
ones (`["external_incoming", "external_outgoing"]`). The two single names the presets wrote
before combinations keep their meaning.

`incoming_announcement` and `outgoing_announcement` say how the callers of each external
direction are told the call is recorded: played by the exchange (`"automatic"`, 001 §1 ust. 3)
or read by the employee (`"employee"`, 001 §1 ust. 4). Left out, the documents do not guess:
they ask for it (documents.announcements). Internal calls have no caller from outside, and no
regulation read words an announcement for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kustosz.errors import ConfigError
from kustosz.words import listing

CallKind = Literal["external_incoming", "external_outgoing", "internal"]
CALL_KINDS: tuple[CallKind, ...] = ("external_incoming", "external_outgoing", "internal")
# The names a scope may be given by alone: every kind, or one of them.
NAMED: dict[str, tuple[CallKind, ...]] = {"all": CALL_KINDS,
                                          **{k: (k,) for k in CALL_KINDS}}
KIND_PL: dict[CallKind, str] = {"external_incoming": "zewnętrzne połączenia przychodzące",
                                "external_outgoing": "zewnętrzne połączenia wychodzące",
                                "internal": "połączenia wewnętrzne"}

Delivery = Literal["automatic", "employee"]
DELIVERIES: tuple[Delivery, ...] = ("automatic", "employee")
# The external directions a caller from outside is told in, and the key saying how.
ANNOUNCED: dict[CallKind, str] = {"external_incoming": "incoming_announcement",
                                  "external_outgoing": "outgoing_announcement"}

_KNOWN_PL = ("external_incoming (zewnętrzne przychodzące), external_outgoing (zewnętrzne "
             "wychodzące), internal (wewnętrzne)")


@dataclass(frozen=True)
class CallScope:
    """The kinds of call an office records; empty (`NONE`) only for an office that records no
    calls (no `retention.phone`), which need not say a scope."""

    kinds: frozenset[CallKind]

    @classmethod
    def of(cls, value: str | Iterable[str]) -> CallScope:
        """The scope a file writes: a name of `NAMED`, or a list of kinds (ConfigError)."""
        if isinstance(value, str):
            if value not in NAMED:
                raise _unknown([value])
            return cls(frozenset(NAMED[value]))
        items = list(value)
        bad = [i for i in items if i not in CALL_KINDS]
        if bad:
            raise _unknown(bad)
        if not items:
            raise ConfigError(
                "policy calls.scope lists no calls; an office that records none sets no "
                "retention.phone",
                pl="Zasada calls.scope nie wymienia żadnych połączeń; urząd, który nie nagrywa "
                   "rozmów, nie ustawia okresu retention.phone.")
        return cls(frozenset(i for i in CALL_KINDS if i in items))

    @property
    def everything(self) -> bool:
        return len(self.kinds) == len(CALL_KINDS)

    def ordered(self) -> list[CallKind]:
        return [k for k in CALL_KINDS if k in self.kinds]

    def value(self) -> str | list[str] | None:
        """As a file writes it: "all" for every kind, else the list; None: no calls."""
        if not self.kinds:
            return None
        return "all" if self.everything else list(self.ordered())

    def __str__(self) -> str:
        if not self.kinds:
            return "none (no calls are recorded)"
        return "all" if self.everything else ", ".join(self.ordered())

    def pl(self) -> str:
        """What is recorded, in a sentence's words ("Zakres nagrywania: …")."""
        if not self.kinds:
            return "żadnych połączeń (urząd nie nagrywa rozmów)"
        if self.everything:
            return "wszystkie połączenia przychodzące, wychodzące i wewnętrzne"
        external = [k for k in self.ordered() if k != "internal"]
        said = ("zewnętrzne połączenia przychodzące i wychodzące" if len(external) == 2
                else KIND_PL[external[0]] if external else "")
        return "wyłącznie " + listing([said, KIND_PL["internal"] if "internal" in self.kinds
                                       else ""])


def _unknown(bad: list[str]) -> ConfigError:
    shown = ", ".join(repr(b) for b in bad)
    shown_pl = ", ".join(f"„{b}”" for b in bad)
    return ConfigError(
        f"policy calls.scope: unknown {shown}; give \"all\", one of {', '.join(CALL_KINDS)}, "
        "or a list of them",
        pl=f"Zasada calls.scope: nieznana wartość {shown_pl}; podaj „all” (wszystkie), jedną z "
           f"wartości: {_KNOWN_PL} albo ich listę, np. [\"external_incoming\", "
           "\"external_outgoing\"].")


NONE = CallScope(frozenset())


def call_scope(data: dict[str, Any]) -> CallScope:
    """The policy's `[calls] scope` (ConfigError when unknown). Required only of an office that
    records calls (`retention.phone`): a video-only office has no calls to scope (issue 66
    item 5), and records none (`NONE`), whatever it would leave out."""
    value = data.get("calls", {}).get("scope")
    if value is not None:
        return CallScope.of(value)
    if data.get("retention", {}).get("phone") is None:
        return NONE
    # named by the key that asks for it, so a file's problem has that key's line
    raise ConfigError("policy retention.phone: the office records calls, so [calls] scope "
                      "must say which: \"all\" or a list of "
                      f"{', '.join(CALL_KINDS)}",
                      pl="Zasada retention.phone: urząd nagrywa rozmowy, więc brak zasady "
                         "calls.scope — podaj w [calls] scope, które połączenia: „all” "
                         f"(wszystkie) albo listę spośród: {_KNOWN_PL}.")


def delivery(raw: dict[str, Any], kind: CallKind) -> Delivery | None:
    """How callers of ``kind`` hear the announcement, as the file says; None: not said (and
    for internal calls, which have no caller from outside)."""
    key = ANNOUNCED.get(kind)
    value = raw.get("calls", {}).get(key) if key else None
    return value if value in DELIVERIES else None
