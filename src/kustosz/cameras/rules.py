"""What the statutes and the office's own regulation ask of a camera, as small checks: one
rule for every caller (the CLI, the pages, the API, the recorder).

Purposes: each camera serves one or more of the purposes the office's policy puts in force
(policy.video: the employer's four of Kodeks pracy art. 22² § 1, the public-order purposes of
art. 9a u.s.g. and art. 4b u.s.p., a school's of art. 108a p.o., the office's own). Places: a
statute's rule for a kind of place (policy.video_law) applies when the camera's purposes rest
on that statute, the Code's always (every office employs people): art. 22² § 1¹ closes union
rooms, § 2 opens sanitary rooms, changing rooms, canteens and smoking rooms only where necessary
and people are unrecognisable (sanitary rooms also with the representatives' consent); art. 9a
ust. 2 u.s.g. (and art. 4b u.s.p.) close those and social rooms outright; art. 108a ust. 3
p.o. a school's rooms unless necessary and unrecognisable; a care home's residents' and medical
rooms no law opens. An office's regulation may exclude more outright (policy.video
excluded_zones: 000 §1.3, 003 §1.2); no exception opens those. §7: employees are told no later
than 2 weeks before monitoring starts; §9: monitored places are marked no later than one day
before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from kustosz.errors import FieldError, InputError
from kustosz.policy.video_law import LAWS, folded

if TYPE_CHECKING:
    from kustosz.policy.video import VideoRules

NOTICE_DAYS = 14  # art. 22² §7: "nie później niż 2 tygodnie przed jego uruchomieniem"
SIGNAGE_DAYS = 1  # art. 22² §9: "nie później niż jeden dzień przed jego uruchomieniem"

# 10 s: a crash loses at most one segment, and playback (HLS) and copies cut at segment
# bounds, so shorter is better for the office; the cost is index rows: 100 cameras x 3 months
# is ~79 M rows at 10 s (~26 M at 30 s), some 20 GB of index against ~400 TB of video at
# 4 Mbit/s, i.e. noise. Below ~4 s segments would be shorter than many cameras' GOP.
DEFAULT_SEGMENT_SECONDS = 10.0
MAX_SEGMENT_SECONDS = 600.0


def check_purposes(purposes: Sequence[str], video: VideoRules) -> tuple[str, ...]:
    """One or more purposes the office's policy puts in force (policy.video), each once."""
    if not video.purposes:
        raise FieldError("purposes", f"this office's regulation provides no video monitoring "
                         f"({video.purposes_clause}); an office that adds it sets "
                         "video.purposes (and retention.camera) in kustosz.toml",
                         pl=f"Regulamin urzędu nie przewiduje monitoringu wizyjnego "
                            f"({video.purposes_clause}); urząd, który go wprowadza, określa "
                            "jego cele (video.purposes) i okres przechowywania nagrań "
                            "(retention.camera) w kustosz.toml.")
    chosen = tuple(dict.fromkeys(p.strip() for p in purposes if p.strip()))
    allowed = "; ".join(f"{p.code} ({p.cited})" for p in video.in_force())
    if not chosen:
        raise FieldError("purposes", "a camera needs at least one purpose: "
                         f"{', '.join(video.purposes)}",
                         pl=f"Kamera musi mieć co najmniej jeden cel monitoringu; dozwolone: "
                            f"{allowed}.")
    bad = [p for p in chosen if p not in video.purposes]
    if bad:
        raise FieldError(
            "purposes", f"purpose {', '.join(map(repr, bad))} is not a purpose of this office's "
            f"video monitoring ({video.purposes_clause}): {', '.join(video.purposes)}",
            pl=f"Cel {', '.join(f'„{video.purpose(b).text}”' for b in bad)} nie jest celem "
               f"monitoringu wizyjnego określonym w regulaminie urzędu "
               f"({video.purposes_clause}); dozwolone: {allowed}.")
    return chosen


def check_zone_kind(kind: str, video: VideoRules) -> str:
    """A kind a new zone may be registered as (built-in or the office's own)."""
    known = video.kinds.get(kind)
    if known is None or not known.offered:
        offered = video.offered()
        why = (f"zone kind {kind!r} is ambiguous: say whether the entrance is inside or outside "
               "the building (entrance_inside, entrance_outside)" if known else
               f"zone kind {kind!r} is unknown")
        why_pl = (f"Rodzaj strefy „{known.name}” jest niejednoznaczny: wskaż, czy wejście jest "
                  "wewnątrz, czy na zewnątrz budynku" if known else
                  f"Nieznany rodzaj strefy „{kind}”")
        raise FieldError("kind", f"{why}; use one of {', '.join(k.code for k in offered)}",
                         pl=f"{why_pl}; dostępne: "
                            + "; ".join(f"{k.code} ({k.name})" for k in offered) + ".")
    return kind


