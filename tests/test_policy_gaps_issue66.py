"""Issue 66, the gaps docs/examples/presets/README.md lists: what a real regulation says that a
preset file could not. A purpose resting on two acts (DPS Kąty § 2 pkt 1: art. 4b u.s.p. and
art. 22² § 1 k.p.), the places a regulation excludes printed on the clause and the sign ("Monitoring
nie obejmuje: …", Kąty § 4 ust. 1), the controller's NIP and REGON (Kąty § 3) and the clause's
own annex note (OUM Wrocław § 1 ust. 4: "w brzmieniu określonym w załączniku nr 3"). Each is
written in a file, checked as `kustosz policy check` checks it, and printed by the real
documents; each bad value is refused with its line and a Polish reason, and nothing is created.
Names are Polish; emoji only where the vault keeps them (a site, a zone: the documents' font
has none, and the policy check refuses them in a printed text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kustosz.cameras.rules import check_place
from kustosz.cli.policy_show import _video_rows
from kustosz.config_schema.policy_file import check_preset_file, read_preset_file
from kustosz.documents import render
from kustosz.documents.clauses import clause_data, clause_points
from kustosz.documents.sign import sign_data
from kustosz.errors import FieldError
from kustosz.policy import Policy
from kustosz.policy.model import build_policy
from tests.conftest import Cli

# A powiat's care home as its regulation reads (after DPS Kąty; the numbers are the home's
# own, as its § 3 prints them: https://dps-katy.pl/monitoring, read 2026-11-29).
HOME = """[office]
name = "Dom Pomocy Społecznej „Zacisze” w Żółkowie"
name_genitive = "Domu Pomocy Społecznej „Zacisze” w Żółkowie"
name_locative = "Domu Pomocy Społecznej „Zacisze” w Żółkowie"
approver_title = "Dyrektor Domu"
approver_title_genitive = "Dyrektora Domu"
approver_title_accusative = "Dyrektora Domu"

[retention]
camera = "3 months"

[copies]
lifetime = "3 months"
counted_from = "copy_date"

[video]
# § 2
purposes = ["bezpieczenstwo", "property"]
purposes_clause = "Regulamin monitoringu, § 2"
# § 4 ust. 1
excluded_zones = ["resident_room", "sanitary", "pracownia"]
excluded_clause = "Regulamin monitoringu, § 4 ust. 1"

[video.own_purposes.bezpieczenstwo]
# § 2 pkt 1: the residents' half on art. 4b u.s.p., the employees' on art. 22² § 1 k.p.
text = "zapewnienie bezpieczeństwa pracowników i mieszkańców"
genitive = "zapewnienia bezpieczeństwa pracowników i mieszkańców"
basis = ["usp_4b", "kp_22_2"]

[video.zone_kinds.pracownia]
name = "pracownia terapii zajęciowej"
plural_genitive = "pracowni terapii zajęciowej"
place = "inside"

[documents]
controller = "Dom Pomocy Społecznej „Zacisze” w Żółkowie"
address = "Żółkowo 22, 05-332 Siennica"
# § 3: "NIP 822 -10-46-016  REGON 711656530", as the page writes them
nip = "822-10-46-016"
regon = "711656530"

