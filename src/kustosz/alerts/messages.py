"""What an alert says to a person, in Polish: a subject line, a body and the JSON a webhook
gets. Times are the office's (Europe/Warsaw). Nothing but the source's name identifies
anything: no addresses, numbers or people (the row's message is written that way already)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kustosz.alert_kinds import KINDS
from kustosz.words import duration_pl

WARSAW = ZoneInfo("Europe/Warsaw")

# event: "start" (the problem has lasted its grace), "repeat" (it still lasts), "clear"
# (it is over), "once" (an event row nobody clears, e.g. the disk-pressure sweep), "past" (a
# problem that lasted longer than its grace but ended before anyone told it: serve was
# restarting or the database away; ``since`` and ``at`` are its start and end)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    severity: str  # "error" | "warning" | "notice"
    payload: dict[str, Any]


def chat_text(subject: str, body: str) -> str:
    """What a chat's incoming webhook (Mattermost, Slack, Teams take ``{"text": …}``) posts:
    the subject, and the body's first line when it says more."""
    first = body.strip().splitlines()[0].strip() if body.strip() else ""
    bare = subject.removeprefix("[Kustosz] ")
    return subject if not first or first.rstrip(".") == bare.rstrip(".") \
        else f"{subject}\n{first}"


def local(at: datetime, tz: ZoneInfo = WARSAW) -> str:
    return at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


_WHAT = {  # kind key -> (start subject, clear subject) with {name} and {since}
    "camera_down": ("Kamera „{name}” nie nagrywa od {since}",
                    "Kamera „{name}” znów nagrywa (przerwa {span})"),
    "phone_down": ("Linia telefoniczna „{name}”: nagrania nie docierają od {since}",
                   "Linia telefoniczna „{name}”: nagrania znów docierają (przerwa {span})"),
    "capture_away": ("Nagrywanie rozmów z portu lustrzanego nie działa od {since}: proces "
                     "przechwytywania nie jest połączony",
                     "Nagrywanie rozmów z portu lustrzanego znów działa (przerwa {span})"),
    "camera_codec": ("Kamera „{name}” zmieniła kodek obrazu ({since})",
                     "Kamera „{name}”: kodek obrazu bez zmian"),
    "phone.session_refused": ("Linia telefoniczna „{name}”: sesja nagrywania odrzucona "
                              "({since})", "Linia telefoniczna „{name}”: sesje znów przyjmowane"),
    "phone.no_sound": ("Linia telefoniczna „{name}”: rozmowa bez dźwięku ({since})",
                       "Linia telefoniczna „{name}”: dźwięk rozmów znów dociera"),
    "phone.loss": ("Linia telefoniczna „{name}”: rozmowa nagrana z ubytkami ({since})",
                   "Linia telefoniczna „{name}”: rozmowy znów nagrywane bez ubytków"),
    "input_refused": ("Odrzucono dane od urządzenia ({since})",
                      "Urządzenie znów przysyła dane, które można przyjąć"),
    "serve_unclean_stop": ("Usługa Kustosz zatrzymała się nieoczekiwanie ({since})",
                           "Usługa Kustosz działa"),
    "audit_witness": ("Punkt kontrolny dziennika zdarzeń nie został zapisany ({since})",
                      "Punkt kontrolny dziennika zdarzeń znów zapisany (przerwa {span})"),
    "config_reload": ("Zmiany w pliku kustosz.toml nie zostały wczytane ({since})",
                      "Plik kustosz.toml wczytany ponownie bez błędów"),
    "report": ("Miesięczne sprawozdanie z rozliczalności nie powstało ({since})",
               "Miesięczne sprawozdanie z rozliczalności sporządzone"),
    "disk": ("Mało miejsca na dysku ({since})", "Miejsce na dysku znów wystarcza"),
    "disk_full": ("Dysk pełny — nagrania nie są zapisywane (od {since})",
                  "Dysk znów ma wolne miejsce — nagrywanie wznowione (przerwa {span})"),
    "disk_full_held": ("Brak miejsca na dysku, a pozostały tylko nagrania objęte "
                       "zabezpieczeniem (od {since})",
                       "Na dysku znów jest wolne miejsce poza nagraniami zabezpieczonymi"),
    "recorder_restarting": ("Rejestrator kamery „{name}” uruchamia się ponownie w pętli "
                            "(od {since})",
                            "Rejestrator kamery „{name}” znów pracuje stabilnie"),
    "disk_forecast": ("Prognoza: dysk zapełni się w ciągu kilku dni ({since})",
                      "Prognoza zajętości dysku znów powyżej progu"),
    "sweep": ("Usuwanie nagrań po terminie nie działa (od {since})",
              "Usuwanie nagrań po terminie znów działa (przerwa {span})"),
    "audit_verify": ("Dziennik zdarzeń nie przeszedł sprawdzenia ({since})",
                     "Dziennik zdarzeń znów przechodzi sprawdzenie"),
    "cert_expiring": ("Certyfikat HTTPS wkrótce wygaśnie ({since})",
                      "Certyfikat HTTPS odnowiony"),
    "backup": ("Kopia zapasowa skarbca nie powiodła się albo jej brakuje (od {since})",
               "Kopia zapasowa skarbca znów się udała"),
    "database_unreachable": ("Baza danych jest niedostępna od {since}",
                             "Baza danych znów dostępna (była niedostępna przez {span})"),
    "other": ("Alarm od {since}", "Alarm ustał (trwał {span})"),
}
# "past": a problem told only after it ended; kinds without words of their own get their
# start subject and "problem trwał … i już ustał"
_PAST = {
    "camera_down": "Kamera „{name}” nie nagrywała przez {span} (od {since})",
    "phone_down": "Linia telefoniczna „{name}”: nagrania nie docierały przez {span} (od {since})",
    "capture_away": "Rozmowy z portu lustrzanego nie były nagrywane przez {span} (od {since}): "
                    "proces przechwytywania nie był połączony",
}
# "config_reload": serve runs on settings other than the file's (a change refused, a start on
# the last good file, a [siprec] not moved): a restart or the SBC may then record nothing
ERRORS = ("camera_down", "phone_down", "disk", "disk_full", "sweep", "audit_verify",
          "database_unreachable", "config_reload", "capture_away")


