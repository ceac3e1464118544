"""Calls other projects captured, replayed off a mirrored port into the real capture path (issue
47): the frames of each third-party capture are sent, in their order, into a veth end that the
real capture process (`kustosz capture`) reads, and serve's capture recorder follows and keeps
the calls. What each test asserts is what the capture itself shows (tshark's reading of it is
in tests/corpus/pcap/README.md), never what Kustosz happened to make of it.

The binary captures lie outside the repository (tests/support/capture_replay.py says where);
a test whose capture is missing skips. The frames kept as hex text (tests/corpus/pcap/) are
always there. Needs root and iproute2 (a namespace, a packet socket)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.capture_helpers import add_capture, capture_recorder, settle
from tests.siprec.siprec_helpers import OFFICE, calls_of, files_under, wait_for_calls
from tests.support.capture import (
    call_across,
    capture_process,
    netns_available,
    set_mtu,
    udp_frame,
    veth_pair,
    wait_reading,
)
from tests.support.capture_replay import (
    Sample,
    hex_frames,
    read_capture,
    replay,
    replay_read,
)
from tests.support.numbers_kept import assert_numbers_kept
from tests.support.siprec import alaw_to_pcm, best_match, sipp_available

from kustosz.db.models import Alert, Recording
from kustosz.ingest.phone.capture.frames import Datagram, packet
from kustosz.ingest.phone.capture.recorder import Recorder
from kustosz.states import AlertRow
from kustosz.vault import Vault

pytestmark = pytest.mark.skipif(not netns_available(), reason="needs root and iproute2")

FAX = Sample("ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
             "b402d3ee4ccb32fba3c75a90fdb8ae50ab9a58f9f5e51a72d9d873b18a68d99e")
SIP_TCP = Sample("suricata-verify/sip-tcp.pcap",
                 "8730ef1a0796ce186f2bd853fe41db35268d3d8c822ceb6c7da9491e03d3a667")
WIRESHARK_SIP = Sample("sngrep/aaa.pcap",
                       "da24856f4c9943b93926ebcec9e9b28bd5b4eaf14274aad72a3f5d612cfaef2e")
IPV6_FRAGMENTS = Sample("sngrep/ipv6frag.pcap",
                        "4713f5de75473576b1dda41e8e5e8b85f886d83e32c2f71ad9e78af347966973")
BAD_LENGTH = Sample("zeek/invalid-content-length.pcap",
                    "bb0c0f02bd2adaf54e76a6e3d43433c85d936a4bc6853caa66a6dbbb2a19c988")
TCP_CALL = Sample("heplify/sip_ipv4_tcp.pcap",
                  "44372315839bee6cba406fafde380dcaf159faa3eb44d5221edf42d117a61cc1")
TCP_6060 = Sample("heplify/sip_ipv4_tcp_fragmented.pcap",
                  "1270f13b4dd3044e7ae56be2c72e5c9f1984680deb16b4b035ff269b7e03fbd2")
IPV6_CALL = Sample("heplify/sip_ipv6_udp.pcap",
                   "63e9e5dd2e64ec7528c51b887374b6c75e04fc6dc1f9e97a4b1bd8b3288e1368")
SIPP_G711A = Sample("sipp/g711a.pcap",
                    "2ab156fc6df6d2a7d64c57ad726d05b25091a783c226fb7caec87321342b6fe2")
B2BUA_LEG = "00e9d4a500e9d48-0015-0001-0000-0000@10.35.40.25"
TRUNK_LEG = "SD4909701-9ff11bf72eb4a347c92974d8fbbc2668-ao8o3i1"


def _replayed(vault: Vault, frames: list[tuple[float, bytes]], realtime: bool = False,
              tcp_ports: list[int] | None = None, **settings: object) -> tuple[Recorder, str]:
    """``frames`` replayed into the real capture process on a veth; the recorder once every
    call it followed is handed over, and the interface it read. ``realtime``: the capture's
    own spacing (pauses over half a second shortened), which a call's sound needs — its RTP
    is placed by its timestamps only while they keep within two seconds of its arrival."""
    with veth_pair() as veth:
        set_mtu(veth, 9000)  # a capture's frames as they were, none cut by the veth
        add_capture(vault, veth.outside, tcp_ports=tcp_ports)
        with capture_recorder(vault, **settings) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            replay_read(veth, recorder, frames,
                        **({"speedup": 1.0, "max_gap": 0.5} if realtime else {}))
            wait_for(lambda: not recorder.calls, 60, "every call of the capture ended")
            settle(recorder)
    return recorder, veth.outside


def _stereo(vault: Vault, rec: Recording) -> np.ndarray:
    with vault.storage.open(rec.storage_key) as f, wave.open(io.BytesIO(f.read())) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 8000
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)


def _sent(frames: list[tuple[float, bytes]], dst: str, dport: int, after: float,
          count: int) -> np.ndarray:
    """What was said in ``count`` PCMA packets in a row (by sequence number) sent to
    ``dst``:``dport``, from the first one ``after`` seconds into the capture."""
    first = frames[0][0]
    run: list[bytes] = []
    last_seq = -1
    for when, frame in frames:
        d = packet(frame)
        if not isinstance(d, Datagram) or (d.dst, d.dport) != (dst, dport) or \
                when - first < after or d.payload[1] & 0x7F != 8:
            continue
        seq = int.from_bytes(d.payload[2:4], "big")
        run = [*run, d.payload[12:]] if seq == last_seq + 1 else [d.payload[12:]]
        last_seq = seq
        if len(run) == count:
            return alaw_to_pcm(b"".join(run))
    raise AssertionError(f"no {count} PCMA packets in a row to {dst}:{dport}")


def _refusals(vault: Vault) -> list[str]:
    """Each refusal alert's Polish message with the reader's own detail (kept apart from the
    Polish in Alert.detail since issue 65)."""
    with vault.reading() as s:
        return [f"{message} ({detail})" if detail else message
                for message, detail in s.execute(select(Alert.message, Alert.detail).where(
                    Alert.kind == AlertRow.INPUT_REFUSED))]


def test_a_b2bua_fax_call_in_g711a_is_kept_with_its_caller_callee_and_both_sides(
        tmp_path: Path) -> None:
    """Wireshark's sample FAX-Call-t38-CA-TDM-SIP-FB-1 (as nDPI's tests keep it): a call to
    061963177 from a withheld number, seen on several hops of a B2BUA (two Call-IDs), its
    INVITE's start line 75 bytes long, answered, re-INVITEd by the callee, then switched to
    T.38 and hung up by BYE. The leg whose RTP the capture holds (10.23.1.52:16756 ⇄
    10.35.60.100:15580) is kept in PCMA on both channels, each side's sound whole in its own
    (cross-correlated with the capture's payloads): 1163 PCMA packets cross, 3 of them early
    media before the 200 OK, which no recording holds; CN (PT 13) and PT 100 are not sound.
    Replayed at the capture's pace (about 50 s)."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    frames = read_capture(FAX.file())
    _replayed(vault, frames, realtime=True)
    stored = {rec.meta["src_session"]: (call, rec) for call, rec in calls_of(vault)}
    assert set(stored) == {B2BUA_LEG, TRUNK_LEG}
    call, rec = stored[B2BUA_LEG]
    assert (rec.meta["caller_raw"], rec.meta["callee_raw"]) == ("unavailable", "061963177")
    assert (call.caller, call.callee) == ("", "061963177")  # issue 64 item 9: it was ""
    for leg, leg_rec in stored.values():
        assert_numbers_kept(vault, leg, leg_rec)
    assert call.direction == "unknown"  # neither number is the office's
    assert rec.meta["ended"] == "bye" and rec.meta["received"] == 1160
    assert sorted((s["label"], s["codec"]) for s in rec.meta["streams"]) == [
        ("callee", "PCMA"), ("caller", "PCMA")]
    stereo = _stereo(vault, rec)
    to_b2bua = _sent(frames, "10.35.60.100", 15580, 31.0, 100)
    to_gateway = _sent(frames, "10.23.1.52", 16756, 31.0, 10)
    # the caller's side (left) is what was sent to the answering side's address, whole
    assert best_match(stereo[:, 0], to_b2bua) > 0.99
    assert best_match(stereo[:, 1], to_gateway) > 0.99  # the fax machine's (right)
    assert best_match(stereo[:, 0], to_gateway) < 0.5  # not the other side's
    trunk = stored[TRUNK_LEG][1]  # the trunk's leg: its media took another path
    assert trunk.meta["received"] == 0 and trunk.meta["no_sound"] is True
    assert (trunk.meta["caller_raw"], trunk.meta["callee_raw"]) == ("unavailable", "061963177")
    assert _refusals(vault) == []
    assert files_under(vault.root / "capture") == []
    vault.close()


def test_a_register_over_tcp_cut_across_segments_is_read_whole(tmp_path: Path) -> None:
    """suricata-verify's sip-tcp-method: a REGISTER over TCP in two segments (400 + 185
    bytes) and its 200 OK. Put together and read as SIP (not a call: nothing written)."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, interface = _replayed(vault, read_capture(SIP_TCP.file()))
    assert recorder.tcp[interface].lost == 0
    assert recorder.dialogs[interface].malformed == 0  # both messages reached the dialogs
    assert calls_of(vault) == [] and _refusals(vault) == []
    vault.close()


def test_registrations_and_calls_never_answered_write_nothing(tmp_path: Path) -> None:
    """Wireshark's SIP sample (as sngrep's tests keep it, tests/aaa.pcap): REGISTERs refused
    and accepted, INVITEs cancelled, timed out (408) and refused (407, 480), DNS, FTP: 81 SIP
    messages, every one read, no call answered — nothing is written and nothing refused."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, interface = _replayed(vault, read_capture(WIRESHARK_SIP.file()))
    assert recorder.dialogs[interface].malformed == 0
    assert recorder.counters.calls == 0 and calls_of(vault) == []
    assert _refusals(vault) == []
    vault.close()


