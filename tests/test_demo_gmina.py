"""`make demo` (`kustosz demo --gmina`, issue 67 item 5): a gmina's installation with its town
hall and its MOPS, each office's demo made as the single-office demo makes it, both served by
the installation's one serve under /o/<slug>/, each numbering its own copies from 1/<year>."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kustosz import installation_layout as layout
from kustosz.access import accounts, support
from kustosz.access.users import get_user
from kustosz.cli.demo_gmina import GMINA_NAME, gmina_offices
from kustosz.cli.serve_installation import open_offices
from kustosz.db.custody import Copy
from kustosz.installation.registry import slugs
from kustosz.policy import load_policy
from kustosz.web.installation_app import create_installation_app
from kustosz.web.server import WebServer
from tests.conftest import Cli
from tests.support.onvif_camera import free_port


@pytest.fixture(scope="module")
def gmina(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("gmina") / "demo-gmina"
    out = Cli(root)("demo", "--gmina", "--no-serve").output
    yield root, " ".join(out.split())


def test_the_gmina_demo_has_its_town_hall_and_its_mops(gmina: tuple[Path, str]) -> None:
    root, said = gmina
    assert layout.read(root).installation.name == GMINA_NAME
    listed = [(slug, preset) for slug, preset, _extra in gmina_offices()]
    assert slugs(root) == sorted(slug for slug, _preset in listed) == ["mops", "urzad"]
    names = {slug: load_policy(preset).office_name for slug, preset in listed}
    assert "Ośrodek Pomocy Społecznej" in names["mops"] and "Urząd" in names["urzad"]
    passwords = re.findall(r"everyone.s password: (\S+)", said)
    assert len(passwords) == 2, said
    for (slug, _preset), password in zip(listed, passwords, strict=True):
        assert names[slug] in said and f"/o/{slug}/login" in said
        offices = {o.slug: o for o in open_offices(root, "test")}
        try:
            vault = offices[slug].vault
            assert vault is not None and vault.policy.office_name == names[slug]
            with vault.reading() as s:
                assert accounts.confirm_password(s, get_user(s, "kierownik"), password)
                numbers = list(s.execute(select(Copy.number)).scalars())
            # each office numbers its own: both start at 1/<year of the first copy>
            assert numbers and re.fullmatch(r"1/20\d\d", sorted(numbers)[0]), numbers
        finally:
            for o in offices.values():
                if o.vault is not None:
                    o.vault.close()


def test_each_offices_sign_in_answers_under_its_prefix(gmina: tuple[Path, str]) -> None:
    root, _said = gmina
    offices = open_offices(root, "test")
    try:
        app = create_installation_app(GMINA_NAME, offices)
        web = WebServer(None, "127.0.0.1", free_port(), app=app)
        web.start()
        try:
            with httpx.Client(base_url=web.url.rstrip("/"), timeout=60) as c:
                listing = c.get("/")
                assert listing.status_code == 200
                for o in offices:
                    assert o.vault is not None and o.name in listing.text
                    assert f"/o/{o.slug}/" in listing.text
                    page = c.get(f"/o/{o.slug}/login")
                    assert page.status_code == 200 and 'name="csrf"' in page.text
        finally:
            web.stop()
    finally:
        for o in offices:
            if o.vault is not None:
                o.vault.close()


def test_the_installation_administrator_is_locked_out_until_the_head_grants(
        gmina: tuple[Path, str]) -> None:
    """What the banner tells a newcomer to try: the office's people refused at the command
    line, the attempt on the office's support page, and let through once its head grants."""
    root, said = gmina
    for slug in ("urzad", "mops"):
        assert f"--office {slug} users list" in said and f"/o/{slug}/admin/support" in said
    cli = Cli(root)
    refused = cli("--office", "mops", "users", "list", ok=False)
    assert refused.exit_code == 2 and "dostępem serwisowym" in " ".join(refused.output.split())
    offices = {o.slug: o for o in open_offices(root, "test")}
    try:
        vault = offices["mops"].vault
        assert vault is not None
        with vault.reading() as s:  # none of the office's people in the refusal
            assert get_user(s, "kierownik").display_name not in refused.output
        with vault.transaction() as s:
            assert [e.action for e in support.commands(s)] == [support.REFUSED]
            grant = support.grant(s, "kierownik", "Pokaz dla nowego informatyka", 1).id
        listed = cli("--office", "mops", "users", "list")
        assert "kierownik" in listed.output  # the login, in the list the grant lets through
        with vault.transaction() as s:
            support.revoke(s, grant, "kierownik")
    finally:
        for o in offices.values():
            if o.vault is not None:
                o.vault.close()


def test_gmina_and_a_preset_are_refused_together(tmp_path: Path) -> None:
    result = Cli(tmp_path / "g")("demo", "--gmina", "--preset", "elblag", "--no-serve",
                                 ok=False)
    assert result.exit_code == 2 and "--gmina" in result.output
    assert not (tmp_path / "g").exists()


def test_started_again_it_goes_on_and_a_foreign_folder_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "demo-gmina"
    Cli(root)("demo", "--gmina", "--no-serve")
    again = " ".join(Cli(root)("demo", "--gmina", "--no-serve").output.split())
    assert "as it was left" in again and "kustosz demo --gmina --fresh" in again
    assert len(re.findall(r"everyone.s password: (\S+)", again)) == 2
    assert slugs(root) == ["mops", "urzad"]
    foreign = tmp_path / "notatki"
    foreign.mkdir()
    (foreign / "protokół 📝.txt").write_text("zażółć")
    result = Cli(foreign)("demo", "--gmina", "--no-serve", "--fresh", ok=False)
    assert result.exit_code == 2 and "is not a demo folder" in result.output
    assert (foreign / "protokół 📝.txt").read_text() == "zażółć"
