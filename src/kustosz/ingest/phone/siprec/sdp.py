"""The media of a recording session: what the SRC offers (one m-line per recorded stream,
each with its `a=label`, RFC 7866 §7.1.1) and Kustosz's answer — each audio stream received
only (`a=recvonly`) in the first codec of the offer that Kustosz can decode; a stream that is
not to be recorded (the call is out of the office's scope) is declined with port 0, which
keeps the session (and so the SRC's call) up while no byte of it is sent (RFC 3264 §6).

A video call's session offers its video streams beside the audio (RFC 7866 Figure 5, RFC 8068
§3.2.1): Kustosz records calls' sound only, so each video stream is declined — its m-line
answered in its place with port 0, its media type, transport and format list kept (RFC 3264
§6: a rejected stream keeps at least one format) — and the audio is recorded (issue 64
item 8: such offers were refused with 400, the audio lost with them)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from kustosz.errors import InputError
from kustosz.ingest.phone.sip_stack import SdpBody, SdpParseError


class BadOffer(InputError):
    """The offer cannot be recorded; ``status`` is the SIP answer that says why."""

    def __init__(self, message: str, status: int = 488, *, pl: str | None = None) -> None:
        super().__init__(message, pl=pl)
        self.status = status


@dataclass(frozen=True)
class Codec:
    name: str  # as in a=rtpmap
    clock: int  # the RTP clock rate
    ffmpeg: str  # ffmpeg's raw input format ("" for a packet log)
    rate: int  # the decoded sample rate
    silence: int  # the byte of silence (a hole in the stream is filled with it)
    packets: bool = False  # frames of varying size: kept as a log of packets, not by tick


# Each takes one byte per RTP clock tick (G.722 runs its RTP clock at 8000 Hz for its 16 kHz
# sound, RFC 3551 §4.5.2), so a stream's file offset is its RTP time.
PCMU = Codec("PCMU", 8000, "mulaw", 8000, 0xFF)
PCMA = Codec("PCMA", 8000, "alaw", 8000, 0xD5)
G722 = Codec("G722", 8000, "g722", 16000, 0x00)
# Opus (RFC 7587: always "opus/48000/2" in the SDP, whatever it carries): its packets vary in
# size, so its stream is a log of packets with their RTP time (rtp.StreamWriter), decoded by
# libopus at the end (session.finish).
OPUS = Codec("OPUS", 48000, "", 48000, 0, packets=True)
CODECS = {c.name: c for c in (PCMA, PCMU, G722, OPUS)}
STATIC = {0: PCMU, 8: PCMA, 9: G722}


@dataclass(frozen=True)
class Section:
    """One m-line of an offer as written, answered in its place (RFC 3264 §6)."""

    media: str  # audio, video, ...
    transport: str
    formats: str  # the format list, as offered
    label: str  # its a=label ("" when it has none)


@dataclass(frozen=True)
class Crypto:
    """SDES keys of an SRTP stream (RFC 4568): the SRC's, to decrypt what it sends."""

    tag: str
    suite: str
    key: bytes  # master key || master salt (30 bytes)


# The suites libsrtp takes with a 30-byte master key and salt (RFC 4568 §6.2)
SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")


@dataclass(frozen=True)
class Stream:
    index: int  # the m-line's position
    label: str
    address: str  # where its RTP comes from (the c= address)
    port: int
    payload: int
    codec: Codec
    direction: str  # sendonly, inactive...
    crypto: Crypto | None = None  # SRTP: the keys it is sent with

    @property
    def transport(self) -> str:
        return "RTP/SAVP" if self.crypto is not None else "RTP/AVP"


