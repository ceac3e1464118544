"""How the report's values read in the Polish PDF: local times (the office's zone), days,
hours with the decimal comma, lengths of time, the period named as a reader says it ("za
listopad 2026 r."), and the Polish names of the kinds the JSON keeps as codes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kustosz.access.authorisations import ACTIONS
from kustosz.access.records import REASONS, Reason
from kustosz.alert_channels import CHANNELS
from kustosz.alert_kinds import KINDS as ALERT_KINDS
from kustosz.custody.requests import KINDS as REQUEST_KINDS
from kustosz.kinds import kind_of
from kustosz.policy import Period
from kustosz.report.months import month_pl
from kustosz.words import count_pl, period_pl

QUARTERS = ("I", "II", "III", "IV")
NONE = "—"


def when(value: str | None, tz: ZoneInfo) -> str:
    """A UTC instant of the JSON as the office's clock showed it: 20.11.2026 14:05."""
    if not value:
        return NONE
    return datetime.fromisoformat(value).astimezone(tz).strftime("%d.%m.%Y %H:%M")


def day(value: str | None) -> str:
    """2026-11-20 (or an instant's date part) as a Polish reader writes it: 20.11.2026."""
    if not value:
        return NONE
    y, m, d = value[:10].split("-")
    return f"{d}.{m}.{y}"


def hours(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def length(secs: int) -> str:
    """A length of time in the largest units that say it: 3 dni 4 h, 2 h 15 min, 40 s."""
    secs = max(int(secs), 0)
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return count_pl(d, "dzień", "dni", "dni") + (f" {h} h" if h else "")
    if h:
        return f"{h} h" + (f" {m} min" if m else "")
    if m:
        return f"{m} min" + (f" {s} s" if s else "")
    return f"{s} s"


def period_words(period: dict[str, Any]) -> str:
    """"za listopad 2026 r.", "za IV kwartał 2026 r.", "za rok 2026"."""
    label = period["label"]
    if period["kind"] == "month":
        return f"za {month_pl(label)}"
    if period["kind"] == "quarter":
        y, q = label.split("-Q")
        return f"za {QUARTERS[int(q) - 1]} kwartał {y} r."
    return f"za rok {label}"


def source_kind(kind: str) -> str:
    try:
        return kind_of(kind).label_pl
    except KeyError:
        return kind


def request_kind(kind: str) -> str:
    return REQUEST_KINDS.get(kind, kind)


def action(code: str) -> str:
    return ACTIONS.get(code, code)


def refusal(code: str) -> str:
    try:
        return REASONS[Reason(code)].label
    except (ValueError, KeyError):
        return "przyczyna nieznana" if code == "unknown" else code


def alert(code: str) -> str:
    for kind in ALERT_KINDS.values():
        if code in kind.rows or code == kind.key:
            return kind.label_pl
    return code


TOLD_NOBODY = "nie powiadomiono nikogo"


def told(entries: list[dict[str, Any]], tz: ZoneInfo) -> str:
    """Who was told of one alert: each channel and its recipients once, with the first
    message's time and how many went ("e-mail (it@um.pl): 12.11.2026 10:15, 3 wiadomości")."""
    if not entries:
        return TOLD_NOBODY
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        seen.setdefault((e["channel_kind"], e["recipients"]), []).append(e)
    lines = []
    for (kind, recipients), sent in seen.items():
        name = CHANNELS[kind].name_pl if kind in CHANNELS else kind
        line = f"{name} ({recipients or NONE}): {when(sent[0]['at'], tz)}"
        if len(sent) > 1:
            line += ", " + count_pl(len(sent), "wiadomość", "wiadomości", "wiadomości")
        if any(e["from_memory"] for e in sent):
            line += " (bez bazy danych)"
        lines.append(line)
    return "\n".join(lines)


# Where a finding sends the reader: the register or record as the office calls it.
REGISTERS = {"deletions": "wykaz usunięć nagrań", "recordings": "indeks nagrań",
             "custody_requests": "rejestr udostępnień (wniosek)",
             "custody_copies": "rejestr kopii", "holds": "zabezpieczenia nagrań",
             "access_viewing_sessions": "rejestr dostępu (sesja)", "alerts": "alerty",
             "audit_log": "dziennik zdarzeń"}


def where(register: str, row: int | str) -> str:
    name = REGISTERS.get(register, register)
    return f"{name}, nr {row}" if row != "" else name


def retention_period(text: str) -> str:
    """A period as kustosz.toml and the policy record write it ("30 days") in Polish
    ("30 dni"); one that does not parse is printed as recorded."""
    try:
        return period_pl(Period.parse(text))
    except ValueError:
        return text


def rule(text: str) -> str:
    """The sweep's rule ("retention 30 days (policy retention.camera)") in Polish; a rule of
    another shape is printed as recorded."""
    m = re.fullmatch(r"retention (.+?) \((source setting|policy retention\.\w+)\)", text)
    if m is None:
        return text
    polish = retention_period(m.group(1))
    if polish == m.group(1):
        return text
    origin = "ustawienie źródła" if m.group(2) == "source setting" else "zasady jednostki"
    return f"upływ okresu przechowywania {polish} ({origin})"


def yes_no(value: bool) -> str:
    return "tak" if value else "nie"
