"""Where a camera's ONVIF device service answers: "10.0.0.5", "10.0.0.5:8080" or a full
"http(s)://host[:port]/onvif/device_service" as a discovery or a vendor's manual gives it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from kustosz.errors import InputError

DEVICE_PATH = "/onvif/device_service"
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class OnvifAddress:
    host: str
    port: int
    https: bool = False
    path: str = DEVICE_PATH

    def __str__(self) -> str:
        scheme = "https" if self.https else "http"
        default = 443 if self.https else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{scheme}://{self.host}{port}{self.path}"


def _shown(text: str) -> str:
    """The address as an error may repeat it: whatever stood before an '@' (a user name and
    perhaps a password) is never echoed into a message or a log."""
    if "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    head = f"{scheme}{sep}" if sep else ""
    return head + "***@" + (rest if sep else text).rpartition("@")[2]


def _refused(text: str, why: str, why_pl: str) -> InputError:
    shown = _shown(text)
    return InputError(f"{shown!r} is not a camera's ONVIF address: {why}",
                      pl=f"„{shown}” nie jest adresem ONVIF kamery: {why_pl}")


def parse_address(text: str) -> OnvifAddress:
    """The device service's address, from what a person typed; a clear refusal otherwise."""
    given = text.strip()
    if not given:
        raise _refused(text, "it is empty", "adres jest pusty.")
    if any(c in given for c in " \t\r\n\0@"):
        # '@': credentials never travel in the address (they go apart, sealed)
        raise _refused(text, "spaces, line breaks or a user name in it",
                       "zawiera spację, znak nowej linii lub nazwę użytkownika; dane logowania "
                       "podaje się osobno.")
    url = urlsplit(given if "://" in given else f"http://{given}")
    if url.scheme not in ("http", "https"):
        raise _refused(text, "only http:// or https://", "dozwolone są tylko http:// i https://.")
    try:
        port = url.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise _refused(text, "the port is not a number from 1 to 65535",
                       "port musi być liczbą od 1 do 65535.")
    host = url.hostname or ""
    ipv6 = host.count(":") >= 2
    if not host or (not ipv6 and not _HOST.match(host)):
        raise _refused(text, "no valid host name or IP address", "brak poprawnej nazwy hosta "
                       "lub adresu IP.")
    https = url.scheme == "https"
    return OnvifAddress(host=host, port=port or (443 if https else 80), https=https,
                        path=url.path if url.path not in ("", "/") else DEVICE_PATH)