[documents.annexes]
clause = "Załącznik nr 3 do Regulaminu monitoringu „Zacisze”"
"""

TWO_ACTS = ("art. 4b ustawy o samorządzie powiatowym oraz art. 22² § 1 Kodeksu pracy")
EXCLUDED = ("Monitoring nie obejmuje: pokoi mieszkalnych, pomieszczeń sanitarnych oraz "
            "pracowni terapii zajęciowej.")


def _file(tmp_path: Path, text: str = HOME) -> Path:
    path = tmp_path / "dps.toml"
    path.write_text(text, "utf-8")
    return path


def _policy(tmp_path: Path, text: str = HOME) -> Policy:
    path = _file(tmp_path, text)
    assert check_preset_file(path) == []
    return build_policy(read_preset_file(path))


def _pdf_text(pdf: bytes) -> str:
    import subprocess
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, check=True, capture_output=True,
                          timeout=60)
    return " ".join(done.stdout.decode("utf-8").split())


# -- 1. a purpose on two acts ---------------------------------------------------------------

def test_a_purpose_rests_on_every_act_its_file_lists(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    purpose = policy.video.purpose("bezpieczenstwo")
    assert purpose.bases == ("usp_4b", "kp_22_2")
    assert purpose.law == TWO_ACTS
    # the register's column and `kustosz policy show` print both, joined in Polish
    assert purpose.cited == f"zapewnienie bezpieczeństwa pracowników i mieszkańców ({TWO_ACTS})"
    shown = dict(_video_rows(policy))["purposes of the cameras"]
    assert f"bezpieczenstwo: zapewnienie bezpieczeństwa pracowników i mieszkańców ({TWO_ACTS})" \
        in shown
    # one act stays one, with no "oraz"
    assert policy.video.purpose("property").law == "art. 22² § 1 Kodeksu pracy"


def test_each_act_a_purpose_rests_on_closes_its_rooms(tmp_path: Path) -> None:
    """A canteen: art. 22² § 2 k.p. opens it on conditions, art. 4b ust. 2 u.s.p. closes it
    outright. A camera serving the two-act purpose is refused there as art. 4b commands."""
    policy = _policy(tmp_path)
    with pytest.raises(FieldError) as refused:
        check_place("canteen", ["bezpieczenstwo"], "twarze rozmyte", None, video=policy.video)
    assert "art. 4b ust. 2 ustawy o samorządzie powiatowym" in refused.value.pl
    assert "bez wyjątków" in refused.value.pl


def test_the_register_prints_both_acts(tmp_path: Path) -> None:
    from datetime import date

    from kustosz.cameras.register import (
        CameraSpec,
        add_camera,
        add_site,
        add_zone,
        camera_rows,
        register_rows,
    )
    from kustosz.vault import Vault

    vault = Vault.init(tmp_path / "vault", None, actor="t", preset_file=HOME)
    try:
        with vault.transaction() as s:
            add_site(s, "Dom 🏡", "t")
            add_zone(s, "Dom 🏡", "korytarz parteru", "corridor", "t", vault.policy)
        spec = CameraSpec("k1", "Dom 🏡", "korytarz parteru", "rtsp://10.0.0.9/s",
                          ("bezpieczenstwo", "property"), date(2026, 1, 1), date(2026, 1, 1))
        with vault.transaction() as s:
            add_camera(s, vault.policy, spec, "t")
        with vault.reading() as s:
            (row,) = register_rows(camera_rows(s, vault.policy, True))
        assert row[3] == (f"zapewnienie bezpieczeństwa pracowników i mieszkańców ({TWO_ACTS}); "
                          "ochrona mienia (art. 22² § 1 Kodeksu pracy)")
    finally:
        vault.close()


# -- 2. the places excluded, printed ------------------------------------------------------------

def test_the_clause_and_the_sign_say_what_monitoring_does_not_cover(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert EXCLUDED in clause_points(policy, "camera")
    assert EXCLUDED in sign_data(policy)["lines"]
    assert EXCLUDED in _pdf_text(render("clause", clause_data(policy, "camera")))
    assert EXCLUDED in _pdf_text(render("sign", sign_data(policy)))


def test_a_built_in_kind_is_said_in_the_regulations_words(tmp_path: Path) -> None:
    """Kąty § 4 ust. 1: "gabinetu doraźnej pomocy medycznej", not the built-in "gabinetów
    medycznych"; the kind stays the built-in one, closed as the statutes close it."""
    text = HOME.replace('["resident_room", "sanitary", "pracownia"]',
                        '["resident_room", "medical_room", "sanitary"]') + """
[video.zone_kinds.medical_room]
plural_genitive = "gabinetu doraźnej pomocy medycznej"
"""
    policy = _policy(tmp_path, text)
    assert ("Monitoring nie obejmuje: pokoi mieszkalnych, gabinetu doraźnej pomocy medycznej "
            "oraz pomieszczeń sanitarnych.") in clause_points(policy, "camera")
    kind = policy.video.kind("medical_room")
    assert (kind.name, kind.own) == ("gabinet medyczny", False)
    assert kind.exclusions and kind.exclusions[0].outright
    # anything more than its words is still refused: the kind is the statutes'
    more = text + 'forbidden = false\n'
    (problem,) = check_preset_file(_file(tmp_path, more))
    assert problem.where == "video.zone_kinds.medical_room"
    assert "tylko plural_genitive" in problem.pl


def test_nothing_is_said_where_nothing_is_excluded(tmp_path: Path) -> None:
    text = HOME.replace('excluded_zones = ["resident_room", "sanitary", "pracownia"]',
                        "excluded_zones = []")
    policy = _policy(tmp_path, text)
    printed = " ".join(clause_points(policy, "camera") + sign_data(policy)["lines"])
    assert "nie obejmuje" not in printed


def test_a_whole_group_is_said_as_the_group(tmp_path: Path) -> None:
    text = HOME.replace('excluded_zones = ["resident_room", "sanitary", "pracownia"]',
                        'excluded_zones = ["inside"]')
    policy = _policy(tmp_path, text)
    assert "Monitoring nie obejmuje: pomieszczeń wewnątrz budynków." in \
        clause_points(policy, "camera")


