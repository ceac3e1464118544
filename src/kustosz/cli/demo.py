"""`kustosz demo`: the vault core at work on a throw-away data folder, nothing to configure."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table

from kustosz.cli.common import console, fails_cleanly, local, state
from kustosz.custody.holds import place_hold
from kustosz.index.sources import add_source, get_source
from kustosz.ingest.files import ingest_file
from kustosz.retention import run_sweep
from kustosz.vault import Vault

MARKER = ".kustosz-demo"


def _sample_clip(folder: Path) -> Path:
    """Two seconds of test pattern as MPEG-TS, video only, made by ffmpeg from the wheel."""
    import imageio_ffmpeg

    out = folder / "sample.ts"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=10", "-t", "2", "-an", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-f", "mpegts", str(out)], check=True)
    return out


@fails_cleanly
def demo(preset: str = typer.Option("pleszew", "--preset")) -> None:
    """Show the core at work: a demo vault, sample material, a hold and a retention sweep."""
    root = state.data or Path("demo-data")
    if root.exists():
        if not (root / MARKER).exists():
            raise typer.BadParameter(f"{root} exists and is not a demo folder; pick another")
        shutil.rmtree(root)
    vault = Vault.init(root, preset, actor="demo")
    (root / MARKER).write_text("throw-away demo vault; `kustosz demo` recreates it\n")
    console.print(f"[bold]Demo vault[/] in {root} — {vault.policy.office_name} "
                  f"(preset {preset})")
    with vault.transaction() as s:
        for name in ("hol-parter", "wejscie-glowne"):
            add_source(s, vault.policy, name, "camera", "demo")
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        clip = _sample_clip(Path(tmp))
        with console.status("taking in 40 days of sample material…"):
            for days_ago in range(0, 40, 3):
                for name in ("hol-parter", "wejscie-glowne"):
                    start = now - timedelta(days=days_ago, hours=2)
                    ingest_file(vault, name, clip, start, start + timedelta(seconds=2),
                                actor="demo")
    incident = now - timedelta(days=36, hours=2)
    with vault.transaction() as s:
        place_hold(s, sources=[get_source(s, "hol-parter")],
                   start=incident - timedelta(minutes=30), end=incident + timedelta(minutes=30),
                   basis="Wniosek Komendy Powiatowej Policji (demo)", case_ref="KPP-123/26",
                   actor="demo")
    console.print("Hold placed on hol-parter around an incident 36 days ago (police request).")
    report = run_sweep(vault, now, actor="demo")
    table = Table("what", "source", "recorded (local)", "why")
    for item in sorted(report.deleted, key=lambda i: (i["start"], i["source"])):
        table.add_row("[red]deleted[/]", item["source"],
                      local(datetime.fromisoformat(item["start"]), vault), item["rule"])
    for item in report.kept_by_hold:
        table.add_row("[green]kept[/]", item["source"],
                      local(datetime.fromisoformat(item["start"]), vault),
                      f"past its period, but hold {', '.join(map(str, item['holds']))} covers it")
    console.print(table)
    console.print(f"Still stored: see [bold]kustosz --data {root} recordings list[/]; the audit "
                  f"log: [bold]kustosz --data {root} audit verify[/].")
    vault.close()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
