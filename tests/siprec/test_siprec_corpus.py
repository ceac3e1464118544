"""Real SBCs' recording sessions (issue 47; tests/corpus/siprec, each sample's provenance in
its README): each replayed to the product's recording server over UDP and over TCP, a tone
sent on every stream the answer gives, BYE, and the call stored as the vendor's metadata
says — its caller and callee, its direction, each side's sound in its own channel (the
caller's on the left). Before issue 47 every one of them was answered 400 Bad Request.

The corpus's hostile neighbours (a body that is no multipart at all, metadata of a type no
SRC writes, metadata that is not XML) are refused with their reason, an alert on the line
naming the SBC, and nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.cameras.camera_helpers import wait_for
from tests.conftest import make_vault
from tests.siprec.corpus_helpers import (
    CORPUS,
    Src,
    answered,
    in_dialog,
    invite,
    loudest,
    send_tones,
)
from tests.siprec.siprec_helpers import (
    calls_of,
    files_under,
    recording_server,
    wait_for_calls,
    wait_received,
)
from tests.siprec.test_siprec_sipp import channels
from tests.support.numbers_kept import assert_numbers_kept
from tests.support.siprec import status_of, to_tag_of

from kustosz.db.models import Alert
from kustosz.ingest.phone.lines import add_siprec_line, enable_phone_source
from kustosz.states import AlertRow
from kustosz.vault import Vault

CALLER_HZ, CALLEE_HZ = 440.0, 1250.0


@dataclass(frozen=True)
class Case:
    sample: str
    caller: str  # as stored (canonical where the number can be read so)
    callee: str
    direction: str
    caller_label: str  # the stream the caller is heard on (the left channel)
    callee_label: str | None  # the right channel's (None: one mixed stream)
    numbers: tuple[str, ...] = ("+48221234567",)  # the line's own numbers
    caller_name: str | None = None  # checked where the sample's name is a case of its own


CASES = [
    # RFC 7865's form; a third body part (application/gtd), no closing delimiter
    Case("cisco/cube-offer.txt", "7301", "7300", "internal", "1", "2"),
    # the drafts' form: participant id=, stream id=, <send> in <participant>, callingParty
    Case("oracle/acme-offer.txt", "9000", "1002", "internal", "16777227", "16777228"),
    # Avaya behind an Oracle SBC: a foreign national number (NL) is kept as written, its
    # direction left unknown (no country to read it in)
    Case("avaya-oracle/avaya-offer.txt", "31624895902", "33187164021", "unknown",
         "201835599", "201835600"),
    # an AOR without sip:, a prefixed root element, the caller sending on label 2
    Case("ribbon/sonus-offer.txt", "2249888500", "2249888012", "unknown", "2", "1"),
    # Avaya SBCE's participant beside BroadWorks': its AOR has no number, only a name, kept
    # as written ("ASBCE", searched case-blind; issue 64 item 9: it was stored empty)
    Case("broadworks/broadworks-offer-2.txt", "9878942259", "asbce", "unknown", "10", "20"),
    # a whole INVITE; application/rs-metadata; one mixed stream, one participant
    Case("intrado/intrado-invite.txt", "4058327108", "", "unknown", "1", None),
    # an SDP without t= and c=; the line owns the callee's number, so: incoming
    Case("opensips/connectel-offer.txt", "+48771121212", "+48760516936", "incoming", "1",
         "2", numbers=("+48760516936",)),
    # the drafts' form with participant ids that are numbers, AORs "+31…@host" (no scheme),
    # application/rs-metadata; the line owns the callee's number
    Case("audiocodes/audiocodes-offer.txt", "+31534889935", "+31886601071", "incoming", "1",
         "2", numbers=("+31886601071",)),
    # a caller's name with a bare "&" (not well-formed XML as sent); the caller's number
    # without its "+": kept as written, and (not the office's) outside: incoming
    Case("cisco/cube-unescaped-ampersand.txt", "17203032570", "+17209132000", "incoming",
         "1", "2", numbers=("+17209132000",)),
    # application/rs-metadata, no closing delimiter, an AOR "Extension-016190619@..."
    Case("sems/procomm-offer.txt", "016190200", "016190619", "unknown", "a_leg", "b_leg"),
    # a caller's name written with its quotes (&quot;), a caller's number without its "+";
    # the line owns the callee's number
    Case("oracle/acme-quoted-name-offer.txt", "22938884455", "+12298558585", "incoming",
         "33675086", "33675087", numbers=("+12298558585",), caller_name="ECG Tester"),
    # BroadWorks' own form: root <recording_metadata>, <aor> elements, <send><id>, the
    # metadata before the SDP; who called, and the user's number (its AOR is a name,
    # user1001@…), only in BroadWorks' extension. The user's own call (origCall), the caller
    # on label 1; the line owns the user's number, and the number called is written without
    # its country ("15550001002"): kept as written, and its eleven digits no extension nor the
    # office's, so outgoing (issue 64 item 9; it was "unknown")
    Case("broadworks/broadworks-recording-metadata-offer.txt", "+15550001001", "15550001002",
         "outgoing", "1", "2", numbers=("+15550001001",)),
    # the same form for a call the user took (termCall): the caller heard on label 2
    Case("broadworks/broadworks-termcall-offer.txt", "+15550001002", "+15550001001",
         "incoming", "2", "1", numbers=("+15550001001",)),
]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.sample.rsplit(".", 1)[0])
def test_a_real_sbcs_recording_session_is_stored_with_its_facts_and_both_sides(
        tmp_path: Path, case: Case, transport: str) -> None:
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    try:
        _replay_and_check(vault, case, transport)
    finally:
        vault.close()


def test_under_external_incoming_only_a_real_sbcs_incoming_call_is_kept(
        tmp_path: Path) -> None:
    """The issue's office (MOPS Wałbrzych: external incoming calls only): before issue 47 an
    SBC's calls had no numbers, so direction "unknown", so nothing was kept at all."""
    vault = make_vault(tmp_path / "vault", "walbrzych")
    assert str(vault.policy.call_scope) == "external_incoming"
    try:
        _replay_and_check(vault, CASES[[c.sample for c in CASES].index(
            "opensips/connectel-offer.txt")], "UDP")
    finally:
        vault.close()


