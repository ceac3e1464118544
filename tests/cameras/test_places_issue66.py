"""Issue 66 item 1: places and purposes as data, with the law's floor built in.

The finding: a care home could not name the rooms its regulation excludes ("pokoje mieszkalne,
gabinet doraźnej pomocy medycznej"), a camera in an `ordinary` zone named "pokój mieszkalny 12"
was accepted, a starostwo had to list twelve kinds to exclude "every room inside the
buildings", `entrance` was ambiguous, and public-order purposes (art. 9a u.s.g., art. 4b
u.s.p.) could not be a camera's. Here a preset declares its own kinds and purposes, the
statutes' rooms stay closed whatever it says, and the CLI refuses with a Polish reason,
changing nothing. Names are Polish, with emoji."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import Cli, make_vault, snapshot

from kustosz.cameras.register import (
    CameraSpec,
    add_camera,
    add_site,
    add_zone,
    camera_rows,
    register_rows,
)
from kustosz.config_schema.policy_file import check_preset_file
from kustosz.documents.clauses import clause_points
from kustosz.documents.sign import sign_data
from kustosz.errors import InputError
from kustosz.ingest.camera.supervisor import decide
from kustosz.vault import Vault
from kustosz.words import listing

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "presets"
LONG_AGO = date(2026, 1, 1)
UNRECOGNISABLE = "maska prywatności na całym kadrze — sylwetki rozmyte 🔒"
CONSENT = "porozumienie z przedstawicielami pracowników z 10.01.2026"

# A powiat's care home (DPS) as its regulation reads: residents' safety (art. 4b u.s.p.),
# property (art. 22² § 1 k.p.); the residents' rooms, the medical room, the sanitary rooms
# and its occupational therapy room excluded.
DPS_VIDEO = """[video]
# § 2: the purposes.
purposes = ["residents_safety", "public_order_powiat", "property"]
purposes_clause = "Regulamin monitoringu DPS „Zacisze”, § 2"
# § 3: "Monitoring nie obejmuje pokoi mieszkalnych, gabinetu doraźnej pomocy medycznej,
# pomieszczeń sanitarnych oraz pracowni terapii zajęciowej".
excluded_zones = ["resident_room", "medical_room", "sanitary", "pracownia_terapii"]
excluded_clause = "Regulamin monitoringu DPS „Zacisze”, § 3"

[video.own_purposes.residents_safety]
# § 2 pkt 1.
text = "zapewnienie bezpieczeństwa mieszkańców domu"
genitive = "zapewnienia bezpieczeństwa mieszkańców domu"
basis = "usp_4b"

[video.zone_kinds.pracownia_terapii]
# § 3: the home's own room.
name = "pracownia terapii zajęciowej"
plural_genitive = "pracowni terapii zajęciowej"
place = "inside"
forbidden = true
also = ["terapia zajęciowa"]

