"""The recording metadata an SRC sends with a recording session (RFC 7865,
`application/rs-metadata+xml`): who took part, which stream each one sends, the recorded call's
own session id. Only the elements Kustosz keeps are read; anything else is ignored, as RFC 7865
§7 allows extension data.

The document comes from the network: it is refused when larger than MAX_BYTES or when it
declares a document type (no entities are expanded, nothing is fetched)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from kustosz.errors import InputError
from kustosz.ingest.phone.siprec.sdp import Section

NS = "urn:ietf:params:xml:ns:recording:1"
MAX_BYTES = 64 * 1024


class BadMetadata(InputError):
    """The recording metadata cannot be used (the session is refused)."""


@dataclass
class Participant:
    id: str
    aor: str  # sip:+48221234567@example.org, tel:+48221234567
    name: str = ""
    sends: list[str] = field(default_factory=list)  # stream ids
    calling: bool | None = None  # said by the SRC (Oracle's callingParty, a <role>)
    said_number: str = ""  # the number the SRC's extension gives, where the AOR has none

    @property
    def number(self) -> str:
        """The number of the address of record, in whatever writing the SRC used
        (normalised by the phone intake): sip:, sips:, tel: or no scheme at all; or the one
        the SRC's extension data gives for an AOR that is a user's name (BroadWorks)."""
        return self.said_number or number_of(self.aor)


@dataclass
class Metadata:
    participants: list[Participant]
    streams: dict[str, str]  # stream id -> the SDP label it is sent on
    session_ids: list[str]  # the recorded call's sipSessionID (RFC 7989), if given

    def label_of(self, participant: Participant) -> list[str]:
        return [self.streams[s] for s in participant.sends if s in self.streams]

    def sender_of(self, label: str) -> Participant | None:
        for p in self.participants:
            if label in self.label_of(p):
                return p
        return None


# Cisco CUBE writes a caller's name as the network gives it, "DENVER CITY&CNT" unescaped;
# such an "&" can only mean itself (no entity is ever defined: a DOCTYPE is refused)
_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z][\w.-]*|#\d+|#x[0-9A-Fa-f]+);)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


# XML's white space (XML 1.0 §2.3 S): what str.strip() also takes (U+2028, U+0085, a no-break
# space) may begin or end a name, and is kept
XML_SPACE = " \t\r\n"


def _text(el: ET.Element, name: str) -> str:
    for c in el:
        if _local(c.tag) == name:
            return (c.text or "").strip(XML_SPACE)
    return ""


def _id(el: ET.Element, name: str) -> str:
    """An element's id: RFC 7865 writes ``participant_id=``/``stream_id=``, the drafts it
    grew from (draft-ietf-siprec-metadata, still sent by Oracle/Acme Packet SBCs) ``id=``."""
    return (el.get(name) or el.get("id") or "").strip()


def _calling(p: ET.Element) -> bool | None:
    """Whether the SRC marks this participant as the caller: Oracle/Acme's extension
    ``<apkt:callingParty>``, or a ``<role>`` of calling/called (Intrado)."""
    for el in p.iter():
        name, text = _local(el.tag).lower(), (el.text or "").strip().lower()
        if name == "callingparty" and text in ("true", "false"):
            return text == "true"
        if name == "role" and text in ("calling", "caller", "called", "callee"):
            return text in ("calling", "caller")
    return None


# the roots a recording's metadata is written under: RFC 7865's (and its drafts'), and
# Cisco BroadWorks' <recording_metadata> (namespace urn:ietf:params:xml:ns:siprec)
_ROOTS = ("recording", "recording_metadata")


def _sends(p: ET.Element) -> list[str]:
    """The stream ids a participant sends: ``<send>id</send>`` (RFC 7865 and its drafts) or
    ``<send><id>id</id></send>`` (BroadWorks)."""
    out: list[str] = []
    for send in _children(p, "send"):
        ids = [(i.text or "").strip() for i in _children(send, "id")]
        out.extend(i for i in ids or [(send.text or "").strip()] if i and i not in out)
    return out


def _display(name: str) -> str:
    """A display name without the quotes of SIP's quoted-string (RFC 3261 §25.1), which Oracle
    SBCs copy into ``<name>`` (``&quot;ECG Tester&quot;``): they are not part of the name."""
    name = name.strip(XML_SPACE)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').strip(XML_SPACE)
    return name


def _aor(p: ET.Element) -> str:
    """A participant's address of record: ``<nameID aor=…>`` (RFC 7865 and its drafts), else
    an ``<aor>`` element of its own (BroadWorks)."""
    ids = _children(p, "nameID")
    return (ids[0].get("aor", "") if ids else _text(p, "aor")).strip()


def _broadworks_caller(root: ET.Element, people: dict[str, Participant]) -> None:
    """BroadWorks says who called in its extension (``broadWorksRecordingMetadata``): the
    call half's calling and called party, and whether its user (``userID``) made the call
    (``origCall``) or took it (``termCall``). A participant not already marked is marked by
    its number, else (the user's own address, no number in it) by the call half's kind —
    and given the user's number from the extension (Webex Calling's users have addresses
    like ``sip:kculs9klre@….webex.com``)."""
    ext = next((e for e in root.iter() if _local(e.tag) == "broadWorksRecordingMetadata"),
               None)
    if ext is None:
        return
    found = {_local(e.tag): (e.text or "").strip() for e in ext.iter()}
    kind = "origCall" if "origCall" in found else "termCall" if "termCall" in found else ""
    if not kind:
        return
    calling = number_of(found.get("callingPartyNumber", ""))
    called = number_of(found.get("calledPartyNumber", ""))
    user = found.get("userID", "")
    for p in people.values():
        if p.calling is not None:
            continue
        if p.number and p.number in (calling, called):
            p.calling = p.number == calling
        elif user and p.aor.split(":", 1)[-1].split(";", 1)[0] == user:
            p.calling = kind == "origCall"
            p.said_number = calling if p.calling else called


def parse_metadata(text: str) -> Metadata:
    """The participants and streams of a recording session; BadMetadata says what is wrong."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise BadMetadata(f"the recording metadata is larger than {MAX_BYTES} bytes",
                          pl=f"Metadane nagrania są większe niż {MAX_BYTES} bajtów.")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise BadMetadata("the recording metadata declares a document type; refused",
                          pl="Metadane nagrania deklarują typ dokumentu (DOCTYPE/ENTITY); "
                             "odrzucono je.")
    try:
        root = ET.fromstring(_BARE_AMPERSAND.sub("&amp;", text))
    except ET.ParseError as exc:
        raise BadMetadata(f"the recording metadata is not well-formed XML: {exc}",
                          pl=f"Metadane nagrania nie są poprawnym dokumentem XML: {exc}.") from None
    if _local(root.tag) not in _ROOTS:
        raise BadMetadata(f"the recording metadata's root is <{_local(root.tag)}>, "
                          "not <recording>",
                          pl=f"Elementem głównym metadanych nagrania jest "
                             f"<{_local(root.tag)}>, a nie <recording>.")
    streams: dict[str, str] = {}
    for s in _children(root, "stream"):
        sid, label = _id(s, "stream_id"), _text(s, "label")
        if sid and label:
            streams[sid] = label
    people: dict[str, Participant] = {}
    for p in _children(root, "participant"):
        pid, ids = _id(p, "participant_id"), _children(p, "nameID")
        if not pid or not (ids or _children(p, "aor")):
            continue
        name = _display(_text(ids[0], "name") if ids else _text(p, "name"))
        people[pid] = Participant(pid, _aor(p), name, calling=_calling(p))
        # the drafts (and RFC 7865's first form) write <send> inside <participant>
        people[pid].sends.extend(_sends(p))
    for assoc in _children(root, "participantstreamassoc"):
        who = people.get(_id(assoc, "participant_id"))
        if who is not None:
            who.sends.extend(c.text.strip() for c in _children(assoc, "send")
                             if c.text and c.text.strip() not in who.sends)
    _broadworks_caller(root, people)
    sessions = [_text(s, "sipSessionID") for s in _children(root, "session")]
    # the caller first (sides): as the SRC marks it, else in the SRC's own order
    ordered = sorted(people.values(), key=lambda p: {True: 0, None: 1, False: 2}[p.calling])
    return Metadata(ordered, streams, [s for s in sessions if s])