def _replay_and_check(vault: Vault, case: Case, transport: str) -> None:
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, "sbc", "test", sources=["127.0.0.1"],
                        numbers=list(case.numbers))
        enable_phone_source(s, "sbc", "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                            purpose="bezpieczeństwo informacji")
    with recording_server(vault) as srs:
        src = Src(srs.port, transport)
        inv = invite(case.sample, src, srs.port, quoted=transport == "TCP")
        src.send(inv.data)
        answer = src.final()
        assert status_of(answer) == 200, answer
        tag = to_tag_of(answer)
        src.send(in_dialog("ACK", inv, src, srs.port, tag, 1))
        streams = answered(answer)
        freqs = {case.caller_label: CALLER_HZ}
        if case.callee_label is not None:
            freqs[case.callee_label] = CALLEE_HZ
        assert set(streams) == set(freqs)
        sent = send_tones(streams, freqs)
        wait_received(srs, inv.call_id, sent)
        src.send(in_dialog("BYE", inv, src, srs.port, tag, 2))
        assert status_of(src.final()) == 200
        ((call, rec),) = wait_for_calls(vault, 1)
        src.close()
    assert (call.caller, call.callee, call.direction) == (
        case.caller, case.callee, case.direction)
    assert_numbers_kept(vault, call, rec)  # issue 64 item 9: kept as written, found by both
    assert rec.meta["received"] == sent and rec.meta["unexpected"] == 0
    if case.caller_name is not None:
        assert rec.meta["caller_name"] == case.caller_name
    _, frames = channels(vault, rec)
    left, right = frames[:, 0], frames[:, 1]
    assert abs(loudest(left) - CALLER_HZ) < 10  # the caller's own tone, on the left
    if case.callee_label is not None:
        assert abs(loudest(right) - CALLEE_HZ) < 10
    else:
        assert not right.any()  # one mixed stream: nothing on the right


def _refusals(vault: Vault) -> list[str]:
    with vault.reading() as s:
        return list(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.PHONE_SESSION_REFUSED)).scalars())