def check_zone_name(name: str, kind: str, video: VideoRules) -> None:
    """Refuse a zone whose name says it is a place of a kind with a rule of its own while it
    is registered as another ("pokój mieszkalny 12" as an ordinary room): the rule would
    exist only on paper."""
    name_f = folded(name)
    for other in video.kinds.values():
        if other.code == kind or not (other.exclusions or video.excluded(other.code)):
            continue
        said = next((n for n in other.names
                     if name_f == folded(n) or name_f.startswith(folded(n) + " ")), None)
        if said is not None:
            chosen = video.kind(kind).name
            raise FieldError(
                "name", f"zone {name!r} is named as a place of kind {other.code} ({said!r}), "
                f"which has rules of its own; register it as {other.code}, or name it for what "
                "it is",
                pl=f"Nazwa strefy „{name}” wskazuje na rodzaj „{other.name}”, dla którego "
                   f"obowiązują szczególne zasady monitoringu, a nie na „{chosen}”: zarejestruj "
                   f"ją jako {other.code} albo nazwij ją zgodnie z tym, czym jest.")


def check_segment_seconds(value: float) -> float:
    if not value > 0 or value > MAX_SEGMENT_SECONDS:
        raise InputError(f"segment length {value:g} s must be above 0 and at most "
                         f"{MAX_SEGMENT_SECONDS:g} s",
                         pl=f"Długość segmentu {value:g} s musi być większa od 0 i nie "
                            f"większa niż {MAX_SEGMENT_SECONDS:g} s.")
    return float(value)


def check_place(kind: str, purposes: Sequence[str], unrecognisable_reason: str | None,
                representatives_consent: str | None, *, video: VideoRules) -> None:
    """Refuse a camera where the office's regulation or a statute that governs it closes the
    place outright, and where a statute opens it only on conditions not recorded."""
    zone = video.kind(kind)
    if kind not in video.kinds:
        raise FieldError(
            "zone", f"a camera in a zone of kind {kind} is refused: the policy in force does not "
            "declare that kind, so whether monitoring is allowed there is unknown",
            pl=f"Kamera w strefie rodzaju „{kind}” jest niedozwolona: zasady urzędu nie "
               "określają już tego rodzaju, więc nie wiadomo, czy monitoring jest tam dozwolony "
               "(zadeklaruj go w [video.zone_kinds] albo przenieś kamerę do innej strefy).")
    if video.excluded(kind):
        raise FieldError(
            "zone", f"a camera in a zone of kind {kind} ({zone.name}) is refused outright: the "
            f"office's regulation excludes such places from monitoring "
            f"({video.excluded_clause}); no exception of a statute (people made "
            "unrecognisable, the representatives' consent) applies",
            pl=f"Kamera w strefie rodzaju „{zone.name}” jest niedozwolona bez wyjątków: "
               f"regulamin urzędu wyłącza takie miejsca z monitoringu "
               f"({video.excluded_clause}). Wyjątek z art. 22² §2 Kodeksu pracy (obraz "
               "uniemożliwiający rozpoznanie osób, zgoda przedstawicieli pracowników) nie ma "
               "tu zastosowania.")
    bases = {b for p in purposes for b in video.purpose(p).bases}
    rules = [e for e in zone.exclusions if e.applies(bases)]
    for rule in rules:
        if rule.outright:
            because = ("" if rule.always or rule.law == "kp_22_2" else
                       f" for a camera serving a purpose of {LAWS[rule.law]}")
            because_pl = ("" if rule.always or rule.law == "kp_22_2" else
                          f" dla kamery o celu z {LAWS[rule.law]}")
            raise FieldError(
                "zone", f"a camera in a zone of kind {kind} ({zone.name}) is refused "
                f"outright{because}: {rule.cite} excludes such places from monitoring, with no "
                "exception",
                pl=f"Kamera w strefie rodzaju „{zone.name}” jest niedozwolona bez wyjątków"
                   f"{because_pl}: {rule.cite} wyłącza takie miejsca z monitoringu.")
    if not rules:
        return
    cites = ", ".join(dict.fromkeys(r.cite for r in rules))
    if not (unrecognisable_reason or "").strip():
        raise FieldError(
            "zone", f"a camera in a zone of kind {kind} ({zone.name}) is refused ({cites}); it is "
            "allowed only if it is necessary for its purpose and the image makes people "
            "unrecognisable: record how with --unrecognisable-reason",
            pl=f"Kamera w strefie rodzaju „{zone.name}” jest niedozwolona ({cites}); "
               "dopuszczalna tylko wtedy, gdy jest niezbędna do celu monitoringu, a obraz "
               "uniemożliwia rozpoznanie osób — opisz, w jaki sposób.")
    if any(r.consent for r in rules) and not (representatives_consent or "").strip():
        raise FieldError(
            "zone", "a camera in a sanitary room also needs the prior consent of the trade union "
            "or the employee representatives (Kodeks pracy art. 22² §2): give "
            "--representatives-consent",
            pl="Kamera w pomieszczeniu sanitarnym wymaga także uprzedniej zgody zakładowej "
               "organizacji związkowej lub przedstawicieli pracowników (Kodeks pracy art. 22² "
               "§2) — podaj ją.")


def check_may_record(kind: str, purposes: Sequence[str], unrecognisable_reason: str | None,
                     representatives_consent: str | None, *, video: VideoRules) -> None:
    """Everything about a registered camera's place and purposes that bars it from recording
    under the policy in force (a camera registered before the office narrowed its rules)."""
    check_purposes(purposes, video)
    check_place(kind, purposes, unrecognisable_reason, representatives_consent, video=video)


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
