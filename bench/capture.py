"""Benchmark: 60 concurrent calls recorded off a mirrored port (issue 35 items 2 and 4).

Two SIPp (Debian's sip-tester) call each other across a veth pair into a network namespace
made here, as tests/siprec/test_capture_calls.py does: ``--calls`` calls at once, each side
playing real speech (espeak-ng, sox) from a pcap for ``--seconds`` — 120 streams, 6 000 RTP
packets a second at 60 calls, every one crossing the veth end that is read. The capture
process (`kustosz capture`, a process of its own as its unit runs it) reads that end and
hands the frames to serve's capture recorder, which runs in this process as under
`kustosz serve` (its event loop in a thread, each ended call stored in the vault).

Measured: the packets the recorder counted lost (RFC 3550, per stream; target 0), the packets
that never reached a call's file against what the pcaps hold, the frames the kernel dropped
before the capture process read them; the CPU of Kustosz's reading and recording (the capture
process, this process, and the ffmpeg making each WAV) per call, against tcpdump reading the
same interface at the same time and writing every frame to a file — the field's plain tool
doing the reading alone (ratio printed).

Needs root (a namespace, a packet socket). Run: `.venv/bin/python bench/capture.py
[--calls 60] [--seconds 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.siprec import _cpu_of  # noqa: E402 - one reading of a process's CPU
from sqlalchemy import select  # noqa: E402
from tests.support.capture import (  # noqa: E402
    PORT_PER_CALL,
    callee_scenario,
    caller_scenario,
    netns_available,
    veth_pair,
)
from tests.support.siprec import rtp_pcap, sipp_available, speech  # noqa: E402

import _smoke  # noqa: E402 - bench/ is the script's folder
from kustosz.db.calls import Call  # noqa: E402
from kustosz.db.models import Recording  # noqa: E402
from kustosz.ingest.phone.capture.run import make_recorder, read_lines, settings_of  # noqa: E402
from kustosz.ingest.phone.lines import add_capture_line, enable_phone_source  # noqa: E402
from kustosz.vault import Vault  # noqa: E402

OFFICE = "+48221234567"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--seconds", type=int, default=30)
    args = _smoke.parse(ap, {"calls": 1, "seconds": 1})
    if not (sipp_available() and netns_available()):
        _smoke.unavailable("needs root, iproute2, sipp, espeak-ng and sox")
    # a short name: serve's capture socket is in the vault, and a socket's path has 107 bytes
    work = Path(tempfile.mkdtemp(prefix="kb-capture-"))
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
    rtp_pcap([(a, 6000)], work / "caller.pcap")
    rtp_pcap([(b, 6000)], work / "office.pcap")
    per_stream = need // 160

    with veth_pair() as veth:
        vault = Vault.init(work / "vault", "boleslawiec", "", actor="bench")
        with vault.transaction() as s:
            add_capture_line(s, vault.policy, "port", "bench", interface=veth.outside,
                             numbers=[OFFICE])
            enable_phone_source(s, "port", "bench", legal_basis="art. 6 ust. 1 lit. e RODO",
                                purpose="bench")
        settings = replace(settings_of(vault), max_calls=max(1000, args.calls * 2))
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        lines = read_lines(vault)
        recorder = make_recorder(vault, settings, lambda: lines)
        asyncio.run_coroutine_threadsafe(recorder.start(), loop).result(30)
        helper = subprocess.Popen([sys.executable, "-m", "kustosz", "--data", str(vault.root),
                                   "capture"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while recorder.interfaces.get(veth.outside) != "":
            assert time.monotonic() < deadline, "the capture process did not read the veth"
            time.sleep(0.1)
        dump = subprocess.Popen(["tcpdump", "-i", veth.outside, "-n", "-q", "-U", "-w",
                                 str(work / "baseline.pcap"), "udp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (work / "callee.xml").write_text(callee_scenario(work / "office.pcap", PORT_PER_CALL))
        (work / "caller.xml").write_text(caller_scenario(work / "caller.pcap",
                                                         args.seconds * 1000 + 500,
                                                         PORT_PER_CALL))
        timeout = f"{args.seconds * 4 + 60}s"
        uas = veth.run(["sipp", "-sf", str(work / "callee.xml"), "-i", veth.inside_ip,
                        "-p", "5060", "-mi", veth.inside_ip, "-mp", "20000", "-m",
                        str(args.calls), "-nostdin", "-timeout", timeout],
                       cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # the callee's SIPp binds its port
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        helper0 = _cpu_of(helper.pid)
        dump0 = _cpu_of(dump.pid)
        started = time.monotonic()
        uac = subprocess.Popen(
            ["sipp", "-sf", str(work / "caller.xml"), "-m", str(args.calls), "-l",
             str(args.calls), "-r", "20", "-i", veth.outside_ip, "-p", "0", "-mi",
             veth.outside_ip, "-mp", "30000", "-nostdin", "-timeout", timeout,
             "-key", "caller", "+48581112233", "-s", OFFICE, f"{veth.inside_ip}:5060"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        uac_cpu = 0.0
        while uac.poll() is None:
            with contextlib.suppress(OSError, IndexError):  # it ended between the looks
                uac_cpu = _cpu_of(uac.pid)
            time.sleep(0.2)
        sent_for = time.monotonic() - started
        with contextlib.suppress(subprocess.TimeoutExpired):
            uas.wait(60)
        stored: list[dict[str, object]] = []
        while time.monotonic() - started < args.seconds * 4 + 180:
            with vault.reading() as s:
                stored = list(s.execute(select(Recording.meta).join(
                    Call, Call.recording_id == Recording.id)).scalars().all())
            if len(stored) >= args.calls:
                break
            time.sleep(0.5)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        helper_cpu = _cpu_of(helper.pid) - helper0
        dump_cpu = _cpu_of(dump.pid) - dump0
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
        dropped = recorder.counters.dropped
        asyncio.run_coroutine_threadsafe(recorder.close(), loop).result(120)
        helper.terminate()
        helper.wait(15)
        if uas.poll() is None:
            uas.kill()
        # the children waited for meanwhile: the caller's SIPp (its CPU read while it ran)
        # and the ffmpeg that decode each call's streams into its WAV (the recorder's)
        decode_cpu = max(0.0, (kids1.ru_utime + kids1.ru_stime)
                         - (kids0.ru_utime + kids0.ru_stime) - uac_cpu)
        own_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        kustosz_cpu = own_cpu + helper_cpu + decode_cpu
        lost = sum(int(str(m["lost"])) for m in stored)
        received = sum(int(str(m["received"])) for m in stored)
        never = 2 * per_stream * len(stored) - received
        missing = args.calls - len(stored)
        bad = lost or never or missing or dropped
        print(f"calls: {args.calls} at once, {args.seconds} s each, {len(stored)} stored, "
              f"the caller's SIPp ended {uac.returncode} after {sent_for:.1f} s")
        print(f"packets: {2 * per_stream * args.calls} sent, {received} written; lost as "
              f"the recorder counts it: {lost}, never written: {never}, dropped by the "
              f"kernel before the capture process: {dropped} (target 0)"
              f"{' — MISSED' if bad else ' — met'}")
        print(f"CPU of Kustosz (capture process {helper_cpu:.2f} s, recorder {own_cpu:.2f} s, "
              f"the ffmpeg making each WAV {decode_cpu:.2f} s): {kustosz_cpu:.2f} s, "
              f"{kustosz_cpu / args.calls * 1000:.0f} ms per call, "
              f"{kustosz_cpu / args.calls / args.seconds * 100:.2f} % of a core per call "
              "while it talks")
        print(f"CPU of tcpdump reading the same interface to a file: {dump_cpu:.2f} s; "
              f"ratio Kustosz / tcpdump: "
              f"{kustosz_cpu / dump_cpu if dump_cpu else float('nan'):.2f} "
              f"(reading alone: capture process / tcpdump "
              f"{helper_cpu / dump_cpu if dump_cpu else float('nan'):.2f})")
        if uac.returncode != 0 and uac.stderr is not None:
            print(uac.stderr.read().decode(errors="replace")[-800:])
        loop.call_soon_threadsafe(loop.stop)
        _smoke.check_vault(vault)
        vault.close()
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
