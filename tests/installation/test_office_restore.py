"""One office's backup restored (issue 67 item 4): as a new office of a fresh installation,
its audit chain verifying and its material reading back; over another office, or under
another office's name, refused in words with nothing changed — folders, schemas and roles."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from urllib.parse import unquote

from tests.installation.install_helpers import Install, drop_office, folder_state
from tests.test_backup import PASSPHRASE

from kustosz.installation.pg_scope import role_name, schema_name

MOPS = "Miejski Ośrodek Pomocy Społecznej w Łęczycy 🏠"


def _passphrase(tmp: Path) -> Path:
    pp = tmp / "haslo-kopii"
    pp.write_text(PASSPHRASE, "utf-8")
    pp.chmod(0o600)
    return pp


def _backup(inst: Install, slug: str, to: Path, pp: Path) -> None:
    inst("backup", "--to", str(to), "--passphrase-file", str(pp), office=slug)
    manifest = json.loads((to / "kustosz-backup.json").read_text("utf-8"))
    assert manifest["installation"] == {"installation": "Gmina Żółkiewka 🏛", "slug": slug}


def test_an_office_is_restored_into_a_new_installation(inst: Install, tmp_path: Path) -> None:
    inst.init("Gmina Żółkiewka 🏛")
    mops = inst.add("mops", MOPS)
    inst("users", "add", "zofia", "--display", "Zofia Źdźbło 🙂", "--role", "approver",
         office=mops)
    pp = _passphrase(tmp_path)
    _backup(inst, mops, tmp_path / "kopia", pp)
    if inst.url:  # the old installation is lost: its role and schema are gone with it
        drop_office(mops)
    fresh = tmp_path / "nowa"
    inst("offices", "init", "--name", "Gmina Nowa", *(["--database", inst.url] if inst.url
                                                     else []), root=fresh)
    said = inst("offices", "restore", mops, "--from", str(tmp_path / "kopia"),
                "--passphrase-file", str(pp), root=fresh).output
    assert "odtworzony" in said and "audit verify: OK" in said
    verified = inst("audit", "verify", office=mops, root=fresh)
    assert verified.exit_code == 0 and "audit log intact" in verified.output
    inst.grant(mops, root=fresh)  # a restored office's grants end with the restore
    users = json.loads(inst("users", "list", "--json", office=mops, root=fresh).output)
    assert any(u.get("display_name") == "Zofia Źdźbło 🙂" for u in users), users
    listed = json.loads(inst("offices", "list", "--json", root=fresh).output)["offices"]
    assert [o["slug"] for o in listed] == [mops]
    assert MOPS in json.dumps(listed, ensure_ascii=False)
    assert not list((fresh / "offices").glob(".*"))  # no passfile left waiting
    if inst.url:  # `users list` above logged in as the new role, with the new passfile
        config = tomllib.loads((fresh / "offices" / mops / "kustosz.toml").read_text("utf-8"))
        url = unquote(config["database_url"])
        assert role_name(mops) in url and schema_name(mops) in url
        assert f"passfile={fresh / 'offices' / mops / 'keys' / 'pgpass'}" in url


def _refused_unchanged(inst: Install, args: list[str], words: list[str]) -> None:
    before = (folder_state(inst.root), inst.server_objects())
    refused = inst(*args, ok=False)
    assert refused.exit_code != 0
    assert "niczego nie zmieniono" in refused.output
    for word in words:
        assert word in refused.output, refused.output
    assert (folder_state(inst.root), inst.server_objects()) == before


def test_a_backup_over_another_office_is_refused(inst: Install, tmp_path: Path) -> None:
    inst.init("Gmina Żółkiewka 🏛")
    urzad = inst.add("urzad")
    mops = inst.add("mops", MOPS)
    pp = _passphrase(tmp_path)
    _backup(inst, mops, tmp_path / "kopia", pp)
    src = ["--from", str(tmp_path / "kopia"), "--passphrase-file", str(pp)]
    # over another existing office; over itself; under a new name not its own
    _refused_unchanged(inst, ["offices", "restore", urzad, *src],
                       [f"Instalacja ma już urząd „{urzad}”", f"kopia urzędu „{mops}”"])
    _refused_unchanged(inst, ["offices", "restore", mops, *src],
                       [f"Instalacja ma już urząd „{mops}”"])
    other = inst.slug("sp")
    _refused_unchanged(inst, ["offices", "restore", other, *src],
                       [f"To kopia urzędu „{mops}” instalacji „Gmina Żółkiewka 🏛”"])
    # a plain vault restore into the installation, or into an office folder of it
    for into in (inst.root, inst.root / "offices" / inst.slug("sp2")):
        _refused_unchanged(inst, ["restore", *src, "--into", str(into)],
                           ["offices restore", str(inst.root)])
    assert "audit log intact" in inst("audit", "verify", office=urzad).output
