"""What Kodeks pracy art. 22² and the office's own regulation ask of a camera, as data and
small checks.

Art. 22² §1: the closed list of purposes; each office's regulation names its own subset
(policy.video.purposes: 000 §1.1, 002 zał.5 §2, 003 §2). §2: no monitoring of sanitary rooms,
changing rooms, canteens and smoking rooms unless it is necessary for a purpose of §1 and people
there are made unrecognisable (§1¹: rooms made available to a company trade union never);
sanitary rooms also need the prior consent of the trade union or
the employees' representatives. An office's regulation may exclude rooms outright
(policy.video.excluded_zones: 000 §1.3, 003 §1.2, which also names social rooms); the Code's
exception does not open those. §7: employees are told no later than 2 weeks before monitoring
starts; §9: monitored places are marked no later than one day before it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from kustosz.errors import InputError
from kustosz.policy.video_law import BANNED_ZONE_KINDS, FORBIDDEN_ZONE_KINDS, PURPOSES, ZONE_KINDS

if TYPE_CHECKING:
    from kustosz.policy.model import VideoRules

NOTICE_DAYS = 14  # art. 22² §7: "nie później niż 2 tygodnie przed jego uruchomieniem"
SIGNAGE_DAYS = 1  # art. 22² §9: "nie później niż jeden dzień przed jego uruchomieniem"

# 10 s: a crash loses at most one segment, and playback (HLS) and copies cut at segment
# bounds, so shorter is better for the office; the cost is index rows: 100 cameras x 3 months
# is ~79 M rows at 10 s (~26 M at 30 s), some 20 GB of index against ~400 TB of video at
# 4 Mbit/s, i.e. noise. Below ~4 s segments would be shorter than many cameras' GOP.
DEFAULT_SEGMENT_SECONDS = 10.0
MAX_SEGMENT_SECONDS = 600.0


def check_purpose(purpose: str, video: VideoRules) -> str:
    """A purpose of art. 22² §1 that the office's own regulation names (policy.video)."""
    if purpose not in PURPOSES:
        raise InputError(f"purpose {purpose!r} is not one of Kodeks pracy art. 22² §1: "
                         f"{', '.join(PURPOSES)}",
                         pl=f"Cel „{purpose}” nie jest żadnym z celów z art. 22² §1 Kodeksu "
                            f"pracy: {'; '.join(PURPOSES.values())}.")
    if not video.purposes:
        raise InputError(f"this office's regulation provides no video monitoring "
                         f"({video.purposes_clause}); an office that adds it sets "
                         "video.purposes (and retention.camera) in kustosz.toml",
                         pl=f"Regulamin urzędu nie przewiduje monitoringu wizyjnego "
                            f"({video.purposes_clause}); urząd, który go wprowadza, określa "
                            "jego cele (video.purposes) i okres przechowywania nagrań "
                            "(retention.camera) w kustosz.toml.")
    if purpose not in video.purposes:
        raise InputError(f"purpose {purpose!r} is not a purpose of this office's video "
                         f"monitoring ({video.purposes_clause}): {', '.join(video.purposes)}",
                         pl=f"Cel „{PURPOSES[purpose]}” nie jest celem monitoringu wizyjnego "
                            f"określonym w regulaminie urzędu ({video.purposes_clause}); "
                            f"dozwolone: {'; '.join(PURPOSES[p] for p in video.purposes)}.")
    return purpose


def check_zone_kind(kind: str) -> str:
    if kind not in ZONE_KINDS:
        raise InputError(f"zone kind {kind!r} is unknown; use one of {', '.join(ZONE_KINDS)}",
                         pl=f"Nieznany rodzaj strefy „{kind}”; dostępne: "
                            f"{', '.join(ZONE_KINDS.values())}.")
    return kind


def check_segment_seconds(value: float) -> float:
    if not value > 0 or value > MAX_SEGMENT_SECONDS:
        raise InputError(f"segment length {value:g} s must be above 0 and at most "
                         f"{MAX_SEGMENT_SECONDS:g} s",
                         pl=f"Długość segmentu {value:g} s musi być większa od 0 i nie "
                            f"większa niż {MAX_SEGMENT_SECONDS:g} s.")
    return float(value)


def check_forbidden_zone(kind: str, unrecognisable_reason: str | None,
                         representatives_consent: str | None, *, video: VideoRules) -> None:
    """Refuse a camera in a room the office's regulation excludes outright, and one in a room
    of art. 22² §2 unless the Code's conditions are recorded."""
    label = ZONE_KINDS.get(kind, kind)
    if kind in BANNED_ZONE_KINDS:
        raise InputError(
            f"a camera in a zone of kind {kind} ({label}) is refused outright: Kodeks pracy "
            "art. 22² §1¹ excludes rooms made available to a company trade union from "
            "monitoring, with no exception",
            pl=f"Kamera w strefie rodzaju „{label}” jest niedozwolona bez wyjątków: art. 22² "
               "§1¹ Kodeksu pracy wyłącza z monitoringu pomieszczenia udostępnione zakładowej "
               "organizacji związkowej.")
    if kind in video.excluded_zones:
        raise InputError(
            f"a camera in a zone of kind {kind} ({label}) is refused outright: the office's "
            f"regulation excludes such rooms from monitoring ({video.excluded_clause}); the "
            "Labour Code's exception (art. 22² §2: people made unrecognisable, the "
            "representatives' consent) does not apply",
            pl=f"Kamera w strefie rodzaju „{label}” jest niedozwolona bez wyjątków: regulamin "
               f"urzędu wyłącza takie pomieszczenia z monitoringu ({video.excluded_clause}). "
               "Wyjątek z art. 22² §2 Kodeksu pracy (obraz uniemożliwiający rozpoznanie osób, "
               "zgoda przedstawicieli pracowników) nie ma tu zastosowania.")
    if kind not in FORBIDDEN_ZONE_KINDS:
        return
    if not (unrecognisable_reason or "").strip():
        raise InputError(
            f"a camera in a zone of kind {kind} ({label}) is refused (Kodeks pracy art. 22² §2); "
            "it is allowed only if it is necessary for a purpose of §1 and the image makes "
            "people unrecognisable: record how with --unrecognisable-reason",
            pl=f"Kamera w strefie rodzaju „{label}” jest niedozwolona (Kodeks pracy art. 22² "
               "§2); dopuszczalna tylko wtedy, gdy jest niezbędna do celu z § 1, a obraz "
               "uniemożliwia rozpoznanie osób — opisz, w jaki sposób.")
    if kind == "sanitary" and not (representatives_consent or "").strip():
        raise InputError(
            "a camera in a sanitary room also needs the prior consent of the trade union or "
            "the employee representatives (Kodeks pracy art. 22² §2): give "
            "--representatives-consent",
            pl="Kamera w pomieszczeniu sanitarnym wymaga także uprzedniej zgody zakładowej "
               "organizacji związkowej lub przedstawicieli pracowników (Kodeks pracy art. 22² "
               "§2) — podaj ją.")


