"""Access ends when access ends, for downloads too (issue 64 item 2): a long call's audio being
downloaded over the real web server stops within 5 s of the authorisation being withdrawn
(or the viewer's account disabled) — the rest is never sent, the response ends short of its
Content-Length, so the client knows it is incomplete — and its last access record says why.
`kustosz audit verify` passes after it (item 3)."""

from __future__ import annotations

import time
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import Cli
from tests.custody.custody_helpers import OFFICE_NUMBER, people, setup_phone
from tests.support.onvif_camera import free_port
from tests.web.web_helpers import authorise, both_vault, user

from kustosz.access import accounts, authorisations, records, users
from kustosz.access.users import get_user
from kustosz.db.access import AccessEntry
from kustosz.db.calls import Call
from kustosz.db.models import AuditEntry, Recording
from kustosz.ingest.files import ingest_file
from kustosz.vault import Vault
from kustosz.web.server import WebServer

ENDS_WITHIN_S = 5.0
READ_BYTES_S = 4 << 20  # the viewer's link: 4 MB/s


def big_call(vault: Vault, tmp: Path, start: datetime, seconds: int) -> Recording:
    """A long call of the office's line "centrala" (a tone, written at once, not per sample):
    16 000 bytes a second."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"call-{start.timestamp():.0f}-long.wav"
    second = bytes(range(256)) * 62 + bytes(range(128))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(second * seconds)

    def on_stored(s, rec):  # type: ignore[no-untyped-def]
        s.add(Call(recording_id=rec.id, source_id=rec.source_id, start_at=start,
                   caller="+48600100201", callee=OFFICE_NUMBER, direction="incoming",
                   uniqueid=path.name, disposition="ANSWERED", no_cdr=False))

    return ingest_file(vault, "centrala", path, start, start + timedelta(seconds=seconds),
                       on_stored=on_stored)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Vault, Recording, int, str]]:
    vault = both_vault(tmp_path / "vault")
    people(vault)
    setup_phone(vault, tmp_path / "pbx")
    call = big_call(vault, tmp_path / "calls", datetime.now(UTC) - timedelta(hours=2), 3600)
    user(vault, "ola", ["viewer"], display="Józef Żółć 🎥")
    auth_id = authorise(vault, "ola", ["listening"], sources=["centrala"])
    server = WebServer(vault, "127.0.0.1", free_port())
    server.start()
    try:
        yield vault, call, auth_id, server.url.rstrip("/")
    finally:
        server.stop()
        vault.close()


def _withdraw_authorisation(vault: Vault, auth_id: int) -> None:
    with vault.transaction() as s:
        authorisations.revoke(s, auth_id, "burmistrz", "koniec sprawy — Żółć 🎥", "test")


def _disable(vault: Vault, auth_id: int) -> None:
    with vault.transaction() as s:
        users.set_active(s, "ola", False, "informatyk")


@pytest.mark.parametrize(("withdraw", "said"), [
    (_withdraw_authorisation, "was revoked at"),
    (_disable, "sign-in ended: account disabled"),
], ids=["authorisation_withdrawn", "account_disabled"])
def test_a_download_stops_within_5_s_of_access_withdrawn_and_says_why(
        office: tuple[Vault, Recording, int, str],
        withdraw: Callable[[Vault, int], None], said: str) -> None:
    vault, call, auth_id, base = office
    with vault.transaction() as s:
        cookie = accounts.start_session(s, get_user(s, "ola"), "127.0.0.1")[0]
        token = records.try_open(s, user=get_user(s, "ola"), action="listening",
                                 client="127.0.0.1", purpose="skarga — Józef Żółć 🎥",
                                 case_ref="OR.0001.7.2026", recording=s.get(Recording, call.id))
    assert isinstance(token, str)
    got, withdrawn = 0, None
    with httpx.Client(cookies={"kustosz_session": cookie}, timeout=60) as h, \
            h.stream("GET", f"{base}/media/{token}/audio") as r:
        size = int(r.headers["content-length"])
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):  # cut short of its Content-Length
            for chunk in r.iter_bytes(65536):
                got += len(chunk)
                if withdrawn is None and time.monotonic() - started >= 1.0:
                    withdraw(vault, auth_id)
                    withdrawn = time.monotonic()
                time.sleep(max(0.0, started + got / READ_BYTES_S - time.monotonic()))
    assert withdrawn is not None and got < size
    last = wait_for(lambda: (lambda rows: rows[-1] if " ended: " in rows[-1] else None)(
        _records(vault)), 10, "the download's last record")
    ended_at = _ended_at(vault)
    took = (ended_at - _at_withdrawal(vault)).total_seconds()
    assert took < ENDS_WITHIN_S, f"the download went on {took:.1f} s after access ended"
    assert last.startswith(f"call {call.id} ended: access withdrawn: ") and said in last, last
    Cli(vault.root)("audit", "verify")


def _records(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return [e.what for e in s.execute(select(AccessEntry).order_by(AccessEntry.seq))
                .scalars()]


def _ended_at(vault: Vault) -> datetime:
    with vault.reading() as s:
        return s.execute(select(AccessEntry.at).order_by(AccessEntry.seq.desc()).limit(1)
                         ).scalar_one()


def _at_withdrawal(vault: Vault) -> datetime:
    """When access was withdrawn, as the audit log has it (the revocation, the disabling)."""
    with vault.reading() as s:
        return s.execute(select(AuditEntry.at).where(AuditEntry.action.in_(
            ("authorisation.revoke", "user.disable"))).order_by(AuditEntry.seq.desc())
            .limit(1)).scalar_one()
