"""One backup of the whole installation (issue 67 item 4): every office's own backup and the
list binding them under the passphrase's HMAC; restored whole into a new installation (each
office's chain verifying, its people as written), one office alone from it, and refused with
nothing written when the list, an office's backup or the passphrase is not what was made. On
SQLite and PostgreSQL, through the real `kustosz` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.installation.install_helpers import Install, drop_office
from tests.test_backup import PASSPHRASE

from kustosz.installation.backup_all import LIST

GMINA = "Gmina Żółkiewka 🏛"
MOPS = "Miejski Ośrodek Pomocy Społecznej w Łęczycy 🏠"


def _pp(tmp: Path, text: str = PASSPHRASE) -> Path:
    path = tmp / f"haslo-{abs(hash(text))}"
    path.write_text(text, "utf-8")
    path.chmod(0o600)
    return path


def _two_offices(inst: Install) -> tuple[str, str]:
    inst.init(GMINA)
    urzad, mops = inst.add("urzad"), inst.add("mops", MOPS)
    inst("users", "add", "zofia", "--display", "Zofia Źdźbło 🙂", "--role", "approver",
         office=mops)
    inst("users", "add", "jerzy", "--display", "Jerzy Żółć", "--role", "dpo", office=urzad)
    return urzad, mops


def _names(inst: Install, slug: str, root: Path) -> set[str]:
    inst.grant(slug, root=root)  # a restored office's grants end with the restore
    users = json.loads(inst("users", "list", "--json", office=slug, root=root).output)
    return {u.get("display_name") for u in users}


def test_the_whole_installation_is_backed_up_and_restored(inst: Install,
                                                          tmp_path: Path) -> None:
    urzad, mops = _two_offices(inst)
    pp = _pp(tmp_path)
    whole = tmp_path / "kopia-gminy"
    said = inst("offices", "backup", "--to", str(whole), "--passphrase-file", str(pp)).output
    assert "2 urzędy" in said
    listed = json.loads((whole / LIST).read_text("utf-8"))
    assert listed["installation"] == GMINA and listed["failed"] == []
    assert sorted(o["slug"] for o in listed["offices"]) == sorted([urzad, mops])
    assert oct((whole / LIST).stat().st_mode & 0o777) == "0o600"
    if inst.url:  # the old installation is lost: its offices' roles and schemas with it
        drop_office(urzad)
        drop_office(mops)
    fresh = tmp_path / "nowa-gmina"
    said = inst("offices", "restore-all", "--from", str(whole), "--passphrase-file", str(pp),
                *(["--database", inst.url] if inst.url else []), root=fresh).output
    assert "Instalacja odtworzona" in said and said.count("audit verify: OK") == 2
    offices = json.loads(inst("offices", "list", "--json", root=fresh).output)
    assert offices["installation"] == GMINA
    assert sorted(o["slug"] for o in offices["offices"]) == sorted([urzad, mops])
    assert "Zofia Źdźbło 🙂" in _names(inst, mops, fresh)
    assert "Jerzy Żółć" in _names(inst, urzad, fresh)
    assert "Zofia Źdźbło 🙂" not in _names(inst, urzad, fresh)  # each office its own people
    for slug in (urzad, mops):
        assert "audit log intact" in inst("audit", "verify", office=slug, root=fresh).output


def test_one_office_alone_from_the_whole_backup(inst: Install, tmp_path: Path) -> None:
    _urzad, mops = _two_offices(inst)
    pp = _pp(tmp_path)
    whole = tmp_path / "kopia-gminy"
    inst("offices", "backup", "--to", str(whole), "--passphrase-file", str(pp))
    if inst.url:
        drop_office(mops)
    fresh = tmp_path / "nowa"
    inst("offices", "init", "--name", "Gmina Nowa", *(["--database", inst.url] if inst.url
                                                     else []), root=fresh)
    inst("offices", "restore", mops, "--from", str(whole / mops), "--passphrase-file", str(pp),
         root=fresh)
    assert "Zofia Źdźbło 🙂" in _names(inst, mops, fresh)


def _refused(inst: Install, whole: Path, fresh: Path, pp: Path, *words: str) -> None:
    r = inst("offices", "restore-all", "--from", str(whole), "--passphrase-file", str(pp),
             *(["--database", inst.url] if inst.url else []), root=fresh, ok=False)
    assert r.exit_code != 0
    for word in words:
        assert word in r.output, r.output
    assert not fresh.exists()  # nothing written


@pytest.mark.parametrize("case", ["wrong passphrase", "an office dropped from the list",
                                  "an office's backup swapped", "installation.toml changed"])
def test_a_whole_backup_not_as_made_is_refused(case: str, inst: Install,
                                               tmp_path: Path) -> None:
    _urzad, mops = _two_offices(inst)
    pp = _pp(tmp_path)
    whole, other = tmp_path / "kopia-gminy", tmp_path / "inna-kopia"
    inst("offices", "backup", "--to", str(whole), "--passphrase-file", str(pp))
    if case == "wrong passphrase":
        pp = _pp(tmp_path, "zupełnie inne hasło kopii 🔑")
        words: tuple[str, ...] = ("HMAC się nie zgadza", "niczego nie zapisano")
    elif case == "an office dropped from the list":
        listed = json.loads((whole / LIST).read_text("utf-8"))
        listed["offices"] = [o for o in listed["offices"] if o["slug"] != mops]
        (whole / LIST).write_text(json.dumps(listed), "utf-8")
        shutil.rmtree(whole / mops)
        words = ("HMAC się nie zgadza",)
    elif case == "an office's backup swapped":
        inst("offices", "backup", "--to", str(other), "--passphrase-file", str(pp))
        shutil.rmtree(whole / mops)
        shutil.copytree(other / mops, whole / mops)
        words = (f"kopia urzędu „{mops}” jest brakująca albo nie ta",)
    else:
        path = whole / "installation.toml"
        path.write_text(path.read_text("utf-8").replace(GMINA, "Gmina Podmieniona"), "utf-8")
        words = ("installation.toml nie jest tym",)
    _refused(inst, whole, tmp_path / "nowa", pp, *words)


def test_an_office_whose_backup_fails_leaves_the_others_and_the_whole_refused(
        inst: Install, tmp_path: Path) -> None:
    urzad, mops = _two_offices(inst)
    pp = _pp(tmp_path)
    config = inst.root / "offices" / urzad / "kustosz.toml"
    config.write_text(config.read_text("utf-8") + "\nnie_ma_takiego_klucza = 1\n", "utf-8")
    whole = tmp_path / "kopia-gminy"
    r = inst("offices", "backup", "--to", str(whole), "--passphrase-file", str(pp), ok=False)
    assert r.exit_code == 1 and f"urząd / office {urzad}: kopia NIE POWIODŁA SIĘ" in r.output
    assert (whole / mops / "kustosz-backup.json").is_file()  # the other office: backed up
    assert json.loads((whole / LIST).read_text("utf-8"))["failed"] == [urzad]
    _refused(inst, whole, tmp_path / "nowa", pp, f"kopia urzędów {urzad} nie powiodła się")
