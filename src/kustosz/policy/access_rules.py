"""An office's own limits on access, and who supervises the use of its recordings: the
`[access]` and `[commission]` tables of its policy (issue 13 items 7-9, issue 66 item 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kustosz.errors import ConfigError


@dataclass(frozen=True)
class AccessRules:
    """An office's own limits on access (issue 13 items 7-9); empty/off unless a preset or
    `kustosz.toml` sets them.

    * positions — only persons in these positions may hold an authorisation to open
      recordings [003 §3.4]; empty: any position;
    * listening_purposes — a listening states one of these purposes, not free text
      [001 §1.2, §3.1; 004 §3.1, §4.1]; empty: free text;
    * listening_basis — where the regulation states them, as it follows "określone w":
      "zarządzeniu (§1 ust. 2, §3 ust. 1)"; empty: "zasadach urzędu" (no paragraphs);
    * listening_not_for — what the regulation says recordings do not serve, quoted with its
      clause [004 §4.2]; told with the purposes and in a refusal;
    * listening_protocol — a listening session is not closed without its protocol
      [001 §3.3];
    * commission_appointed — only members the head appointed (by order) confirm a
      destruction [002 zał.5 §8.2];
    * supervisor — the post that supervises the use of recordings [001 §4: "Sekretarz
      Miasta"]; supervisor_is_dpo — the IOD supervises [002 zał.5 §1 ust. 4]; neither: the
      regulation names no one.
    """

    positions: tuple[str, ...] = ()
    listening_purposes: tuple[str, ...] = ()
    listening_basis: str = ""
    listening_not_for: str = ""
    listening_protocol: bool = False
    commission_appointed: bool = False
    supervisor: str = ""
    supervisor_is_dpo: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"positions": list(self.positions),
                "listening_purposes": list(self.listening_purposes),
                "listening_basis": self.listening_basis,
                "listening_not_for": self.listening_not_for,
                "listening_protocol": self.listening_protocol,
                "commission_appointed": self.commission_appointed,
                "supervisor": self.supervisor, "supervisor_is_dpo": self.supervisor_is_dpo}


def access_rules(data: dict[str, Any]) -> AccessRules:
    access = data.get("access", {})
    lists = {}
    for key in ("positions", "listening_purposes"):
        items = access.get(key, [])
        if any(not isinstance(i, str) or not i.strip() for i in items):
            raise ConfigError(f"policy access.{key} must list non-empty texts",
                              pl=f"Zasada access.{key} musi być listą niepustych nazw.")
        lists[key] = tuple(i.strip() for i in items)
    return AccessRules(positions=lists["positions"],
                       listening_purposes=lists["listening_purposes"],
                       listening_basis=access.get("listening_basis", "").strip(),
                       listening_not_for=access.get("listening_not_for", "").strip(),
                       listening_protocol=bool(access.get("listening_protocol", False)),
                       commission_appointed=bool(data.get("commission", {})
                                                 .get("appointed", False)),
                       supervisor=str(access.get("supervisor") or "").strip(),
                       supervisor_is_dpo=bool(access.get("supervisor_is_dpo", False)))
