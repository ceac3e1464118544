"""A third-party virtual ONVIF camera for the tests (issue 34): ipycam's SOAP services (device,
Media1 profiles and stream addresses, the system date and time, WS-UsernameToken/digest
authentication, WS-Discovery), run in a process of its own without ipycam's video pipeline (no
webcam, go2rtc or ffmpeg): its GetStreamUri names a mount of the tests' GStreamer RTSP server,
so what Kustosz learns over ONVIF is recorded from a real stream.

What ipycam does not offer (events, Media2) it answers with a fault or not at all; tests of
those paths say so where they stand. Its clock can be set off this machine's, and SetNTP and
SetSystemDateAndTime, which ipycam lacks, are added by the launcher (ours, named so there)."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_TIMEOUT = 30.0

# Run as `python -c`: the launcher is ipycam's own classes wired without the video side.
LAUNCHER = r"""
import os, sys
from ipycam.camera import IPCamera, ReusableThreadingTCPServer
from ipycam.config import CameraConfig
from ipycam.http import IPCameraHTTPHandler

port, rtsp_port, main, sub, serial, discovery, host = sys.argv[1:8]
cfg = CameraConfig(name="Kamera testowa", manufacturer="PythonCam", model="VirtualCam-1",
                   serial_number=serial, firmware_version="1.3.0", local_ip=host,
                   onvif_port=int(port), rtsp_port=int(rtsp_port), main_stream_name=main,
                   sub_stream_name=sub, main_width=640, main_height=360, main_fps=10,
                   sub_width=320, sub_height=180, sub_fps=5,
                   username=os.environ.get("ONVIF_USER", ""),
                   password=os.environ.get("ONVIF_PASSWORD", ""))
camera = IPCameraHTTPHandler.camera = IPCamera(cfg)
server = ReusableThreadingTCPServer((host, int(port)), IPCameraHTTPHandler)
if discovery == "1":  # answers WS-Discovery probes on 239.255.255.250:3702 (joined on lo)
    from ipycam.discovery import WSDiscoveryServer
    WSDiscoveryServer(camera.onvif).start()

# The camera's own clock, CAMERA_CLOCK_OFFSET seconds off this machine's (a camera whose clock
# drifted). ipycam reads time.gmtime() for GetSystemDateAndTime and offers no SetNTP or
# SetSystemDateAndTime: those two operations are added here, ours, as the ONVIF Device
# Management service defines them (an empty ...Response acknowledges; SetNTP then the clock
# following NTP brings it to this machine's time, SetSystemDateAndTime sets it to the UTC
# given). CAMERA_SETTABLE=0 leaves them out (a camera that refuses to be set).
import calendar, re, time
offset = [float(os.environ.get("CAMERA_CLOCK_OFFSET", "0"))]
onvif = camera.onvif

def get_system_date_time():
    now = time.gmtime(time.time() + offset[0])
    return onvif._wrap_envelope(onvif._render(
        "get_system_date_time", hour=now.tm_hour, minute=now.tm_min, second=now.tm_sec,
        year=now.tm_year, month=now.tm_mon, day=now.tm_mday))

onvif.get_system_date_time = get_system_date_time
if os.environ.get("CAMERA_SETTABLE", "1") == "1":
    handle = onvif.handle_action

    def handle_action(action, body):
        said = action or ""
        if "SetNTP" in said or ":SetNTP>" in body:
            print("SET NTP " + ",".join(re.findall(r"IPv4Address>([^<]+)<", body)),
                  file=sys.stderr, flush=True)
            offset[0] = 0.0
            return onvif._wrap_envelope("<tds:SetNTPResponse/>")
        if "SetSystemDateAndTime" in said or ":SetSystemDateAndTime>" in body:
            parts = {k: int(v) for k, v in re.findall(
                r"<tt:(Year|Month|Day|Hour|Minute|Second)>(\d+)<", body)}
            if len(parts) == 6:
                given = calendar.timegm((parts["Year"], parts["Month"], parts["Day"],
                                         parts["Hour"], parts["Minute"], parts["Second"]))
                offset[0] = given - time.time()
            else:  # DateTimeType NTP: the clock follows the NTP server set before
                offset[0] = 0.0
            print("SET TIME", file=sys.stderr, flush=True)
            return onvif._wrap_envelope("<tds:SetSystemDateAndTimeResponse/>")
        return handle(action, body)

    onvif.handle_action = handle_action
print("READY", flush=True)
server.serve_forever()
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class OnvifCamera:
    """One virtual camera: `with OnvifCamera(rtsp_port, user=…, password=…) as cam:`;
    `cam.port` is its ONVIF port on `cam.host` (127.0.0.1, or another loopback address for a
    camera of its own). The password goes by environment, never on a command line (the tests
    of secrets look at every process's)."""

    def __init__(self, rtsp_port: int, main: str = "cam1", sub: str = "cam2",
                 user: str = "admin", password: str = "tajne-haslo-1",
                 serial: str = "PY-000001", discovery: bool = False,
                 host: str = "127.0.0.1", clock_offset_s: float = 0.0,
                 settable_clock: bool = True) -> None:
        self.rtsp_port, self.main, self.sub = rtsp_port, main, sub
        self.user, self.password, self.serial = user, password, serial
        self.discovery, self.host = discovery, host  # any 127.x.y.z: a camera of its own
        self.clock_offset_s, self.settable_clock = clock_offset_s, settable_clock
        self.port = free_port(host)
        self.proc: subprocess.Popen[str] | None = None
        self._log = tempfile.TemporaryFile("w+", prefix="kustosz-onvif-")  # noqa: SIM115

    def start(self) -> OnvifCamera:
        env = {**os.environ, "ONVIF_USER": self.user, "ONVIF_PASSWORD": self.password,
               "CAMERA_CLOCK_OFFSET": str(self.clock_offset_s),
               "CAMERA_SETTABLE": "1" if self.settable_clock else "0"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(self.port), str(self.rtsp_port), self.main,
             self.sub, self.serial, "1" if self.discovery else "0", self.host],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, text=True,
            env=env, start_new_session=True)
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + READY_TIMEOUT
        line = ""
        while (left := deadline - time.monotonic()) > 0 and sel.select(left):
            line = self.proc.stdout.readline()
            break
        sel.close()
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"the virtual ONVIF camera did not start: {self.log()}")
        return self

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read()[-3000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> OnvifCamera:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()


def ipycam_available() -> bool:
    try:
        import ipycam  # noqa: F401
    except ImportError:
        return False
    return Path(sys.executable).exists()