def _cisco_with_metadata(text: str) -> str:
    """Cisco CUBE's offer with its metadata replaced (a hostile neighbour made from it)."""
    sample = (CORPUS / "cisco/cube-offer.txt").read_text()
    head, _, rest = sample.partition("<?xml")
    return head + text + rest[rest.index("</recording>") + len("</recording>"):]


HOSTILE = {
    # BroadWorks' offer as drachtio keeps it: its metadata part's type damaged
    "broadworks damaged": ("broadworks/broadworks-offer.txt", "", 400, "no metadata"),
    # drachtio's "non-SIPREC payload" (an SDP alone) where a multipart body should be...
    "not multipart": ("hostile/non-siprec-payload.txt", "text/plain", 415,
                      "not multipart/mixed"),
    # ...and claiming to be one
    "no boundary in it": ("hostile/non-siprec-payload.txt",
                          "multipart/mixed;boundary=uniqueBoundary", 400, "no part"),
    "metadata not xml": ("", "", 400, "not well-formed XML"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_neighbour_is_refused_with_its_reason_alerted_and_nothing_written(
        office: Vault, case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sample, content_type, code, words = HOSTILE[case]
    source: str | Path = sample
    if not sample:
        source = tmp_path / "garbled" / "cube-offer.txt"
        source.parent.mkdir()
        source.write_text(_cisco_with_metadata("<recording><participant></recording"))
    with recording_server(office) as srs:
        src = Src(srs.port, "UDP")
        inv = invite(source, src, srs.port, content_type=content_type)
        src.send(inv.data)
        answer = src.final()
        assert status_of(answer) == code, answer
        assert words in answer  # the reason, for the SBC's log (Warning: 399)
        src.send(in_dialog("ACK", inv, src, srs.port, to_tag_of(answer), 1))
        wait_for(lambda: len(_refusals(office)) == 1, 30, "the refusal's alert")
        refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert any(words in r and "127.0.0.1" in r for r in refusals), refusals  # the log
        assert srs.counters.refused == 1 and not srs.sessions
        src.close()
    (message,) = _refusals(office)
    assert message.startswith("Linia telefoniczna sbc: sesja nagrywania od centrali (SBC) "
                              "została odrzucona")
    assert "127.0.0.1" in message and words in message
    assert files_under(office.root / "siprec") == []
    assert calls_of(office) == []


def test_a_held_call_cisco_offers_inactive_is_answered_inactive_and_kept_with_its_numbers(
        tmp_path: Path) -> None:
    """Cisco CUBE opening a session for a call on hold: both streams a=inactive (RFC 3264
    §6.1: answered inactive), no RTP; the call is stored with its numbers and said to have
    no sound."""
    vault = make_vault(tmp_path / "vault", "boleslawiec")
    with vault.transaction() as s:
        add_siprec_line(s, vault.policy, "sbc", "test", sources=["127.0.0.1"],
                        numbers=["+972546136443"])
        enable_phone_source(s, "sbc", "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                            purpose="bezpieczeństwo informacji")
    try:
        with recording_server(vault) as srs:
            src = Src(srs.port, "UDP")
            inv = invite("cisco/cube-inactive-offer.txt", src, srs.port)
            src.send(inv.data)
            answer = src.final()
            assert status_of(answer) == 200, answer
            assert answer.count("a=inactive") == 2 and "a=recvonly" not in answer
            tag = to_tag_of(answer)
            src.send(in_dialog("ACK", inv, src, srs.port, tag, 1))
            src.send(in_dialog("BYE", inv, src, srs.port, tag, 2))
            assert status_of(src.final()) == 200
            ((call, rec),) = wait_for_calls(vault, 1)
            src.close()
        assert (call.caller, call.callee, call.direction) == (
            "+48733165805", "+972546136443", "incoming")
        assert rec.meta["no_sound"] is True
    finally:
        vault.close()