def check_may_record(kind: str, purpose: str, unrecognisable_reason: str | None,
                     representatives_consent: str | None, *, video: VideoRules) -> None:
    """Everything about a registered camera's place and purpose that bars it from recording
    under the policy in force (a camera registered before the office narrowed its rules)."""
    check_purpose(purpose, video)
    check_forbidden_zone(kind, unrecognisable_reason, representatives_consent, video=video)


@dataclass(frozen=True)
class StartGate:
    may_record: bool
    earliest: datetime | None  # when the dates allow recording; None if a date is missing
    reason: str
    reason_pl: str = ""  # the same for the office's pages


def start_gate(notice: date | None, signage: date | None, override_reason: str | None,
               now: datetime, tz: ZoneInfo) -> StartGate:
    """May the camera record now? Dates are the office's local calendar days."""
    if notice is None or signage is None:
        earliest = None
        why = "the date employees were notified and the date signs went up are both needed"
        why_pl = ("potrzebne są obie daty: poinformowania pracowników i umieszczenia oznaczeń "
                  "monitoringu")
    else:
        day = max(notice + timedelta(days=NOTICE_DAYS), signage + timedelta(days=SIGNAGE_DAYS))
        earliest = datetime.combine(day, time(0), tzinfo=tz)
        why = f"recording may start on {day.isoformat()} (notice + {NOTICE_DAYS} days, " \
              f"signage + {SIGNAGE_DAYS} day)"
        why_pl = (f"nagrywanie może się rozpocząć {day.strftime('%d.%m.%Y')} (poinformowanie "
                  f"pracowników + {NOTICE_DAYS} dni, oznaczenie + {SIGNAGE_DAYS} dzień)")
    if earliest is not None and now >= earliest:
        return StartGate(True, earliest, why, why_pl)
    if (override_reason or "").strip():
        return StartGate(True, earliest, f"started early by override: {override_reason}",
                         f"uruchomiona wcześniej na podstawie wyjątku: {override_reason}")
    return StartGate(False, earliest, why, why_pl)


# -- RTSP addresses and their credentials ----------------------------------------------------

_USERINFO = re.compile(r"(?i)\b(rtsps?://)[^/@\s]*@")


@dataclass(frozen=True)
class RtspAddress:
    url: str  # without credentials: safe to show
    user: str | None
    password: str | None

    def with_credentials(self) -> str:
        """The URL for ffmpeg only; never log or show it."""
        if self.user is None:
            return self.url
        parts = urlsplit(self.url)
        cred = quote(self.user, safe="") + (
            ":" + quote(self.password, safe="") if self.password is not None else "")
        return urlunsplit(parts._replace(netloc=f"{cred}@{parts.netloc}"))


def parse_rtsp_url(text: str) -> RtspAddress:
    """Split user:password off an rtsp:// URL; refuse anything that is not rtsp(s)://host."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text.strip()):
        # The recorder hands the URL to ffmpeg as one line of a script (command.py).
        raise InputError("camera URL must not hold control characters or line breaks",
                         pl="Adres kamery nie może zawierać znaków sterujących ani końców "
                            "wiersza.")
    try:
        parts = urlsplit(text.strip())
    except ValueError:  # e.g. "rtsp://[x/a": an unclosed IPv6 bracket
        raise InputError(f"camera URL {redact(text)!r} cannot be read as an address",
                         pl=f"Adresu kamery „{redact(text)}” nie da się odczytać.") from None
    if parts.scheme.lower() not in ("rtsp", "rtsps"):
        raise InputError(f"camera URL must start with rtsp:// (got {redact(text)!r})",
                         pl=f"Adres kamery musi zaczynać się od rtsp:// (podano "
                            f"„{redact(text)}”).")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InputError(f"camera URL {redact(text)!r} has an invalid port",
                         pl=f"Adres kamery „{redact(text)}” ma nieprawidłowy port.") from None
    if not host:
        raise InputError(f"camera URL {redact(text)!r} names no host",
                         pl=f"Adres kamery „{redact(text)}” nie wskazuje hosta.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))
    return RtspAddress(clean, user, password)


def redact(text: str, *secrets: str | None) -> str:
    """Remove credentials from text that may quote a camera URL (ffmpeg errors, input echo)."""
    out = _USERINFO.sub(r"\1***@", text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
            quoted = quote(secret, safe="")
            if quoted != secret:
                out = out.replace(quoted, "***")
    return out
