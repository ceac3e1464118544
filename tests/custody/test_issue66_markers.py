"""Issue 66 item 3: every text an office's file gives is printed where it belongs. An office
that monitors with cameras and records calls sets each [documents] text and fact and every
[documents.annexes] key to a marker of its own; a whole case then runs — a call recorded, a
police request decided, copied, handed over and destroyed by the commission, a data subject's
request — and every document is rendered by its real renderer, read back with poppler's
pdftotext, and searched for each marker in the document it belongs to. Before, four annex
keys (decision, receipt, destruction-protocol, request-subject) were accepted and printed on
no page, and the general clause left out the DPO's name and address and the recipients the
office names."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custody_helpers import OFFICE_NUMBER, call, people, setup_phone
from tests.office_day import office_today

from kustosz.custody import destruction, papers, registers
from kustosz.custody.copy_making import make_copy
from kustosz.custody.decisions import decide
from kustosz.custody.handover import hand_over
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.documents import render
from kustosz.documents.announcements import announcement_data
from kustosz.documents.clauses import clause_data
from kustosz.documents.sign import sign_data
from kustosz.policy.texts import ANNEXED
from kustosz.vault import Vault

HERS = "+48600100200"
FACTS = ("controller", "representation", "address", "locality", "phone", "email", "dpo",
         "dpo_address", "dpo_phone", "dpo_email", "basis", "monitored", "published", "nip",
         "regon")
# The numbers are checked by their check digit: their markers are valid numbers no document
# prints of itself (computed, no office's).
NUMBERS = {"nip": "774-000-32-17", "regon": "12345678512347"}


def marker(key: str) -> str:
    """A word no document prints of itself, with Polish letters, for one key."""
    if key in NUMBERS:
        return NUMBERS[key]
    return "Ż" + key.replace("-", "").replace("_", "").upper() + "ąćęłńóśźż"


def _file() -> str:
    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    annexes = "\n".join(f"{k} = {q(marker('annex-' + k))}" for k in ANNEXED)
    facts = "\n".join(f"{k} = {q(marker(k))}" for k in FACTS)
    return f"""
[office]
name = "Urząd Gminy Żółkowo"
name_genitive = "Urzędu Gminy Żółkowo"
name_locative = "Urzędzie Gminy Żółkowo"
approver_title = "Wójt Gminy Żółkowo"
approver_title_genitive = "Wójta Gminy Żółkowo"
approver_title_accusative = "Wójta Gminy Żółkowo"

[retention]
camera = "30 days"
phone = "3 months"

[copies]
lifetime = "3 months"
counted_from = "copy_date"

[calls]
scope = "all"
incoming_announcement = "automatic"
outgoing_announcement = "employee"
announcement_clause = {q(marker("announcement-clause"))}

[documents]
{facts}
purposes = [{q(marker("purposes"))}]

[documents.clause]
phone = [{q(marker("clause-phone") + " {controller}, NIP {nip}, REGON {regon}")}]
recipients = {q(marker("recipients"))}

[documents.sign]
rights = {q(marker("sign-rights"))}

[documents.announcement]
incoming = {q(marker("announcement-incoming"))}
outgoing = {q(marker("announcement-outgoing"))}

[documents.declaration]
purposes = {q(marker("declaration-purposes"))}

[documents.annexes]
{annexes}

[video]
excluded_zones = ["oznaczony"]
excluded_clause = "Regulamin, § 4"

[video.zone_kinds.oznaczony]
name = "pokój oznaczony"
plural_genitive = {q(marker("excluded"))}
place = "inside"

[access]
supervisor = {q(marker("supervisor"))}

