"""Issue 48 item 4: in-dialog requests and retransmitted answers only for the SBC that opened
the session. Before, a BYE naming a running session's Call-ID ended the recording from any
host (200), a re-INVITE or UPDATE with the To tag added streams whose RTP a foreign host then
wrote into the call, and the retransmission cache handed the SBC's 200 OK (its To tag and
media ports) to anyone repeating its Via branch.

A real SBC's offer (Cisco CUBE, tests/corpus/siprec) opens the session over UDP or TCP from
127.0.0.1; the attacker is a host of its own, 127.0.0.2, over UDP."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.corpus_helpers import Src, answered, in_dialog, invite, send_tones
from tests.siprec.siprec_helpers import recording_server, wait_for_calls, wait_received
from tests.support.siprec import status_of, to_tag_of

from kustosz.db.models import Alert
from kustosz.ingest.phone.lines import add_siprec_line, enable_phone_source
from kustosz.states import AlertRow
from kustosz.vault import Vault


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_a_foreign_host_can_neither_end_nor_change_a_session_nor_read_its_answer(
        tmp_path: Path, transport: str) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    try:
        with vault.transaction() as s:
            add_siprec_line(s, vault.policy, "sbc", "test", sources=["127.0.0.1"],
                            numbers=["+48221234567"])
            enable_phone_source(s, "sbc", "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                                purpose="bezpieczeństwo informacji")
        with recording_server(vault) as srs:
            sbc = Src(srs.port, transport)
            inv = invite("cisco/cube-offer.txt", sbc, srs.port)
            sbc.send(inv.data)
            answer = sbc.final()
            assert status_of(answer) == 200, answer
            tag = to_tag_of(answer)
            sbc.send(in_dialog("ACK", inv, sbc, srs.port, tag, 1))
            evil = Src(srs.port, "UDP", host="127.0.0.2")
            # the SBC's INVITE repeated byte for byte (its Via branch): no cached answer
            evil.send(inv.data)
            stolen = evil.final()
            assert status_of(stolen) == 481 and tag not in stolen.split("\r\n\r\n")[0]
            assert "m=audio" not in stolen
            for cseq, method in enumerate(("BYE", "INVITE", "UPDATE"), start=2):
                evil.send(in_dialog(method, inv, evil, srs.port, tag, cseq))
                assert status_of(evil.final()) == 481, method
            assert inv.call_id in srs.sessions  # still recording
            sent = send_tones(answered(answer), {"1": 440.0, "2": 1250.0})
            wait_received(srs, inv.call_id, sent)
            sbc.send(in_dialog("BYE", inv, sbc, srs.port, tag, 9))
            assert status_of(sbc.final()) == 200
            ((_call, rec),) = wait_for_calls(vault, 1)
            assert rec.meta["received"] == sent and len(rec.meta.get("streams", [1, 2])) == 2
            wait_for(lambda: _refusals(vault), 30, "the refusal's alert")
            sbc.close()
            evil.close()
        (message,) = _refusals(vault)
        assert "127.0.0.2" in message and "żądanie w trakcie rozmowy od obcego adresu" in message
    finally:
        vault.close()


def _refusals(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.INPUT_REFUSED)).scalars())
