"""What the capture process and `kustosz serve` say to each other over `run/capture.sock` in
the data folder (a Unix SOCK_SEQPACKET socket: reliable, in order, each message whole).

The socket has a folder of its own, `run/` (0700, made by serve with the socket), and nothing
else is kept there: the capture unit (deploy/systemd/kustosz-capture.service) shows the
capture process an empty data folder with that one folder bound in, so of the data folder it
sees the socket alone — no recording, no call, no database, no key.

The capture process (helper.py) holds CAP_NET_RAW and nothing else of Kustosz: it opens the
interfaces serve names, and hands over every UDP frame as read — it parses nothing it is sent
from the network beyond the kernel's filter. Serve, without the capability, reads the frames
(frames.py), follows the calls (dialogs.py) and records them (recorder.py).

Messages begin with their kind:
- ``J`` + JSON: control. Serve → capture: ``{"interfaces": [...], "sip_tcp_ports": [...]}``
  (what to capture, and the TCP ports SIP is signalled on that the kernel filter passes —
  every capture line's; sent at connection and again every few seconds). Capture → serve:
  ``{"hello": ...}``,
  ``{"opened": {name: ""|why}}`` (each interface asked for: open, or why not) and
  ``{"stats": {name: {"packets": n, "drops": n}}}`` (the kernel's counts since the last).
- ``F`` + frames: each ``!BdI`` (the interface's index in the list last asked for, the time it
  was read — UTC seconds —, the frame's length) followed by the frame."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SOCKET_FOLDER = "run"  # the socket's alone: see socket_path
SOCKET_NAME = "capture.sock"
RECORD = struct.Struct("!BdI")
MAX_MESSAGE = 256 * 1024  # a batch of frames is sent before it grows past this
PROTOCOL = 1


class BadMessage(ValueError):
    """A message neither side sends."""


def socket_path(data: Path) -> Path:
    """Serve's socket in the data folder ``data``: ``run/capture.sock``. Its folder holds
    nothing else (the capture unit lets the capture process see that folder alone)."""
    return data / SOCKET_FOLDER / SOCKET_NAME


def control(payload: dict[str, Any]) -> bytes:
    return b"J" + json.dumps(payload, separators=(",", ":")).encode()


def read_control(message: bytes) -> dict[str, Any]:
    try:
        out = json.loads(message[1:])
    except ValueError as exc:
        raise BadMessage(f"control message not JSON: {exc}") from None
    if not isinstance(out, dict):
        raise BadMessage("control message not an object")
    return out


def frames(message: bytes) -> Iterator[tuple[int, float, bytes]]:
    """The frames of an ``F`` message: (interface index, time read, frame)."""
    at = 1
    while at < len(message):
        if at + RECORD.size > len(message):
            raise BadMessage("a frame record cut short")
        index, when, length = RECORD.unpack_from(message, at)
        at += RECORD.size
        if at + length > len(message):
            raise BadMessage("a frame cut short")
        yield index, when, message[at:at + length]
        at += length
