"""retention run, recover, serve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from kustosz.cli.common import (
    actor,
    console,
    data_dir,
    emit_json,
    fails_cleanly,
    local,
    open_vault,
    parse_time,
)
from kustosz.retention import relieve_pressure, run_sweep

AHEAD = timedelta(minutes=1)  # a clock a little off is no sweep dated ahead
retention_app = typer.Typer(no_args_is_help=True, help="Automatic deletion by the rules.")


@fails_cleanly
def retention_run(now: str = typer.Option(None, "--now",
                                          help="Sweep as if it were this time (ISO, zone)."),
                  dry_run: bool = typer.Option(False, "--dry-run",
                                               help="Show what would be deleted; change nothing."),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete material whose period has ended, except what holds keep."""
    at = parse_time(now, "--now") if now else None
    if at is not None and not dry_run and at > datetime.now(UTC) + AHEAD:
        # A sweep dated ahead deletes what the office still keeps: in an installation that
        # is the office's decision, not the infrastructure's (kustosz.cli.office_gate).
        from kustosz.cli.office_gate import check

        check(data_dir(), actor(), command="retention run --now")
    with open_vault() as vault:
        report = run_sweep(vault, at, dry_run=dry_run, actor=actor())
        if not dry_run:
            pressure = relieve_pressure(vault, actor=actor())
            report.deleted.extend(pressure.deleted)
            report.sweep_ids.extend(pressure.sweep_ids)
        if as_json:
            emit_json(report.as_json())
            return
        if report.held_by_clock:
            console.print("zegar serwera niepotwierdzony od ponownego uruchomienia: usuwanie "
                          "po terminie wstrzymane (kustosz clock confirm) / the server's clock "
                          "is unconfirmed since a reboot: nothing deleted for its period")
        verb = "would delete" if dry_run else "deleted"
        console.print(f"retention sweep as of {local(report.as_of, vault)} "
                      f"({vault.policy.timezone.key}): {verb} {len(report.deleted)} item(s)")
        for item in report.deleted[:50]:
            console.print(f"  {verb} #{item['id']} {item.get('source', '')} "
                          f"{local(item.get('start'), vault)} — {item.get('rule', '')}")
        if len(report.deleted) > 50:
            console.print(f"  … and {len(report.deleted) - 50} more (use --json)")
        if report.kept_by_hold:
            console.print(f"kept {len(report.kept_by_hold)} expired item(s) under holds:")
            for item in report.kept_by_hold[:50]:
                console.print(f"  kept #{item['id']} {item['source']} "
                              f"{local(item['start'], vault)} — "
                              f"hold(s) {', '.join(map(str, item['holds']))}")
        if report.recovered:
            console.print(f"finished {report.recovered} deletion(s) an interrupted sweep left")
        if report.refused:  # the database and the audit log (or the store) disagree
            from kustosz.words import count_pl

            n = len(report.refused)
            console.print(f"zachowano {count_pl(n, 'nagranie', 'nagrania', 'nagrań')}, które "
                          "baza danych uznaje za przeterminowane wbrew dziennikowi zdarzeń "
                          "lub magazynowi obiektów (alarm retention_disagrees) / kept "
                          f"{n} item(s) the database calls expired against the audit log or "
                          "the store")


@fails_cleanly
def recover_cmd() -> None:
    """Bring index and files back into agreement after a crash (serve does this itself)."""
    from kustosz.cli.serve import recover_all
    from kustosz.ingest.camera.supervisor import RecorderPool
    from kustosz.retention.sweeper import leave_the_sweep

    with open_vault() as vault, vault.exclusive("recover"):
        leave_the_sweep(vault)  # sweep = "separate": interrupted sweeps are the sweeper's
        done = recover_all(vault, RecorderPool(vault))
    console.print(f"recovered: {done['pending_intakes']} interrupted intake(s) undone, "
                  f"{done['sweep_rows']} interrupted deletion(s) finished, "
                  f"{done['spooled_segments']} left-over camera segment(s) taken in, "
                  f"{done['tmp_files']} temporary file(s) removed")


@fails_cleanly
def retention_watch() -> None:
    """Run the sweep on its schedule (every interval and at local midnight) until Ctrl-C."""
    import signal
    import threading

    from kustosz.retention.scheduler import run_scheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_vault() as vault:
        console.print(f"retention sweeps every {vault.config.sweep_interval_minutes:g} min and "
                      "at local midnight; Ctrl-C stops")
        try:
            run_scheduler(vault, stop, on_sweep=lambda n: console.print(
                f"sweep done: {n} item(s) deleted"))
        except KeyboardInterrupt:
            stop.set()


@fails_cleanly
def sweeper(once: bool = typer.Option(False, "--once",
                                      help="One sweep (under the lease), then exit.")) -> None:
    """The retention sweep in its own process, the only one that reads the sweep's
    credentials ([storage] sweep = "separate"; deploy/systemd/kustosz-sweeper.service)."""
    import signal
    import threading

    from kustosz.cluster.settings import read_settings
    from kustosz.retention.sweeper import check_separate, not_dumpable, run_sweeper
    from kustosz.words import count_pl

    hidden = not_dumpable()  # first: before the credentials are in this process's memory
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with open_vault() as vault:
        check_separate(vault)
        cluster = read_settings(vault.root)

        def swept(n: int) -> None:
            console.print(f"sweep done: {n} item(s) deleted / usunięto "
                          f"{count_pl(n, 'pozycję', 'pozycje', 'pozycji')}")
            if once:
                stop.set()

        console.print(f"kustosz sweeper: {vault.root}; sweeps every "
                      f"{vault.config.sweep_interval_minutes:g} min and at local midnight"
                      + ("" if hidden else " (warning: could not make the process "
                         "non-dumpable)"))
        failed: list[BaseException] = []

        def fell(exc: BaseException) -> None:
            console.print(f"sweep failed ({type(exc).__name__}); retried at the next run / "
                          "usuwanie nie powiodło się; zostanie ponowione")
            if once:
                failed.append(exc)
                stop.set()

        run_sweeper(vault, stop, lease_seconds=cluster.lease_seconds,
                    margin_seconds=cluster.margin_seconds, on_sweep=swept, on_failure=fell)
        if failed:
            raise failed[0]


def register(app: typer.Typer) -> None:
    from kustosz.cli import storage_cmd

    storage_cmd.register(app)  # kustosz storage check
    app.command("sweeper")(sweeper)
    retention_app.command("run")(retention_run)
    retention_app.command("watch")(retention_watch)
    from kustosz.cli import shorten  # kustosz retention shorten (issue 28 item 5)

    shorten.register(retention_app)
    from kustosz.cli import clock_undo  # kustosz clock undo (issue 27 item 7 c)

    clock_undo.register(app)
    app.add_typer(retention_app, name="retention")
    app.command("recover")(recover_cmd)
