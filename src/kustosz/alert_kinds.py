"""The alert kinds, in one place: which alert rows each covers, whether it clears, its default
grace and repeat, and how a duration in kustosz.toml ("2 minutes", "1 hour") is read.

A *clearing* kind is a problem that lasts (a camera down): one message once it has lasted
`grace`, a reminder every `repeat` while it lasts, one message when it clears. A *one-off*
kind is an event row nobody clears (the disk-pressure sweep writes one each time it runs):
one message per occurrence, but occurrences closer than `repeat` are folded into the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from kustosz.errors import ConfigError
from kustosz.states import AlertRow


@dataclass(frozen=True)
class Kind:
    key: str  # the name in [alerts.kinds.<key>]
    rows: tuple[AlertRow, ...]  # the alert rows it covers
    clears: bool
    grace: timedelta
    repeat: timedelta | None  # None: no reminders
    label_pl: str
    # Told from memory by the process that saw it (the database away: there is nowhere to
    # write the row first); its row is written afterwards for the record and the notifier
    # must not tell it again.
    from_memory: bool = False


_R = AlertRow
KINDS: dict[str, Kind] = {k.key: k for k in (
    # The grace counts from the end of the camera's last stored segment (across restarts of
    # serve); a minute, as `serve --down-alert-after`: a hole an outage or a restart left
    # (70 s, issue 27) is told even when it ended before anyone looked (notifier, "past").
    Kind("camera_down", (_R.CAMERA_DOWN,), True, timedelta(minutes=1), timedelta(hours=1),
         "kamera nie nagrywa"),
    Kind("phone_down", (_R.PHONE_UNREACHABLE, _R.PHONE_BACKLOG, _R.PHONE_SILENT), True,
         timedelta(minutes=2), timedelta(hours=4), "linia telefoniczna nie dostarcza nagrań"),
    # The capture process away (issue 64): every line read off a mirrored port unrecorded.
    # Its row is written once it has been away ABSENT_S (ingest/phone/capture/away.py),
    # raised at the moment it went away; the grace counts from then.
    Kind("capture_away", (_R.PHONE_CAPTURE_AWAY,), True, timedelta(minutes=1),
         timedelta(hours=4), "proces przechwytywania rozmów nie działa"),
    # One row per call: folded into one message an hour per line.
    Kind("phone_recording", (_R.PHONE_SESSION_REFUSED, _R.PHONE_NO_SOUND, _R.PHONE_LOSS,
                             _R.PHONE_NOT_STORED),
         False, timedelta(0), timedelta(hours=1),
         "rozmowa nagrana z ubytkami albo nienagrana"),
    # Input from outside Kustosz cannot read or must refuse (issue 47): one row per device and
    # hour (kustosz.ingest.refusals folds the rest into it), told as it comes.
    Kind("input_refused", (_R.INPUT_REFUSED,), False, timedelta(0), timedelta(hours=1),
         "urządzenie przysłało dane, których nie można przyjąć"),
    Kind("serve_unclean_stop", (_R.SERVE_UNCLEAN_STOP,), False, timedelta(0),
         timedelta(hours=1), "usługa Kustosz zatrzymała się nieoczekiwanie"),
    # serve refused a changed kustosz.toml on reload (SIGHUP) and runs on what it had;
    # cleared by the next reload that takes the file.
    Kind("config_reload", (_R.CONFIG_RELOAD_FAILED,), True, timedelta(0), timedelta(days=1),
         "zmieniony plik kustosz.toml nie został wczytany"),
    # serve's monthly accountability report failed (kustosz.report.monthly); retried hourly
    Kind("report", (_R.REPORT_FAILED,), True, timedelta(0), timedelta(days=1),
         "miesięczne sprawozdanie z rozliczalności nie powstało"),
    Kind("disk", (_R.DISK_PRESSURE,), False, timedelta(0),
         timedelta(hours=1), "mało miejsca na dysku"),
    # Cleared when the disk has room again (retention/pressure.py): one message each way.
    Kind("disk_full", (_R.DISK_FULL, _R.DISK_FULL_HELD), True, timedelta(0), timedelta(hours=1),
         "dysk pełny"),
    Kind("audit_witness", (_R.AUDIT_WITNESS,), True, timedelta(0), timedelta(hours=12),
         "zapis punktu kontrolnego dziennika nie powiódł się"),
    Kind("recorder_restarting", (_R.RECORDER_RESTARTING,), True, timedelta(0),
         timedelta(hours=4), "rejestrator kamery uruchamia się ponownie w pętli"),
    Kind("disk_forecast", (_R.DISK_FORECAST,), True, timedelta(hours=1), timedelta(days=1),
         "prognoza: dysk zapełni się w ciągu kilku dni"),
    Kind("sweep", (_R.SWEEP_FAILED, _R.SWEEP_LATE), True, timedelta(minutes=5),
         timedelta(hours=6), "usuwanie nagrań po terminie nie działa"),
    Kind("audit_verify", (_R.AUDIT_VERIFY_FAILED,), True, timedelta(0), timedelta(days=1),
         "sprawdzenie dziennika zdarzeń wykazało naruszenie"),
    Kind("cert_expiring", (_R.CERT_EXPIRING,), True, timedelta(0), timedelta(days=7),
         "certyfikat HTTPS wkrótce wygaśnie"),
    Kind("clock", (_R.CLOCK_JUMP,), False, timedelta(0), timedelta(hours=1),
         "zegar serwera lub kamery przestawił się skokowo"),
    Kind("backup", (_R.BACKUP_MISSING, _R.BACKUP_FAILED), True, timedelta(0),
         timedelta(hours=12), "kopia zapasowa się nie powiodła albo jej brakuje"),
    # Several serve nodes (kustosz.cluster): a node stopped beating, a camera or phone line
    # nobody took over, a node that refuses leases because its clock is off.
    Kind("node_missing", (_R.NODE_MISSING,), True, timedelta(0), timedelta(hours=4),
         "węzeł rejestratora przestał odpowiadać"),
    Kind("source_without_node", (_R.SOURCE_WITHOUT_NODE,), True, timedelta(0),
         timedelta(hours=1), "źródło nie ma węzła, który je nagrywa"),
    Kind("node_clock_skew", (_R.NODE_CLOCK_SKEW,), True, timedelta(0), timedelta(hours=4),
         "zegar węzła rozmija się z zegarem bazy danych"),
    # The object store: segments wait in the local spool while it is away; the spool grew past
    # its limit; the bucket holds objects or versions the index does not know.
    Kind("storage_unreachable", (_R.STORAGE_UNREACHABLE,), True, timedelta(minutes=2),
         timedelta(hours=1), "magazyn obiektów (S3) nie odpowiada"),
    Kind("spool_over_limit", (_R.SPOOL_OVER_LIMIT,), True, timedelta(0), timedelta(hours=1),
         "bufor lokalny przekroczył swój limit"),
    Kind("storage_unknown_objects", (_R.STORAGE_UNKNOWN_OBJECTS,), True, timedelta(0),
         timedelta(hours=12), "w magazynie obiektów są pliki nieznane rejestrowi"),
    Kind("storage_missing_versions", (_R.STORAGE_MISSING_VERSIONS,), True, timedelta(0),
         timedelta(hours=12), "w magazynie obiektów brakuje nagrań z rejestru"),
    # One file (or object) under two rows of the index: sweeping either deletes the other's
    # material before its time (the store check, kustosz.maintenance.key_repeats).
    Kind("index_repeated_keys", (_R.INDEX_REPEATED_KEYS,), True, timedelta(0),
         timedelta(hours=12), "rejestr przypisuje jeden plik kilku nagraniom"),
    # The sweep refused victims: the database says their time is up, the audit log's record
    # of their retention (or of a hold on them) says not yet (kustosz.holds.record).
    Kind("retention_disagrees", (_R.RETENTION_DISAGREES,), True, timedelta(0),
         timedelta(hours=12), "baza danych skraca okres przechowywania wbrew dziennikowi"),
    # The database did not answer kustosz.db.watch for longer than the grace: told straight
    # to every channel from memory (alerts/without_database.py), once each way per outage.
    Kind("database_unreachable", (_R.DATABASE_UNREACHABLE,), True, timedelta(seconds=60),
         None, "baza danych jest niedostępna", from_memory=True),
    # A camera added over ONVIF (issue 34): its own clock, the time burned into its picture,
    # is off the server's by more than [cameras] clock_limit_seconds; its ONVIF service stopped
    # answering (the stream may still record: the dashboard says which).
    Kind("camera_clock", (_R.CAMERA_CLOCK_OFF,), True, timedelta(0), timedelta(days=1),
         "zegar kamery rozmija się z czasem serwera"),
    # A change of the camera's codec (issue 64): one row each time; a camera flapping
    # between two codecs makes one message an hour.
    Kind("camera_codec", (_R.CAMERA_CODEC_CHANGED,), False, timedelta(0), timedelta(hours=1),
         "kamera zmieniła kodek obrazu"),
    Kind("camera_onvif", (_R.CAMERA_ONVIF_UNREACHABLE,), True, timedelta(minutes=5),
         timedelta(hours=4), "kamera nie odpowiada przez ONVIF"),
    # What the camera reports itself (ONVIF events): told at once, cleared when it reports
    # the end (a covered or turned camera, a lost picture: someone must look now).
    Kind("camera_tamper", (_R.CAMERA_TAMPER,), True, timedelta(0), timedelta(hours=1),
         "kamera zgłasza sabotaż (zasłonięcie, przestawienie, oślepienie)"),
    Kind("camera_video_loss", (_R.CAMERA_VIDEO_LOSS,), True, timedelta(0), timedelta(hours=1),
         "kamera zgłasza utratę obrazu"),
    # Any alert row of a kind not named above (a newer release's, after a downgrade) still
    # reaches a person.
    Kind("other", (), True, timedelta(0), timedelta(hours=12), "alarm"),
)}


def kind_of(row_kind: str) -> Kind:
    for kind in KINDS.values():
        if row_kind in kind.rows:
            return kind
    return KINDS["other"]


_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1, "sekunda": 1, "sekundy": 1, "sekund": 1,
    "min": 60, "minute": 60, "minutes": 60, "minuta": 60, "minuty": 60, "minut": 60,
    "h": 3600, "hour": 3600, "hours": 3600, "godzina": 3600, "godziny": 3600, "godzin": 3600,
    "d": 86400, "day": 86400, "days": 86400, "dzien": 86400, "dni": 86400,
}
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")


def parse_duration(text: object, what: str, zero: bool = True) -> timedelta:
    """``"2 minutes"``, ``"1 hour"``, ``"30 s"`` (English or Polish units). kustosz.policy's
    periods count calendar days (k.c. art. 111), which is not what a grace period is."""
    if isinstance(text, str):
        folded = text.lower().translate(str.maketrans("ąęńóśłżź", "aenoslzz"))
        m = _PATTERN.match(folded)
        if m and m.group(2) in _UNITS:
            seconds = int(m.group(1)) * _UNITS[m.group(2)]
            if seconds > 0 or zero:
                return timedelta(seconds=seconds)
            raise ConfigError(f"{what} must be longer than zero, got {text!r}",
                              pl=f"{what}: okres musi być dłuższy niż zero (jest „{text}”).")
    raise ConfigError(f"cannot read {what} {text!r}: write a whole number and a unit, e.g. "
                      "\"2 minutes\" or \"1 hour\"",
                      pl=f"Nie można odczytać okresu {what} „{text}”: podaj liczbę całkowitą "
                         "i jednostkę, np. „2 minutes” lub „1 hour”.")
