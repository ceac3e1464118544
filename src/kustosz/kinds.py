"""The registry of material kinds: what each kind of source is, in one place.

A source is a camera, a phone line, a mail journal or an IT-event endpoint (`SourceKind`, the
value of ``sources.kind`` and ``recordings.kind``). Everything the rest of the program needs to
know about a kind — its Polish and English names, which authorisation actions open it, the name
a custody request gives its material, the spool its chunks go through and the field that dates
their lines, the module that takes it in, what documents print about it, whether its sound is
kept — is one frozen `MaterialKind` here; code asks `kind_of`, `by_material`, `by_action` or
`by_chunk` instead of comparing strings (tests/test_kinds.py finds a kind switch elsewhere).
The database enforces the same values (migration 0016, `check_in`).

`SourceKind` is a `StrEnum`: its members are equal to the strings stored before it existed, so
``Source.kind == SourceKind.CAMERA`` and ``Source.kind == "camera"`` select the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType


class SourceKind(StrEnum):
    CAMERA = "camera"
    PHONE = "phone"
    MAILBOX = "mailbox"
    ENDPOINT = "endpoint"


class Material(StrEnum):
    """What a custody request asks for (``custody_requests.material``)."""

    VIDEO = "video"
    CALLS = "calls"
    MAIL = "mail"
    EVENTS = "events"


class Action(StrEnum):
    """What an individual authorisation allows (R3.2; ``access_authorisations.actions``)."""

    LIVE = "live"
    PLAYBACK = "playback"
    LISTENING = "listening"
    CALLS = "calls"
    EXPORT = "export"
    MAIL = "mail"
    EVENTS = "events"


@dataclass(frozen=True, slots=True)
class MaterialKind:
    """One kind of material and everything the program decides by it."""

    name: SourceKind
    label_pl: str  # the kind of monitoring, as the regulation names it
    label_en: str
    sources_pl: str  # its sources, plural, as an authorisation lists them
    material: Material  # what a custody request for it is called
    # The authorisation actions that open this kind's material (export opens every kind).
    actions: frozenset[Action]
    # The action under which a person reviews its rows in a window (mail, events, the call
    # register); None for video, which is watched (live/playback) rather than reviewed.
    review: Action | None
    # The chunk spool's name for material kept in hourly/daily chunks (R1.9, R1.10); None for
    # material stored one file per item (video segments, calls).
    chunk: str | None
    ingest: str  # the package that takes it in
    # Storage layout of its files under the media folder (kustosz.ingest.files.storage_key).
    layout: str
    # What a custody request for it is called where the office reads it (the request form).
    material_pl: str
    # What to say when an action on it names no source of this kind.
    choose_pl: str
    # An office that keeps none of it "… monitors with no cameras" / "… nie stosuje
    # monitoringu wizyjnego": how a refused document (sign, clause) says so.
    absent_en: str
    absent_pl: str
    # Its name in the genitive as its information clause prints it ("Dane z …"); None where
    # Kustosz prints no clause for it (the office's own IT rules inform about mail and events).
    clause_pl: str | None = None
    # The fields of a chunk line that date it, in order: the first is its index's time column,
    # which searches and the chunk's extent use; a copy falls back to the next. () for material
    # not kept in chunks.
    time_keys: tuple[str, ...] = ()
    # Stored as image only: a sound track is taken off its files before they are kept (R1.3).
    image_only: bool = False
    # The intake counter each delivery adds to (kustosz.ingest.chunks.counters), and how long
    # its sources may go without one and still count as up (/metrics; no setting for it: an
    # SMTP journal is quiet over a weekend, a SIEM never for an hour). None where another sign
    # tells (a camera's segments, a phone line's files).
    delivery_counter: str | None = None
    quiet: timedelta | None = None
    # Its items' times are the server clock's readings (the camera spool stamps segments by
    # it): an approved undo of a wrong-ahead clock counts them back (kustosz.clock.undo).
    # Others may carry a device's own time, which an ahead server clock did not touch.
    server_clock: bool = False
    # What one line of its chunks is, in Polish: one, few, many ("wiadomość", "wiadomości",
    # "wiadomości"), for counts a person reads (the accountability report); None where a
    # file is the item.
    entry_pl: tuple[str, str, str] | None = None

    @property
    def time_key(self) -> str | None:
        """The chunk line's field its index and searches order it by; None if not chunked."""
        return self.time_keys[0] if self.time_keys else None

    @property
    def retention_key(self) -> str:
        """The key of its period in the policy's [retention] table (and ``sources.retention``
        overrides it per source)."""
        return str(self.name)


_FILE_LAYOUT = "SOURCE/YYYY/MM/DD/HHMMSS-RANDOM.EXT (UTC)"
_CHUNK_LAYOUT = "SOURCE/YYYY/MM/DD/HHMMSS-RANDOM.jsonl (UTC; one hourly or daily chunk)"

