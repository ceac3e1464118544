"""Reader of Asterisk's ``cdr_csv`` log, ``Master.csv``.

Each line is written by ``cdr_csv`` as: every text field double-quoted with embedded ``"``
doubled, ``duration``, ``billsec`` and ``sequence`` as bare integers, and an unset time (the
``answer`` of an unanswered call) as nothing at all. The columns are the sixteen of
:data:`BASE_COLUMNS`, then ``uniqueid`` (``loguniqueid=yes``), ``userfield``
(``loguserfield=yes``), and ``peeraccount, linkedid, sequence`` (``newcdrcolumns=yes``).

Times are in the PBX's local zone unless ``usegmtime=yes``; they are returned as aware UTC
datetimes. ``usegmtime=yes`` is the better setting: local times in the autumn hour that
happens twice cannot always be told apart.

The file is appended to for as long as the PBX runs, so :func:`read_cdr` reads from a byte
offset the caller remembers, and returns the offset to remember next.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kustosz.errors import KustoszError
from kustosz.phone_numbers import looks_like_number, try_normalize
from kustosz.words import count_pl

__all__ = [
    "BASE_COLUMNS",
    "NEWCDR_COLUMNS",
    "WARSAW",
    "CallRecord",
    "CdrError",
    "parse_line",
    "read_cdr",
    "split_clid",
]

WARSAW = ZoneInfo("Europe/Warsaw")

BASE_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
NEWCDR_COLUMNS = ("peeraccount", "linkedid", "sequence")

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# What cdr_csv always writes; read without strptime (a third of a large Master.csv's reading
# time). Anything else still goes through strptime, which decides what it accepts.
# Hours 00-23 only: Python 3.14's fromisoformat reads "24:00:00" as the next day's midnight,
# which strptime refuses.
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}\Z")
# "<epoch>.<n>", after "<systemname>-" when asterisk.conf sets a systemname.
_UNIQUEID = re.compile(r"^(?:[^\s\",]+-)?\d+\.\d+\Z")
_UINT = re.compile(r"^\d+\Z")
_AUDIO_FILE = re.compile(
    r"[^\s,;|=\"'<>]+\.(?:wav49|wav|gsm|mp3|ogg|opus|flac|sln)(?![\w])", re.IGNORECASE
)
_CLID = re.compile(r'^"(?P<name>.*)"\s*<(?P<number>[^<>]*)>$|^(?P<bare>[^<>"]*)<(?P<n2>[^<>]*)>$')


class CdrError(KustoszError, ValueError):
    """A line of Master.csv that cannot be read; the message is one line naming where."""

    def __init__(
        self,
        problem: str,
        *,
        lineno: int | None = None,
        offset: int | None = None,
        source: str | None = None,
        pl: str | None = None,
    ) -> None:
        self.problem, self.problem_pl = problem, pl
        self.lineno = lineno
        self.offset = offset
        self.source = source
        where = source or ""
        if lineno is not None:
            where = f"{where} line {lineno}".strip()
        if offset is not None:
            where = f"{where} (byte offset {offset})" if where else f"byte offset {offset}"
        where_pl = source or ""
        if lineno is not None:
            where_pl = f"{where_pl} wiersz {lineno}".strip()
        if offset is not None:
            where_pl = f"{where_pl} (bajt {offset})" if where_pl else f"bajt {offset}"
        polish = None if pl is None else f"{where_pl}: {pl}" if where_pl else pl
        super().__init__(f"{where}: {problem}" if where else problem, pl=polish)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments are not restored by the default pickling of exceptions.
        return (_rebuild_cdr_error,
                (self.problem, self.lineno, self.offset, self.source, self.problem_pl))


def _rebuild_cdr_error(
    problem: str, lineno: int | None, offset: int | None, source: str | None,
    pl: str | None = None,
) -> CdrError:
    return CdrError(problem, lineno=lineno, offset=offset, source=source, pl=pl)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One CDR line. Text fields are as Asterisk wrote them; numbers are not normalised here."""

    accountcode: str
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: datetime
    answer: datetime | None
    end: datetime | None
    duration: int
    billsec: int
    disposition: str
    amaflags: str
    uniqueid: str = ""
    userfield: str = ""
    peeraccount: str = ""
    linkedid: str = ""
    sequence: int | None = None
    recordingfile: str = ""

    @property
    def answered(self) -> bool:
        return self.answer is not None

    @property
    def caller_name(self) -> str:
        return split_clid(self.clid)[0]

    @property
    def caller_number(self) -> str:
        """The number from ``clid``, falling back to ``src`` when clid carries only a name."""
        return split_clid(self.clid)[1] or self.src


