"""`kustosz demo --gmina` (what `make demo` runs, issue 67 item 5): a gmina's installation with
two offices — its town hall and its MOPS — each made exactly as the single-office demo makes
its vault (last month lived through, a police request copied, the sweeps, the report, one
account per role), then the installation's one `serve` at /o/<slug>/.

Each office numbers its own copies, so both show copy 1/<year>. What the installation's serve
does not run (docs/operations/offices.md): recording, so the gmina demo registers no
simulated camera or phone line; `kustosz demo` (one office) shows those."""

from __future__ import annotations

import functools
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import typer

from kustosz import installation_layout as layout
from kustosz.cli import demo_past
from kustosz.cli.common import console
from kustosz.policy import load_policy, preset_names
from kustosz.vault import Vault

GMINA_NAME = "Gmina demonstracyjna"


def gmina_offices() -> list[tuple[str, str, str]]:
    """(short name, preset, kustosz.toml additions) of each office of the gmina demo: the
    presets whose [demo] gmina_office names one, in the presets' order — office data, not
    code (no preset is named here)."""
    found = []
    for name in preset_names():
        demo = load_policy(name).raw.get("demo", {})
        if demo.get("gmina_office"):
            found.append((demo["gmina_office"], name, demo.get("gmina_overrides", "")))
    return found


def run(root: Path, port: int, serve: bool, fresh: bool) -> None:
    """The gmina demo in ``root``: made (or, started again, gone on with), shown, served."""
    from kustosz.cli import demo

    if demo._made(root) and not fresh and layout.is_installation(root):
        console.print(f"[bold]{GMINA_NAME}[/] in {root}, as it was left; "
                      "[bold]kustosz demo --gmina --fresh[/] starts over.", soft_wrap=True)
        shown = [_again(root / layout.OFFICES / slug) for slug, _p, _o in gmina_offices()]
    else:
        shown = _make(root)
    for slug, (name, password) in zip((s for s, _p, _o in gmina_offices()), shown,
                                      strict=True):
        _banner(root, slug, name, password, port)
    if serve:
        _serve(root, port)


def _make(root: Path) -> list[tuple[str, str]]:
    from kustosz.cli import demo

    if root.exists():
        if not (root / demo.MARKER).exists():
            raise typer.BadParameter(f"{root} exists and is not a demo folder; pick another")
        shutil.rmtree(root)
    layout.write_new(root, GMINA_NAME, "")
    (root / demo.MARKER).write_text("throw-away demo installation, being made; `kustosz demo` "
                                    "makes it again\n")
    now = datetime.now(UTC).replace(microsecond=0)
    shown = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = demo._sample_clip(Path(tmp))
        for slug, preset, extra in gmina_offices():
            folder = layout.offices_folder(root) / slug
            with console.status(f"{slug}: living through last month…"):
                vault, password = demo_past.live(
                    functools.partial(demo._set_up, folder, preset, extra),
                    clip, now, load_policy(preset).timezone)
            try:
                console.print(f"[bold]{vault.policy.office_name}[/] ({slug}): last month "
                              "lived through; today's sweep:")
                demo._swept(vault, now)
                demo_past.last_months_report(vault, now)
                shown.append((vault.policy.office_name, password))
            finally:
                vault.close()
            (folder / demo.MARKER).write_text(f"{demo.MADE}; part of the gmina demo\n")
    (root / demo.MARKER).write_text(f"{demo.MADE}; started again, the demo goes on with it; "
                                    "`kustosz demo --fresh` makes it again\n")
    return shown


def _again(folder: Path) -> tuple[str, str]:
    from kustosz.cli import demo

    vault = Vault.open(folder, actor="demo")
    try:
        return vault.policy.office_name, demo._new_password(vault)
    finally:
        vault.close()


def _banner(root: Path, slug: str, name: str, password: str, port: int) -> None:
    from kustosz.cli import demo

    vault = Vault.open(layout.offices_folder(root) / slug, actor="demo")
    try:
        console.print(f"[bold]{name}[/] — urząd / office [bold]{slug}[/]: "
                      f"http://127.0.0.1:{port}/o/{slug}/login (własna numeracja kopii / its own "
                      "copy numbering); "
                      f"kustosz --data {root} --office {slug} …", soft_wrap=True)
        demo._show_accounts(vault, password)
        # issue 67 item 5: the installation's administrator locked out, to be tried
        console.print(f"  Administrator instalacji nie ma wglądu w materiał urzędu: „kustosz "
                      f"--data {root} --office {slug} users list” zostanie odrzucone; "
                      f"kierownik udziela dostępu serwisowego na http://127.0.0.1:{port}/o/"
                      f"{slug}/admin/support / the installation's administrator is locked out "
                      "of the office's material until its head grants support access there.",
                      soft_wrap=True)
    finally:
        vault.close()


def _serve(root: Path, port: int) -> None:
    from kustosz.cli.serve_installation import serve_installation

    console.print(f"[bold]{GMINA_NAME}[/]: jeden serve, urzędy pod /o/<urząd>/, lista urzędów "
                  f"na http://127.0.0.1:{port}/ / one serve, each office at /o/<slug>/; "
                  "„Przełącz urząd” w nagłówku strony / the office switch in the page header. "
                  "Ctrl-C stops.", soft_wrap=True)
    serve_installation(root, "127.0.0.1", port, None, (), "text", console.print)
    console.print("demo stopped")
