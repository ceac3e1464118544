"""SIP dialogs followed from what a mirrored port shows (issue 35 item 2): an INVITE's offer
and its 200's answer say where each side receives its sound, so an RTP datagram sent to one
side's media address is the other side speaking. Who called whom comes from the INVITE's
From and To (P-Asserted-Identity first, as a trunk asserts it); a dialog is answered by its
2xx (its answer's SDP may come before, in a reliable 18x, or later in an UPDATE's 2xx), ends
with BYE, and fails with CANCEL or a final error — a call never answered is not a
recording. The messages are read by sippy (siprec.sip.parse), as the recording server's; the
identities and the dialog's headers are read from the message's own text, as sippy refuses the
tel: URIs that trunks assert (P-Asserted-Identity: <tel:+48...>). A message that cannot be
followed is counted as malformed, never an error of the reader's."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from ipaddress import ip_address

from kustosz.ingest.phone.capture.frames import Datagram
from kustosz.ingest.phone.sip_stack import SipRequest, SipResponse
from kustosz.ingest.phone.siprec.framing import BadMessage, frame
from kustosz.ingest.phone.siprec.multipart import sdp_of
from kustosz.ingest.phone.siprec.sdp import BadOffer, Crypto, sdes_key
from kustosz.ingest.phone.siprec.sip import body_of, content_type_of, parse

_USER = re.compile(r"<?(?:sips?|tel):([^@;>]+)", re.IGNORECASE)
_SIP_START = re.compile(rb"^(?:[A-Z]+ [^ \r\n]+ SIP/2\.0\r\n|SIP/2\.0 \d{3} )")
# How far into a datagram its start line is looked for: a B2BUA's Request-URI with its tags
# and parameters runs past a hundred bytes (a Wireshark sample's INVITE: 75), so a short
# window took such INVITEs for RTP and the call was seen only from a later re-INVITE.
START_LINE_MAX = 2048
_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9.!%*_+`'~-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_COMPACT = {"f": "from", "t": "to", "i": "call-id"}
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


@dataclass(frozen=True)
class Media:
    address: str
    port: int
    payloads: tuple[int, ...]
    secure: bool = False  # SRTP (RTP/SAVP, or SDES keys offered)
    keys: tuple[Crypto, ...] = ()  # the usable SDES keys of its section, by their tags
    rtpmaps: tuple[tuple[int, str], ...] = ()  # a=rtpmap: payload type, encoding/clock


@dataclass
class Dialog:
    call_id: str
    caller: str
    callee: str
    caller_name: str
    started: float
    offer: list[Media] = field(default_factory=list)  # where the caller receives
    answer: list[Media] = field(default_factory=list)  # where the callee receives
    answered: float | None = None
    ended: float | None = None
    failed: str = ""
    source: str = ""  # the address its INVITE came from
    progressed: bool = False  # a response to its INVITE seen: not a bare offer (pending.py)

    def side_of(self, dst: str, dport: int) -> int | None:
        """Who speaks in an RTP datagram sent to ``dst``:``dport``: 0 the caller (sent to
        the callee's address), 1 the callee; None: not this call's."""
        if any(m.address == dst and m.port == dport for m in self.answer):
            return 0
        if any(m.address == dst and m.port == dport for m in self.offer):
            return 1
        return None


def _user(header: str) -> str:
    m = _USER.search(header)
    return m.group(1) if m else ""


def _display(header: str) -> str:
    """The display name of a From or P-Asserted-Identity: a quoted-string unquoted (RFC 3261
    §25.1: its quoted-pairs undone; it may hold a "<" and any UTF-8, U+2028 too), or the
    words before the "<"."""
    text = header.lstrip(" \t")
    if text.startswith('"'):
        m = _QUOTED.match(text)
        return re.sub(r"\\(.)", r"\1", m.group(1), flags=re.S) if m else ""
    return text.split("<", 1)[0].strip(" \t") if "<" in text else ""


def _address(text: str) -> str:
    """An SDP address as the frames name it (inet_ntop's form: an IPv6 address written
    out in full in the SDP is still the same address); a name is kept as written."""
    try:
        return str(ip_address(text.split("/")[0]))
    except ValueError:
        return text


def media_of(sdp: str) -> list[Media]:
    """The audio streams of an SDP body: where their RTP is to be sent, and whether it is
    encrypted (SRTP: RTP/SAVP or SAVPF, or SDES keys in the section) — with the SDES key
    its side sends with (RFC 4568 §6.1: each side's a=crypto is the key of what it sends),
    which SIP over plain UDP shows on the wire as it shows it to the other side."""
    session_addr = ""
    out: list[Media] = []
    keys: list[list[str]] = []  # each stream's a=crypto lines
    current: str | None = None
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("c=IN IP"):
            addr = _address(line.split()[-1])
            if current is None:
                session_addr = addr
            elif current == "m" and out:
                out[-1] = replace(out[-1], address=addr)
        elif line.startswith("m=audio "):
            parts = line.split()
            if len(parts) >= 4 and parts[1].isdigit() and int(parts[1]):
                current = "m"
                out.append(Media(session_addr, int(parts[1]),
                                 tuple(int(p) for p in parts[3:] if p.isdigit()),
                                 "SAVP" in parts[2].upper()))
                keys.append([])
            else:
                current = "m-declined"
        elif line.startswith("a=crypto:") and current == "m" and out:
            out[-1] = replace(out[-1], secure=True)
            keys[-1].append(line[2:].strip())
        elif line.startswith("a=rtpmap:") and current == "m" and out:
            pt, _, encoding = line[9:].strip().partition(" ")
            if pt.isdigit():
                out[-1] = replace(out[-1], rtpmaps=(*out[-1].rtpmaps,
                                                    (int(pt), encoding.strip())))
        elif line.startswith("m="):
            current = "other"
    for i, lines in enumerate(keys):
        usable = []
        for one in lines:
            with contextlib.suppress(BadOffer):  # a suite, an MKI Kustosz cannot use
                usable.append(sdes_key([one], str(i + 1)))
        out[i] = replace(out[i], keys=tuple(usable))
    return out


def sending_key(sender: Media, receiver: Media) -> Crypto | None:
    """The key ``sender`` protects what it sends with: of the keys its SDP offered, the one
    whose tag the other side's answer took (RFC 4568 §6.1: an answer keeps the tag of the
    offered line it accepts); the first usable one where nothing says otherwise."""
    taken = {k.tag for k in receiver.keys}
    for key in sender.keys:
        if key.tag in taken:
            return key
    return sender.keys[0] if sender.keys else None


def headers_of(payload: bytes) -> dict[str, str]:
    """The first value of each header of a SIP message (names in lower case, compact forms
    written out), read from its header as the framing cut it (BadMessage if it cannot)."""
    out: dict[str, str] = {}
    for line in frame(payload).lines[1:]:
        m = _HEADER.match(line)
        if m is not None:
            name = m.group(1).lower()
            out.setdefault(_COMPACT.get(name, name), m.group(2))
    return out


def _by_callee(headers: dict[str, str], dialog: Dialog) -> bool:
    """Whether the transaction was begun by the callee (a re-INVITE of its own: its From is
    the callee; a response carries its request's From)."""
    return dialog.caller != dialog.callee and _user(headers.get("from", "")) == dialog.callee


class Dialogs:
    """Every call seen on the port, by Call-ID."""

    def __init__(self) -> None:
        self.calls: dict[str, Dialog] = {}
        self.malformed = 0
        self.last_error = ""  # why the last malformed message could not be read

    @staticmethod
    def is_sip(payload: bytes) -> bool:
        return bool(_SIP_START.match(payload[:START_LINE_MAX]))

    def sip(self, at: float, d: Datagram) -> Dialog | None:
        """One SIP message; the dialog it changed, if any."""
        try:
            msg = parse(d.payload)
            return self._follow(at, msg, headers_of(d.payload), d.src)
        except Exception as exc:  # sippy raises many kinds for a message it cannot read whole
            self.malformed += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return None

    def _follow(self, at: float, msg: SipRequest | SipResponse,
                headers: dict[str, str], src: str) -> Dialog | None:
        call_id = headers.get("call-id", "")
        if not call_id:
            raise BadMessage("no Call-ID")
        text = sdp_of(content_type_of(msg), body_of(msg))
        if isinstance(msg, SipRequest):
            method = msg.getMethod()
            dialog = self.calls.get(call_id)
            if method == "INVITE" and dialog is None:
                frm = headers.get("from", "")
                who = headers.get("p-asserted-identity", "") or frm
                dialog = Dialog(call_id, _user(who), _user(headers.get("to", "")),
                                _display(who) or _display(frm), at, offer=media_of(text),
                                source=src)
                self.calls[call_id] = dialog
            elif dialog is None:
                return None
            elif method in ("INVITE", "UPDATE") and text:  # a re-INVITE: its sender's side
                if _by_callee(headers, dialog):
                    dialog.answer = media_of(text) or dialog.answer
                else:
                    dialog.offer = media_of(text) or dialog.offer
            elif method == "ACK" and text and not dialog.offer:
                dialog.offer = media_of(text)  # a late offer: the caller's side comes last
            elif method == "BYE" and dialog.ended is None:
                dialog.ended = at
            elif method == "CANCEL" and dialog.answered is None:
                dialog.failed, dialog.ended = "cancelled", at
            return dialog
        dialog = self.calls.get(call_id)
        method = headers.get("cseq", "").split()[-1:]
        if dialog is None or method not in (["INVITE"], ["UPDATE"]):
            return dialog
        code = msg.scode
        dialog.progressed = dialog.progressed or method == ["INVITE"]
        if 200 <= code < 300 and method == ["INVITE"] and dialog.answered is None:
            dialog.answered = at
        # An answer comes in a 2xx, or before it in a 18x (early media; with 100rel, RFC
        # 3262, the only answer there is), or in the 2xx to an UPDATE (RFC 3311)
        if 100 < code < 300 and text and _by_callee(headers, dialog):  # the callee asked
            dialog.offer = media_of(text) or dialog.offer
        elif 100 < code < 300 and text:  # the callee's side: where it receives
            dialog.answer = media_of(text) or dialog.answer
        elif code >= 300 and method == ["INVITE"] and dialog.answered is None:
            dialog.failed, dialog.ended = f"{code}", at
        return dialog

    def rtp(self, d: Datagram) -> tuple[Dialog, int] | None:
        """The answered call an RTP datagram belongs to and the side speaking in it."""
        for dialog in self.calls.values():
            if dialog.answered is None or dialog.ended is not None:
                continue
            side = dialog.side_of(d.dst, d.dport)
            if side is not None:
                return dialog, side
        return None