def split_clid(clid: str) -> tuple[str, str]:
    """Split Asterisk's caller ID text into ``(name, number)``.

    Asterisk writes ``"Name" <number>`` when it has both, and the bare name or the bare number
    when it has only one; a bare value counts as a number when it is written as one, even
    with no canonical form (``9996837840``: issue 64 item 9).
    """
    text = clid.strip()
    match = _CLID.match(text)
    if match:
        if match.group("number") is not None:
            return match.group("name").strip(), match.group("number").strip()
        return match.group("bare").strip(), match.group("n2").strip()
    if looks_like_number(text) or try_normalize(text) is not None:
        return "", text
    return text, ""


def parse_line(line: str, lineno: int, *, tz: ZoneInfo = WARSAW, utc: bool = False) -> CallRecord:
    """Parse one Master.csv line (with or without its line end).

    Raises :class:`CdrError` naming ``lineno`` and what is wrong with the line.
    """
    try:
        rows = list(csv.reader([line.rstrip("\r\n")], strict=True))
    except csv.Error as exc:
        raise CdrError(f"malformed CSV quoting ({exc})", lineno=lineno,
                       pl=f"Błędne cudzysłowy CSV ({exc}).") from None
    fields = rows[0] if rows else []
    names = _column_names(fields)
    if names is None:
        raise CdrError(
            f"expected 16 to 21 columns (cdr_csv layout), got {len(fields)}", lineno=lineno,
            pl=f"Oczekiwano od 16 do 21 kolumn (układ cdr_csv), a jest ich {len(fields)}.",
        )
    values = dict(zip(names, fields, strict=True))

    start = _time(values, "start", lineno, tz, utc, not_before=None)
    if start is None:
        raise CdrError("start time is empty", lineno=lineno, pl="Czas rozpoczęcia jest pusty.")
    answer = _time(values, "answer", lineno, tz, utc, not_before=start)
    end = _time(values, "end", lineno, tz, utc, not_before=answer or start)
    sequence = _uint(values, "sequence", lineno) if "sequence" in values else None
    userfield = values.get("userfield", "")
    return CallRecord(
        accountcode=values["accountcode"],
        src=values["src"],
        dst=values["dst"],
        dcontext=values["dcontext"],
        clid=values["clid"],
        channel=values["channel"],
        dstchannel=values["dstchannel"],
        lastapp=values["lastapp"],
        lastdata=values["lastdata"],
        start=start,
        answer=answer,
        end=end,
        duration=_uint(values, "duration", lineno),
        billsec=_uint(values, "billsec", lineno),
        disposition=values["disposition"],
        amaflags=values["amaflags"],
        uniqueid=values.get("uniqueid", ""),
        userfield=userfield,
        peeraccount=values.get("peeraccount", ""),
        linkedid=values.get("linkedid", ""),
        sequence=sequence,
        recordingfile=_recording_file(userfield, values["lastapp"], values["lastdata"]),
    )


