"""Calls read off the wire (issue 35 item 2, the part built so far): two SIPp, a caller playing
real speech from a pcap and a callee echoing it (`-rtp_echo`), call each other over loopback
while tcpdump captures the port as a mirrored switch port would show it; the frames are read
(`capture.frames`), the SIP dialog followed (`capture.dialogs`): who called whom, when it was
answered and ended, and every RTP datagram given to its call and the side speaking. Needs root
(a capture) and tcpdump; without them it skips."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.capture import caller_scenario
from tests.support.siprec import (
    free_media_port,
    rtp_pcap,
    sipp_available,
    speech,
)

from kustosz.ingest.phone.capture.dialogs import Dialogs, media_of
from kustosz.ingest.phone.capture.frames import Skipped, datagram, pcap_frames

pytestmark = pytest.mark.skipif(
    not (sipp_available() and shutil.which("tcpdump") and os.geteuid() == 0),
    reason="needs root, tcpdump, sipp, espeak-ng and sox")



def _udp_port() -> int:
    return free_media_port() + 1  # odd: not a media port SIPp would take


def test_a_call_on_the_wire_is_followed_and_its_rtp_given_to_each_side(tmp_path: Path) -> None:
    audio = speech("Dzień dobry, dzwonię z pytaniem o termin.", tmp_path, "mowa").read_bytes()
    pcap = tmp_path / "talk.pcap"
    rtp_pcap([(audio, 6000)], pcap)
    packets = len(audio) // 160
    callee_port, caller_port = _udp_port(), _udp_port()
    callee_media, caller_media = free_media_port(), free_media_port()
    wire = tmp_path / "wire.pcap"
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-n", "-w", str(wire),
                             f"udp and (port {callee_port} or port {caller_port} or port "
                             f"{callee_media} or port {caller_media})"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        # capturing once the file has its header (-U: written as soon as the capture opens)
        while not (wire.exists() and wire.stat().st_size >= 24):
            assert time.monotonic() < deadline and dump.poll() is None, "tcpdump did not start"
            time.sleep(0.1)
        callee = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(callee_port), "-mi",
             "127.0.0.1", "-mp", str(callee_media), "-rtp_echo", "-m", "1", "-nostdin",
             "-timeout", "60s"], cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        scenario = tmp_path / "caller.xml"
        scenario.write_text(caller_scenario(pcap, len(audio) // 8 + 1000))
        subprocess.run(["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p",
                        str(caller_port), "-mi", "127.0.0.1", "-mp", str(caller_media),
                        "-m", "1", "-nostdin", "-timeout", "60s", "-key", "caller",
                        "+48581112233", "-s", "+48221234567", f"127.0.0.1:{callee_port}"],
                       cwd=tmp_path, check=True, capture_output=True, timeout=90)
        callee.wait(30)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
    dialogs, seen = Dialogs(), {0: 0, 1: 0}
    skipped = 0
    for at, frame in pcap_frames(wire.read_bytes()):
        try:
            d = datagram(frame)
        except Skipped:
            skipped += 1
            continue
        if Dialogs.is_sip(d.payload):
            if {d.sport, d.dport} != {caller_port, callee_port}:
                continue  # another test's SIP on a port ours shared before SIPp bound it
            dialogs.sip(at, d)
        elif (hit := dialogs.rtp(d)) is not None:
            seen[hit[1]] += 1
    ((_, call),) = dialogs.calls.items()
    assert (call.caller, call.callee, call.caller_name) == ("+48581112233", "+48221234567",
                                                           "Jan Kowalski")
    assert call.answered is not None and call.ended is not None and not call.failed
    assert call.offer == media_of(f"c=IN IP4 127.0.0.1\nm=audio {caller_media} RTP/AVP 8\n"
                                  "a=rtpmap:8 PCMA/8000")
    assert seen[0] == packets  # every packet the caller said, given to the caller's side
    assert seen[1] >= packets * 0.9  # the echo: the callee's side
    assert skipped == 0 and dialogs.malformed == 0


def test_frames_that_are_not_a_whole_udp_datagram_are_skipped_with_a_reason() -> None:
    import struct
    eth = b"\x00" * 12
    ipv4 = bytes([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    udp = struct.pack("!HHHH", 5060, 5060, 20, 0) + b"x" * 12
    assert datagram(eth + b"\x08\x00" + ipv4 + udp).payload == b"x" * 12
    vlan = eth + b"\x81\x00\x00\x0a\x08\x00" + ipv4 + udp
    assert datagram(vlan).dport == 5060
    for frame, why in ((eth + b"\x08\x06" + b"\x00" * 28, "ethertype"),
                       (eth + b"\x08\x00" + ipv4[:6] + b"\x20\x01" + ipv4[8:] + udp,
                        "fragment"),
                       (eth + b"\x08\x00" + ipv4[:9] + b"\x01" + ipv4[10:] + udp, "not UDP"),
                       (eth + b"\x08\x00" + ipv4 + udp[:10], "truncated"),
                       (b"\x00" * 8, "short")):
        with pytest.raises(Skipped, match=why):
            datagram(frame)
