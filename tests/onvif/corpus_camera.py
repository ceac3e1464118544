"""A camera that answers as a real one did (issue 47): an HTTP server on 127.0.0.1 replaying,
for each SOAP action, the answer a real device gave (tests/corpus/onvif/, each file as it was
published, see the README there), and checking the WS-Security UsernameToken digest as real
cameras require: the password digest, a nonce used once, and the token's time against the
camera's own clock (the time its recorded GetSystemDateAndTime answer says, ticking from the
fake's start) — a camera whose clock was never set refuses a client that trusts its own.

What the fake adds of its own, said where it stands: the HTTP status of a recorded fault (SOAP
1.2's HTTP binding: a Sender fault is 400, a Receiver fault 500 — the recordings keep the body
only), the refusal for a token it does not accept (a `Refusal`: a recorded one where the
corpus has the make's, else an envelope of the test's own around a wording quoted from a
public report), and `NO_ANSWER` for an action the corpus holds no answer to."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.etree import ElementTree

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "onvif"
WINDOW_S = 60.0  # a token's time may differ this much from the camera's clock
PRE_AUTH = {"device:GetSystemDateAndTime"}  # ONVIF Core: answered before authentication
SERVICES = {"http://www.onvif.org/ver10/device/wsdl": "device",
            "http://www.onvif.org/ver10/media/wsdl": "media",
            "http://www.onvif.org/ver20/media/wsdl": "media2",
            "http://www.onvif.org/ver10/events/wsdl": "events"}
WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"


def sample(path: str) -> str:
    """A corpus file's text, as stored — its CR LF line ends kept (read_text would drop the
    CRs, and the fake would then serve bytes the camera did not send)."""
    return (CORPUS / path).read_bytes().decode("utf-8")


def captured(path: str) -> Refusal:
    """The camera's own answer held in a diagnostics capture (onvif-go's `capture_NNN.json`):
    its `response_body` as the camera sent it, with the HTTP status recorded beside it. The
    archive's `capture_NNN_response.xml` is the tool's re-serialisation, not the camera's."""
    said = json.loads(sample(path))
    return Refusal(str(said["response_body"]), int(said["status_code"]))


def fault_envelope(reason: str, subcode: str | None = None, code: str = "Sender") -> str:
    """The test's own SOAP 1.2 fault envelope (NOT a recording) around a wording a real device
    is reported to use; see tests/corpus/onvif/README.md, "Wordings"."""
    sub = (f"<env:Subcode><env:Value>{subcode}</env:Value></env:Subcode>" if subcode else "")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:ter="http://www.onvif.org/ver10/error"><env:Body><env:Fault><env:Code>'
            f"<env:Value>env:{code}</env:Value>{sub}</env:Code><env:Reason>"
            f'<env:Text xml:lang="en">{reason}</env:Text></env:Reason></env:Fault></env:Body>'
            "</env:Envelope>")


@dataclass(frozen=True)
class Refusal:
    """What the camera answers a token it does not accept."""

    body: str
    status: int = 400
    content_type: str = "application/soap+xml; charset=utf-8"  # as recorded, where it was


# the fake's own answer to an action the corpus holds no answer to (never a recording)
NO_ANSWER = Refusal(fault_envelope("no recorded answer for this action (test fake)",
                                   "ter:ActionNotSupported", "Receiver"), 500)


def status_of(body: str) -> int:
    """SOAP 1.2 over HTTP: a Receiver fault is 500, any other fault 400, an answer 200."""
    if ":Fault>" not in body and "<Fault>" not in body:
        return 200
    return 500 if re.search(r"Value>\s*[\w-]*:?Receiver\s*<", body) else 400


@dataclass
class Recording:
    """One real device's answers: "service:Action" -> a corpus file (or a `Refusal`)."""

    folder: str
    answers: dict[str, str | Refusal]  # also "service:GetStreamUri[token]": one profile's
    clock: datetime  # what the device's recorded GetSystemDateAndTime said
    streams_for: tuple[str, ...] = ()  # the profile tokens the recorded GetStreamUri was for
    checks_time: bool = True  # False: a token far off the camera's clock accepted, as recorded

    def answer(self, key: str) -> Refusal:
        given = self.answers.get(key)
        if given is None:
            return NO_ANSWER
        if isinstance(given, Refusal):
            return given
        name, _, part = given.partition("#")
        if name.endswith(".json"):
            return captured(f"{self.folder}/{name}")
        body = sample(f"{self.folder}/{name}")
        if part == "RESPONSE":  # a published log: the answer is what follows "RESPONSE:"
            body = body.rpartition("RESPONSE:\n")[2]
        return Refusal(body, status_of(body))