def number_of(aor: str) -> str:
    """The number an address of record carries, as the SRC wrote it: the user part of a
    ``sip:``/``sips:`` URI, a ``tel:`` URI's number, or an AOR without a scheme (Ribbon/Sonus
    write ``2249888500@172.16.198.55``, SEMS ``Extension-016190619@…``); parameters and
    visual separators left to the phone intake."""
    text = aor.strip().strip("<>").strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("sip", "sips", "tel"):
        text = rest
    user = text.split("@", 1)[0].split(";", 1)[0].strip()
    if _NUMBER.match(user):
        return user
    runs = re.findall(r"\d{3,}", user)
    # a number behind a word ("Extension-016190619"), where it is the only one
    return runs[0] if len(runs) == 1 and re.fullmatch(r"[A-Za-z_.-]*\d+", user) else user


_NUMBER = re.compile(r"^\+?[\d\s().\-/]+\Z")


def check_labels(meta: Metadata, sections: list[Section]) -> None:
    """BadMetadata when the metadata names a stream the SDP does not offer — of any media:
    a video call's metadata names its video streams too, which are offered and declined."""
    labels = {s.label for s in sections if s.label}
    missing = sorted(set(meta.streams.values()) - labels)
    if missing:
        raise BadMetadata(f"the metadata names streams the SDP lacks: {', '.join(missing)}",
                          pl="Metadane wymieniają strumienie, których brak w SDP: "
                             f"{', '.join(missing)}.")


@dataclass(frozen=True)
class Side:
    id: str
    number: str
    name: str
    aor: str


def sides(meta: Metadata | None) -> tuple[Side, Side]:
    """The caller and the callee: the participant the SRC marks as calling, else the first
    written (the order Cisco CUBE, OpenSIPS, FreeSWITCH write them in), then the next;
    without them, nobody."""
    people = meta.participants if meta is not None else []
    out = [Side(p.id, p.number, p.name, p.aor) for p in people[:2]]
    while len(out) < 2:
        out.append(Side(f"-{len(out)}", "", "", ""))
    return out[0], out[1]
