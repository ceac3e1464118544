"""The registry of material kinds: what each kind of source is, in one place.

A source is a camera, a phone line, a mail journal or an IT-event endpoint (`SourceKind`, the
value of ``sources.kind`` and ``recordings.kind``). Everything the rest of the program needs to
know about a kind — its Polish and English names, which authorisation actions open it, the name
a custody request gives its material, the spool its chunks go through, the module that takes it
in — is one frozen `MaterialKind` here; code asks `kind_of`, `by_material`, `by_action` or
`by_chunk` instead of comparing strings. The database enforces the same values (migration
0016, `check_in`).

`SourceKind` is a `StrEnum`: its members are equal to the strings stored before it existed, so
``Source.kind == SourceKind.CAMERA`` and ``Source.kind == "camera"`` select the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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

    @property
    def retention_key(self) -> str:
        """The key of its period in the policy's [retention] table (and ``sources.retention``
        overrides it per source)."""
        return str(self.name)


_FILE_LAYOUT = "SOURCE/YYYY/MM/DD/HHMMSS-RANDOM.EXT (UTC)"
_CHUNK_LAYOUT = "SOURCE/YYYY/MM/DD/HHMMSS-RANDOM.jsonl (UTC; one hourly or daily chunk)"

KINDS: Mapping[SourceKind, MaterialKind] = MappingProxyType({k.name: k for k in (
    MaterialKind(SourceKind.CAMERA, "monitoring wizyjny", "video monitoring", "kamery",
                 Material.VIDEO, frozenset({Action.LIVE, Action.PLAYBACK, Action.EXPORT}),
                 None, None, "kustosz.ingest.camera", _FILE_LAYOUT),
    MaterialKind(SourceKind.PHONE, "rozmowy telefoniczne", "telephone calls",
                 "linie telefoniczne", Material.CALLS,
                 frozenset({Action.LISTENING, Action.CALLS, Action.EXPORT}),
                 Action.CALLS, None, "kustosz.ingest.phone", _FILE_LAYOUT),
    MaterialKind(SourceKind.MAILBOX, "poczta elektroniczna", "e-mail monitoring",
                 "dzienniki poczty elektronicznej", Material.MAIL,
                 frozenset({Action.MAIL, Action.EXPORT}), Action.MAIL, "mail",
                 "kustosz.ingest.mail", _CHUNK_LAYOUT),
    MaterialKind(SourceKind.ENDPOINT, "aktywność na urządzeniach", "IT activity monitoring",
                 "źródła zdarzeń IT", Material.EVENTS,
                 frozenset({Action.EVENTS, Action.EXPORT}), Action.EVENTS, "events",
                 "kustosz.ingest.events", _CHUNK_LAYOUT),
)})
# Material kept in chunks (mail journals, IT events), in registry order.
CHUNKED: tuple[MaterialKind, ...] = tuple(k for k in KINDS.values() if k.chunk is not None)


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