def test_a_microsip_invite_on_other_ports_is_followed_and_a_cut_one_refused(
        tmp_path: Path) -> None:
    """PcapPlusPlus's sip_non_default_port1 (text, tests/corpus/pcap/pcapplusplus/): MicroSIP
    3.22.3's INVITE from 1005 to 1006 between ports 53309 and 52380, offering PCMA, PCMU and
    DTMF at 192.168.20.68:4004, is followed as a call offered. The same INVITE cut at 900
    bytes (its body short of its Content-Length, as a mirror's snap length cuts it) is an
    input.refused alert naming the sender and the line, not only a counter."""
    invite = hex_frames("pcapplusplus/sip_non_default_port1.dat")[0]
    d = packet(invite)
    assert isinstance(d, Datagram)
    cut = udp_frame(d.src, d.sport, d.dst, d.dport, d.payload[:900])
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            replay(veth, [(0.0, invite)])
            wait_for(lambda: "0c3bab2cebe34ec997a80daa4346b393" in
                     getattr(recorder.dialogs.get(veth.outside), "calls", {}), 30,
                     "the INVITE followed")
            dialog = recorder.dialogs[veth.outside].calls["0c3bab2cebe34ec997a80daa4346b393"]
            assert (dialog.caller, dialog.callee) == ("1005", "1006")
            assert [(m.address, m.port, m.payloads) for m in dialog.offer] == [
                ("192.168.20.68", 4004, (8, 0, 101))]
            replay(veth, [(0.0, cut)])
            wait_for(lambda: _refusals(vault), 30, "the cut INVITE refused")
    (message,) = _refusals(vault)
    assert message.startswith("Odrzucono dane z adresu 192.168.20.68 (nadawca SIP na porcie "
                              "lustrzanym linii port): wiadomość SIP z portu lustrzanego jest "
                              "nieczytelna")  # the address a frame claims (issue 64 item 4)
    assert "its body is cut short: 272 bytes, its Content-Length says 342" in message
    assert f"interface {veth.outside}" in message
    assert "from 192.168.20.68:53309" in message
    with vault.reading() as s:
        source_id = s.execute(select(Alert.source_id).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalar()
    assert source_id is not None  # the line's
    assert calls_of(vault) == []
    vault.close()


def test_an_ipv6_call_in_fragments_answered_with_100rel_is_followed_and_kept(
        tmp_path: Path) -> None:
    """sngrep's tests/ipv6frag.pcap (a Linux cooked capture): an IMS-style call over IPv6
    from 08019200026 to "mcr", its INVITE, 183s, PRACKs, UPDATEs and 200s cut into IPv6
    fragments, the answer's SDP in the reliable 183 (RFC 3262) and the UPDATE's 200, ended
    by BYE. Its sound (AMR-WB) is not in the capture: the call is kept without sound. The
    capture filter used to drop every IPv6 fragment: no call was seen at all."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, _ = _replayed(vault, read_capture(IPV6_FRAGMENTS.file()))
    ((call, rec),) = calls_of(vault)
    assert (rec.meta["caller_raw"], rec.meta["callee_raw"]) == ("08019200026", "mcr")
    assert (call.caller, call.callee) == ("08019200026", "mcr")  # issue 64 item 9: "mcr" was ""
    assert_numbers_kept(vault, call, rec)
    assert rec.meta["ended"] == "bye" and rec.meta["no_sound"] is True
    assert recorder.fragments.given_up == 0 and _refusals(vault) == []
    vault.close()


def test_an_invite_and_answer_with_a_content_length_not_a_number_are_refused(
        tmp_path: Path) -> None:
    """Zeek's hostile input testing/btest/Traces/sip/invalid-content-length.pcap: alice's
    INVITE to bob ("Content-Length: bad") and bob's 200 OK ("Content-Length: xyz"). Neither
    can be read whole: they are the line's input.refused alert naming both senders (an
    address a frame claims is folded by line and reason, issue 64 item 4) with the last one's
    detail, and nothing is followed or written."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, interface = _replayed(vault, read_capture(BAD_LENGTH.file()))
    wait_for(lambda: any("Adresy, m.in.: 10.0.0.1, 10.0.0.2" in m for m in _refusals(vault)),
             30, "both messages refused", lambda: _refusals(vault))
    (both,) = _refusals(vault)
    assert both.startswith("Odrzucono dane z 2 adresów (nadawca SIP na porcie lustrzanym linii "
                           "port): wiadomość SIP")
    assert "Powtórzyło się 2 razy" in both and "from 10.0.0.2:5060" in both and "'xyz'" in both
    assert recorder.dialogs[interface].calls == {} and calls_of(vault) == []
    vault.close()



