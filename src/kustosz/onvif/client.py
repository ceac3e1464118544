"""onveef's client as real cameras need it (issue 47). onveef 0.6 misreads real firmware in
four ways, each worked around here and tested with recorded answers (tests/corpus/onvif/):

- a fault is classed by its Reason text alone, and "not authorized" only as the exact
  words "NotAuthorized" or "Sender not Authorized": Hikvision's "…the sender is not
  authorized", Vivotek's "An error was discovered processing the <wsse:Security> header",
  Dahua's "Wsse authorized time check failed." and WS-Security's own FailedAuthentication
  read as a refused operation — so a wrong password is not said as one, and the clock-offset
  retry (which runs on an authentication error only) never runs for a camera whose clock was
  never set. Here a fault is classed by its codes (every Subcode) and its reason together;
- the clock is read for that retry WITH the stale token, which such a camera refuses too;
  ONVIF Core answers GetSystemDateAndTime before authentication, so it is read without one;
- GetServices falls back to GetCapabilities on a generic fault only, not on the standard
  "optional action not implemented" (ter:ActionNotSupported) an older camera answers;
- Media1 is used wherever offered; Kustosz prefers Media2 where the camera offers it, and
  goes back to Media1 where a camera lists Media2 but answers it "not implemented".

An answer that is not XML at all (a router's page, a truncated body, an XML bomb refused by
defusedxml) is refused as such instead of being read as an empty answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import onveef
from onveef import envelopes, parsers, urls

# a Subcode/Code value (its local name, lower case) that says the token was refused
_AUTH_CODES = {"notauthorized", "failedauthentication", "invalidsecurity",
               "invalidsecuritytoken", "failedcheck", "securitytokenunavailable",
               "messageexpired", "sendernotauthorized"}
# words of a Reason that say so, as firmware writes them (lower case)
_AUTH_WORDS = ("not authorized", "notauthorized", "unauthorized", "not authorised",
               "time check failed", "could not be authenticated", "<wsse:security> header",
               "wsse:security header", "authentication failed", "failed authentication",
               "invalid username", "invalid password", "password is wrong")
_UNSUPPORTED_CODES = {"actionnotsupported", "notimplemented", "optionalactionnotimplemented",
                      "actionnotimplemented", "notsupported"}
_UNSUPPORTED_WORDS = ("not implemented", "not supported", "method not found",
                      "namespace not recognized", "unknown method", "unsupported")


class OnvifUnusableAnswer(onveef.OnvifTransportError):
    """The camera's answer is not XML Kustosz can read (or is one refused for safety)."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def fault_kind(text: str) -> str | None:
    """"auth", "unsupported" or "fault" for a SOAP fault (1.1 or 1.2); None: no fault."""
    root = parsers.parse_xml(text)
    if root is None:
        return None
    body = next((el for el in root.iter() if _local(el.tag) == "Body"), root)
    fault = parsers.find_local(body, "Fault")
    if fault is None:
        return None
    codes = {v.text.strip().rpartition(":")[2].lower()
             for tag in ("Value", "faultcode") for v in parsers.find_all_local(fault, tag)
             if v.text and v.text.strip()}
    words = " ".join(" ".join(el.itertext()) for el in fault.iter()
                     if _local(el.tag) in ("Text", "faultstring")).lower()
    if codes & _AUTH_CODES or any(w in words for w in _AUTH_WORDS):
        return "auth"
    if codes & _UNSUPPORTED_CODES or any(w in words for w in _UNSUPPORTED_WORDS):
        return "unsupported"
    return "fault"


def _is_envelope(text: str) -> bool:
    root = parsers.parse_xml(text)
    return root is not None and _local(root.tag) == "Envelope"


def _reason(text: str) -> str:
    return " ".join(parsers.parse_fault(text).split())[:200]


class Client(onveef.OnvifClient):
    """`onveef.OnvifClient` with the module's corrections."""

    def _post_soap(self, *, url: str, envelope: str, content_type: str,
                   read_timeout_s: float | None = None) -> tuple[int, str]:
        status, text = super()._post_soap(url=url, envelope=envelope,
                                          content_type=content_type,
                                          read_timeout_s=read_timeout_s)
        kind = fault_kind(text)
        if status == 401 or kind == "auth":
            raise onveef.OnvifAuthError(f"the camera refused the token (HTTP {status}: "
                                        f"{_reason(text) or 'no reason given'})")
        if kind == "unsupported":
            raise onveef.OnvifOperationNotSupportedError(
                f"not implemented by the camera (HTTP {status}: {_reason(text)})")
        if kind is None and 200 <= status < 300 and not _is_envelope(text):
            raise OnvifUnusableAnswer(f"the answer (HTTP {status}, {len(text)} characters) "
                                      "is not a SOAP envelope that can be read safely")
        return status, text

    def discover_services(self) -> dict[str, str]:
        try:
            services = self.get_services()
        except (onveef.OnvifFaultError, onveef.OnvifOperationNotSupportedError):
            services = {}
        if not services:
            services = self.get_capabilities()
        if not self._rewrite_host:
            return services
        return urls.rewrite_service_map(services, self._endpoint.device_xaddr)

    def _sync_clock_offset(self) -> None:
        if self._clock_synced or self._clock_syncing:
            return
        with self._clock_lock:
            if self._clock_synced or self._clock_syncing:
                return
            self._clock_syncing = True
            try:
                said = self._device_time()
            finally:
                self._clock_syncing = False
            if said is not None:
                self._clock_offset_s = (said - datetime.now(UTC)).total_seconds()
                self._clock_synced = True

    def _device_time(self) -> datetime | None:
        """The camera's UTC clock, asked without a token (then with one, as onveef does)."""
        for with_auth in (False, True):
            try:
                xml = self._call_raw(xaddr=self._endpoint.url("device"),
                                     operation="GetSystemDateAndTime",
                                     body_inner=envelopes.device_get_system_date_time(),
                                     with_auth=with_auth)
            except onveef.OnvifError:
                continue
            utc: Any = parsers.parse_system_datetime(xml).get("UTCDateTime")
            try:
                return datetime(utc["year"], utc["month"], utc["day"], utc["hour"],
                                utc["minute"], utc["second"], tzinfo=UTC)
            except (KeyError, TypeError, ValueError):
                return None
        return None

    # a camera may list Media2 and answer it "not implemented" (see media1_only)
    _media2_refused = False

    def _media_service(self) -> tuple[str, bool]:
        if self._has("media2") and not self._media2_refused:
            return "media2", True
        return super()._media_service()

    def media1_only(self) -> bool:
        """Use Media1 from here on, as for a camera that lists Media2 in GetServices but
        answers its GetProfiles "optional action not implemented"; False: no Media1 to use."""
        if not self._has("media"):
            return False
        self._media2_refused = True
        return True

    def media1_profiles(self) -> list[dict[str, Any]]:
        """Media1's profiles (Media2's may come without their encoder settings)."""
        if not self._has("media"):
            return []
        return parsers.parse_profiles(self.call(
            service="media", operation="GetProfiles",
            body_inner=envelopes.media_get_profiles(use_media2=False)))
