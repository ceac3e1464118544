"""The settings `kustosz serve` runs on, told (issue 64 item 6; kustosz.config_fallback chose
them at the start):

* on the file: the file is kept as `kustosz.toml.last-good` (kustosz.config_keep), the rules
  it makes are noted in the database (config_fallback.POLICY_SOURCE) and an alert a refused
  file left open (`config.reload_failed`) is cleared — the file is in force;
* on the last good copy or on defaults: a high alert (`config.reload_failed`, Polish first in
  the row, the journal in English) names the file's line and reason and what serve records
  on, and the audit log keeps it (`config.start_fallback`).

Either way the note `config-in-force.json` in the data folder says what this serve runs on:
`kustosz doctor` and `kustosz config check` read it. A refused reload says what the next start
would run on (`next_start`)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kustosz import fsutil
from kustosz.alert_rows import clear_rows, raise_row
from kustosz.audit import append as audit
from kustosz.config import CONFIG_NAME
from kustosz.config_fallback import (
    DEFAULTS,
    FILE,
    LAST_GOOD,
    InForce,
    RulesRefused,
    choose,
    plan,
    policy_source,
    start_text,
)
from kustosz.config_fallback import POLICY_SOURCE as SOURCE_KEY
from kustosz.config_keep import NotOurs, keep, settings_file
from kustosz.config_schema import Problem, check_file
from kustosz.config_schema.problems import _with_line, key_lines
from kustosz.config_schema.refusal import summary
from kustosz.db.settings import put_setting
from kustosz.states import AlertRow
from kustosz.vault import Vault

log = logging.getLogger(__name__)
NOTE = "config-in-force.json"
ACTOR = "serve"


def connect(vault: Vault, actor: str) -> None:
    """`Vault.connect` at serve's start: where the database refuses the rules of the settings
    chosen (a kind of source it holds left without a period), the start falls back as for a
    file refused outright (kustosz.config_fallback) — from the file to its last good copy,
    from the copy to defaults — on the same database."""
    while True:
        try:
            vault.connect(actor)
            return
        except RulesRefused as exc:
            chosen = vault.in_force
            if chosen.kind == FILE:
                text = vault.config.raw.decode("utf-8", "replace") if vault.config.raw else ""
                where = _with_line(Problem("policy.retention", str(exc), exc.pl or str(exc)),
                                   key_lines(text))
                config, policy, then = choose(vault.root, (where,))
            elif chosen.kind == LAST_GOOD:
                config, policy, then = choose(vault.root, chosen.problems,
                                              kept_refused=(str(exc), exc.pl or str(exc)))
            else:
                raise
            if config.database_url != vault.config.database_url:
                raise
            log.error("%s", start_text(then, "en"))
            vault.use(config, policy, then)


def tell(vault: Vault, actor: str = ACTOR) -> None:
    """At a start, once the database answers (see the module's doc). Never raises."""
    chosen = vault.in_force
    if chosen.kind == FILE:
        keep_quietly(vault)
    try:
        with vault.transaction() as s:
            now = datetime.now(UTC)
            if chosen.kind == FILE:
                clear_rows(s, AlertRow.CONFIG_RELOAD_FAILED, now)
            else:
                raise_row(s, AlertRow.CONFIG_RELOAD_FAILED, start_text(chosen, "pl"), now)
                audit(s, actor, "config.start_fallback", CONFIG_NAME, details(chosen))
            if chosen.kind != DEFAULTS:
                note_rules(s, vault)
    except Exception:  # the database away again: the journal has it; recording goes on
        log.exception("what serve runs on could not be recorded")
    write_note(vault.root, chosen)


def taken(vault: Vault) -> None:
    """A reload put the file in force (kustosz.cli.serve_reload): it is the last good one."""
    vault.in_force = InForce(FILE, settings_file(vault.root))
    keep_quietly(vault)
    write_note(vault.root, vault.in_force)


def note_rules(s: Session, vault: Vault) -> None:
    # nodes of one installation start together: an upsert, never a second insert
    put_setting(s, SOURCE_KEY, policy_source(vault.config))


def keep_quietly(vault: Vault) -> None:
    """The file serve accepted kept as its last good copy; a failure is the journal's."""
    raw = vault.config.raw
    if raw is None:  # settings not read from a file (a test's)
        return
    try:
        written = keep(settings_file(vault.root), raw)
    except NotOurs as exc:
        log.info("%s.last-good not written by serve: %s", CONFIG_NAME, exc)
        return
    except OSError as exc:
        log.warning("%s.last-good could not be written (%s): a start with a refused file "
                    "would fall back to an older copy or to defaults", CONFIG_NAME, exc)
        return
    if written is not None:
        log.info("%s kept as %s (the last configuration accepted)", CONFIG_NAME, written)


def details(chosen: InForce) -> dict[str, Any]:
    return {"in_force": chosen.kind, "file": str(chosen.path) if chosen.path else None,
            "refused": [{"key": p.where, "line": p.line, "en": p.en}
                        for p in chosen.problems],
            "why_not_last_good": chosen.why_not_kept or None,
            "kept_tables": list(chosen.kept), "dropped_tables": list(chosen.dropped),
            "rules": chosen.rules or None}


def next_start(root: Path, refused: list[Problem]) -> tuple[str, str, str]:
    """What a start now would run on, for a reload that ``refused`` the file: (kind, English,
    Polish)."""
    chosen = plan(root, tuple(refused))
    again = ("if the service starts again before the file is mended (a restart, a crash, "
             "a reboot), it")
    again_pl = ("Jeśli usługa zostanie uruchomiona ponownie przed poprawieniem pliku "
                "(restart, awaria, ponowne uruchomienie serwera),")
    if chosen.kind == LAST_GOOD:
        path = chosen.path
        return (LAST_GOOD, f"{again} starts on the last configuration accepted ({path}), "
                "records and raises a high alert",
                f"{again_pl} wystartuje z ostatnich zaakceptowanych ustawień ({path}) i zgłosi "
                "to alarmem — nagrywanie będzie trwało.")
    if chosen.kind == DEFAULTS:
        return (DEFAULTS, f"{again} starts on defaults for what the vault holds (its cameras "
                "and phone lines), records and raises a high alert",
                f"{again_pl} wystartuje z ustawieniami domyślnymi (kamery i linie z bazy "
                "danych) i zgłosi to alarmem — nagrywanie będzie trwało.")
    why = chosen.problems[0] if chosen.problems else None
    return ("nothing", f"{again} will NOT start: {why.en if why else ''}",
            f"{again_pl} NIE wystartuje i nie będzie nagrywać: {why.pl if why else ''}")


# -- the note `doctor` and `config check` read ---------------------------------------------


def write_note(root: Path, chosen: InForce) -> None:
    fact = {"pid": os.getpid(), "in_force": chosen.kind,
            "file": str(chosen.path) if chosen.path else None,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "en": start_text(chosen, "en") if chosen.kind != FILE else "",
            "pl": start_text(chosen, "pl") if chosen.kind != FILE else ""}
    try:
        fsutil.write_atomic(root / NOTE, json.dumps(fact, ensure_ascii=False), 0o600)
    except OSError as exc:
        log.warning("%s could not be written (%s)", NOTE, exc)


def running_on(root: Path) -> dict[str, Any] | None:
    """What a serve running now on this data folder runs on (its note), or None when none
    runs (or it said nothing)."""
    try:
        fd = os.open(root / NOTE, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            fact = json.loads(f.read(1 << 16))
        pid = int(fact["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        holder = (root / "serve.lock").read_text("utf-8").split()
    except OSError:
        holder = []
    if not holder or holder[0] != str(pid) or not Path(f"/proc/{pid}").exists():
        return None
    return fact if isinstance(fact, dict) else None


def config_state(root: Path) -> tuple[str, str, str]:
    """`kustosz doctor`'s config check: (OK | WARN | FAIL, English, Polish) — the data folder's
    kustosz.toml as `config check` sees it, and what a serve running now runs on when that is
    not the file (or, with no such serve, what a start would take)."""
    problems = check_file(root / CONFIG_NAME, root)
    running = running_on(root)
    other = running is not None and running.get("in_force") != FILE
    on = ""
    if other:
        assert running is not None
        on = str(running.get("file") or "defaults")
        on_en = (f"kustosz serve (PID {running.get('pid')}) runs on {on} since "
                 f"{running.get('since')}, not on {CONFIG_NAME}")
        on_pl = (f"kustosz serve (PID {running.get('pid')}) działa od {running.get('since')} "
                 f"według {on if running.get('file') else 'ustawień domyślnych'}, nie według "
                 f"pliku {CONFIG_NAME}")
    if not problems:
        if other:
            return ("WARN", f"{CONFIG_NAME} matches the schema, but {on_en}: systemctl reload "
                            "kustosz puts the file in force",
                    f"{CONFIG_NAME} jest zgodny ze schematem, ale {on_pl}: systemctl reload "
                    "kustosz wprowadzi plik w życie")
        return ("OK", f"{CONFIG_NAME} matches the schema",
                f"{CONFIG_NAME} jest zgodny ze schematem")
    en, pl = summary(problems, "en"), summary(problems, "pl")
    if other:
        return "FAIL", f"{en}; {on_en} (kustosz config check)", f"{pl}; {on_pl}"
    _kind, then_en, then_pl = next_start(root, problems)
    return "FAIL", f"{en}; {then_en} (kustosz config check)", f"{pl}. {then_pl}"
