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

NS = "urn:ietf:params:xml:ns:recording:1"
MAX_BYTES = 64 * 1024
_SIP_USER = re.compile(r"^(?:sips?|tel):([^@;>]+)", re.IGNORECASE)


class BadMetadata(InputError):
    """The recording metadata cannot be used (the session is refused)."""


@dataclass
class Participant:
    id: str
    aor: str  # sip:+48221234567@example.org, tel:+48221234567
    name: str = ""
    sends: list[str] = field(default_factory=list)  # stream ids

    @property
    def number(self) -> str:
        """The user part of the address of record: the number, in whatever writing the SRC
        used (normalised by the phone intake)."""
        m = _SIP_USER.match(self.aor.strip())
        return m.group(1) if m else self.aor.strip()


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


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for c in el:
        if _local(c.tag) == name:
            return (c.text or "").strip()
    return ""


def parse_metadata(text: str) -> Metadata:
    """The participants and streams of a recording session; BadMetadata says what is wrong."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise BadMetadata(f"the recording metadata is larger than {MAX_BYTES} bytes")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise BadMetadata("the recording metadata declares a document type; refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BadMetadata(f"the recording metadata is not well-formed XML: {exc}") from None
    if _local(root.tag) != "recording":
        raise BadMetadata(f"the recording metadata's root is <{_local(root.tag)}>, "
                          "not <recording>")
    streams: dict[str, str] = {}
    for s in _children(root, "stream"):
        sid = s.get("stream_id", "").strip()
        label = _text(s, "label")
        if sid and label:
            streams[sid] = label
    people: dict[str, Participant] = {}
    for p in _children(root, "participant"):
        pid = p.get("participant_id", "").strip()
        ids = _children(p, "nameID")
        if not pid or not ids:
            continue
        aor = ids[0].get("aor", "").strip()
        people[pid] = Participant(pid, aor, _text(ids[0], "name"))
    for assoc in _children(root, "participantstreamassoc"):
        who = people.get(assoc.get("participant_id", "").strip())
        if who is not None:
            who.sends.extend(c.text.strip() for c in _children(assoc, "send") if c.text)
    # RFC 7865 also allows <send> inside <participant> (its first drafts did)
    for p in _children(root, "participant"):
        who = people.get(p.get("participant_id", "").strip())
        if who is not None:
            who.sends.extend(c.text.strip() for c in _children(p, "send")
                             if c.text and c.text.strip() not in who.sends)
    sessions = [_text(s, "sipSessionID") for s in _children(root, "session")]
    return Metadata(list(people.values()), streams, [s for s in sessions if s])
