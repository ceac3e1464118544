"""The English switch (issue 29 item 13): with ``kustosz_lang=en`` every HTML page each role
can reach speaks English — no Polish left in what a person reads (text, buttons, titles,
placeholders), apart from data that is Polish by nature (the office's name, people and
places of the material, what a clerk typed). The routes are taken from the app itself, so a
new page is walked without touching this test; Polish stays the default."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import select
from web_helpers import (
    Material,
    Monitoring,
    authorise,
    client,
    csrf_of,
    make_monitoring,
    session_for,
    user,
)

from kustosz.access import records
from kustosz.access.users import ROLES
from kustosz.db.access import ListeningProtocol, ViewingSession
from kustosz.db.custody import Request, User
from kustosz.db.models import Source
from kustosz.web import create_app
from kustosz.web.app import iter_routes
from kustosz.web.i18n import EN, EN_N

DIACRITICS = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
# Common Polish words and office terms that have no English homograph (so "do", "to", "a",
# "od", "we", "data" are left out: they could be English; "I" is the English pronoun).
POLISH_WORDS = frozenset("""
nie jest są się oraz dla lub przez przy tylko brak który która które których jeszcze już
być został została zostało zostały będzie można należy na ze po bez aby albo czy jak
gdy jeśli oraz także więc wszystkie wszystkich żaden żadne nagranie nagrania nagrań kopia
kopii kopie kopię wniosek wnioski wniosku wniosków zabezpieczenie zabezpieczenia kamera
kamery kamer rozmowa rozmowy użytkownik użytkownika pracownik pracownika pracownicy decyzja
rejestr rejestry termin dni godz strona zapisz wyślij pokaż usuń dodaj zmień szukaj otwórz
wróć zaloguj wyloguj hasło okres osoba osoby upoważnienie upoważnienia sprawa sprawy
zatwierdź odrzuć wydaj przekaż zniszcz brak dotąd dziś jutro wczoraj godzina minut minuty
sekund numer nazwa opis cel stan uwagi przechowywana przekazana zniszczona w z i
""".split())  # noqa: SIM905

# Data that is Polish by nature, never page text: the test material's people, places and what
# the clerk typed (web_helpers.make_material / make_monitoring), and legal citations. The
# office's own name and titles are added from the policy. Kept minimal and explicit.
DATA = (
    "Piotr Wiśniewski", "Zofia Żółtowska", "Łukasz Gęślak", "KPP Pleszew",
    "postępowanie", "kradzież", "Zamówienie nr 17/2026 — łóżka", "Sprawy rodzinne",
    "regulamin monitoringu §5 ust. 2 (test)", "oferta.pdf", "PC-KADRY-01", "pc-ksiegowosc-02",
    "cam-hol", "cam-inne", "centrala-2", "centrala", "dziennik-2", "dziennik", "siem-2",
    "Prokuratura Rejonowa", "szkoda", "informatyk",
)
# Polish words that are English too, but never alone: a label "do" is the Polish "to".
ALONE = frozenset({"do", "od"})
SKIP_PREFIXES = ("/api/", "/metrics", "/lang/")


def _catalogue_words() -> frozenset[str]:
    """Every word of the catalogue's Polish that its English never uses: Polish words the
    pages are known to say ("Rodzaj", "Kontakt"), so one left untranslated shows too."""
    def words(texts: object) -> set[str]:
        return {w.lower() for t in texts for w in re.findall(r"[^\W\d_]{3,}", str(t))}
    english = words(EN.values()) | words(e for pair in EN_N.values() for e in pair)
    return frozenset(words(EN) | words(EN_N)) - english


CATALOGUE_WORDS = _catalogue_words()
ATTRS_READ = ("placeholder", "title", "alt", "aria-label")
HIDDEN_TAGS = ("script", "style", "template", "code")
# Legal citations keep the source's own Polish form ("002 zał.5 §7 ust. 6", "art. 22³ §1 Kp").
CITATION = re.compile(r"\b\d{3} zał\.\s?\d+ §\s?\d+(?:\.\d+)?(?: ust\. \d+)?"
                      r"|\bart\. \d+[²³]? §\s?\d+(?: Kp\b)?")


VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


class _Text(HTMLParser):
    """What a person reads: text outside scripts and styles, plus the attributes a browser
    shows (placeholder, tooltip, button caption). <code> is left out: it holds what is typed
    literally (commands, kustosz.toml lines, the CSV header an import expects); so is what is
    marked ``lang="pl"`` within the page (Polish by nature, read in Polish: WCAG 3.1.2), kept
    in ``.polish``; a Polish page's own <html lang="pl"> marks nothing apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.polish: list[str] = []
        self._hidden = 0
        self._pl = 0  # open elements from the outermost lang="pl" one down

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self._hidden += 1
        a = dict(attrs)
        if tag not in VOID and (self._pl or (a.get("lang") == "pl" and tag != "html")):
            self._pl += 1
        if self._pl:
            return
        for name in ATTRS_READ:
            if a.get(name):
                self.parts.append(str(a[name]))
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(str(a["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS and self._hidden:
            self._hidden -= 1
        if self._pl and tag not in VOID:
            self._pl -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            (self.polish if self._pl else self.parts).append(data.strip())


def read_text(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return p.parts


def marked_polish(html: str) -> list[str]:
    """The text of the elements marked ``lang="pl"``."""
    p = _Text()
    p.feed(html)
    return p.polish


def polish_in(parts: list[str], data: tuple[str, ...]) -> list[str]:
    """The pieces of text that still read as Polish once ``data`` is taken out."""
    found = []
    for part in parts:
        text = part
        for d in sorted(data, key=len, reverse=True):
            text = text.replace(d, " ")
        text = CITATION.sub(" ", text)
        words = re.findall(r"\w+", text)
        if text.strip().lower() in ALONE:
            found.append(part)
            continue
        if any(DIACRITICS.search(w) or (w.lower() in POLISH_WORDS and w != "I")
               or w.lower() in CATALOGUE_WORDS for w in words):
            found.append(part)
    return found


def _page_routes(app: object) -> list[tuple[str, str]]:
    out = []
    for r in iter_routes(list(app.routes)):  # type: ignore[attr-defined]
        path = getattr(r, "path", "")
        if "GET" not in (getattr(r, "methods", None) or ()) or path.startswith(SKIP_PREFIXES):
            continue
        out.append((r.name, path))
    return out


def _fill(path: str, values: dict[str, str]) -> str | None:
    names = re.findall(r"{([^}:]+)(?::[^}]+)?}", path)
    if any(n not in values for n in names):
        return None
    return re.sub(r"{([^}:]+)(?::[^}]+)?}", lambda m: values[m.group(1)], path)


def _viewing(m: Material, mon: Monitoring, name: str) -> dict[str, str]:
    """Viewing sessions of ``name`` (as if the start form had opened them) for the media
    pages: playback, mail, events and calls. Whether the role may use them is the media
    gate's business: the refusal is a page too."""
    now = datetime.now(UTC)
    tokens = {}
    with m.vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        ids = dict(s.execute(select(Source.name, Source.id)).all())
        for action, source, window in (
                ("playback", "cam-hol", m.window), ("mail", "dziennik", mon.window),
                ("events", "siem", mon.window),
                ("calls", "centrala", (now - timedelta(hours=3), now))):
            token = secrets.token_urlsafe(16)
            s.add(ViewingSession(
                token_hash=records.digest(token), user_id=u.id, user_name=name, action=action,
                source_id=ids[source], window_start=window[0], window_end=window[1],
                purpose="test", case_ref="S-1", witness="Jan Kowalski", client="127.0.0.1",
                started_at=now, last_at=now, served=0, bytes_served=0))
            tokens[action] = token
    return tokens


def _setup(m: Material) -> tuple[Monitoring, dict[str, str]]:
    vault = m.vault
    mon = make_monitoring(vault)
    for role in ROLES:
        user(vault, f"en-{role}", [role], password=None, display=f"Alex {role.capitalize()}")
    for action, source in (("playback", "cam-hol"), ("mail", "dziennik"), ("events", "siem"),
                           ("calls", "centrala"), ("listening", "centrala")):
        authorise(vault, "en-viewer", [action], sources=[source])
    with vault.reading() as s:
        req_id = s.execute(select(Request.id)).scalars().first()
    # a listening protocol, made the way a clerk makes one (the start form, then the form)
    c = client(vault)
    session_for(vault, c, "en-viewer")
    csrf = csrf_of(vault, c)
    r = c.post("/media/start", data={
        "csrf": csrf, "action": "listening", "recording": str(m.call.id),
        "purpose": "complaint", "case_ref": "", "request_id": str(req_id)})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    r = c.post(f"/view/{token}/protocol", data={
        "csrf": csrf, "listeners": "Alex Viewer", "breach": "threats",
        "actions": "police notified"})
    assert r.status_code == 303, r.text
    with vault.reading() as s:
        pid = s.execute(select(ListeningProtocol.id)).scalar_one()
    seq, year = m.copy_number.split("/")
    return mon, {"req_id": str(req_id), "number": m.copy_number, "pid": str(pid),
                 "year": year, "seq": seq, "event_id": str(mon.event_id),
                 "mail_id": str(mon.mail_id), "handover_id": "1", "job_id": "999999",
                 "link": "no-such-link", "auth_id": "1", "employee_id": "1",
                 "recording_id": str(m.call.id), "k": "0", "kind": "copies", "fmt": "csv",
                 "part": "live1.ts",  # a live part: refused (no sub-stream), in English
                 "label": "2026-01"}  # a report not made: "not found", in English


def _data_of(m: Material) -> tuple[str, ...]:
    p = m.vault.policy
    office = tuple(x for x in (p.office_name, p.approver_title, p.deputy_title) if x)
    return DATA + office


def _walk(c: TestClient, paths: list[str], data: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        r = c.get(path)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        left = polish_in(read_text(r.text), data)
        if left:
            found[path] = left
    return found


def test_every_page_in_english_for_every_role(material: Material) -> None:
    m = material
    mon, values = _setup(m)
    data = _data_of(m)
    routes = _page_routes(create_app(m.vault))
    missing = [path for _, path in routes if _fill(path, {**values, "token": "x"}) is None]
    # A new route with a parameter this test cannot fill must be given a value here.
    assert missing == [], missing
    found: dict[str, dict[str, list[str]]] = {}
    seen = 0
    # no one signed in: the login page and the refusals a stranger meets
    c = client(m.vault)
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    anon = [p for _, p in routes if p in ("/login",) or p.startswith("/unlock/")]
    found["(none)"] = _walk(c, [_fill(p, values) or p for p in anon], data)
    for role in ROLES:
        name = f"en-{role}"
        c = client(m.vault)
        session_for(m.vault, c, name)
        c.cookies.set("kustosz_lang", "en", domain="testserver.local")
        vals = dict(values)
        tokens = _viewing(m, mon, name)
        paths = []
        for _, path in routes:
            if path.startswith("/media/{token}/") or path.startswith("/view/{token}"):
                action = ("mail" if "/mail" in path else "events" if "/events" in path
                          else "calls" if "/calls" in path else "playback")
                vals["token"] = tokens[action]
            filled = _fill(path, vals)
            assert filled is not None
            paths.append(filled)
        seen += len(paths)
        found[role] = _walk(c, paths, data)
    where: dict[str, str] = {}  # each Polish string, with the first page that shows it
    for role, pages in found.items():
        for path, left in pages.items():
            for text in left:
                where.setdefault(text, f"{role} {path}")
    assert seen > 100  # every role walked its pages
    assert not where, (f"{len(where)} Polish strings on English pages:\n" + "\n".join(
        f"{page}: {text!r}" for text, page in sorted(where.items(), key=lambda x: x[1])))


def test_polish_is_the_default_and_unchanged(material: Material) -> None:
    """Without the cookie, or with ``pl``, the pages speak Polish as before the switch."""
    c = client(material.vault)
    session_for(material.vault, c, "burmistrz")
    for cookie in (None, "pl"):
        if cookie:
            c.cookies.set("kustosz_lang", cookie, domain="testserver.local")
        dash = c.get("/").text
        assert "<h1>Pulpit</h1>" in dash and "Moje upoważnienia" in dash
        assert "aktywne zabezpieczenie nagrań" in dash or "aktywnych zabezpieczeń nagrań" in dash
        assert "Dashboard" not in dash and "My authorisations" not in dash
        reqs = c.get("/requests").text
        assert "Zarejestruj wniosek" in reqs and "Data wpływu" in reqs
        assert "czeka na kopię" in reqs or "kopia sporządzona" in reqs
        assert "Register a request" not in reqs and "Date received" not in reqs
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    dash = c.get("/").text
    assert "<h1>Dashboard</h1>" in dash and "My authorisations" in dash


def test_the_check_sees_polish() -> None:
    """The detector itself: Polish text is caught, English and the data left out are not."""
    assert polish_in(["Zapisz zmiany"], ()) == ["Zapisz zmiany"]
    assert polish_in(["Brak nagrania"], ()) == ["Brak nagrania"]
    assert polish_in(["Rodzaj"], ()) == ["Rodzaj"]  # a catalogue word, no diacritics
    assert polish_in(["do"], ()) == ["do"]  # the Polish "to" as a label
    assert polish_in(["a person present (002 zał.5 §7 ust. 6)"], ()) == []
    assert polish_in(["Save the changes", "To do", "I agree"], ()) == []
    assert polish_in(["Request by KPP Pleszew"], ("KPP Pleszew",)) == []
    assert read_text("<p title='Usuń'>x</p><script>var a='się'</script><code>ł</code>") == [
        "Usuń", "x"]
    marked = "<li>Alarm: <span lang='pl'>Dysk <b>pełny</b><br>już</span> now</li>"
    assert read_text(marked) == ["Alarm:", "now"]
    assert marked_polish(marked) == ["Dysk", "pełny", "już"]


def test_what_forms_answer_is_in_english(material: Material) -> None:
    """A form sent wrong answers with its errors in English; one sent right, with an English
    message after the redirect (the flash); a wrong password, in English too."""
    m = material
    data = _data_of(m)
    c = client(m.vault)
    session_for(m.vault, c, "informatyk")
    c.cookies.set("kustosz_lang", "en", domain="testserver.local")
    csrf = csrf_of(m.vault, c)
    answers = {
        "empty request": c.post("/requests", data={"csrf": csrf}),
        "bad request": c.post("/requests", data={
            "csrf": csrf, "kind": "authority", "material": "video", "requester": "X",
            "received_on": "2026-13-01", "event_date": "x", "approx_time": "25:00"}),
        "empty hold": c.post("/holds", data={"csrf": csrf}),
        "backwards hold": c.post("/holds", data={
            "csrf": csrf, "sources": "cam-hol", "from": "2026-01-01T10:00",
            "to": "2026-01-01T09:00", "basis": "x"}),
        "empty access form": c.post("/media/start", data={
            "csrf": csrf, "action": "playback", "source": "cam-hol"}),
        "wrong copy number": c.post("/copies/destroy", data={
            "csrf": csrf, "number": m.copy_number, "confirm": "zzz"}),
    }
    for what, r in answers.items():
        assert r.status_code in (403, 422), (what, r.status_code)
        assert polish_in(read_text(r.text), data) == [], what
    assert "This field is required." in answers["empty hold"].text
    placed = c.post("/holds", data={"csrf": csrf, "sources": "cam-hol",
                                    "from": "2026-01-01T09:00", "to": "2026-01-01T10:00",
                                    "basis": "inquiry"}, follow_redirects=True)
    assert placed.status_code == 200 and polish_in(read_text(placed.text), data) == []
    assert re.search(r"Hold no\. \d+ placed\.", placed.text), placed.text[-2000:]
    stranger = client(m.vault)
    stranger.cookies.set("kustosz_lang", "en", domain="testserver.local")
    form = stranger.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    wrong = stranger.post("/login", data={"csrf": token.group(1), "username": "informatyk",
                                          "password": "wrong-password"})
    assert "Wrong user name or password." in wrong.text
    assert polish_in(read_text(wrong.text), data) == []