"""


def dps_file(tmp_path: Path, video: str = DPS_VIDEO) -> Path:
    source = (EXAMPLES / "rawicz.toml").read_text("utf-8")
    changed = re.sub(r"(?s)\n\[video\]\n.*?\n(?=\[disclosure\])", "\n" + video, source)
    assert changed != source
    path = tmp_path / "dps.toml"
    path.write_text(changed, "utf-8")
    return path


@pytest.fixture
def dps(cli: Cli, tmp_path: Path) -> tuple[Cli, Vault]:
    path = dps_file(tmp_path)
    assert check_preset_file(path) == []
    cli("init", "--preset-file", str(path))
    cli("sites", "add", "Dom Pomocy Społecznej „Zacisze” 🌳")
    for name, kind in (("pokój mieszkalny 12 🛏️", "resident_room"),
                       ("korytarz I piętro — skrzydło Ż", "corridor"),
                       ("pracownia terapii zajęciowej 🎨", "pracownia_terapii"),
                       ("gabinet doraźnej pomocy medycznej", "medical_room"),
                       ("podjazd przed wejściem", "entrance_outside")):
        cli("zones", "add", name, "--site", "Dom Pomocy Społecznej „Zacisze” 🌳", "--kind", kind)
    (cli.data.parent / "haslo.txt").write_text("Józef-Żółć-1\n")
    return cli, Vault.open(cli.data)


def add(cli: Cli, name: str, zone: str, *purposes: str, ok: bool = True,
        extra: tuple[str, ...] = ()) -> object:
    args = ["cameras", "add", name, "--site", "Dom Pomocy Społecznej „Zacisze” 🌳", "--zone",
            zone, "--url", "rtsp://operator@10.1.1.20/s", "--notice-date", "2026-01-01",
            "--signage-date", "2026-01-10", "--password-file",
            str(cli.data.parent / "haslo.txt"), *extra]
    for p in purposes:
        args += ["--purpose", p]
    return cli(*args, ok=ok)


def refused_by_cli(cli: Cli, vault: Vault, *args: str) -> str:
    before = snapshot(vault)
    result = cli(*args, ok=False)
    assert result.exit_code == 2, result.output
    assert snapshot(vault) == before
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines[0].startswith("błąd:") and lines[1].startswith("error:"), result.output
    assert "Józef-Żółć-1" not in result.output
    return " ".join(result.output.split())


def test_a_care_home_names_its_rooms_and_a_camera_in_them_is_refused(
        dps: tuple[Cli, Vault]) -> None:
    cli, vault = dps
    site = "Dom Pomocy Społecznej „Zacisze” 🌳"
    base = ["cameras", "add", "kamera-x", "--site", site, "--url",
            "rtsp://operator@10.1.1.20/s", "--purpose", "residents_safety",
            "--unrecognisable-reason", UNRECOGNISABLE, "--representatives-consent", CONSENT,
            "--password-file", str(cli.data.parent / "haslo.txt")]
    said = refused_by_cli(cli, vault, *base, "--zone", "pokój mieszkalny 12 🛏️")
    assert "Kamera w strefie rodzaju „pokój mieszkalny” jest niedozwolona bez wyjątków" in said
    said = refused_by_cli(cli, vault, *base, "--zone", "pracownia terapii zajęciowej 🎨")
    assert "„pracownia terapii zajęciowej”" in said and "DPS „Zacisze”, § 3" in said
    said = refused_by_cli(cli, vault, *base, "--zone", "gabinet doraźnej pomocy medycznej")
    assert "bez wyjątków" in said
    # the statutes' floor holds whatever the file says: without the office's exclusion too
    bare = Vault.open(cli.data)
    try:
        assert bare.policy.video.kind("resident_room").exclusions
    finally:
        bare.close()
    add(cli, "korytarz-1", "korytarz I piętro — skrzydło Ż", "residents_safety", "property")
    add(cli, "podjazd", "podjazd przed wejściem", "public_order_powiat")
    shown = {c["name"]: c for c in json.loads(cli("cameras", "list", "--locations",
                                                  "--json").output)}
    assert shown["korytarz-1"]["purposes"] == ["residents_safety", "property"]
    assert shown["korytarz-1"]["purposes_cited"] == [
        "zapewnienie bezpieczeństwa mieszkańców domu (art. 4b ustawy o samorządzie "
        "powiatowym)", "ochrona mienia (art. 22² § 1 Kodeksu pracy)"]
    kinds = json.loads(cli("zones", "kinds", "--json").output)
    own = next(k for k in kinds if k["kind"] == "pracownia_terapii")
    assert own["excluded"] and own["name"] == "pracownia terapii zajęciowej"


def test_a_zone_named_for_a_closed_kind_cannot_be_registered_as_another(
        dps: tuple[Cli, Vault]) -> None:
    """The finding's "pokój mieszkalny 12" in an `ordinary` zone: the exclusion would exist
    only on paper. A name that merely mentions such a room passes."""
    cli, vault = dps
    site = "Dom Pomocy Społecznej „Zacisze” 🌳"
    for name, kind, said in (
            ("Pokój Mieszkalny 14 😴", "ordinary", "„pokój mieszkalny”"),
            ("toaleta damska 🚺", "corridor", "„pomieszczenie sanitarne”"),
            ("Terapia zajęciowa — sala 2", "customer_hall", "„pracownia terapii zajęciowej”"),
            ("szatnia personelu", "ordinary", "„szatnia”")):
        words = refused_by_cli(cli, vault, "zones", "add", name, "--site", site, "--kind", kind)
        assert said in words and f"„{name}”" in words
    cli("zones", "add", "korytarz przy toaletach 🚻", "--site", site, "--kind", "corridor")


def test_an_entrance_is_inside_or_outside(dps: tuple[Cli, Vault]) -> None:
    cli, vault = dps
    words = refused_by_cli(cli, vault, "zones", "add", "wejście główne", "--site",
                           "Dom Pomocy Społecznej „Zacisze” 🌳", "--kind", "entrance")
    assert "niejednoznaczny" in words and "entrance_inside" in words


def test_a_camera_serves_several_purposes_each_in_force(dps: tuple[Cli, Vault]) -> None:
    cli, vault = dps
    before = snapshot(vault)
    refused = add(cli, "k2", "korytarz I piętro — skrzydło Ż", "property", "secrecy", ok=False)
    assert refused.exit_code == 2 and snapshot(vault) == before
    assert "Cel „zachowanie w tajemnicy informacji" in " ".join(refused.output.split())
    assert "residents_safety (zapewnienie bezpieczeństwa mieszkańców domu" in \
        " ".join(refused.output.split())
    done = add(cli, "k2", "korytarz I piętro — skrzydło Ż", "property", "property",
               "residents_safety")
    assert "purposes: ochrona mienia; zapewnienie bezpieczeństwa mieszkańców domu" in \
        " ".join(done.output.split())


# -- the statutes' rules, by the camera's purposes -------------------------------------------

def office(tmp_path: Path, overrides: str = "") -> Vault:
    vault = make_vault(tmp_path / "v", "pleszew")
    root = vault.root
    vault.close()
    if overrides:
        config = root / "kustosz.toml"
        config.write_text(config.read_text("utf-8") + "\n" + overrides, "utf-8")
    vault = Vault.open(root)
    with vault.transaction() as s:
        add_site(s, "Urząd 🏛️", "test")
    return vault


def zone(vault: Vault, name: str, kind: str) -> str:
    with vault.transaction() as s:
        add_zone(s, "Urząd 🏛️", name, kind, "test", vault.policy)
    return name


def camera(vault: Vault, name: str, zone_name: str, *purposes: str, **kw: str) -> None:
    spec = CameraSpec(name, "Urząd 🏛️", zone_name, "rtsp://10.0.0.9/s", purposes,
                      notice_date=LONG_AGO, signage_date=LONG_AGO, **kw)  # type: ignore[arg-type]
    with vault.transaction() as s:
        add_camera(s, vault.policy, spec, "test")


def refused(vault: Vault, match: str, *args: object, **kw: str) -> str:
    before = snapshot(vault)
    with pytest.raises(InputError) as exc:
        camera(vault, *args, **kw)  # type: ignore[arg-type]
    assert snapshot(vault) == before
    assert re.search(match, exc.value.pl or ""), exc.value.pl
    return exc.value.pl or ""


def test_public_order_purposes_close_the_rooms_of_art_9a_u_s_g(tmp_path: Path) -> None:
    """Art. 9a ust. 2 u.s.g.: no monitoring of sanitary rooms, changing rooms, canteens,
    smoking rooms and social facilities — for a camera serving the commune's purpose, with no
    exception; the employer's camera keeps the Code's exception (art. 22² §2)."""
    vault = office(tmp_path)
    try:
        canteen = zone(vault, "stołówka 🍲 parter", "canteen")
        social = zone(vault, "pomieszczenie socjalne — Żuraw", "social_room")
        refused(vault, r"bez wyjątków dla kamery o celu z art\. 9a ustawy o samorządzie "
                       r"gminnym: art\. 9a ust\. 2", "s1", canteen, "public_order",
                unrecognisable_reason=UNRECOGNISABLE)
        refused(vault, r"art\. 9a ust\. 2", "s2", social, "property", "public_order")
        camera(vault, "s3", canteen, "property", unrecognisable_reason=UNRECOGNISABLE)
        camera(vault, "s4", social, "property")
    finally:
        vault.close()


SCHOOL = ('[policy.video]\npurposes = ["school_safety", "school_property", "property"]\n'
          'purposes_clause = "Zarządzenie Dyrektora Szkoły nr 5/2026, § 1"\n')


def test_a_school_keeps_its_rooms_closed_unless_necessary_and_unrecognisable(
        tmp_path: Path) -> None:
    """Art. 108a ust. 3 p.o.: a school's rooms (lessons, psychological help, staff rest,
    sanitary, the health room, changing rooms) only where necessary and unrecognisable — a
    classroom whatever the camera's purpose; a toilet also needs the Code's consent."""
    vault = office(tmp_path, SCHOOL)
    try:
        klasa = zone(vault, "sala lekcyjna 12 📚", "classroom")
        toaleta = zone(vault, "toaleta 🚻 parter", "sanitary")
        refused(vault, r"art\. 108a ust\. 3 ustawy – Prawo oświatowe", "c1", klasa, "property")
        camera(vault, "c1", klasa, "school_safety", unrecognisable_reason=UNRECOGNISABLE)
        refused(vault, r"uprzedniej zgody", "t1", toaleta, "school_safety",
                unrecognisable_reason=UNRECOGNISABLE)
        camera(vault, "t1", toaleta, "school_safety", unrecognisable_reason=UNRECOGNISABLE,
               representatives_consent=CONSENT)
    finally:
        vault.close()


INSIDE = ('[policy.video]\nexcluded_zones = ["inside"]\n'
          'excluded_clause = "Regulamin monitoringu Starostwa, § 2 ust. 3"\n')


def test_every_room_inside_the_buildings_is_excluded_at_once(tmp_path: Path) -> None:
    vault = office(tmp_path, INSIDE)
    try:
        hall = zone(vault, "hol główny", "entrance_inside")
        gate = zone(vault, "brama wjazdowa 🚗", "entrance_outside")
        yard = zone(vault, "parking dla interesantów", "parking")
        with vault.transaction() as s:  # an entrance registered before it was split
            s.execute(text("INSERT INTO camera_zones (site_id, name, kind, created_at) SELECT "
                           "id, 'wejście', 'entrance', created_at FROM camera_sites"))
        for name, where in (("h", hall), ("e", "wejście")):
            refused(vault, r"bez wyjątków: regulamin urzędu wyłącza takie miejsca.*§ 2 ust\. 3",
                    name, where, "property")
        camera(vault, "g", gate, "property")
        camera(vault, "p", yard, "employee_safety")
        assert vault.policy.video.excluded_words() == "pomieszczeń wewnątrz budynków"
    finally:
        vault.close()


def test_a_kind_the_policy_no_longer_declares_stops_its_camera(tmp_path: Path) -> None:
    own = ('[policy.video.zone_kinds.archiwum_zakladowe]\nname = "archiwum zakładowe"\n'
           'place = "inside"\n')
    vault = office(tmp_path, own)
    camera(vault, "a", zone(vault, "archiwum zakładowe 📦", "archiwum_zakladowe"), "property")
    assert [d.state for d in decide(vault)] == ["waiting"]
    root = vault.root
    vault.close()
    config = root / "kustosz.toml"
    config.write_text(config.read_text("utf-8").replace(own, ""), "utf-8")
    vault = Vault.open(root)
    try:
        (d,) = decide(vault)
        assert (d.record, d.state) == (False, "refused") and "archiwum_zakladowe" in d.reason
    finally:
        vault.close()


def test_the_register_the_sign_and_the_clause_print_the_same_purposes(tmp_path: Path) -> None:
    """Miedziana Góra (003 §2): public order under art. 9a u.s.g. is a camera's purpose, in
    the register with its basis, and the sign and the clause print the same ones."""
    vault = make_vault(tmp_path / "v", "miedziana-gora")
    try:
        with vault.transaction() as s:
            add_site(s, "Urząd Gminy", "test")
            add_zone(s, "Urząd Gminy", "korytarz", "corridor", "test", vault.policy)
        spec = CameraSpec("k1", "Urząd Gminy", "korytarz", "rtsp://10.0.0.9/s",
                          ("public_order", "property"), LONG_AGO, LONG_AGO)
        with vault.transaction() as s:
            add_camera(s, vault.policy, spec, "test")
        with vault.reading() as s:
            (row,) = register_rows(camera_rows(s, vault.policy, True))
        assert row[3] == (
            "zapewnienie porządku publicznego i bezpieczeństwa obywateli oraz ochrony "
            "przeciwpożarowej i przeciwpowodziowej (art. 9a ustawy o samorządzie gminnym); "
            "ochrona mienia Gminy (art. 22² § 1 Kodeksu pracy)")
        aims = listing([p.genitive for p in vault.policy.video.in_force()])
        sign = " ".join(sign_data(vault.policy)["lines"])
        clause = " ".join(clause_points(vault.policy, "camera"))
        for purpose in spec.purpose_codes:
            genitive = vault.policy.video.purpose(purpose).genitive
            assert genitive in sign and genitive in clause
        assert f"w celu {aims}." in sign and f"w celu {aims}." in clause
    finally:
        vault.close()


# -- bad files: refused with their line and a Polish reason, nothing created -----------------

BAD = {
    "a code in Polish letters": (
        "[video.zone_kinds.\"pokój_mieszkalny\"]\nname = \"pokój\"\nplace = \"inside\"\n",
        "video.zone_kinds.pokój_mieszkalny", "kod to małe litery"),
    "a kind named as a statute's": (
        "[video.zone_kinds.toaleta]\nname = \"Toaleta\"\nplace = \"inside\"\n",
        "video.zone_kinds.toaleta", "to już wbudowany rodzaj „sanitary”"),
    "a kind without its place": (
        "[video.zone_kinds.sala_sesyjna]\nname = \"sala sesyjna\"\n",
        "video.zone_kinds.sala_sesyjna.place", "Brak zasady video.zone_kinds.sala_sesyjna.place"),
    "an unknown basis": (
        "[video.own_purposes.porzadek]\ntext = \"porządek\"\ngenitive = \"porządku\"\n"
        "basis = \"ustawa_o_porzadku\"\n", "video.own_purposes.porzadek.basis",
        "nieznana podstawa „ustawa_o_porzadku”; dostępne: kp_22_2 (art. 22² § 1 Kodeksu pracy)"),
    "a purpose without its genitive": (
        "[video.own_purposes.porzadek]\ntext = \"porządek\"\nbasis = \"usp_4b\"\n",
        "video.own_purposes.porzadek.genitive", "genitive musi być niepustym tekstem"),
    "a statute's purpose on another basis": (
        "[video.own_purposes.property]\ntext = \"ochrona mienia\"\ngenitive = \"ochrony mienia\""
        "\nbasis = \"usp_4b\"\n", "video.own_purposes.property.basis", "nie podstawę"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_video_table_is_refused_with_its_line(case: str, cli: Cli, tmp_path: Path) -> None:
    table, where, said = BAD[case]
    path = dps_file(tmp_path, DPS_VIDEO + table + "\n")
    problems = check_preset_file(path)
    assert [p.where for p in problems] == [where], problems
    (problem,) = problems
    lines = path.read_text("utf-8").splitlines()
    assert problem.line is not None
    assert any(part in lines[problem.line - 1] for part in where.split(".")[2:])
    assert said in problem.pl and "None" not in problem.pl
    result = cli("init", "--preset-file", str(path), ok=False)
    assert result.exit_code != 0 and not (cli.data / "kustosz.toml").exists()


@pytest.mark.parametrize(("key", "value", "said"), [
    ("excluded_zones", '["pokoj_mieszkalny"]', "nieznane „pokoj_mieszkalny”"),
    ("purposes", '["porzadek_publiczny"]', "nieznane „porzadek_publiczny”")])
def test_an_undeclared_code_is_refused_naming_what_is_known(
        tmp_path: Path, key: str, value: str, said: str) -> None:
    video = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", DPS_VIDEO)
    (problem,) = check_preset_file(dps_file(tmp_path, video))
    assert problem.where == f"video.{key}" and said in problem.pl
    assert "resident_room (pokój mieszkalny)" in problem.pl or \
        "residents_safety (zapewnienie bezpieczeństwa mieszkańców domu)" in problem.pl