def compose(item: dict[str, Any], office: str = "") -> Message:
    """The message of one queued notification (see notifier: an item is plain JSON)."""
    kind, event, name = item["kind"], item["event"], item.get("source") or ""
    since = datetime.fromisoformat(item["since"])
    at = datetime.fromisoformat(item["at"])
    # A row kind with words of its own (two problems of one alert kind) before its kind's.
    start, clear = _WHAT.get(item.get("row_kind") or "") or _WHAT.get(kind, _WHAT["other"])
    # its length is the time between less the server clock's steps (alerts.notifier.jumped_s)
    span = max(at - since - timedelta(seconds=float(item.get("jumped_s") or 0.0)),
               timedelta(0))
    words = {"name": name, "since": local(since), "span": duration_pl(span)}
    if event == "clear":
        subject = clear.format(**words)
        lines = [f"{subject}.", f"Problem trwał od {local(since)} do {local(at)}."]
        severity = "notice"
    elif event == "past":
        past = _PAST.get(item.get("row_kind") or "") or _PAST.get(kind)
        subject = past.format(**words) if past else \
            f"{start.format(**words)}; problem trwał {words['span']} i już ustał"
        lines = [f"{subject}.", f"Problem trwał od {local(since)} do {local(at)} i ustał, "
                 "zanim można było wysłać alarm (np. usługa była uruchamiana ponownie albo "
                 "baza danych była niedostępna)."]
        severity = "warning"
    else:
        subject = start.format(**words)
        if event == "repeat":
            subject = f"Przypomnienie: {subject} (trwa {duration_pl(at - since)})"
        lines = [item.get("text") or subject]
        if item.get("detail"):  # the device's own words, apart from the Polish (issue 65)
            lines.append(f"Szczegóły techniczne (dla informatyka): {item['detail']}")
        if event == "repeat":
            lines.append(f"Problem nadal trwa ({duration_pl(at - since)}, stan na {local(at)}).")
        severity = "error" if kind in ERRORS else "warning"
    lines += ["", "Wiadomość wysłana automatycznie przez Kustosza"
              + (f" ({office})" if office else "") + "; szczegóły na pulpicie."]
    payload = {"kind": kind, "alert_kind": item.get("row_kind"), "event": event,
               "source": name or None, "since": since.isoformat(), "at": at.isoformat(),
               "alert_id": item["alert"], "subject": subject, "detail": item.get("text"),
               "technical_detail": item.get("detail")}
    body = "\n".join(lines) + "\n"
    payload["text"] = chat_text(f"[Kustosz] {subject}", body)
    return Message(f"[Kustosz] {subject}", body, severity, payload)


_MANY = {  # kind key -> (start, clear, past) headings of a message that gathers several
    "camera_down": ("Kamery nie nagrywają", "Kamery znów nagrywają", "Kamery nie nagrywały"),
    "phone_down": ("Linie telefoniczne: nagrania nie docierają",
                   "Linie telefoniczne: nagrania znów docierają",
                   "Linie telefoniczne: nagrania nie docierały"),
}


def _kind_label(item: dict[str, Any]) -> str:
    kind = KINDS.get(item.get("kind") or "")
    return kind.label_pl if kind is not None else str(item.get("row_kind") or "—")


def compose_many(items: list[dict[str, Any]], office: str = "") -> Message:
    """One message for several alerts of one kind that started (or cleared) in the same
    pass — a switch that dies takes all its cameras with it: one mail, not twenty."""
    singles = [compose(item, office) for item in items]
    kind, event = items[0]["kind"], items[0]["event"]
    start, clear, past = _MANY.get(kind, ("Alarmy", "Alarmy ustały", "Alarmy, które już "
                                                                       "ustały"))
    # An alert of no source (the disk, the sweep) is named by its kind, not left blank.
    names = [item.get("source") or _kind_label(item) for item in items]
    shown = ", ".join(names[:5]) + (f" i {len(names) - 5} innych" if len(names) > 5 else "")
    heading = {"clear": clear, "past": past}.get(event, start)
    subject = f"{heading} ({len(items)}): {shown}"
    lines = [s.subject.removeprefix("[Kustosz] ") for s in singles]
    lines += ["", "Wiadomość wysłana automatycznie przez Kustosza"
              + (f" ({office})" if office else "") + "; szczegóły na pulpicie."]
    severity = max((s.severity for s in singles), key=["notice", "warning", "error"].index)
    payload = {"kind": kind, "alert_kind": items[0].get("row_kind"), "event": event,
               "source": None, "since": min(i["since"] for i in items),
               "at": max(i["at"] for i in items), "alert_id": None, "subject": subject,
               "detail": None, "count": len(items), "alerts": [s.payload for s in singles]}
    body = "\n".join(lines) + "\n"
    payload["text"] = f"[Kustosz] {subject}\n" + "\n".join(lines[:len(singles)])
    return Message(f"[Kustosz] {subject}", body, severity, payload)
