"""Each office's own (issue 67 item 3): its copies numbered from 1/<year> whatever another
office numbered, its audit chain verifying alone; `offices list` telling each office by its
preset's name, Polish letters and emoji as written. The real `kustosz` command, real ffmpeg."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.custody.custody_helpers import segment_bytes
from tests.installation.install_helpers import PLESZEW_NAME, Install

from kustosz.cli import app, commands
from kustosz.config_schema.storage import Storage
from kustosz.installation.registry import resolve
from kustosz.installation.slugs import check_slug, suggestion
from kustosz.installation_layout import storage_lines, write_new

WARSAW_EVENT = time(9, 30)


def _copy_one(inst: Install, office: str, tmp: Path, camera: str) -> str:
    """A police request for two segments of ``camera`` agreed and copied; the copy's number."""
    def run(*args: str) -> str:
        return str(inst(*args, office=office).output)

    tz = ZoneInfo("Europe/Warsaw")
    event = datetime.combine(datetime.now(UTC).astimezone(tz).date() - timedelta(days=2),
                             WARSAW_EVENT, tzinfo=tz)
    run("sites", "add", "Ratusz", "--address", "Rynek 1")
    run("zones", "add", "hol parter", "--site", "Ratusz", "--kind", "corridor")
    run("cameras", "add", camera, "--site", "Ratusz", "--zone", "hol parter", "--url",
        "rtsp://192.0.2.10/stream", "--purpose", "property", "--notice-date", "2020-01-01",
        "--signage-date", "2020-01-01", "--segment-seconds", "2")
    for i in range(2):
        seg = tmp / f"{office}-{i}.ts"
        seg.write_bytes(segment_bytes())
        t = event + timedelta(seconds=2 * i - 2)
        run("ingest", "file", camera, str(seg), "--start", t.isoformat(), "--end",
            (t + timedelta(seconds=2)).isoformat())
    run("users", "add", "burmistrz", "--display", "Jan Kowalski", "--role", "approver")
    run("users", "add", "it", "--display", "Piotr Wiśniewski", "--role", "custodian")
    req = json.loads(run(
        "requests", "add", "--kind", "authority", "--material", "video", "--requester",
        "Komenda Powiatowa Policji w Pleszewie", "--case", "RSD-1/26", "--date",
        event.date().isoformat(), "--time", "09:30", "--margin", "1", "--place",
        "Ratusz/hol parter", "--description", "bójka w holu", "--purpose", "postępowanie",
        "--json"))
    rid = str(req["id"])
    run("requests", "decide", rid, "--agree", "--by", "burmistrz", "--paper-ref", "OR.1")
    run("copies", "make", rid, "--by", "it")
    copies = json.loads(run("copies", "list", "--json"))
    assert len(copies) == 1
    return str(copies[0]["number"])


def test_each_office_numbers_its_copies_and_verifies_its_chain_alone(inst: Install,
                                                                      tmp_path: Path) -> None:
    inst.init()
    town = inst.add("urzad")
    mops = inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie")
    year = datetime.now(UTC).year
    assert _copy_one(inst, town, tmp_path, "cam-ratusz") == f"1/{year}"
    assert _copy_one(inst, mops, tmp_path, "cam-mops") == f"1/{year}"  # not 2/<year>
    for office, other in ((town, "cam-mops"), (mops, "cam-ratusz")):
        verified = inst("audit", "verify", office=office)
        assert verified.exit_code == 0 and "audit log intact" in verified.output
        sources = inst("recordings", "list", "--json", office=office).output
        assert other not in sources  # the other office's camera is not in its index
    listed = {r["slug"]: r for r in json.loads(inst("offices", "list", "--json").output)
              ["offices"]}
    assert listed[town]["users"] == 2 and listed[mops]["users"] == 2


def test_offices_list_shows_the_names_as_written(inst: Install) -> None:
    inst.init("Gmina Żółkiewka — wspólna obsługa 🏛️")
    zlobek = inst.add("zlobek", "Żłobek „Słoneczko” w Żółkiewce 🌞")
    mops = inst.add("mops", "Gminny Ośrodek Pomocy Społecznej w Żółkiewce")
    shown = inst("offices", "list").output
    assert "Gmina Żółkiewka — wspólna obsługa 🏛️" in shown
    assert "Żłobek „Słoneczko” w Żółkiewce 🌞" in shown
    assert "Gminny Ośrodek Pomocy Społecznej w Żółkiewce" in shown
    as_json = json.loads(inst("offices", "list", "--json").output)
    assert as_json["installation"] == "Gmina Żółkiewka — wspólna obsługa 🏛️"
    rows = {r["slug"]: r for r in as_json["offices"]}
    assert rows[zlobek]["name"] == "Żłobek „Słoneczko” w Żółkiewce 🌞"
    assert rows[mops]["users"] == 0 and rows[mops]["created_at"].endswith("+00:00")
    scope = rows[zlobek]["scope"]
    assert (f"office_{zlobek.replace('-', '_')}" in scope) if inst.url else \
        (scope == f"SQLite: offices/{zlobek}/kustosz.db")
    # each office's own preset, told by its own `policy show`
    policy = json.loads(inst("policy", "show", "--json", office=zlobek).output)
    assert policy["office"]["name"] == "Żłobek „Słoneczko” w Żółkiewce 🌞"