def test_a_call_signalled_over_tcp_in_g711a_is_kept_with_each_side_in_its_channel(
        tmp_path: Path) -> None:
    """heplify's example sip_ipv4_tcp.pcap: extension 101 calls 201, the whole dialog over
    one TCP connection to port 5060 (INVITE 788 bytes, 100, 180, 200, ACK, BYE, 200), G.711a
    both ways (10.33.6.100:6000 ⇄ 10.33.6.101:6050: 24 and 42 packets with CN, 60 PCMA in
    all). Kept as an internal call, each side's sound in its own channel."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    frames = read_capture(TCP_CALL.file())
    recorder, interface = _replayed(vault, frames, realtime=True)
    ((call, rec),) = calls_of(vault)
    assert (call.caller, call.callee, call.direction) == ("101", "201", "internal")
    assert_numbers_kept(vault, call, rec)
    assert rec.meta["ended"] == "bye" and rec.meta["received"] == 60
    assert sorted((s["label"], s["codec"]) for s in rec.meta["streams"]) == [
        ("callee", "PCMA"), ("caller", "PCMA")]
    stereo = _stereo(vault, rec)
    to_callee = _sent(frames, "10.33.6.101", 6050, 4.3, 10)  # the caller's words
    to_caller = _sent(frames, "10.33.6.100", 6000, 4.3, 10)
    assert best_match(stereo[:, 0], to_callee) > 0.99
    assert best_match(stereo[:, 1], to_caller) > 0.99
    assert recorder.tcp[interface].lost == 0 and _refusals(vault) == []
    vault.close()


def test_sip_over_tcp_on_a_port_the_line_names_is_followed_and_elsewhere_not(
        tmp_path: Path) -> None:
    """heplify's example sip_ipv4_tcp_fragmented.pcap (issue 47: it failed before): an
    exchange's SIP over TCP on port 6060, four connections, messages cut across segments.
    With the line's default ports (5060, 5061) the capture process's filter holds it back —
    no call; with 6060 named, every message is read whole (none lost, nothing taken for
    not-SIP) and the 32 answered calls are kept with their numbers (the capture holds no
    RTP: each is kept without sound, ended by its BYE or by silence)."""
    quick = {"silence_s": 5.0, "unanswered_s": 5.0, "no_sound_s": 3.0}
    frames = read_capture(TCP_6060.file())
    elsewhere = make_vault(tmp_path / "default", "boleslawiec")
    recorder, interface = _replayed(elsewhere, frames, **quick)
    assert interface not in recorder.tcp and calls_of(elsewhere) == []
    elsewhere.close()
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, interface = _replayed(vault, frames, tcp_ports=[6060], **quick)
    streams = recorder.tcp[interface]
    assert (streams.messages, streams.lost, streams.not_sip) == (406, 0, 0)
    kept = calls_of(vault)
    assert len(kept) == recorder.counters.calls == 32
    assert all(call.caller and call.callee for call, _ in kept)
    for call, rec in kept:
        assert_numbers_kept(vault, call, rec)
    assert {rec.meta["ended"] for _, rec in kept} == {"bye", "silence"}
    assert ("562735", "699818") in {(call.caller, call.callee) for call, _ in kept}
    assert _refusals(vault) == []
    vault.close()


def test_sip_writing_ipv6_addresses_without_brackets_is_refused_and_alerted(
        tmp_path: Path) -> None:
    """heplify's example sip_ipv6_udp.pcap (a Valid8 test agent): 9876 calls 4321 over
    IPv6, every URI and Via writing its IPv6 address without the brackets RFC 3261 §19.1.1
    requires (`sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060`) — not SIP a reader can take
    apart (which colon starts the port?). The requests are refused, as one alert naming the
    sender's address, folded; nothing is written."""
    vault = make_vault(tmp_path / "v", "boleslawiec")
    recorder, _ = _replayed(vault, read_capture(IPV6_CALL.file()))
    wait_for(lambda: _refusals(vault), 30, "the requests refused")
    (message,) = _refusals(vault)
    assert message.startswith("Odrzucono dane z adresu fe80::21a:a0ff:fe07:32e0 (nadawca SIP "
                              "na porcie lustrzanym linii port): wiadomość SIP z portu "
                              "lustrzanego jest nieczytelna")
    assert " sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c" in message
    assert calls_of(vault) == [] and recorder.counters.calls == 0
    vault.close()