def read_cdr(
    path: str | os.PathLike[str],
    *,
    tz: ZoneInfo = WARSAW,
    utc: bool = False,
    start_offset: int = 0,
    end_offset: int | None = None,
) -> tuple[list[CallRecord], list[CdrError], int]:
    """Read the complete lines of ``path`` from byte ``start_offset`` on (up to
    ``end_offset``, a line's start, if given: the lines from there on are left).

    Returns the records, the errors of the lines that could not be read (each bad line is
    skipped, and reading goes on), and the offset to pass next time. A last line without its
    line end is still being written by Asterisk: it is left for the next read. Line numbers
    in errors count from ``start_offset``; the byte offset in each error is absolute.

    Raises :class:`CdrError` when ``start_offset`` cannot be where a previous read stopped:
    past the end of the file (it was rotated or truncated) or not just after a line end.
    """
    source = Path(path).name
    if start_offset < 0:
        raise CdrError(f"offset {start_offset} is negative", source=source,
                       pl=f"Przesunięcie {start_offset} jest ujemne.")
    records: list[CallRecord] = []
    errors: list[CdrError] = []
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if start_offset > size:
            raise CdrError(
                f"the file has {size} bytes, fewer than the offset {start_offset} read up to "
                "before; it was probably rotated or truncated, so read it again from offset 0",
                source=source,
                pl=f"Plik ma {count_pl(size, 'bajt', 'bajty', 'bajtów')}, mniej niż przesunięcie "
                   f"{start_offset}, do którego był już odczytany; prawdopodobnie został "
                   "zrotowany lub obcięty, więc należy go odczytać ponownie od przesunięcia 0.",
            )
        if start_offset > 0:
            stream.seek(start_offset - 1)
            if stream.read(1) != b"\n":
                raise CdrError(
                    f"offset {start_offset} is not at the start of a line; it was not returned "
                    "by read_cdr for this file",
                    source=source,
                    pl=f"Przesunięcie {start_offset} nie wskazuje początku wiersza; nie zostało "
                       "zwrócone przez read_cdr dla tego pliku.",
                )
        offset = start_offset
        for lineno, raw in enumerate(stream, start=1):
            if not raw.endswith(b"\n") or (end_offset is not None and offset >= end_offset):
                break
            line_offset = offset
            offset += len(raw)
            # A stray byte from a caller-ID name must not cost the whole call record.
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            try:
                records.append(parse_line(line, lineno, tz=tz, utc=utc))
            except CdrError as exc:
                errors.append(
                    CdrError(exc.problem, lineno=lineno, offset=line_offset, source=source,
                             pl=exc.problem_pl)
                )
    return records, errors, offset


def _column_names(fields: list[str]) -> tuple[str, ...] | None:
    extra = len(fields) - len(BASE_COLUMNS)
    if extra == 0:
        return BASE_COLUMNS
    if extra == 2:
        return (*BASE_COLUMNS, "uniqueid", "userfield")
    if extra == 3:
        return (*BASE_COLUMNS, *NEWCDR_COLUMNS)
    if extra == 5:
        return (*BASE_COLUMNS, "uniqueid", "userfield", *NEWCDR_COLUMNS)
    if extra in (1, 4):
        # Only one of loguniqueid/loguserfield is on; Asterisk's uniqueid is never empty and
        # always "[<systemname>-]<epoch>.<n>", which tells it from a userfield.
        which = "uniqueid" if _UNIQUEID.match(fields[len(BASE_COLUMNS)]) else "userfield"
        return (*BASE_COLUMNS, which, *(NEWCDR_COLUMNS if extra == 4 else ()))
    return None


def _uint(values: dict[str, str], name: str, lineno: int) -> int:
    value = values[name].strip()
    if not _UINT.match(value):
        raise CdrError(f"{name} is not a whole number of seconds: {value!r}", lineno=lineno,
                       pl=f"„{name}” nie jest całkowitą liczbą sekund: „{value}”.")
    return int(value)


def _time(
    values: dict[str, str],
    name: str,
    lineno: int,
    tz: ZoneInfo,
    utc: bool,
    *,
    not_before: datetime | None,
) -> datetime | None:
    value = values[name].strip()
    if not value:
        return None
    try:
        if _TIME.match(value):  # exactly cdr_csv's form: the C parser reads it
            naive = datetime.fromisoformat(value)
        else:
            naive = datetime.strptime(value, _TIME_FORMAT)
    except ValueError:
        raise CdrError(f"{name} time {value!r} is not YYYY-MM-DD HH:MM:SS", lineno=lineno,
                       pl=f"Czas „{name}” „{value}” nie ma postaci RRRR-MM-DD GG:MM:SS.") from None
    if utc:
        return naive.replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if not_before is not None and first < not_before:
        # In the autumn hour that happens twice, a call's answer or end cannot come before its
        # start, which tells us the second occurrence was meant.
        second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if second >= not_before:
            return second
    return first


def _recording_file(userfield: str, lastapp: str, lastdata: str) -> str:
    match = _AUDIO_FILE.search(userfield)
    if match:
        return match.group(0)
    if lastapp.lower() == "mixmonitor" and lastdata.strip():
        # MixMonitor(filename.ext[,options[,command]]); Asterisk 1.4 separated with "|".
        return re.split(r"[,|]", lastdata, maxsplit=1)[0].strip()
    return ""
