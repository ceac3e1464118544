"""The administrator's "Pierwszy dzień" page (issue 29 item 14): what a new vault still needs
before the office relies on it, each item done or not as the vault stands now — never a box
someone ticked. The workstation allow-list (R3.5), the destruction commission, the audit log's
witness, the alert channels, the backup schedule, the HTTPS certificate; each with where it is
done (a page of Kustosz, or the line of kustosz.toml / the command when there is no page).
Where the office records calls, the callers' announcement (issue 49 item 6): the one thing
Kustosz cannot see, so the item is done by a person's confirmation on record
(kustosz.phones.announcement), never by a box ticked without a name. The accessibility
statement's facts of the office ([policy.accessibility], issue 65 item 6): what the statement
still lacks, as policy.accessibility.gaps counts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kustosz.access import allowlist
from kustosz.access.users import list_users, printed
from kustosz.alerts.settings import effective
from kustosz.alerts.state import channel_problems
from kustosz.backup import state as backup_state
from kustosz.backup.schedule import read_settings
from kustosz.custody import commission
from kustosz.db.models import Setting
from kustosz.errors import ConfigError, InputError
from kustosz.phones import announcement
from kustosz.policy.accessibility import gaps
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.gate import gate

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    done: bool
    state: str  # what is there now, in words
    todo: str  # what to do while not done ("" when done)
    link: str | None  # the page where it is done
    where: str  # the page's name, or the setting / command when there is no page
    confirm: str | None = None  # a person's confirmation on this page: its button's words
    missing: tuple[tuple[str, str], ...] = ()  # what is still lacking, and its setting


def _allowlist(s: Any) -> Item:
    stored = s.get(Setting, allowlist.KEY)
    done = stored is not None and stored.value.strip() != "" and \
        set(stored.value.split()) != set(allowlist.DEFAULT.split())
    return Item(
        "allowlist", "Stanowiska, z których wolno przeglądać nagrania", done,
        f"dozwolone adresy: {stored.value}" if done else
        "tylko ten serwer (127.0.0.1) — z komputerów urzędu nagrań nie da się przeglądać",
        "" if done else "Wpisz adresy lub sieci komputerów, przy których przegląda się nagrania "
        "(np. 10.0.5.21 albo 10.0.5.0/24).",
        "/admin/settings", "Ustawienia → Stanowiska dopuszczone do nagrań")


def _commission(s: Any, ctx: Ctx) -> Item:
    today = datetime.now(ctx.vault.policy.timezone).date()
    members = [u for u in list_users(s) if u.active and "commission" in u.roles]
    appointed = [u for u in members if commission.current(s, u.name, today) is not None]
    need_order = ctx.vault.policy.access.commission_appointed
    ready = appointed if need_order else members
    done = len(ready) >= 2
    names = ", ".join(printed(s, u.name) for u in ready) or "nikt"
    if need_order:
        state = f"wyznaczeni zarządzeniem: {names}"
        todo = ("Nadaj rolę komisji co najmniej dwóm osobom (Użytkownicy), a kierownik "
                "zapisuje ich wyznaczenie zarządzeniem (Komisja niszcząca).")
    else:
        state = f"członkowie komisji: {names}"
        todo = "Nadaj rolę komisji niszczącej co najmniej dwóm osobom."
    return Item("commission", "Komisja niszcząca (co najmniej dwie osoby)", done, state,
                "" if done else todo, "/commission" if need_order else "/admin/users",
                "Komisja niszcząca" if need_order else "Użytkownicy")


def _witness(ctx: Ctx) -> Item:
    where = ctx.vault.config.audit.witness
    written = where is not None and where.exists()
    if where is None:
        state = "nie ustawiono — dziennik zdarzeń nie ma zapisu poza katalogiem danych"
    elif not written:
        state = (f"{where} — jeszcze nie zapisany (pierwszy punkt kontrolny zapisuje go "
                 "serwer w ciągu kwadransa od uruchomienia)")
    else:
        state = f"{where} — zapisywany"
    return Item(
        "witness", "Świadek dziennika zdarzeń (poza katalogiem danych)", written, state,
        "" if written else "W pliku kustosz.toml w katalogu danych dopisz w sekcji [audit] "
        "wiersz witness = \"/mnt/archiwum/kustosz-swiadek.jsonl\" (inny dysk lub udział), "
        "uruchom serwer ponownie, a potem kustosz audit pin-witness.",
        None, "kustosz.toml: [audit] witness")


def _alerts(s: Any, ctx: Ctx) -> Item:
    channels = effective(ctx.vault, s).channels
    failing = channel_problems(s)
    names = {"email": "e-mail", "webhook": "webhook", "syslog": "syslog"}
    done = bool(channels) and not failing
    if not channels:
        state = "brak — alarmy widać tylko na pulpicie"
    else:
        state = "skonfigurowane: " + ", ".join(names.get(n, n) for n in channels)
        if failing:
            state += "; nie działa: " + ", ".join(f"{p['name']} ({p['reason']})"
                                                  for p in failing)
    return Item("alerts", "Kanały powiadomień o alarmach", done, state,
                "" if done else "Ustaw co najmniej jeden kanał (e-mail do informatyka i "
                "inspektora ochrony danych) i wyślij wiadomość próbną.",
                "/admin/alerts", "Powiadomienia")


def _backup(s: Any, ctx: Ctx) -> Item:
    try:
        settings = read_settings(ctx.vault.root)
        problem = None
    except ConfigError as exc:
        settings, problem = None, ctx.said(exc)
    last = (backup_state.load(s).get("last_ok") or {}).get("at")
    tz = ctx.vault.policy.timezone
    if settings is None:
        state = problem or "nie ustawiono — kopie zapasowe tylko ręcznie (kustosz backup)"
    else:
        state = f"codziennie o {settings.at:%H:%M} do {settings.folder}, {settings.keep} " \
                "najnowszych"
    if last:
        when = datetime.fromisoformat(last)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        state += f"; ostatnia udana: {when.astimezone(tz):%d.%m.%Y %H:%M}"
    else:
        state += "; żadna kopia jeszcze się nie udała"
    done = settings is not None
    return Item("backup", "Harmonogram kopii zapasowych", done, state,
                "" if done else "W pliku kustosz.toml dopisz sekcję [backup] z folder = "
                "(inny dysk lub udział), at = \"02:30\" i passphrase_file = …, potem uruchom "
                "serwer ponownie.",
                None, "kustosz.toml: [backup]")


def _certificate(ctx: Ctx) -> Item:
    web = ctx.vault.config.web
    https = ctx.request.url.scheme == "https"
    self_signed = bool(getattr(ctx.request.app.state, "tls_self_signed", False))
    by_proxy = bool(web.trusted_proxies) and not https
    done = https or by_proxy or web.tls_cert is not None
    if https and self_signed:
        state = ("HTTPS z certyfikatem samopodpisanym — przeglądarki ostrzegają; zastąp go "
                 "certyfikatem urzędu, gdy będzie")
    elif https:
        state = "HTTPS z certyfikatem"
    elif by_proxy:
        state = "HTTPS na serwerze pośredniczącym (trusted_proxies)"
    elif web.tls_cert is not None:
        state = f"certyfikat ustawiony ({web.tls_cert}), ta strona otwarta bez HTTPS"
    else:
        state = "brak — hasła i nagrania przechodzą przez sieć jawnym tekstem"
    return Item("certificate", "Certyfikat HTTPS", done, state,
                "" if done else "Na początek: kustosz tls self-signed, potem w kustosz.toml "
                "sekcja [web] z tls_cert i tls_key (albo --tls-cert/--tls-key) i ponowne "
                "uruchomienie serwera.",
                None, "kustosz.toml: [web] tls_cert, tls_key")


def _accessibility(ctx: Ctx) -> Item:
    policy = ctx.vault.policy
    missing = gaps(policy.accessibility, policy.documents)
    return Item(
        "accessibility", "Deklaracja dostępności: daty i osoba do kontaktu", not missing,
        "Deklaracja dostępności nie podaje jeszcze:" if missing else
        "Deklaracja podaje daty publikacji i aktualizacji, podstawę jej sporządzenia oraz "
        "osobę do kontaktu z adresem e-mail i numerem telefonu.",
        "W pliku kustosz.toml w katalogu danych dopisz sekcję [policy.accessibility] z "
        "brakującymi wierszami (wartości urzędu, daty w postaci RRRR-MM-DD; wzór w "
        "dokumentacji: Zasady i presety), potem uruchom serwer ponownie." if missing else "",
        "/deklaracja-dostepnosci", "Deklaracja dostępności",
        missing=tuple((g.pl, g.key) for g in missing))


def _announcement(s: Session, ctx: Ctx) -> Item:
    policy = ctx.vault.policy
    lines = announcement.lines(s)
    done_by = announcement.confirmed(s)
    missing = announcement.not_covered(s)
    if not lines:
        status = "Nie dodano jeszcze żadnej linii telefonicznej."
    elif done_by is None:
        status = f"Nikt jeszcze tego nie potwierdził; linie: {', '.join(lines)}."
    else:
        covered = [n for n in lines if n not in missing]
        when = f"{done_by.at.astimezone(policy.timezone):%d.%m.%Y %H:%M}"
        status = (f"Potwierdzenie: {printed(s, done_by.by)}, {when}; linie: "
                  f"{', '.join(covered) or 'żadna z obecnych'}.")
        if missing:
            status += f" Bez potwierdzenia: {', '.join(missing)}."
    done = bool(lines) and not missing
    todo = ("Kustosz nie odtwarza komunikatu: ustaw go w centrali lub w SBC dla każdej linii, "
            "zadzwoń na każdą z nich z zewnątrz i sprawdź, że słychać go, zanim rozmowa się "
            "zacznie, a potem potwierdź to przyciskiem poniżej — Twoje imię i nazwisko, data "
            "i lista linii trafią do dziennika zdarzeń." if lines else
            "Dodaj linie telefoniczne (kustosz phones add …); gdy komunikat będzie ustawiony "
            "w centrali, zadzwoń na każdą linię i potwierdź go tutaj.")
    return Item(
        "announcement", "Komunikat o nagrywaniu rozmów dla dzwoniących", done,
        "Dzwoniący muszą usłyszeć komunikat o nagrywaniu rozmowy, zanim zacznie się "
        f"nagrywanie ({announcement.basis(policy)}). {status}",
        "" if done else todo, None, "kustosz documents render announcement",
        "Potwierdzam: na każdej linii dzwoniący słyszą komunikat, zanim rozmowa się zacznie"
        if missing else None)


def checklist(ctx: Ctx) -> list[Item]:
    """The items as the vault stands now."""
    with ctx.vault.reading() as s:
        items = [_allowlist(s), _commission(s, ctx), _witness(ctx), _alerts(s, ctx),
                 _backup(s, ctx), _certificate(ctx), _accessibility(ctx)]
        if announcement.records_calls(s, ctx.vault.policy):
            items.append(_announcement(s, ctx))
        return items


@router.get("/admin/first-day")
def first_day(ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    items = checklist(ctx)
    return page(ctx, "first_day.html", items=items, done=sum(i.done for i in items),
                msg=flash_of(ctx))


@router.post("/admin/first-day/announcement")
def announcement_confirm(ctx: Ctx = gate("admin")) -> Response:
    """A person confirms the callers hear the announcement on every line there is now."""
    admin = ctx.need("admin")
    try:
        with ctx.vault.transaction() as s:
            announcement.confirm(s, ctx.vault.policy, admin.name)
    except InputError as exc:
        items = checklist(ctx)
        return page(ctx, "first_day.html", 409, items=items, done=sum(i.done for i in items),
                    error=ctx.said(exc))
    return redirect(flash_url("/admin/first-day", "Zapisano potwierdzenie komunikatu.")
                    + "#item-announcement")