def sdes_key(attrs: list[str], label: str) -> Crypto:
    """The first offered SDES key Kustosz can use; BadOffer when none (RFC 4568 §7.1.2:
    then the offer is refused)."""
    offered = [a[7:].split() for a in attrs if a.lower().startswith("crypto:")]
    if not offered:
        raise BadOffer(f"SRTP stream {label!r} without keys (no a=crypto): its sound cannot "
                       "be decrypted",
                       pl=f"Strumień SRTP „{label}” nie ma kluczy (brak a=crypto): jego dźwięku "
                          "nie da się odszyfrować.")
    for parts in offered:
        if len(parts) < 3 or parts[1] not in SUITES or not parts[2].startswith("inline:"):
            continue
        inline = parts[2][7:].split("|")
        if len(inline) > 2 or (len(inline) == 2 and ":" in inline[1]):
            continue  # an MKI: not taken
        try:
            key = base64.b64decode(inline[0], validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(key) == 30:
            return Crypto(parts[0], parts[1], key)
    suites = ", ".join(p[1] for p in offered if len(p) > 1)
    raise BadOffer(f"no SRTP key of stream {label!r} can be used ({suites}); Kustosz takes "
                   f"{' or '.join(SUITES)} with an inline key and no MKI",
                   pl=f"Żadnego klucza SRTP strumienia „{label}” nie można użyć ({suites}); "
                      f"Kustosz przyjmuje {' lub '.join(SUITES)} z kluczem inline i bez MKI.")


def _attributes(section: object) -> list[str]:
    return [str(a) for a in getattr(section, "a_headers", [])]


def codec_of(payload: int, rtpmaps: dict[int, str]) -> Codec | None:
    if payload in rtpmaps:
        name, _, rest = rtpmaps[payload].partition("/")
        codec = CODECS.get(name.upper())
        clock = rest.split("/")[0]
        return codec if codec is not None and clock == str(codec.clock) else None
    return STATIC.get(payload)


def parse_offer(text: str) -> list[Stream]:
    """The audio streams offered; BadOffer (488 Not Acceptable Here, or 400) when one cannot
    be recorded: no stream, no label, a codec Kustosz cannot decode, SRTP without a usable
    SDES key."""
    try:
        body = SdpBody(completed(text))
    except (SdpParseError, ValueError, IndexError, AttributeError) as exc:
        raise BadOffer(f"the SDP offer cannot be read: {exc}", 400,
                       pl=f"Nie można odczytać oferty SDP: {exc}.") from None
    out: list[Stream] = []
    for i, section in enumerate(body.sections):
        m = section.m_header
        if m is None or getattr(m, "stype", "") != "audio":
            continue
        attrs = _attributes(section)
        transport = str(getattr(m, "transport", "")).upper()
        labels = [a.partition(":")[2].strip() for a in attrs if a.lower().startswith("label:")]
        if not labels or not labels[0]:
            raise BadOffer(f"the offer's stream {i + 1} has no a=label", 400,
                           pl=f"Strumień {i + 1} oferty nie ma a=label.")
        if transport not in ("RTP/AVP", "RTP/SAVP"):
            raise BadOffer(f"media transport {transport or '?'} is neither RTP/AVP nor "
                           "RTP/SAVP (DTLS-SRTP is not taken)",
                           pl=f"Transport mediów {transport or '?'} nie jest ani RTP/AVP, ani "
                              "RTP/SAVP (DTLS-SRTP nie jest przyjmowany).")
        crypto = sdes_key(attrs, labels[0]) if transport == "RTP/SAVP" else None
        rtpmaps: dict[int, str] = {}
        for a in attrs:
            if a.lower().startswith("rtpmap:"):
                pt, _, enc = a[7:].partition(" ")
                if pt.strip().isdigit():
                    rtpmaps[int(pt)] = enc.strip()
        chosen = next(((int(f), c) for f in m.formats if str(f).isdigit()
                       if (c := codec_of(int(f), rtpmaps)) is not None), None)
        if chosen is None:
            names = ", ".join(rtpmaps.get(int(f), str(f)) for f in m.formats
                              if str(f).isdigit())
            raise BadOffer(f"no codec of stream {labels[0]!r} can be recorded ({names}); "
                           "Kustosz records G.711 (PCMA, PCMU), G.722 and Opus",
                           pl=f"Żadnego kodeka strumienia „{labels[0]}” nie można nagrać "
                              f"({names}); Kustosz nagrywa G.711 (PCMA, PCMU), G.722 i Opus.")
        direction = next((a for a in attrs if a in ("sendonly", "sendrecv", "recvonly",
                                                      "inactive")), "sendonly")
        c = section.c_header
        address = str(c.addr) if c is not None else ""
        out.append(Stream(i, labels[0], "" if address == "0.0.0.0" else address, int(m.port),
                          chosen[0], chosen[1], direction, crypto))
    if not out:
        raise BadOffer("the offer has no audio stream to record",
                       pl="Oferta nie zawiera strumienia dźwięku do nagrania.")
    return out


def answer(streams: list[Stream], sections: list[Section], address: str,
           ports: dict[str, int] | None, session: int, version: int) -> str:
    """The SDP answer: every offered m-line answered in order (RFC 3264 §6), the recorded
    ones receive-only on ``ports`` (by label); with ``ports`` None every stream is declined."""
    by_index = {s.index: s for s in streams}
    lines = ["v=0", f"o=Kustosz {session} {version} IN IP4 {address}", "s=Kustosz",
             f"c=IN IP4 {address}", "t=0 0"]
    for i, section in enumerate(sections):
        s = by_index.get(i)
        if s is None:  # not audio (a video call's video): declined as it was offered
            lines += [f"m={section.media} 0 {section.transport} {section.formats}",
                      *([f"a=label:{section.label}"] if section.label else []), "a=inactive"]
            continue
        port = ports.get(s.label, 0) if ports is not None else 0
        lines += [f"m=audio {port} {s.transport} {s.payload}",
                  f"a=rtpmap:{s.payload} {s.codec.name}/{s.codec.clock}",
                  # our own key (RFC 4568 §7.1.3): the answer needs one; nothing is sent with it
                  *([f"a=crypto:{s.crypto.tag} {s.crypto.suite} inline:"
                     f"{base64.b64encode(secrets.token_bytes(30)).decode()}"]
                    if s.crypto is not None and port else []),
                  # RFC 3264 §6.1: an inactive offer (a hold) is answered inactive
                  f"a=label:{s.label}",
                  "a=recvonly" if port and s.direction != "inactive" else "a=inactive"]
    return "\r\n".join(lines) + "\r\n"


def sections_of(text: str) -> list[Section]:
    """Every m-line of an offer, in order (the offer was read by parse_offer first)."""
    out: list[Section] = []
    for section in SdpBody(completed(text)).sections:
        m = section.m_header
        labels = [a.partition(":")[2].strip() for a in _attributes(section)
                  if a.lower().startswith("label:")]
        formats = " ".join(str(f) for f in getattr(m, "formats", [])) or "0"
        out.append(Section(str(getattr(m, "stype", "audio")), str(getattr(m, "transport", "")
                                                                  ) or "RTP/AVP",
                           formats, labels[0] if labels else ""))
    return out


def completed(text: str) -> str:
    """The offer with the lines OpenSIPS's siprec module leaves out, where only one reading
    is possible (RFC 4566 makes both mandatory, and sippy refuses their absence): ``t=0 0``
    (a recording session has no schedule: unbounded), and, where no ``c=`` is written at
    all, an unspecified one (0.0.0.0: the stream's RTP is then taken from the address the
    session came from, never from anyone). Each goes where RFC 4566 §5 orders it."""
    text = _ascii(text)
    lines = text.splitlines(keepends=True)
    end = "\r\n" if "\r\n" in text else "\n"
    missing = [f"{kind}{end}" for kind, line in (("c=IN IP4 0.0.0.0", "c="), ("t=0 0", "t="))
               if not any(x.startswith(line) for x in lines)]
    if not missing:
        return text
    at = next((i for i, line in enumerate(lines) if line[:2] in ("r=", "z=", "k=", "a=", "m=")),
              len(lines))
    return "".join(lines[:at] + missing + lines[at:])


# What sippy's SdpBody is handed of an offer (issue 64 item 1): it cuts lines with
# str.splitlines and fields with str.split, which also break at characters an SDP's text may
# hold (RFC 8866 §9: s=, i=, o='s user name and attribute values are bytes, UTF-8 by default:
# U+2028, U+00A0, a form feed), so "s=x\u2028c=IN IP4 …" made a c= line of its own. Each
# character outside printable ASCII (a tab, a CRLF or LF line end kept) becomes "?": what
# Kustosz reads of an offer (addresses, ports, payload types, labels, encodings, keys) is
# ASCII by the grammar, and the text is not read.
_NOT_ASCII = re.compile(r"[^\t\r\n\x20-\x7e]|\r(?!\n)")


def _ascii(text: str) -> str:
    return _NOT_ASCII.sub("?", text)
