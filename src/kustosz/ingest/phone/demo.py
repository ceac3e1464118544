"""A simulated phone line for `kustosz demo`: a FreePBX-shaped spool with a few real WAV calls
and their Master.csv in Asterisk's cdr_csv format, registered, enabled and taken in once.

Everything goes through the real paths (add, enable with a legal basis, `scan`), so the demo
shows what an office would see, including calls the office's scope does not keep.
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from kustosz.db.models import Source
from kustosz.ingest.phone.intake import scan
from kustosz.ingest.phone.lines import add_phone_source, enable_phone_source
from kustosz.vault import Vault

NAME = "centrala-demo"
OFFICE_DID = "756120000"  # a made-up office number (area code 75)
LEGAL_BASIS = ("art. 6 ust. 1 lit. e RODO w zw. z zarządzeniem kierownika jednostki "
               "w sprawie nagrywania rozmów telefonicznych (demo)")
PURPOSE = "bezpieczeństwo informacji i rozpatrywanie skarg (demo)"
ACTOR = "demo"

# cdr_csv's columns with `newcdrcolumns`; integers are written bare, text quoted.
_COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel",
            "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec",
            "disposition", "amaflags", "uniqueid", "userfield", "peeraccount", "linkedid",
            "sequence")
_BARE = ("duration", "billsec", "sequence")


@dataclass(frozen=True)
class _Call:
    type: str  # FreePBX's file name type: in, out, internal
    dest: str
    src: str
    minutes_ago: int
    seconds: float
    pitch: float
    clid: str


_CALLS = (
    _Call("in", OFFICE_DID, "600100200", 25, 1.5, 330.0, '"Jan Kowalski, mieszkaniec" <600100200>'),
    _Call("out", "0601200300", "201", 18, 1.0, 440.0, '"Sekretariat" <201>'),
    _Call("internal", "305", "201", 11, 0.8, 550.0, '"Sekretariat" <201>'),
    _Call("in", OFFICE_DID, "0048227000000", 4, 1.2, 660.0, '"" <0048227000000>'),
)


def make_demo_line(vault: Vault, folder: Path) -> str | None:
    """Create the spool under ``folder``, add and enable the line, take the calls in once.

    Returns None when done, or a short explanation when the office's policy has no retention
    period for calls (e.g. a regulation that covers video only, 002), in which case nothing is
    created: a phone source could not be added there.
    """
    if vault.policy.retention.get("phone") is None:
        return ("the office's policy sets no retention period for call recordings "
                "(retention.phone), so no demo phone line was added")
    spool, master = folder / "pbx" / "monitor", folder / "pbx" / "cdr-csv" / "Master.csv"
    spool.mkdir(parents=True, exist_ok=True)
    master.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(vault.policy.timezone).replace(tzinfo=None, microsecond=0)
    stamp = int(datetime.now().timestamp())
    lines = []
    for i, call in enumerate(_CALLS):
        local = now - timedelta(minutes=call.minutes_ago)
        uniqueid = f"{stamp - call.minutes_ago * 60}.{i + 1}"
        name = f"{call.type}-{call.dest}-{call.src}-{local:%Y%m%d-%H%M%S}-{uniqueid}.wav"
        _write_tone(spool / f"{local:%Y/%m/%d}" / name, call.seconds, call.pitch)
        lines.append(_cdr_line(call, local, uniqueid, name))
    with master.open("a", encoding="utf-8", newline="") as f:
        f.writelines(lines)
    with vault.transaction() as s:
        if s.execute(select(Source.id).where(Source.name == NAME)).first() is None:
            add_phone_source(s, vault.policy, NAME, ACTOR, spool=spool, cdr=master,
                             numbers=[OFFICE_DID], no_cdr_wait_s=60.0)
            enable_phone_source(s, NAME, ACTOR, legal_basis=LEGAL_BASIS, purpose=PURPOSE)
    # The files are complete already: no need to wait for them to stop growing.
    scan(vault, NAME, sleep=lambda _: None)
    return None


def _write_tone(path: Path, seconds: float, pitch: float, rate: int = 8000) -> None:
    """8 kHz mono 16-bit PCM, what Asterisk's MixMonitor writes as .wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def _cdr_line(call: _Call, local: datetime, uniqueid: str, recording: str) -> str:
    start = local - timedelta(seconds=6)
    end = local + timedelta(seconds=math.ceil(call.seconds))
    outgoing = call.type == "out"
    values: dict[str, object] = {
        "src": call.src, "dst": call.dest if call.type != "in" else "201",
        "dcontext": "from-internal" if outgoing or call.type == "internal" else "from-trunk",
        "clid": call.clid, "channel": "PJSIP/201-0000001a" if call.type != "in"
        else "PJSIP/trunk-0000001a", "dstchannel": "PJSIP/trunk-0000001b" if outgoing
        else "PJSIP/201-0000001b", "lastapp": "Dial", "lastdata": "PJSIP/201,30,tTr",
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "answer": local.strftime("%Y-%m-%d %H:%M:%S"),
        "end": end.strftime("%Y-%m-%d %H:%M:%S"),
        "duration": int((end - start).total_seconds()), "billsec": math.ceil(call.seconds),
        "disposition": "ANSWERED", "amaflags": "DOCUMENTATION", "uniqueid": uniqueid,
        "userfield": recording, "linkedid": uniqueid, "sequence": 1}
    out = []
    for column in _COLUMNS:
        value = str(values.get(column, ""))
        # cdr_csv quotes text and doubles an embedded quote (the clid above has both).
        out.append(value if column in _BARE else '"' + value.replace('"', '""') + '"')
    return ",".join(out) + "\n"