def test_the_only_office_needs_no_option(tmp_path: Path) -> None:
    inst = Install(tmp_path / "gmina", "", tmp_path)
    inst.init()
    empty = inst("users", "list", ok=False)
    assert "nie ma jeszcze urzędów" in empty.output and "no offices yet" in empty.output
    only = inst.add("urzad")
    assert resolve(inst.root, None) == inst.root / "offices" / only
    assert inst("users", "list").exit_code == 0
    assert "audit log intact" in inst("audit", "verify").output


def test_slug_rules() -> None:
    for good in ("urzad", "mops", "sp1", "sp-1", "a", "a" * 40):
        assert check_slug(good) == good
    for bad in ("", "1sp", "-a", "Mops", "żłobek", "sp_1", "a" * 41, "a b", "a/b", ".."):
        try:
            check_slug(bad)
        except Exception as exc:
            assert "krótką nazwą urzędu" in str(getattr(exc, "pl", ""))
        else:
            raise AssertionError(f"{bad!r} taken")
    assert suggestion("Żłobek Nr 1") == "zlobek-nr-1"
    assert suggestion("SP 1 w Łodzi") == "sp-1-w-lodzi"
    assert suggestion("123") == ""


def test_office_from_the_environment_and_the_command_word(inst: Install) -> None:
    inst.init()
    town = inst.add("urzad")
    mops = inst.add("mops", "Miejski Ośrodek Pomocy Społecznej w Pleszewie")
    # a command line's first word is found past --office and its value: only its modules load
    args = ["--data", str(inst.root), "--office", mops, "users", "list"]
    assert commands.first_word(args) == "users"
    assert commands.first_word(["--office=mops", "audit", "verify"]) == "audit"
    by_env = inst.runner.invoke(app, ["--data", str(inst.root), "policy", "show", "--json"],
                                env={"KUSTOSZ_OFFICE": mops})
    assert by_env.exit_code == 0, by_env.output
    assert json.loads(by_env.output)["office"]["name"] == \
        "Miejski Ośrodek Pomocy Społecznej w Pleszewie"
    # the option wins over the environment
    by_option = inst.runner.invoke(app, ["--data", str(inst.root), "--office", town, "policy",
                                         "show", "--json"], env={"KUSTOSZ_OFFICE": mops})
    assert json.loads(by_option.output)["office"]["name"] == PLESZEW_NAME
    checked = inst("config", "check", office=mops)  # the office's own kustosz.toml
    assert "the file is valid" in checked.output
    assert str(inst.root / "offices" / mops / "kustosz.toml") in checked.output


def test_a_shared_object_store_gives_each_office_its_prefix() -> None:
    shared = Storage.model_validate({"kind": "s3", "endpoint": "https://s3.gmina.example.pl",
                                     "bucket": "kustosz-media", "region": "pl-1"})
    lines = tomllib.loads("[storage]\n" + storage_lines(shared, "mops"))["storage"]
    assert lines == {"kind": "s3", "endpoint": "https://s3.gmina.example.pl",
                     "bucket": "kustosz-media", "region": "pl-1", "prefix": "mops/"}
    assert storage_lines(None, "mops") == "" and storage_lines(Storage(), "mops") == ""


STORE = ('[storage]\nkind = "s3"\nendpoint = "https://s3.gmina.example.pl"\n'
         'bucket = "kustosz-media"\n')


@pytest.mark.parametrize("prefix, refused", [
    ("mops/", False),  # its own
    ("urzad/", True),  # another office's
    ("", True),  # the whole bucket: every office's media
])
def test_an_office_opens_the_shared_bucket_only_under_its_own_prefix(
        tmp_path: Path, prefix: str, refused: bool) -> None:
    from kustosz.config import read_config
    from kustosz.errors import ConfigError

    root = tmp_path / "gmina"
    write_new(root, "Gmina Żółkiewka 🏛", "")
    (root / "installation.toml").write_text(
        (root / "installation.toml").read_text("utf-8") + STORE, "utf-8")
    office = root / "offices" / "mops"
    office.mkdir(parents=True)
    own = STORE + (f'prefix = "{prefix}"\n' if prefix else "")
    (office / "kustosz.toml").write_text('preset = "walbrzych"\n' + own, "utf-8")
    if not refused:
        assert read_config(office).s3 is not None
        return
    with pytest.raises(ConfigError) as said:
        read_config(office)
    assert "mops/" in (said.value.pl or "") and "kustosz-media" in said.value.pl
    # the same file in a vault of its own, outside any installation, is its own affair
    alone = tmp_path / "osobny"
    alone.mkdir()
    (alone / "kustosz.toml").write_text('preset = "walbrzych"\n' + own, "utf-8")
    assert read_config(alone).s3 is not None
