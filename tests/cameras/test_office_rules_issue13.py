"""Issue 13 items 5-6 and its citations: each office's own purposes and excluded rooms, no
invented deadline, no invented cap for e-mail and IT monitoring, the Labour Code cited as it
reads. Test names cite the clause they hold the product to."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from camera_helpers import LONG_AGO
from tests.conftest import Cli, make_vault, snapshot

from kustosz.cameras.register import CameraSpec, add_camera, add_site, add_zone
from kustosz.cameras.rules import check_purposes
from kustosz.custody.papers import request_form
from kustosz.custody.requests import RequestSpec, register_request
from kustosz.errors import ConfigError, InputError
from kustosz.ingest.camera.supervisor import decide
from kustosz.policy import Period, load_policy, preset_names
from kustosz.policy.video_law import ZONE_KINDS
from kustosz.vault import Vault

EXCEPTION = {"unrecognisable_reason": "maska prywatności na całym kadrze",
             "representatives_consent": "porozumienie z przedstawicielami z 2026-01-10"}


def office(tmp_path: Path, preset: str, *kinds: str) -> Vault:
    vault = make_vault(tmp_path / preset, preset)
    with vault.transaction() as s:
        add_site(s, "Ratusz", "test", "Rynek 1")
        add_zone(s, "Ratusz", "hol parter", "corridor", "test")
        for kind in kinds:
            add_zone(s, "Ratusz", f"pokój {kind}", kind, "test")
    return vault


def camera(vault: Vault, name: str, zone: str = "hol parter", purpose: str = "property",
           **kw: object) -> None:
    spec = CameraSpec(name, "Ratusz", zone, "rtsp://10.0.0.9/s", purpose,
                      notice_date=LONG_AGO, signage_date=LONG_AGO, **kw)  # type: ignore[arg-type]
    with vault.transaction() as s:
        add_camera(s, vault.policy, spec, "test")


def refused(vault: Vault, match: str, name: str = "zakazana", **kw: object) -> InputError:
    before = snapshot(vault)
    with pytest.raises(InputError, match=match) as exc:
        camera(vault, name, **kw)  # type: ignore[arg-type]
    assert snapshot(vault) == before
    return exc.value


# -- item 5: rooms the office excludes outright -------------------------------------------------

def test_elblag_refuses_a_camera_in_a_sanitary_room_even_unrecognisable_000_s1_3(
        tmp_path: Path) -> None:
    vault = office(tmp_path, "elblag", "sanitary")
    try:
        exc = refused(vault, r"refused outright.*000 §1\.3", zone="pokój sanitary",
                      **EXCEPTION)
        assert "bez wyjątków" in (exc.pl or "") and "art. 22² §2" in (exc.pl or "")
        assert "000 §1.3" in (exc.pl or "")
    finally:
        vault.close()


@pytest.mark.parametrize("kind", ["sanitary", "changing_room", "canteen", "social_room",
                                  "smoking_room"])
def test_miedziana_gora_refuses_every_room_its_regulation_excludes_even_with_the_exception_003_s1_2(
        tmp_path: Path, kind: str) -> None:
    vault = office(tmp_path, "miedziana-gora", kind)
    try:
        exc = refused(vault, r"refused outright.*003 §1\.2", zone=f"pokój {kind}", **EXCEPTION)
        assert "003 §1.2" in (exc.pl or "")
    finally:
        vault.close()


def test_elblag_leaves_the_other_rooms_of_the_code_to_its_exception_art_22_2_s2_000_s1_3(
        tmp_path: Path) -> None:
    """000 §1.3 names sanitary rooms only: a changing room follows the Code (refused unless
    people are made unrecognisable, then allowed)."""
    vault = office(tmp_path, "elblag", "changing_room")
    try:
        exc = refused(vault, r"art\. 22² §2", zone="pokój changing_room")
        assert "art. 22² §2" in (exc.pl or "") and "§4" not in (exc.pl or "")
        camera(vault, "szatnia", zone="pokój changing_room",
               unrecognisable_reason=EXCEPTION["unrecognisable_reason"])
    finally:
        vault.close()


def test_a_social_room_is_not_in_the_codes_list_art_22_2_s2(tmp_path: Path) -> None:
    """Pleszew excludes no social room: a camera there needs no exception. (Miedziana Góra
    excludes it: the parametrised test above.)"""
    assert not [e for e in ZONE_KINDS["social_room"].exclusions if e.law == "kp_22_2"]
    vault = office(tmp_path, "pleszew", "social_room")
    try:
        camera(vault, "socjalny", zone="pokój social_room")
    finally:
        vault.close()


def test_the_recorder_refuses_a_camera_its_office_now_excludes_000_s1_3(tmp_path: Path) -> None:
    """A camera registered under the Code's exception stops recording once the office's
    policy excludes its room outright (the supervisor checks the policy in force)."""
    vault = office(tmp_path, "pleszew", "sanitary")
    camera(vault, "wc", zone="pokój sanitary", **EXCEPTION)
    (d,) = decide(vault)
    assert (d.record, d.state) == (True, "waiting")
    root = vault.root
    vault.close()
    config = root / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.video]\nexcluded_zones = ["sanitary"]\n'
                      'excluded_clause = "zał. nr 2 pkt 1 ppkt 3"\n')
    vault = Vault.open(root)
    try:
        (d,) = decide(vault)
        assert (d.record, d.state) == (False, "refused")
        assert "refused outright" in d.reason
    finally:
        vault.close()


# -- item 5: the office's own purposes ------------------------------------------------------

OWN_PURPOSES = {"elblag": ["employee_safety", "property"],
                "pleszew": ["public_order", "employee_safety", "property", "secrecy"],
                "miedziana-gora": ["public_order", "employee_safety", "property", "secrecy"],
                "boleslawiec": [], "walbrzych": []}


@pytest.mark.parametrize("preset", sorted(OWN_PURPOSES))
def test_each_preset_allows_only_its_regulations_purposes_000_s1_1_002_zal5_s2_003_s2(
        preset: str) -> None:
    video = load_policy(preset).video
    assert list(video.purposes) == OWN_PURPOSES[preset]
    for purpose in ("employee_safety", "property", "production_control", "secrecy"):
        if purpose in OWN_PURPOSES[preset]:
            assert check_purposes([purpose], video) == (purpose,)
        else:
            with pytest.raises(InputError):
                check_purposes([purpose], video)


def test_elblag_refuses_production_control_000_s1_1(tmp_path: Path) -> None:
    vault = office(tmp_path, "elblag")
    try:
        exc = refused(vault, r"not a purpose of this office's video monitoring.*000 §1\.1",
                      purpose="production_control")
        assert "„kontrola produkcji”" in (exc.pl or "")
        assert ("employee_safety (zapewnienie bezpieczeństwa pracowników (art. 22² § 1 "
                "Kodeksu pracy)); property (ochrona mienia urzędu" in (exc.pl or ""))
        refused(vault, "not a purpose", name="tajemnica", purpose="secrecy")
        camera(vault, "hol", purpose="employee_safety")
    finally:
        vault.close()


def test_an_office_without_video_refuses_every_camera_purpose_001_s1_1() -> None:
    with pytest.raises(InputError, match="provides no video monitoring") as exc:
        check_purposes(["property"], load_policy("boleslawiec").video)
    assert "nie przewiduje monitoringu wizyjnego" in (exc.value.pl or "")


@pytest.mark.parametrize(("video", "message"), [
    ({"purposes": ["surveillance_of_work"]}, "unknown 'surveillance_of_work'"),
    ({"excluded_zones": ["bathroom"]}, "unknown 'bathroom'"),
    ({"excluded_zones": ["sanitary"]}, "needs video.excluded_clause"),
    ({"purposes": "property"}, "wrong type"),
])
def test_bad_video_policy_is_refused(video: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policy("pleszew", {"video": video})


# -- item 6: no invented deadline ------------------------------------------------------------

def test_no_request_deadline_where_the_seed_sets_none_000_s1_14_001_003_s5_6() -> None:
    for preset in ("elblag", "boleslawiec", "miedziana-gora"):
        policy = load_policy(preset)
        assert (policy.request_deadline, policy.after_deadline) == (None, None)
        assert policy.as_dict()["requests"]["deadline"] is None


def test_pleszew_and_walbrzych_keep_their_14_days_002_zal5_s6_4_004_s7_4() -> None:
    pleszew, walbrzych = load_policy("pleszew"), load_policy("walbrzych")
    assert (pleszew.request_deadline, pleszew.after_deadline) == (Period(14, "days"), "reject")
    assert (walbrzych.request_deadline, walbrzych.after_deadline) == (Period(14, "days"), "warn")


def test_an_office_may_set_its_own_deadline_in_kustosz_toml() -> None:
    policy = load_policy("miedziana-gora", {"requests": {"deadline": "7 days",
                                                         "after_deadline": "warn"}})
    assert (policy.request_deadline, policy.after_deadline) == (Period(7, "days"), "warn")
    with pytest.raises(ConfigError, match=r"after_deadline needs requests\.deadline"):
        load_policy("elblag", {"requests": {"after_deadline": "reject"}})
    # a deadline needs what follows it: told as missing, never as "None" (issue 66 item 5)
    with pytest.raises(ConfigError, match="after_deadline is missing: one of reject, warn"):
        load_policy("elblag", {"requests": {"deadline": "14 days"}})


def test_a_request_two_months_after_the_event_is_not_late_in_miedziana_gora_003_s5_6(
        tmp_path: Path) -> None:
    vault = office(tmp_path, "miedziana-gora")
    try:
        camera(vault, "hol")
        tz = vault.policy.timezone
        today = datetime.now(UTC).astimezone(tz).date()
        event = today - timedelta(days=60)
        with vault.transaction() as s:
            req = register_request(s, vault.policy, RequestSpec(
                kind="interested", material="video", requester="Jan Żółkiewski",
                received_on=today, event_date=event, purpose="dowód w sprawie",
                approx_time="12:00", place="Ratusz/hol parter", margin_minutes=1,
                description="kradzież roweru"), "test")
            assert (req.status, req.late) == ("registered", False)
            assert "po terminie" not in (req.warning or "")
            _name, data = request_form(s, vault.policy, req.id)
        assert "po terminie" not in json.dumps(data, ensure_ascii=False)
    finally:
        vault.close()


# -- citations: no cap for e-mail or IT monitoring -----------------------------------------

def test_a_mailbox_period_over_3_months_is_accepted_art_22_3_s3(tmp_path: Path,
                                                                 cli: Cli) -> None:
    policy = load_policy("elblag", {"retention": {"mailbox": "4 months",
                                                  "endpoint": "6 months"}})
    assert policy.retention["mailbox"] == Period(4, "months")
    assert policy.retention["endpoint"] == Period(6, "months")
    cli("init", "--preset", "elblag")
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text() + '\n[policy.retention]\nmailbox = "4 months"\n')
    shown = json.loads(cli("policy", "show", "--json").stdout)
    assert shown["retention"]["mailbox"] == "4 months"


def test_video_keeps_its_statutory_cap_and_cites_only_art_22_2_s3() -> None:
    with pytest.raises(ConfigError, match=r"statutory maximum") as exc:
        load_policy("elblag", {"retention": {"camera": "4 months"}})
    assert str(exc.value).endswith("(Kodeks pracy art. 22² §3)")
    assert "22³" not in str(exc.value) and "22³" not in (exc.value.pl or "")


# -- citations: the Labour Code as it reads ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Forbidden rooms are art. 22² §2 (not §4/§5); art. 22³ §4 sets no period; the notice is §7
# (not §8 with §6).
WRONG = [re.compile(r"22² §[45]\b"), re.compile(r"22² §8 w zw"),
         re.compile(r"22³ §4 applies"), re.compile(r"22² §3 / 22³ §4"),
         re.compile(r"22³ §1: monitoring must not"),
         re.compile(r"22³ §1\)\. System")]


def test_no_wrong_labour_code_citation_in_code_pages_presets_or_readme() -> None:
    """Art. 22² §2 for the rooms (not §4/§5), §7 for the notice; art. 22³ §2 for the secrecy
    of correspondence; no cap read into art. 22³ §4."""
    files = [p for p in (ROOT / "src" / "kustosz").rglob("*.py")
             if "documents" not in p.parts]  # documents: helper H4's, checked there
    files += list((ROOT / "src" / "kustosz" / "policy" / "presets").glob("*.toml"))
    files += list((ROOT / "src" / "kustosz" / "web" / "templates").glob("*.html"))
    files.append(ROOT / "README.md")
    files += sorted((ROOT / "docs").rglob("*.md"))  # the README's sections since issue 31
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files
             for rx in WRONG for m in rx.finditer(p.read_text("utf-8"))]
    assert found == []


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_value_cites_its_clause(name: str) -> None:
    """Every key = value line of a preset has a comment above it in its block (lines without
    a blank one between them), and the comment names a clause (§, zał., pkt) or says the seed
    is silent."""
    from importlib import resources

    text = (resources.files("kustosz.policy") / "presets" / f"{name}.toml").read_text()
    comment: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
        elif not stripped or stripped.startswith("["):
            comment = []
        elif "=" in stripped and not stripped.startswith(('"', "]")):
            key = stripped.split("=")[0].strip()
            if key.startswith(("name", "approver_title", "deputy_title", "timezone")):
                continue  # [office]: the office's names, not rules
            block = " ".join(comment)
            assert block, f"{name}: {key} has no comment"
            assert re.search(r"§|zał|pkt|seed|regulation|Kodeks", block), \
                f"{name}: {key}: {block[:80]}"


@pytest.mark.parametrize("preset", [p for p in preset_names() if load_policy(p).video.purposes])
def test_no_office_monitors_a_room_made_available_to_a_trade_union_art_22_2_s1_1(
        tmp_path: Path, preset: str) -> None:
    """Kodeks pracy art. 22² §1¹ (since 4 May 2019): such rooms are never monitored — neither
    the Code's exception of §2 nor any office setting opens them."""
    vault = office(tmp_path, preset, "union_room")
    try:
        exc = refused(vault, r"§1¹", zone="pokój union_room",
                      purpose=vault.policy.video.purposes[0], **EXCEPTION)
        assert "organizacji związkowej" in (exc.pl or "") and "bez wyjątków" in (exc.pl or "")
    finally:
        vault.close()
