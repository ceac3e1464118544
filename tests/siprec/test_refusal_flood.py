"""A flood of refusals from forged addresses stays bounded (issue 64 item 4, N5): 5 000 INVITEs to
the SIPREC server, each from another address no line lists (on loopback any 127.x.y.z is this
machine), made 5 000 alert rows, 5 000 input_refusals rows, 5 001 audit entries, a 988 KB
dashboard, and 500 foreign addresses still 670 log lines. Folded by the class of sender and
the reason, the same flood is one alert row saying how many times from how many addresses
(the first few and the last named), one input_refusals row, a few audit entries and log
lines, a dashboard of its usual size — and a real call from the line's SBC is recorded as
before. The same for syslog from senders not on an event source's list."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from tests.cameras.camera_helpers import wait_for
from tests.siprec.siprec_helpers import recording_server, wait_for_calls
from tests.support.siprec import SipClient, metadata, multipart, offer, status_of, to_tag_of
from tests.web.web_helpers import signed_in, user

from kustosz.db.models import Alert, AuditEntry, InputRefusal
from kustosz.ingest.phone.siprec.server import Srs
from kustosz.ingest.refusals import flush
from kustosz.states import AlertRow
from kustosz.vault import Vault

FLOOD = 5_000


def forged(n: int) -> str:
    """The n-th forged sender: 127.10.0.1, 127.10.0.2, … (none on the line's list)."""
    return f"127.10.{n // 250}.{n % 250 + 1}"


def invite(port: int, call_id: str, source: str) -> bytes:
    body, kind = multipart(("application/sdp", offer()),
                           ("application/rs-metadata+xml", metadata()))
    raw = body.replace("\n", "\r\n").encode()
    head = "\r\n".join([
        f"INVITE sip:srs@127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {source}:5060;branch=z9hG4bK-{call_id}",
        f"From: <sip:src@{source}>;tag=t-{call_id}", f"To: <sip:srs@127.0.0.1:{port}>",
        f"Call-ID: {call_id}", "CSeq: 1 INVITE", f"Contact: <sip:src@{source}>;+sip.src",
        "Max-Forwards: 70", f"Content-Type: {kind}", f"Content-Length: {len(raw)}"])
    return (head + "\r\n\r\n").encode() + raw


def flood(srs: Srs, count: int, step: int = 25) -> None:
    """``count`` INVITEs, each from its own forged address, ``step`` at a time, each step once
    the server has answered the last (the socket's buffer holds some 70 of them: what it
    dropped would be a refusal never seen, not one folded)."""
    for start in range(0, count, step):
        for n in range(start, min(start + step, count)):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((forged(n), 0))
                sock.sendto(invite(srs.port, f"flood-{n}", forged(n)), ("127.0.0.1", srs.port))
        caught_up(lambda sent=min(start + step, count): srs.counters.refused >= sent,
                  lambda: f"{srs.counters.refused} of {count} refused")


def caught_up(check: Callable[[], bool], said: Callable[[], str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not keep up: {said()}")
        time.sleep(0.005)


def rows(vault: Vault) -> tuple[int, int, int, int]:
    """(alert rows of refusals, input_refusals rows, refusals counted, audit entries)."""
    with vault.reading() as s:
        return (s.execute(select(func.count()).select_from(Alert)
                          .where(Alert.kind == AlertRow.INPUT_REFUSED)).scalar_one(),
                s.execute(select(func.count()).select_from(InputRefusal)).scalar_one(),
                s.execute(select(func.coalesce(func.sum(InputRefusal.count), 0))).scalar_one(),
                s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def a_real_call(srs: Srs) -> None:
    client = SipClient(srs.port)
    answer = client.request("INVITE", "real", *multipart(
        ("application/sdp", offer()), ("application/rs-metadata+xml", metadata())))
    assert status_of(answer) == 200, answer
    tag = to_tag_of(answer)
    client.ack("real", tag)
    assert status_of(client.request("BYE", "real", to_tag=tag, cseq=2)) == 200
    client.close()


def test_5000_forged_senders_make_one_alert_row_a_bounded_page_and_few_log_lines(
        office: Vault, caplog: pytest.LogCaptureFixture) -> None:
    user(office, "iod", ["dpo"])
    page = signed_in(office, "iod")
    before = len(page.get("/").content)
    _, _, _, audit_before = rows(office)
    caplog.set_level(logging.INFO, logger="kustosz")
    with recording_server(office) as srs:
        started = time.monotonic()
        flood(srs, FLOOD)
        flooded = time.monotonic() - started
        wait_for(lambda: rows(office)[2] == FLOOD, 60, "every refusal counted",
                 lambda: rows(office))
        lines = list(caplog.records)  # every logger's, at INFO and above for kustosz
        a_real_call(srs)
    wait_for_calls(office, 1, 60)
    flush(office)
    alerts, refusal_rows, counted, audit_after = rows(office)
    assert srs.counters.refused == FLOOD and counted == FLOOD
    assert (alerts, refusal_rows) == (1, 1), (alerts, refusal_rows)
    assert audit_after - audit_before <= 4, audit_after - audit_before  # the call's own too
    with office.reading() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("alert.input.refused%"))).scalar_one() == 1
    assert len(lines) <= 6, [r.getMessage() for r in lines]
    with office.reading() as s:
        row = s.execute(select(InputRefusal)).scalar_one()
        alert = s.execute(select(Alert).where(Alert.kind == AlertRow.INPUT_REFUSED)).scalar_one()
    assert (row.device, row.source_id) == ("nadawca SIP spoza list linii SIPREC", None)
    assert row.addresses == FLOOD and row.sample == [forged(0), forged(1), forged(2)]
    assert row.last_address == forged(FLOOD - 1)
    assert alert.message.startswith(
        f"Odrzucono dane z {FLOOD} adresów (nadawca SIP spoza list linii SIPREC): adres nie "
        "należy do żadnej linii SIPREC, sesja nagrywania odrzucona")
    assert f"Powtórzyło się {FLOOD} razy od" in alert.message
    assert f"Adresy, m.in.: 127.10.0.1, 127.10.0.2, 127.10.0.3; ostatni: {forged(FLOOD - 1)}." \
        in alert.message
    html = page.get("/").text
    assert html.count("Odrzucono dane") == 1 and f"z {FLOOD} adresów" in html
    assert html.count('<li class="error" data-alarm=') == 2  # and the real call's: it sent no sound
    assert len(html.encode()) < before + 3_000, (before, len(html.encode()))
    print(f"flood of {FLOOD}: {flooded:.1f} s; {alerts} alert row, {refusal_rows} refusal "
          f"row, {audit_after - audit_before} audit entries, {len(lines)} log lines; "
          f"dashboard {before} -> {len(html.encode())} B")