[documents.registers]
disclosures_title = {q(marker("disclosures-title"))}
"""


def _text(pdf: bytes, tmp: Path, name: str) -> str:
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60)
    return " ".join(done.stdout.split())


def _case(vault: Vault, tmp: Path) -> dict[str, tuple[str, dict[str, object]]]:
    """The documents of one whole case, each by its real renderer."""
    people(vault)
    setup_phone(vault, tmp / "pbx")
    (tmp / "calls").mkdir()
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    call(vault, tmp / "calls", start + timedelta(seconds=1), HERS)
    day = start.astimezone(vault.policy.timezone).date()
    with vault.transaction() as s:
        police = register_request(s, vault.policy, RequestSpec(
            kind="authority", material="calls", requester="Komenda Powiatowa Policji w Żółkowie",
            received_on=office_today(), event_date=day, purpose="postępowanie RSD-1/26",
            caller=HERS, callee=OFFICE_NUMBER, start=start, end=start + timedelta(seconds=4),
            margin_minutes=0), "t").id
        decide(s, vault.policy, police, by="burmistrz", agree=True, on=office_today(),
               actor="t", keyed_by="burmistrz")
        subject = register_request(s, vault.policy, RequestSpec(
            kind="data_subject", material="calls", requester="Józef Żółć", purpose="",
            received_on=office_today(), event_date=day, caller=HERS, callee=OFFICE_NUMBER,
            start=start, end=start + timedelta(seconds=4), margin_minutes=0), "t").id
    copy = make_copy(vault, police, "informatyk", "t")
    hand_over(vault, copy.number, receiver="asp. Ewa Łęcka, KPP", by="informatyk", actor="t",
              request_id=police, medium="pendrive nr 3")
    for member in ("komisja1", "komisja2"):
        destruction.confirm(vault, copy.number, member, "t", reason="sprawa zakończona")
    policy = vault.policy
    with vault.reading() as s:
        reg = registers.build(s, policy, "disclosures", day - timedelta(days=1),
                              office_today())
        declaration = papers.blank("declaration", policy)
        declaration.update(employee="Jan Kowalski", position="referent", unit=None,
                           version="1")
        return {
            "request-calls": papers.request_form(s, policy, police),
            "request-subject": papers.request_form(s, policy, subject),
            "decision": papers.decision_doc(s, policy, police),
            "handover-protocol": papers.handover_doc(s, policy, copy.number),
            "receipt": papers.receipt_doc(s, policy, copy.number),
            "destruction-protocol": papers.destruction_doc(s, policy, copy.number),
            "request-video": ("request-video", papers.blank("request-video", policy)),
            "authorisation": ("authorisation", papers.blank("authorisation", policy)),
            "listening-protocol": ("listening-protocol",
                                   papers.blank("listening-protocol", policy)),
            "declaration": ("declaration", declaration),
            "register-disclosures": ("register", registers.pdf_data(
                reg, policy, day - timedelta(days=1), office_today())),
            "sign": ("sign", sign_data(policy)),
            "clause-camera": ("clause", clause_data(policy, "camera")),
            "clause-phone": ("clause", clause_data(policy, "phone")),
            "announcement": ("announcement", announcement_data(policy)),
        }


# The documents an annex note belongs on: its own, and the clause's on the clause of each kind.
ANNEX_ON = {k: ("clause-camera", "clause-phone") if k == "clause" else (k,) for k in ANNEXED}
# Where each text belongs: the document(s) that must print its marker.
WHERE: dict[str, tuple[str, ...]] = {
    **{f"annex-{k}": ANNEX_ON[k] for k in ANNEXED},
    **{k: ("sign",) for k in ("controller", "address", "phone", "email", "dpo_phone",
                              "dpo_email", "basis", "monitored", "published")},
    **{k: ("clause-camera",) for k in ("controller", "address", "phone", "email", "dpo",
                                       "dpo_address", "dpo_phone", "dpo_email", "basis")},
    "purposes": ("sign", "clause-camera"),
    # the places the regulation excludes: "Monitoring nie obejmuje: …" (Kąty § 4 ust. 1)
    "excluded": ("sign", "clause-camera"),
    # the controller's numbers in the clause's controller block (Kąty § 3)
    "nip": ("clause-camera", "clause-phone"),
    "regon": ("clause-camera", "clause-phone"),
    # issue 66 item 5: the controller's representation where the controller is named, the
    # place every dated document is dated at, the supervisor on the authorisation
    "representation": ("sign", "clause-camera", "request-subject"),
    "locality": ("decision", "authorisation", "declaration", "receipt",
                 "destruction-protocol"),
    "supervisor": ("authorisation",),
    "recipients": ("clause-camera",),
    "clause-phone": ("clause-phone",),
    "sign-rights": ("sign",),
    "announcement-clause": ("announcement",),
    "announcement-incoming": ("announcement",),
    "announcement-outgoing": ("announcement",),
    "declaration-purposes": ("declaration",),
    "disclosures-title": ("register-disclosures",),
}


def test_every_key_of_the_file_is_printed_where_it_belongs(tmp_path: Path) -> None:
    vault = Vault.init(tmp_path / "vault", None, actor="t", preset_file=_file())
    try:
        docs = _case(vault, tmp_path)
        texts = {what: _text(render(name, data, data_root=vault.root), tmp_path, what)
                 for what, (name, data) in docs.items()}
    finally:
        vault.close()
    missing = [(key, doc) for key, docs_of in WHERE.items() for doc in docs_of
               if marker(key) not in texts[doc]]
    assert missing == [], missing
    # every key the file sets is one of them: a key added later is placed here too
    keys = {*FACTS, "purposes", "recipients", "clause-phone", "sign-rights", "announcement-clause",
            "announcement-incoming", "announcement-outgoing", "declaration-purposes",
            "disclosures-title", "supervisor", "excluded", *(f"annex-{k}" for k in ANNEXED)}
    assert set(WHERE) == keys
    # each annex note is its own document's, on no other
    for k in ANNEXED:
        assert [d for d, t in texts.items() if marker(f"annex-{k}") in t] == list(ANNEX_ON[k])
