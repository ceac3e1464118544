"""Issue 66 item 4: an office that records its external calls both ways but not the internal
ones (or any other combination) says so in its policy, and every intake keeps exactly those:
the spool with its Master.csv end to end, and the SIPREC and mirrored-port lines, which take
the policy's scope into their line rules and judge each call by it (ingest/phone/scope.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from calls_pbx import Pbx, add_line, day_of_calls, stored_calls
from tests.conftest import make_vault

from kustosz.ingest.phone.capture.run import read_lines as capture_lines
from kustosz.ingest.phone.intake import scan
from kustosz.ingest.phone.lines import add_capture_line, add_siprec_line, enable_phone_source
from kustosz.ingest.phone.scope import judge
from kustosz.ingest.phone.siprec.run import read_lines as siprec_lines
from kustosz.vault import Vault

OFFICE_DID = "+48221234567"


def _office(tmp_path: Path, scope: str) -> Vault:
    make_vault(tmp_path / "vault", "boleslawiec").close()
    config = tmp_path / "vault" / "kustosz.toml"
    config.write_text(config.read_text() + f"\n[policy.calls]\nscope = {scope}\n")
    return Vault.open(tmp_path / "vault")


@pytest.mark.parametrize(("scope", "kept"), [
    ('["external_incoming", "external_outgoing"]',
     {"incoming", "withheld", "ringgroup", "outgoing"}),
    ('["internal"]', {"internal"}),
    ('["external_outgoing", "internal"]', {"outgoing", "internal"}),
    ('"external_outgoing"', {"outgoing"}),
])
def test_the_spool_keeps_exactly_the_kinds_the_policy_names(tmp_path: Path, scope: str,
                                                            kept: set[str]) -> None:
    vault = _office(tmp_path, scope)
    try:
        pbx = Pbx(tmp_path / "pbx")
        calls = day_of_calls(pbx)
        add_line(vault, pbx)
        report = scan(vault, "centrala", sleep=lambda _s: None)
        assert set(stored_calls(vault)) == {calls[k].uniqueid for k in kept}
        assert (report.stored, report.out_of_scope) == (len(kept), len(calls) - len(kept))
        assert len(list(vault.storage.keys())) == len(kept)  # the others leave no file
    finally:
        vault.close()


def test_siprec_and_capture_lines_judge_by_the_policys_scope(tmp_path: Path) -> None:
    vault = _office(tmp_path, '["external_incoming", "external_outgoing"]')
    try:
        with vault.transaction() as s:
            add_siprec_line(s, vault.policy, "sbc", "test", sources=["127.0.0.1"],
                            numbers=[OFFICE_DID])
            add_capture_line(s, vault.policy, "span", "test", interface="lo",
                             numbers=[OFFICE_DID])
            for line in ("sbc", "span"):
                enable_phone_source(s, line, "test", legal_basis="art. 6 ust. 1 lit. e RODO",
                                    purpose="bezpieczeństwo informacji")
        rules = [*siprec_lines(vault), *(c.rule for c in capture_lines(vault))]
        assert [r.name for r in rules] == ["sbc", "span"]
        for rule in rules:
            assert rule.scope == vault.policy.call_scope
            # as the SIPREC server and the capture recorder call it: the numbers only
            verdicts = {what: judge("unknown", a, b, rule.scope, rule.internal,
                                    extension_max_digits=rule.extension_max_digits)
                        for what, (a, b) in {"incoming": ("600100200", "201"),
                                             "outgoing": ("201", "600100200"),
                                             "internal": ("201", "202")}.items()}
            assert {w: v.keep for w, v in verdicts.items()} == {
                "incoming": True, "outgoing": True, "internal": False}
    finally:
        vault.close()
