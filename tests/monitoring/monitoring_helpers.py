"""Helpers of the monitoring tests: vaults with the Elbląg preset (the one seed that regulates
e-mail and IT monitoring), listeners in a background thread, and real clients."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kustosz.ingest.chunks.service import Background
from kustosz.ingest.events.intake import EventIntake
from kustosz.ingest.events.settings import EndpointSettings, add_endpoint_source
from kustosz.vault import Vault

LOGGER = shutil.which("logger")
needs_logger = pytest.mark.skipif(LOGGER is None, reason="logger (util-linux/bsdutils) missing")


def endpoint(vault: Vault, name: str = "siem", **settings: Any) -> str | None:
    base = {"syslog_udp": "127.0.0.1:0", "syslog_tcp": "127.0.0.1:0", "http": "127.0.0.1:0"}
    base.update(settings)
    with vault.transaction() as s:
        _, token = add_endpoint_source(s, vault.policy, name, "test", EndpointSettings(**base))
    return token


def events_listener(vault: Vault, name: str = "siem") -> Background:
    return Background(lambda: EventIntake(vault, name))


def logger(port: int, *args: str, tcp: bool = True) -> None:
    assert LOGGER
    cmd = [LOGGER, "-n", "127.0.0.1", "-P", str(port), "-T" if tcp else "-d", *args]
    subprocess.run(cmd, check=True, timeout=10)


def post(url: str, body: bytes, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def spool_lines(vault: Vault, name: str) -> int:
    root = vault.root / "spool" / "monitoring" / name
    return sum(p.read_bytes().count(b"\n") for p in root.rglob("chunk.jsonl"))


def stored_files(vault: Vault) -> list[Path]:
    return [p for p in (vault.root / "media").rglob("*") if p.is_file()]


def mailbox(vault: Vault, name: str = "journal", **settings: Any) -> None:
    from kustosz.ingest.mail.settings import MailSettings, add_mail_source

    base: dict[str, Any] = {"listen": "127.0.0.1:0", "office_domains": ["elblag.eu"]}
    base.update(settings)
    with vault.transaction() as s:
        add_mail_source(s, vault.policy, name, "test", MailSettings(**base))


def mail_listener(vault: Vault, name: str = "journal") -> Background:
    from kustosz.ingest.mail.listener import MailIntake

    return Background(lambda: MailIntake(vault, name))


def message(subject: str, sender: str, to: list[str], body: str = "Treść listu",
            attachments: list[tuple[str, str, bytes]] = (), **headers: str) -> Any:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="elblag.eu")
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    for name, ctype, data in attachments:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg
