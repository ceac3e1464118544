"""Categories of IT-activity monitoring (R1.10, seed 000 §2 pkt 1 lit. b–e) and the rules
that give each event one of them.

Rules are tried in order; the first whose pattern matches the chosen field wins. Patterns
are regular expressions in lower case, matched against the lower-cased text. A source
may replace the defaults with its own list (settings ``rules``). An event that no rule
matches gets the source's fallback category, and the record says so (``rule: "fallback"``)
so that an office can see what its rules miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kustosz.errors import ConfigError

# Code (English) → what office workers read (Polish, the seed's words).
CATEGORIES: dict[str, str] = {
    "work_performance": "sposób wykonywania obowiązków pracowniczych",
    "network_security": "podejrzane zdarzenie w sieci teleinformatycznej",
    "device_security": "podejrzane zdarzenie na urządzeniu informatycznym",
    "malware": "złośliwe oprogramowanie w ruchu sieciowym",
    "website_threat": "zagrożenie ze strony www",
    "inventory_change": "zmiana w inwentaryzacji sprzętu i oprogramowania",
    "device_connected": "urządzenie podłączone do sieci",
    "data_leak": "nieuprawniony wyciek danych",
}
FIELDS = ("any", "message", "app", "host", "user")
DEFAULT_FALLBACK = "device_security"
_UPPER = re.compile(r"[A-ZĄĆĘŁŃÓŚŹŻ]")

# Ordered from the most specific to the most general: "malware blocked by the firewall" is
# malware, not merely a network event. Every alternative starts with a literal letter (no
# leading \b): the regex engine then skips to where a keyword can begin, which keeps all the
# rules of one event at a few microseconds (a SIEM sends tens of thousands a second).
DEFAULT_RULES: list[dict[str, str]] = [
    {"name": "malware", "category": "malware", "pattern":
        r"malware|virus|trojan|ransomware|eicar|clamd|clamav|infected|wirus|botnet|"
        r"et trojan|command and control|c2 server|worm\b"},
    {"name": "data-leak", "category": "data_leak", "pattern":
        r"dlp\b|data.?leak|exfiltrat|wyciek|sensitive data|dane osobowe|"
        r"upload.{0,40}(?:blocked|denied)|usb.{0,40}(?:copy|write).{0,40}(?:blocked|denied)"},
    {"name": "website", "category": "website_threat", "pattern":
        r"phish|malicious (?:url|site|domain|website)|web.?filter|url.?filter|"
        r"blocked (?:url|site|website|domain)|squid|category=(?:malware|phishing)"},
    {"name": "device-connected", "category": "device_connected", "pattern":
        r"dhcpack|dhcpdiscover|new (?:device|station|host|mac)|device connected|"
        r"arpwatch|802\.1x|link up|mac.?address.{0,40}(?:new|learned)"},
    {"name": "inventory", "category": "inventory_change", "pattern":
        r"inventory|inwentaryzac|installed|installation|uninstall|dpkg|msiinstaller|"
        r"software (?:added|removed|changed)|hardware (?:added|removed|changed)|glpi|"
        r"ocsinventory"},
    {"name": "network", "category": "network_security", "pattern":
        r"firewall|iptables|nftables|ufw\b|suricata|snort|intrusion|port.?scan|dropped|"
        r"drop\b|deny\b|denied|blocked connection|ddos|et scan"},
    {"name": "device", "category": "device_security", "pattern":
        r"failed password|authentication failure|invalid user|sudo|4625\b|4740\b|"
        r"account locked|defender|antivirus|privilege|audit"},
    {"name": "work", "category": "work_performance", "pattern":
        r"logon|logoff|logged (?:in|out)|log (?:in|out)|session (?:opened|closed)|"
        r"active window|application usage|idle|screen (?:locked|unlocked)|czas pracy"},
]


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    field: str
    pattern: re.Pattern[str]


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise ConfigError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}",
                          pl=f"Nieznana kategoria „{category}”; dostępne: "
                             f"{', '.join(CATEGORIES)}.")
    return category


class Rules:
    def __init__(self, rules: list[dict[str, Any]] | None = None,
                 fallback: str = DEFAULT_FALLBACK) -> None:
        self.fallback = check_category(fallback)
        self.rules: list[Rule] = []
        for i, spec in enumerate(DEFAULT_RULES if rules is None else rules):
            where = f"rule {i + 1} ({spec.get('name', '?')})"
            where_pl = f"Reguła {i + 1} („{spec.get('name', '?')}”)"
            field = spec.get("field", "any")
            if field not in FIELDS:
                raise ConfigError(f"{where}: field must be one of {', '.join(FIELDS)}",
                                  pl=f"{where_pl}: pole field musi być jednym z: "
                                     f"{', '.join(FIELDS)}.")
            if _UPPER.search(re.sub(r"\\.", "", str(spec.get("pattern", "")))):
                raise ConfigError(f"{where}: write the pattern in lower case (events are "
                                  "matched in lower case)",
                                  pl=f"{where_pl}: wzorzec zapisz małymi literami (zdarzenia są "
                                     "porównywane po zamianie na małe litery).")
            try:
                pattern = re.compile(spec["pattern"])
            except (KeyError, re.error, TypeError) as exc:
                raise ConfigError(f"{where}: the pattern is not a valid expression: {exc}",
                                  pl=f"{where_pl}: wzorzec nie jest poprawnym wyrażeniem "
                                     f"regularnym: {exc}.") \
                    from None
            self.rules.append(Rule(str(spec.get("name", f"rule-{i + 1}")),
                                   check_category(spec.get("category", "")), field, pattern))

    def categorise(self, message: str, app: str = "", host: str = "",
                   user: str = "") -> tuple[str, str]:
        """(category, name of the rule that chose it): the first rule in order that matches."""
        # Lower-cased once here rather than re.I in the patterns: IGNORECASE disables the
        # regex engine's literal scanning and costs several times more per event.
        anything = f"{app} {message}".lower()
        values = {"message": message.lower(), "app": app.lower(), "host": host.lower(),
                  "user": user.lower()}
        for rule in self.rules:
            text = anything if rule.field == "any" else values[rule.field]
            if rule.pattern.search(text):
                return rule.category, rule.name
        return self.fallback, "fallback"
