"""A FreePBX as the tests see it: a recording spool of real WAV files named and filed the way
FreePBX does, and a Master.csv written the way Asterisk's cdr_csv writes it."""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kustosz.db.calls import Call, PhoneIntakeState
from kustosz.db.models import Recording
from kustosz.ingest.phone.lines import add_phone_source, enable_phone_source
from kustosz.vault import Vault

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE_DID = "746640800"  # MOPS Wałbrzych's number in seed 004 §2
# Master.csv with loguniqueid, loguserfield and newcdrcolumns: 21 columns.
COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
           "lastdata", "start", "answer", "end", "duration", "billsec", "disposition",
           "amaflags", "uniqueid", "userfield", "peeraccount", "linkedid", "sequence")
BARE = ("duration", "billsec", "sequence")
TIMES = ("start", "answer", "end")


def asterisk_line(values: dict[str, object]) -> str:
    """One line exactly as cdr_csv writes it: text quoted with '"' doubled, integers bare,
    an unset time (the answer of an unanswered call) as nothing at all."""
    out = []
    for column in COLUMNS:
        value = values.get(column, "")
        if column in BARE:
            out.append(str(value))
        elif column in TIMES and value is None:
            out.append("")
        else:
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%d %H:%M:%S")
            out.append('"' + str(value).replace('"', '""') + '"')
    return ",".join(out) + "\n"


def write_wav(path: Path, seconds: float, pitch: float = 440.0, rate: int = 8000) -> bytes:
    """A real 8 kHz mono 16-bit PCM recording (what Asterisk's MixMonitor writes as .wav)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path.read_bytes()


@dataclass
class PhoneCall:
    type: str
    dest: str
    src: str
    local_start: datetime  # naive, Europe/Warsaw
    uniqueid: str
    seconds: float = 2.0

    @property
    def name(self) -> str:
        src = self.src or "unknown"
        return f"{self.type}-{self.dest}-{src}-{self.local_start:%Y%m%d-%H%M%S}-{self.uniqueid}.wav"

    @property
    def relpath(self) -> str:
        return f"{self.local_start:%Y/%m/%d}/{self.name}"


class Pbx:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool = root / "monitor"
        self.spool.mkdir(parents=True, exist_ok=True)
        (root / "cdr-csv").mkdir(exist_ok=True)
        self.master = root / "cdr-csv" / "Master.csv"

    def record(self, call: PhoneCall, pitch: float = 440.0) -> bytes:
        return write_wav(self.spool / call.relpath, call.seconds, pitch)

    def log(self, call: PhoneCall, *, src: str, dst: str, clid: str, answered: bool = True,
            userfield: str = "", **extra: object) -> None:
        start = call.local_start - timedelta(seconds=5)
        answer = call.local_start if answered else None
        end = call.local_start + timedelta(seconds=call.seconds)
        values: dict[str, object] = {
            "src": src, "dst": dst, "dcontext": "from-trunk", "clid": clid,
            "channel": "PJSIP/trunk-00000001", "dstchannel": f"PJSIP/{dst}-00000002",
            "lastapp": "Dial", "lastdata": f"PJSIP/{dst},30,tTr", "start": start,
            "answer": answer, "end": end, "duration": int((end - start).total_seconds()),
            "billsec": int(call.seconds) if answered else 0,
            "disposition": "ANSWERED" if answered else "NO ANSWER",
            "amaflags": "DOCUMENTATION", "uniqueid": call.uniqueid, "userfield": userfield,
            "linkedid": call.uniqueid, "sequence": 1}
        values.update(extra)
        with self.master.open("a", encoding="utf-8", newline="") as f:
            f.write(asterisk_line(values))


def day_of_calls(pbx: Pbx) -> dict[str, PhoneCall]:
    """One afternoon at the office, covering every kind of call the scopes tell apart."""
    d = datetime(2026, 11, 20, 14, 5, 12)
    calls = {
        "incoming": PhoneCall("in", OFFICE_DID, "600100200", d, "1763643912.10", 3.0),
        "outgoing": PhoneCall("out", "0048221234567", "201", d + timedelta(minutes=20),
                              "1763645112.11"),
        "internal": PhoneCall("internal", "202", "201", d + timedelta(minutes=40),
                              "1763646312.12"),
        "withheld": PhoneCall("in", OFFICE_DID, "", d + timedelta(hours=1), "1763647512.13"),
        "ringgroup": PhoneCall("rg", "600", "601200300", d + timedelta(hours=2),
                               "1763651112.14"),
    }
    for i, c in enumerate(calls.values()):
        pbx.record(c, pitch=300.0 + 50 * i)
    inc = calls["incoming"]
    # A caller-ID name with a comma and quotes; an empty accountcode; the file in userfield.
    pbx.log(inc, src="600100200", dst="201", clid='"Kowalski, Jan "Janek"" <600100200>',
            userfield=inc.name)
    pbx.log(calls["outgoing"], src="201", dst="0221234567", clid='"Referat OA" <201>',
            dcontext="from-internal")
    pbx.log(calls["internal"], src="201", dst="202", clid='"Referat OA" <201>',
            dcontext="from-internal")
    pbx.log(calls["withheld"], src="", dst="201", clid="anonymous")
    pbx.log(calls["ringgroup"], src="601200300", dst="600", clid="601200300")
    # Nobody picked up: a call record, no recording.
    missed = PhoneCall("in", OFFICE_DID, "501502503", d + timedelta(hours=3), "1763654712.15")
    pbx.log(missed, src="501502503", dst="201", clid="501502503", answered=False)
    return calls


def add_line(vault: Vault, pbx: Pbx, name: str = "centrala", *, enable: bool = True,
             **options: object) -> None:
    with vault.transaction() as s:
        src = add_phone_source(s, vault.policy, name, "test", spool=pbx.spool, cdr=pbx.master,
                               numbers=[OFFICE_DID], **options)
        if enable:
            enable_phone_source(s, name, "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                                purpose="bezpieczeństwo informacji")
        settings = dict(src.settings)
        settings["settle_s"] = 0.05
        src.settings = settings


def stored_calls(vault: Vault) -> dict[str, tuple[Call, Recording]]:
    with vault.reading() as s:
        rows = s.execute(select(Call, Recording).join(Recording,
                                                      Recording.id == Call.recording_id)
                         .where(Recording.state == "stored")).all()
    out: dict[str, tuple[Call, Recording]] = {}
    for call, rec in rows:
        assert call.uniqueid not in out, f"call {call.uniqueid} stored twice"
        out[call.uniqueid] = (call, rec)
    return out


def state_of(vault: Vault) -> PhoneIntakeState:
    with vault.reading() as s:
        return s.execute(select(PhoneIntakeState)).scalar_one()


def utc(local_naive: datetime) -> datetime:
    return local_naive.replace(tzinfo=WARSAW).astimezone(UTC)
