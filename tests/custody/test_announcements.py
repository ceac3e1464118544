"""Phone announcements (R5.6): Bolesławiec's texts word for word [001 §1 ust. 3–4]; an office
recording only external incoming calls [004 §3 ust. 4] gets no outgoing-call sentence."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from tests.conftest import Cli


def _text(path: Path) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(path).pages)


def test_boleslawiec_announcements_are_the_regulations_words(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "boleslawiec")
    out = tmp_path / "a.pdf"
    cli("documents", "render", "announcement", "--out", str(out))
    text = " ".join(_text(out).split())
    assert "Witamy w Urzędzie Miasta Bolesławiec" in text
    assert "naciśnięciu klawisza * (gwiazdka)" in text
    assert "Informuję, że w trosce o bezpieczeństwo" in text  # read before outgoing calls


def test_external_incoming_only_has_no_outgoing_sentence(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "walbrzych")
    out = tmp_path / "a.pdf"
    cli("documents", "render", "announcement", "--out", str(out))
    text = " ".join(_text(out).split())
    assert "Miejski Ośrodek Pomocy Społecznej w Wałbrzychu" in text
    assert "wyłącznie zewnętrzne połączenia przychodzące" in text
    assert "Informuję" not in text and "nie są nagrywane" in text