def test_an_own_clause_places_the_sentence_where_its_regulation_does(tmp_path: Path) -> None:
    own = HOME + """
[documents.clause]
camera = ["Administratorem jest {controller}.", "{exclusions}", "Nagrania: {period}."]
"""
    assert _policy(tmp_path, own).documents["clause"]["camera"]
    assert clause_points(_policy(tmp_path, own), "camera") == [
        "Administratorem jest Dom Pomocy Społecznej „Zacisze” w Żółkowie.", EXCLUDED,
        "Nagrania: 3 miesiące."]
    # none excluded: the point that held only the sentence is gone, nothing dotted
    none = own.replace('excluded_zones = ["resident_room", "sanitary", "pracownia"]',
                       "excluded_zones = []")
    assert clause_points(_policy(tmp_path, none), "camera") == [
        "Administratorem jest Dom Pomocy Społecznej „Zacisze” w Żółkowie.",
        "Nagrania: 3 miesiące."]


# -- 3. NIP and REGON -----------------------------------------------------------------------

def test_the_clause_prints_the_controllers_nip_and_regon(tmp_path: Path) -> None:
    (first, *_) = clause_points(_policy(tmp_path), "camera")
    assert first.endswith(", NIP: 822-10-46-016, REGON: 711656530).")
    without = re.sub(r'(?m)^(nip|regon) = .*$', "", HOME)
    (first, *_) = clause_points(_policy(tmp_path, without), "camera")
    assert "NIP" not in first and "REGON" not in first


@pytest.mark.parametrize("regon", ["711656530", "12345678512347", "711 656 530"])
def test_a_regon_of_nine_or_fourteen_digits_is_taken(tmp_path: Path, regon: str) -> None:
    text = HOME.replace('regon = "711656530"', f'regon = "{regon}"')
    assert regon in clause_points(_policy(tmp_path, text), "camera")[0]


BAD_NUMBERS = {
    "a NIP with a wrong check digit": ('nip = "822-10-46-016"', 'nip = "822-10-46-017"',
                                       "documents.nip", "nie jest poprawnym numerem NIP"),
    "a NIP of nine digits": ('nip = "822-10-46-016"', 'nip = "822-10-46-01"',
                             "documents.nip", "10 cyfr"),
    "a NIP with letters": ('nip = "822-10-46-016"', 'nip = "PL8221046016"',
                           "documents.nip", "nie jest poprawnym numerem NIP"),
    "a REGON with a wrong check digit": ('regon = "711656530"', 'regon = "711656531"',
                                         "documents.regon", "9 albo 14 cyfr"),
    "a REGON of ten digits": ('regon = "711656530"', 'regon = "7116565301"',
                              "documents.regon", "nie jest poprawnym numerem REGON"),
}


@pytest.mark.parametrize("case", sorted(BAD_NUMBERS))
def test_a_bad_number_is_refused_with_its_line(case: str, cli: Cli, tmp_path: Path) -> None:
    old, new, where, said = BAD_NUMBERS[case]
    path = _file(tmp_path, HOME.replace(old, new))
    (problem,) = check_preset_file(path)
    assert problem.where == where and said in problem.pl and "None" not in problem.pl
    assert problem.line is not None
    assert path.read_text("utf-8").splitlines()[problem.line - 1] == new
    result = cli("init", "--preset-file", str(path), ok=False)
    assert result.exit_code != 0 and not (cli.data / "kustosz.toml").exists()


# -- 4. the clause's annex note ---------------------------------------------------------------

def test_the_clause_prints_its_annex_note_and_the_sign_does_not(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    note = "Załącznik nr 3 do Regulaminu monitoringu „Zacisze”"
    assert clause_data(policy, "camera")["annex"] == note
    assert "Załącznik nr 3 do Regulaminu monitoringu" in _pdf_text(
        render("clause", clause_data(policy, "camera")))
    assert "Załącznik nr 3" not in _pdf_text(render("sign", sign_data(policy)))


# -- bad bases -------------------------------------------------------------------------------

BAD_BASES = {
    "an unknown act in the list": ('basis = ["usp_4b", "kp_22_2"]',
                                   'basis = ["usp_4b", "ustawa_o_dps"]',
                                   "nieznana podstawa „ustawa_o_dps”"),
    "an empty list": ('basis = ["usp_4b", "kp_22_2"]', "basis = []",
                      "Brak zasady video.own_purposes.bezpieczenstwo.basis"),
    "a number": ('basis = ["usp_4b", "kp_22_2"]', "basis = 4", "musi być tekstem"),
}


@pytest.mark.parametrize("case", sorted(BAD_BASES))
def test_a_bad_basis_is_refused_with_its_line(case: str, cli: Cli, tmp_path: Path) -> None:
    old, new, said = BAD_BASES[case]
    path = _file(tmp_path, HOME.replace(old, new))
    problems = [p for p in check_preset_file(path)
                if p.where.startswith("video.own_purposes.bezpieczenstwo.basis")]
    assert problems, check_preset_file(path)
    problem = problems[0]
    assert said in problem.pl and "None" not in problem.pl
    assert problem.line is not None
    assert path.read_text("utf-8").splitlines()[problem.line - 1] == new
    result = cli("init", "--preset-file", str(path), ok=False)
    assert result.exit_code != 0 and not (cli.data / "kustosz.toml").exists()