@pytest.mark.skipif(not sipp_available(), reason="needs sipp")
def test_sipps_own_g711a_recording_played_in_a_call_is_kept_whole(tmp_path: Path) -> None:
    """SIPp's pcap/g711a.pcap (236 RTP packets of PCMA speech over 7 s, what SIPp ships to
    play in calls), played by a caller SIPp in a call across the veth: the caller's channel
    holds that sound (cross-correlated with 1.5 s of it, 50 packets in a row)."""
    g711a = SIPP_G711A.file()
    sent = _sent(read_capture(g711a), "10.1.6.18", 2006, 1.0, 50)  # speech, not its hiss
    vault = make_vault(tmp_path / "v", "boleslawiec")
    with veth_pair() as veth:
        add_capture(vault, veth.outside)
        with capture_recorder(vault) as recorder, capture_process(vault.root):
            wait_reading(recorder, veth.outside)
            call_across(veth, tmp_path / "sipp", caller="+48581112233", callee=OFFICE,
                        caller_pcap=g711a, callee_pcap=None, talk_ms=9000)
            ((call, rec),) = wait_for_calls(vault, 1)
    assert (call.caller, call.callee, call.direction) == ("+48581112233", OFFICE, "incoming")
    assert_numbers_kept(vault, call, rec)
    assert rec.meta["received"] == 236 and rec.meta["lost"] == 0
    assert [(s["label"], s["codec"]) for s in rec.meta["streams"]] == [("caller", "PCMA")]
    assert best_match(_stereo(vault, rec)[:, 0], sent) > 0.99
    vault.close()



def test_the_tcp_call_mirrored_off_a_trunk_port_with_its_vlan_tags_is_kept(
        tmp_path: Path) -> None:
    """No third-party capture of SIP in 802.1Q tags was found (issue 47's report): heplify's
    TCP call above, each frame given an 802.1Q tag (VLAN 42) by this test, as a switch
    mirroring a trunk port with its tags shows it — kept as without them."""
    frames = [(when, frame[:12] + b"\x81\x00\x00\x2a" + frame[12:])
              for when, frame in read_capture(TCP_CALL.file())]
    vault = make_vault(tmp_path / "v", "boleslawiec")
    _replayed(vault, frames, realtime=True)
    ((call, rec),) = calls_of(vault)
    assert (call.caller, call.callee, rec.meta["ended"]) == ("101", "201", "bye")
    assert rec.meta["received"] == 60 and _refusals(vault) == []
    vault.close()