@dataclass
class Seen:
    key: str
    authorised: bool
    path: str


class CorpusCamera:
    """`with CorpusCamera(recording, "admin", "haslo", refusal) as cam:` — cam.port."""

    def __init__(self, recording: Recording, user: str, password: str, refusal: Refusal,
                 answer_all: Refusal | None = None) -> None:
        self.recording = recording
        self.user, self.password, self.refusal = user, password, refusal
        self.answer_all = answer_all  # every request answered so (a hostile neighbour)
        self.seen: list[Seen] = []
        self._nonces: set[str] = set()
        self._started = time.monotonic()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"camera": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = int(self._server.server_address[1])

    def camera_now(self) -> datetime:
        return self.recording.clock + timedelta(seconds=time.monotonic() - self._started)

    def __enter__(self) -> CorpusCamera:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def keys(self) -> list[str]:
        return [s.key for s in self.seen]

    def token_ok(self, header: ElementTree.Element | None) -> bool | None:
        """None: no token; else whether the digest, nonce and time hold."""
        token = None if header is None else header.find(f".//{WSSE}UsernameToken")
        if token is None:
            return None
        user = token.findtext(f"{WSSE}Username") or ""
        digest = token.findtext(f"{WSSE}Password") or ""
        nonce = token.findtext(f"{WSSE}Nonce") or ""
        created = token.findtext(f"{WSU}Created") or ""
        try:
            raw = base64.b64decode(nonce, validate=True)
            at = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return False
        expected = base64.b64encode(hashlib.sha1(
            raw + created.encode() + self.password.encode(), usedforsecurity=False).digest())
        with self._lock:
            fresh = nonce not in self._nonces
            self._nonces.add(nonce)
        on_time = (not self.recording.checks_time
                   or abs((at.astimezone(UTC) - self.camera_now()).total_seconds()) <= WINDOW_S)
        return (user == self.user and digest.encode() == expected and fresh and on_time)

    def respond(self, path: str, body: bytes) -> Refusal:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return NO_ANSWER
        header = next((c for c in root if c.tag.endswith("}Header")), None)
        soap_body = next((c for c in root if c.tag.endswith("}Body")), None)
        first = soap_body[0] if soap_body is not None and len(soap_body) else None
        if first is None:
            return NO_ANSWER
        ns, _, action = first.tag[1:].partition("}")
        key = f"{SERVICES.get(ns, ns)}:{action}"
        ok = self.token_ok(header)
        self.seen.append(Seen(key, bool(ok), path))
        if self.answer_all is not None:
            return self.answer_all
        if ok is False or (ok is None and key not in PRE_AUTH):
            return self.refusal
        asked = next((e.text or "" for e in first.iter() if e.tag.endswith("}ProfileToken")), "")
        if f"{key}[{asked.strip()}]" in self.recording.answers:  # one answer per profile
            return self.recording.answer(f"{key}[{asked.strip()}]")
        if key.endswith(":GetStreamUri") and self.recording.streams_for:
            token = "".join(first.itertext()).strip()
            if not any(token.endswith(t) for t in self.recording.streams_for):
                return NO_ANSWER
        return self.recording.answer(key)


class _Handler(BaseHTTPRequestHandler):
    camera: CorpusCamera
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        size = min(int(self.headers.get("Content-Length", 0) or 0), 1_000_000)
        said = self.camera.respond(self.path, self.rfile.read(size))
        data = said.body.encode("utf-8")
        self.send_response(said.status)
        self.send_header("Content-Type", said.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


# -- the recordings --------------------------------------------------------------------------
def ipd_h4k8m05() -> Recording:
    """IPD-H4K8M05-BS (a PTZ dome that names no manufacturer), as published by easy_onvif."""
    return Recording("ipd-h4k8m05-bs", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2025, 4, 6, 17, 38, 53, tzinfo=UTC), streams_for=("MainStream",))


