"""Benchmark: 60 concurrent calls recorded through SIPREC (issue 35 item 4).

SIPp (Debian's sip-tester) is the SBC: ``--calls`` recording sessions at once, each two G.711
streams of real speech (espeak-ng, sox) replayed from a pcap for ``--seconds``, 50 packets a
second a stream — 120 streams, 6 000 packets a second at 60 calls. Kustosz's recording server
runs in this process as under `kustosz serve` (its event loop in a thread, each ended call
stored in the vault: WAV, call row, audit entry).

Measured: the packets the receiver counted lost (RFC 3550's expected minus received, per
stream; target 0) and the packets that never arrived against what the pcap holds; the CPU of
the recording server (this process) per call, and against SIPp's own CPU sending the same
packets — the plain tool doing the same work the other way round (ratio printed).

Run: `.venv/bin/python bench/siprec.py [--calls 60] [--seconds 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402
from tests.support.siprec import rtp_pcap, scenario, sipp_available, speech  # noqa: E402

import _smoke  # noqa: E402 - bench/ is the script's folder
from kustosz.db.calls import Call  # noqa: E402
from kustosz.db.models import Recording  # noqa: E402
from kustosz.ingest.phone.lines import add_siprec_line, enable_phone_source  # noqa: E402
from kustosz.ingest.phone.siprec.run import make_server, read_lines, settings_of  # noqa: E402
from kustosz.vault import Vault  # noqa: E402


def _cpu_of(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # USER_HZ


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--seconds", type=int, default=30)
    args = _smoke.parse(ap, {"calls": 1, "seconds": 1})
    if not sipp_available():
        _smoke.unavailable("sipp, espeak-ng or sox missing (make test installs sip-tester sox "
                           "espeak-ng)")
    work = Path(tempfile.mkdtemp(prefix="kustosz-bench-siprec-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    a = speech("Dzień dobry, mówi Jan Kowalski, dzwonię w sprawie decyzji podatkowej z "
               "zeszłego miesiąca, proszę o informację.", work, "a").read_bytes()
    b = speech("Urząd Miasta, wydział finansowy, dzień dobry, już sprawdzam, proszę chwilę "
               "poczekać.", work, "b").read_bytes()
    need = args.seconds * 8000
    a, b = (a * (need // len(a) + 1))[:need], (b * (need // len(b) + 1))[:need]
    pcap = work / "call.pcap"
    rtp_pcap([(a, 6000), (b, 6002)], pcap)
    per_stream = need // 160

    vault = Vault.init(work / "vault", "boleslawiec", "", actor="bench")
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, "sbc", "bench", sources=["127.0.0.1"],
                        numbers=["+48221234567"])
        enable_phone_source(s, "sbc", "bench", legal_basis="art. 6 ust. 1 lit. e RODO",
                            purpose="bench")
    settings = replace(settings_of(vault), host="127.0.0.1", port=0, rtp_ports=(46000, 47999),
                       max_sessions=max(200, args.calls * 2), invite_rate=1000.0,
                       invite_burst=max(40, args.calls))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    lines = read_lines(vault)
    srs = make_server(vault, settings, lambda: lines)
    asyncio.run_coroutine_threadsafe(srs.start(), loop).result(30)

    xml = work / "src.xml"
    # SIPp replays the pcap beside the scenario: the BYE half a second after its end
    xml.write_text(scenario(pcap, args.seconds * 1000 + 500))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(xml), "-m", str(args.calls), "-l", str(args.calls), "-r", "20",
         "-i", "127.0.0.1", "-mi", "127.0.0.1", "-t", "u1", "-nostdin", "-timeout",
         f"{args.seconds * 4 + 60}s", "-key", "caller", "+48581112233", "-key", "callee",
         "+48221234567", "-key", "caller_name", "Bench", f"127.0.0.1:{srs.port}"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sipp_cpu = 0.0
    while sipp.poll() is None:
        with contextlib.suppress(OSError, IndexError):  # it ended between the looks
            sipp_cpu = _cpu_of(sipp.pid)
        time.sleep(0.2)
    sent_for = time.monotonic() - started
    while time.monotonic() - started < args.seconds * 4 + 120:
        with vault.reading() as s:
            stored = s.execute(select(Recording.meta).join(
                Call, Call.recording_id == Recording.id)).scalars().all()
        if len(stored) >= args.calls:
            break
        time.sleep(0.5)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run_coroutine_threadsafe(srs.close(), loop).result(120)
    loop.call_soon_threadsafe(loop.stop)
    _smoke.check_vault(vault)
    vault.close()
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the children: SIPp (waited for: its whole CPU) and the ffmpeg that decode each call's
    # streams into its WAV (the recording server's too)
    kids = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    sipp_cpu = max(sipp_cpu, 0.0)
    decode_cpu = max(0.0, kids - sipp_cpu)
    server_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime) + decode_cpu
    lost = sum(m["lost"] for m in stored)
    received = sum(m["received"] for m in stored)
    never = 2 * per_stream * len(stored) - received  # sent by SIPp, never counted
    missing_calls = args.calls - len(stored)
    print(f"calls: {args.calls} at once, {args.seconds} s each, {len(stored)} stored, "
          f"SIPp ended {sipp.returncode} after {sent_for:.1f} s")
    bad = lost or never or missing_calls
    print(f"packets: {2 * per_stream * args.calls} sent, {received} received; lost as the "
          f"receiver counts it: {lost}, never arrived: {never} (target 0)"
          f"{' — MISSED' if bad else ' — met'}")
    print(f"CPU of the recording server (its process and the ffmpeg making each WAV, "
          f"{decode_cpu:.2f} s of it): {server_cpu:.2f} s, "
          f"{server_cpu / args.calls * 1000:.0f} ms per call, "
          f"{server_cpu / args.calls / args.seconds * 100:.2f} % of a core per call while it "
          f"talks")
    print(f"CPU of SIPp sending the same packets: {sipp_cpu:.2f} s; ratio recording server / "
          f"SIPp: {server_cpu / sipp_cpu if sipp_cpu else float('nan'):.2f}")
    if sipp.returncode != 0:
        print(sipp.stderr.read().decode(errors="replace")[-800:] if sipp.stderr else "")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
