"""`kustosz nodes`: the recorder nodes sharing this vault's PostgreSQL database
(kustosz.cluster), what each holds and its spool backlog."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from kustosz.cli.common import console, emit_json, fails_cleanly, local, open_vault
from kustosz.cluster.status import SINGLETON_PL, cluster_status


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


@fails_cleanly
def nodes_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """The recorder nodes (serve --node), what each holds, its spool backlog."""
    with open_vault() as vault:
        status = cluster_status(vault)
        if status is None:
            if as_json:
                emit_json({"nodes": [], "without_node": []})
                return
            console.print("Jeden komputer (SQLite): bez węzłów, wszystko robi jeden kustosz "
                          "serve.\nOne machine (SQLite): no nodes, one kustosz serve does "
                          "everything.")
            return
        if as_json:
            emit_json(status.as_dict())
            return
        table = Table("węzeł / node", "komputer / host", "stan / state",
                      "ostatnio / last seen", "kamery / cameras", "linie / lines",
                      "zadania wspólne / shared work", "bufor / backlog")
        # a node's name and host are never cut short or broken
        table.columns[0].min_width = max((len(n.name) for n in status.nodes), default=4)
        table.columns[1].min_width = max((len(n.host) for n in status.nodes), default=4)
        for n in status.nodes:
            state = ("zatrzymany / stopped" if n.stopped else "działa / live" if n.live
                     else "[red]nie odpowiada / missing[/]")
            if n.live and n.clock_skew_s is not None and abs(n.clock_skew_s) > 1:
                state += f" (zegar / clock {n.clock_skew_s:+.0f} s)"
            table.add_row(escape(n.name), escape(n.host), state, local(n.last_seen, vault),
                          escape(", ".join(n.cameras)) or "—", escape(", ".join(n.phones)) or "—",
                          ", ".join(SINGLETON_PL.get(s, s) for s in n.singletons) or "—",
                          f"{n.backlog_files} ({_size(n.backlog_bytes)})")
        console.print(table)
        if status.without_node:
            console.print("[red]Bez węzła / without a node:[/] "
                          + escape(", ".join(r.partition(":")[2] for r in status.without_node)))


def register(app: typer.Typer) -> None:
    app.command("nodes")(nodes_list)