def xm530() -> Recording:
    """XM530_50X50-WG_8M (a XiongMai board in a SUNBA PTZ; it names itself "H264"), as
    published by easy_onvif: Media1 and Media2 offered, Media2's answers recorded."""
    return Recording("xm530-sunba", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media2:GetProfiles": "Media2GetProfilesLog.xml#RESPONSE",
        "media2:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2025, 4, 27, 1, 27, 42, tzinfo=UTC), streams_for=("000",))


def dahua() -> Recording:
    """A Dahua camera's GetCapabilities and GetStreamUri (go2rtc's test data; no other answer
    of it is published: GetServices gets the fake's own "not supported")."""
    return Recording("dahua", {
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime.now(UTC))


def dlink_dcs6511() -> Recording:
    """A D-Link DCS-6511's GetCapabilities (every service at /onvif/device_service) and Media1
    profiles, as published by easy_onvif; no stream address of it is published."""
    return Recording("dlink-dcs-6511", {
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
    }, clock=datetime.now(UTC))


def enp1a14() -> Recording:
    """ENP1A14-IR/25X (make "ONVIF", Hikvision-style firmware and serial), as published by
    easy_onvif: GetServices (Media1 at /onvif/Media, Media2 at /onvif/Media2) and Media2's
    GetProfiles, whose three profiles come without their configurations; its Media1 profiles
    and stream addresses are not in the stored public text (the fake's own "not supported")."""
    return Recording("enp1a14-ir-25x", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "media2:GetProfiles": "Media2GetProfilesResponse.xml",
    }, clock=datetime.now(UTC))


def axis_q6045e() -> Recording:
    """AXIS Q6045-E (firmware 5.55.1.2), as published by onvif-nvt: GetCapabilities (Media,
    Events and PTZ all at /onvif/services), Media1 profiles (H.264 and JPEG), and the stream
    address of the JPEG profile only; its GetServices answer is not in the stored public text
    (the fake's own "not supported": the GetCapabilities path)."""
    return Recording("axis-q6045-e", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2018, 2, 21, 16, 19, 59, tzinfo=UTC), streams_for=("profile_1_jpeg",))


def hikvision_ds2df7276() -> Recording:
    """HIKVISION DS-2DF7276-AEL (firmware V5.1.6 build 140401), as published by onvif-nvt:
    GetServices (Media1 at /onvif/Media), three Media1 profiles and the main stream's
    address; a clock set by hand."""
    return Recording("hikvision-ds-2df7276-ael", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2018, 2, 25, 16, 59, 2, tzinfo=UTC), streams_for=("Profile_1",))


def pelco_d6230l() -> Recording:
    """Pelco D6230L (firmware 2.9.0.4.9340-A0.0), as published by onvif-nvt: GetCapabilities,
    Media1 profiles (H.264 and JPEG) and the address it gave for profile "0" when asked for
    RTP over HTTP (an http:// address); a clock never set (1970-01-02)."""
    return Recording("pelco-d6230l", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(1970, 1, 2, 0, 31, 54, tzinfo=UTC), streams_for=("0",))


def trendnet_tvip320pi() -> Recording:
    """TRENDnet TV-IP320PI (firmware V5.3.4 build 160830, Hikvision's numbering), as
    published by onvif-nvt: GetServices (Media1 at /onvif/Media), an H.264 main and a JPEG
    sub-stream profile, the main stream's address; an NTP clock."""
    return Recording("trendnet-tv-ip320pi", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2018, 2, 27, 18, 36, 51, tzinfo=UTC), streams_for=("Profile_1",))


def bosch_flexidome_5100i() -> Recording:
    """Bosch FLEXIDOME indoor 5100i IR (firmware 8.71.0066), captured by onvif-go's
    diagnostics tool on 2025-11-10: GetCapabilities (Media at /onvif/media_service; its
    GetServices was not asked, so the fake's own "not supported"), four H.264 Media1 profiles
    and the stream address of each; a clock set by hand to 2023-05-24. As recorded, the camera
    accepted tokens 2.5 years off its clock (`checks_time`); by default the fake refuses them,
    as most cameras do."""
    return Recording("bosch-flexidome-5100i-ir", {
        "device:GetDeviceInformation": "capture_001.json",
        "device:GetSystemDateAndTime": "capture_002.json",
        "device:GetCapabilities": "capture_003.json",
        "media:GetProfiles": "capture_005.json",
        "media:GetStreamUri[0]": "capture_006.json",
        "media:GetStreamUri[1]": "capture_007.json",
        "media:GetStreamUri[2]": "capture_008.json",
        "media:GetStreamUri[3]": "capture_009.json",
    }, clock=datetime(2023, 5, 24, 21, 25, 5, tzinfo=UTC))