KINDS: Mapping[SourceKind, MaterialKind] = MappingProxyType({k.name: k for k in (
    MaterialKind(
        SourceKind.CAMERA, "monitoring wizyjny", "video monitoring", "kamery", Material.VIDEO,
        frozenset({Action.LIVE, Action.PLAYBACK, Action.EXPORT}), review=None, chunk=None,
        ingest="kustosz.ingest.camera", layout=_FILE_LAYOUT, material_pl="monitoring wizyjny",
        choose_pl="Wybierz kamerę.", absent_en="monitors with no cameras",
        absent_pl="nie stosuje monitoringu wizyjnego", clause_pl="monitoringu wizyjnego",
        image_only=True, server_clock=True),
    MaterialKind(
        SourceKind.PHONE, "rozmowy telefoniczne", "telephone calls", "linie telefoniczne",
        Material.CALLS, frozenset({Action.LISTENING, Action.CALLS, Action.EXPORT}),
        review=Action.CALLS, chunk=None, ingest="kustosz.ingest.phone", layout=_FILE_LAYOUT,
        material_pl="nagrania rozmów", choose_pl="Wybierz linię telefoniczną.",
        absent_en="records no calls", absent_pl="nie nagrywa rozmów telefonicznych",
        clause_pl="rejestrowania rozmów telefonicznych"),
    MaterialKind(
        SourceKind.MAILBOX, "poczta elektroniczna", "e-mail monitoring",
        "dzienniki poczty elektronicznej", Material.MAIL,
        frozenset({Action.MAIL, Action.EXPORT}), review=Action.MAIL, chunk="mail",
        ingest="kustosz.ingest.mail", layout=_CHUNK_LAYOUT,
        material_pl="monitoring poczty elektronicznej (metadane)",
        choose_pl="Wybierz dziennik poczty.", absent_en="monitors no e-mail",
        absent_pl="nie stosuje monitoringu poczty elektronicznej",
        time_keys=("received",), delivery_counter="messages", quiet=timedelta(hours=72),
        entry_pl=("wiadomość", "wiadomości", "wiadomości")),
    MaterialKind(
        SourceKind.ENDPOINT, "aktywność na urządzeniach", "IT activity monitoring",
        "źródła zdarzeń IT", Material.EVENTS, frozenset({Action.EVENTS, Action.EXPORT}),
        review=Action.EVENTS, chunk="events", ingest="kustosz.ingest.events",
        layout=_CHUNK_LAYOUT, material_pl="monitoring aktywności IT (zdarzenia)",
        choose_pl="Wybierz źródło zdarzeń.", absent_en="monitors no IT activity",
        absent_pl="nie stosuje monitoringu aktywności na urządzeniach",
        # Events are dated by their own time; a line without a readable one by its receipt.
        time_keys=("at", "received"), delivery_counter="events", quiet=timedelta(hours=1),
        entry_pl=("zdarzenie", "zdarzenia", "zdarzeń")),
)})
# Material kept in chunks (mail journals, IT events), in registry order.
CHUNKED: tuple[MaterialKind, ...] = tuple(k for k in KINDS.values() if k.chunk is not None)
# Reviews of index rows (the rows are the material: the call register, mail metadata, IT
# events): bounded by a stated period, opened on a search page.
ROW_REVIEWS: tuple[Action, ...] = tuple(k.review for k in KINDS.values()
                                        if k.review is not None)
# The kinds an information clause is printed for (kustosz.documents.clauses).
CLAUSED: tuple[MaterialKind, ...] = tuple(k for k in KINDS.values() if k.clause_pl)


def kind_of(name: str) -> MaterialKind:
    """The kind a ``sources.kind`` value names; KeyError for anything else."""
    try:
        return KINDS[SourceKind(name)]
    except ValueError:
        return _missing(name)


def _missing(name: str) -> MaterialKind:
    raise KeyError(f"no material kind {name!r}")


def by_material(material: str) -> MaterialKind:
    """The kind a custody request's material ("video", "calls", "mail", "events") is kept as."""
    for k in KINDS.values():
        if k.material == material:
            return k
    return _missing(material)


def by_chunk(chunk: str) -> MaterialKind:
    """The kind whose chunks a spool named ``chunk`` ("mail", "events") writes."""
    for k in CHUNKED:
        if k.chunk == chunk:
            return k
    return _missing(chunk)


def by_action(action: str) -> frozenset[SourceKind]:
    """The kinds of source an authorisation action opens."""
    return frozenset(k.name for k in KINDS.values() if action in k.actions)


def check_in(column: str, values: Iterable[str]) -> str:
    """SQL for a CHECK constraint that ``column`` holds one of ``values`` (both backends)."""
    listed = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
    return f"{column} IN ({listed})"
