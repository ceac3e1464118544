"""`kustosz demo`: its options, and which demo they ask for — one office that records
(cli/demo.py) or a gmina's installation of two offices (cli/demo_gmina.py). Apart from both,
so that the gmina's demo can use the single office's parts without the two importing each
other."""

from __future__ import annotations

from pathlib import Path

import typer

from kustosz.cli import demo_gmina
from kustosz.cli.common import fails_cleanly, state
from kustosz.cli.demo import DEMO_PORT, _port_is_free, default_preset, run_single


@fails_cleanly
def demo(preset: str = typer.Option(None, "--preset",
                                    help=f"The office's rules (default: {default_preset()})."),
         serve: bool = typer.Option(True, "--serve/--no-serve",
                                    help="Go on recording (Ctrl-C stops) after the showcase."),
         port: int = typer.Option(DEMO_PORT, "--port", envvar="KUSTOSZ_WEB_PORT",
                                  help="Port of the web app on 127.0.0.1."),
         fresh: bool = typer.Option(False, "--fresh",
                                    help="Start over: delete the demo folder made before and "
                                         "make a new one (without it, the demo goes on with "
                                         "it as it was left)."),
         gmina: bool = typer.Option(False, "--gmina",
                                    help="A gmina's installation: its town hall and its MOPS, "
                                         "one serve at /o/<office>/ (what `make demo` runs; "
                                         "folder demo-gmina).")) -> None:
    """The product on a throw-away vault: last month lived through (recordings, a police
    request and its copy, a viewing, a hold, the sweeps) and its accountability report, a
    simulated camera and phone line, then `serve` until Ctrl-C. Started again, it goes on
    with the demo folder as it was left; --fresh starts over. --gmina: two offices."""
    if gmina and preset:
        raise typer.BadParameter("--gmina ma własne regulaminy / has its own presets; "
                                 "--preset is for one office", param_hint="--preset")
    root = state.data or Path("demo-gmina" if gmina else "demo-data")
    if serve and not _port_is_free("127.0.0.1", port):
        # Before anything is made: a demo without its web app leaves a newcomer with neither
        # an address nor an account.
        raise typer.BadParameter(
            f"port {port} na 127.0.0.1 jest zajęty (może działa już inne demo) / port {port} "
            f"is taken (another demo running?); podaj inny / choose another: "
            f"kustosz demo --port {port + 1}", param_hint="--port")
    if gmina:
        demo_gmina.run(root, port, serve, fresh)
        return
    run_single(root, preset, serve, port, fresh)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