def dvc_dcn_bf5365() -> Recording:
    """DVC DCN-BF5365 (firmware 4.2), captured by 2BAD/onvif's fixture tool on 2026-10-03
    (serial, hardware id and addresses scrubbed by its publisher): GetServices (Media1 and
    Media2 at their own paths), three Media2 profiles (H.265 main, H.264 and H.265 subs) and
    the stream address of the first; a clock set by hand (Manual, CET)."""
    return Recording("dvc-dcn-bf5365", {
        "device:GetDeviceInformation": "device.GetDeviceInformation.xml",
        "device:GetServices": "device.GetServices.xml",
        "device:GetSystemDateAndTime": "device.GetSystemDateAndTime.xml",
        "media2:GetProfiles": "media2.GetProfiles.xml",
        "media2:GetStreamUri": "media2.GetStreamUri.xml",
    }, clock=datetime(2026, 10, 3, 2, 6, 16, tzinfo=UTC), streams_for=("profile_token_1",))


def ezviz_ds2de2c400() -> Recording:
    """EZVIZ DS-2DE2C400IG-W-W (firmware V5.3.8 build 260123, Hikvision's numbering), captured
    by 2BAD/onvif's fixture tool on 2026-10-07 (serial and addresses scrubbed): GetServices,
    two Media2 profiles, both H.265, and the main stream's address; an NTP clock."""
    return Recording("ezviz-ds-2de2c400ig-w-w", {
        "device:GetDeviceInformation": "device.GetDeviceInformation.xml",
        "device:GetServices": "device.GetServices.xml",
        "device:GetSystemDateAndTime": "device.GetSystemDateAndTime.xml",
        "media2:GetProfiles": "media2.GetProfiles.xml",
        "media2:GetStreamUri": "media2.GetStreamUri.xml",
    }, clock=datetime(2026, 10, 7, 17, 46, 20, tzinfo=UTC), streams_for=("Profile_1",))


def hikvision_ds2cd2012i() -> Recording:
    """HIKVISION DS-2CD2012-I (a fixed bullet, firmware V5.2.0 build 140721), as published by
    onvif-nvt (`hikvision-fixed`): GetServices (Media1 at /onvif/Media), two Media1 profiles
    and the address of the SUB-stream only (the library asked Profile_2's); a clock set by
    hand (Manual, 2018-02-27)."""
    return Recording("hikvision-ds-2cd2012-i", {
        "device:GetDeviceInformation": "GetDeviceInformationResponse.xml",
        "device:GetServices": "GetServicesResponse.xml",
        "device:GetCapabilities": "GetCapabilitiesResponse.xml",
        "device:GetSystemDateAndTime": "GetSystemDateAndTimeResponse.xml",
        "media:GetProfiles": "GetProfilesResponse.xml",
        "media:GetStreamUri": "GetStreamUriResponse.xml",
    }, clock=datetime(2018, 2, 27, 18, 34, 41, tzinfo=UTC), streams_for=("Profile_2",))


RECORDINGS: dict[str, Callable[[], Recording]] = {
    "ipd-h4k8m05-bs": ipd_h4k8m05, "xm530-sunba": xm530, "dahua": dahua,
    "dlink-dcs-6511": dlink_dcs6511, "enp1a14-ir-25x": enp1a14,
    "axis-q6045-e": axis_q6045e, "hikvision-ds-2df7276-ael": hikvision_ds2df7276,
    "pelco-d6230l": pelco_d6230l, "trendnet-tv-ip320pi": trendnet_tvip320pi,
    "bosch-flexidome-5100i-ir": bosch_flexidome_5100i, "dvc-dcn-bf5365": dvc_dcn_bf5365,
    "ezviz-ds-2de2c400ig-w-w": ezviz_ds2de2c400,
    "hikvision-ds-2cd2012-i": hikvision_ds2cd2012i}
__all__ = ["CORPUS", "NO_ANSWER", "RECORDINGS", "CorpusCamera", "Recording", "Refusal",
           "captured", "fault_envelope", "sample", "status_of"]
