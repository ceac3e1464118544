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
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path
from typing import Any

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

# The ONVIF Events service (PullPoint), which ipycam lacks: ours, as the ONVIF Event Service
# and WS-BaseNotification define it. The test raises an event by POSTing JSON
# {"topic": "tns1:VideoSource/SignalLoss", "state": true} to /kustosz-test/event; every
# subscription gets it at its next PullMessages (a long poll, answered at once when one waits).
import datetime as _dt, json, threading
from ipycam.http import IPCameraHTTPHandler as _Handler
EVENTS_NS = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
             'xmlns:tt="http://www.onvif.org/ver10/schema" '
             'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
             'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
             'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" '
             'xmlns:wsa="http://www.w3.org/2005/08/addressing" '
             'xmlns:tns1="http://www.onvif.org/ver10/topics"')
subscriptions = {}  # id -> queued messages
waiting = threading.Condition()
base_url = f"http://{host}:{port}"

def _now(later=0):
    at = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=later + offset[0])
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")

def _envelope(body):
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {EVENTS_NS}>'
            f'<s:Body>{body}</s:Body></s:Envelope>')

def _times():
    return (f"<wsnt:CurrentTime>{_now()}</wsnt:CurrentTime>"
            f"<wsnt:TerminationTime>{_now(60)}</wsnt:TerminationTime>")

def _message(topic, state, at):
    value = "true" if state else "false"
    return ('<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/'
            f'topicExpression/ConcreteSet">{topic}</wsnt:Topic><wsnt:Message>'
            f'<tt:Message UtcTime="{at}" PropertyOperation="Changed"><tt:Source>'
            '<tt:SimpleItem Name="Source" Value="VS_1"/></tt:Source><tt:Data>'
            f'<tt:SimpleItem Name="State" Value="{value}"/></tt:Data></tt:Message>'
            '</wsnt:Message></wsnt:NotificationMessage>')

services_xml = onvif.get_services
capabilities_xml = onvif.get_capabilities
events_url = f"http://{host}:{port}/onvif/events_service"
onvif.get_services = lambda: services_xml().replace("</tds:GetServicesResponse>", (
    "<tds:Service><tds:Namespace>http://www.onvif.org/ver10/events/wsdl</tds:Namespace>"
    f"<tds:XAddr>{events_url}</tds:XAddr><tds:Version><tt:Major>2</tt:Major>"
    "<tt:Minor>6</tt:Minor></tds:Version></tds:Service></tds:GetServicesResponse>"))
onvif.get_capabilities = lambda: capabilities_xml().replace("</tds:Capabilities>", (
    f"<tt:Events><tt:XAddr>{events_url}</tt:XAddr><tt:WSSubscriptionPolicySupport>false"
    "</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
    "</tt:Events></tds:Capabilities>"))
before_events = onvif.handle_action

def events_action(action, body):
    said = action or ""
    if "CreatePullPointSubscription" in said or "CreatePullPointSubscription>" in body:
        with waiting:
            sid = str(len(subscriptions) + 1)
            subscriptions[sid] = []
        print("SUBSCRIBED " + sid, file=sys.stderr, flush=True)
        return _envelope(
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa:Address>{base_url}/onvif/subscription/{sid}</wsa:Address>"
            f"</tev:SubscriptionReference>{_times()}</tev:CreatePullPointSubscriptionResponse>")
    if "PullMessages" in said or "PullMessages>" in body:
        wait = re.search(r"Timeout>PT(\d+(?:\.\d+)?)S<", body)
        with waiting:
            sid = getattr(current, "sid", "")
            if sid not in subscriptions:
                return onvif.fault("unknown subscription")
            waiting.wait_for(lambda: subscriptions[sid],
                             timeout=float(wait.group(1)) if wait else 5.0)
            queued, subscriptions[sid] = subscriptions[sid], []
        return _envelope(
            f"<tev:PullMessagesResponse><tev:CurrentTime>{_now()}</tev:CurrentTime>"
            f"<tev:TerminationTime>{_now(60)}</tev:TerminationTime>{''.join(queued)}"
            "</tev:PullMessagesResponse>")
    if "Renew" in said or ":Renew>" in body:
        print("RENEWED", file=sys.stderr, flush=True)
        return _envelope(f"<wsnt:RenewResponse>{_times()}</wsnt:RenewResponse>")
    if "Unsubscribe" in said or ":Unsubscribe>" in body:
        with waiting:
            subscriptions.pop(getattr(current, "sid", ""), None)
        return _envelope("<wsnt:UnsubscribeResponse/>")
    return before_events(action, body)

onvif.handle_action = events_action
current = threading.local()  # the subscription a request was posted to (its path)
before_post = _Handler.do_POST

def do_post(self):
    path = self.path.split("?")[0]
    if path == "/kustosz-test/event":
        said = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        message = _message(said["topic"], said["state"], _now())
        with waiting:
            for queued in subscriptions.values():
                queued.append(message)
            waiting.notify_all()
        self.send_response(204)
        self.end_headers()
        return
    current.sid = path.rsplit("/", 1)[1] if path.startswith("/onvif/subscription/") else ""
    before_post(self)

_Handler.do_POST = do_post
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

    def event(self, topic: str, state: bool) -> None:
        """The camera reports an event (ours: the launcher's events service)."""
        import json
        import urllib.request
        request = urllib.request.Request(
            f"http://{self.host}:{self.port}/kustosz-test/event", method="POST",
            data=json.dumps({"topic": topic, "state": state}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 204

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


# The tests' cameras answer on this machine, which `[cameras] networks` leaves out unless an
# office names it (issue 48 item 12): each test that asks one says so, as an office would.
LOOPBACK_CAMERAS = ('\n[cameras]\n# the virtual cameras of the tests answer on loopback\n'
                    'networks = ["127.0.0.0/8"]\n')


def cameras_on_loopback(vault: Path | Any) -> None:
    """Let the data folder (a path) or an open vault ask cameras on loopback."""
    from kustosz.config import CamerasConfig

    root = vault if isinstance(vault, Path) else vault.root
    config = root / "kustosz.toml"
    text = config.read_text()
    assert "\n[cameras]" not in text, "the test's kustosz.toml already has [cameras]"
    config.write_text(text + LOOPBACK_CAMERAS)
    if not isinstance(vault, Path):
        vault.config = replace(vault.config, cameras=CamerasConfig(
            networks=(ip_network("127.0.0.0/8"),)))
