"""The dashboard's alarms are bounded however many alert rows are open (issue 64 item 4: 5 000
alarms made a 988 KB page): at most SHOWN listed, the most urgent and newest first, and one
line saying how many more — in Polish, and in English on the English page. A source's alarm
stays hidden from one whose authorisations do not cover it, however many there are."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from web_helpers import signed_in, user

from kustosz.db.models import Alert
from kustosz.states import AlertRow
from kustosz.vault import Vault
from kustosz.web.alarms import SHOWN

NOW = datetime.now(UTC).replace(microsecond=0)


def _alarms(html: str) -> str:
    found = re.search(r'<section class="card alarms" id="alarms".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_a_thousand_open_alarms_are_fifty_listed_the_urgent_first_and_the_rest_counted(
        sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    with v.transaction() as s:
        for n in range(1000):
            s.add(Alert(raised_at=NOW - timedelta(minutes=n), kind=AlertRow.INPUT_REFUSED,
                        message=f"Odrzucono dane od urządzenia „kamera Żółć 🔥 {n}”: powód."))
        s.add(Alert(raised_at=NOW - timedelta(days=3), kind=AlertRow.DATABASE_UNREACHABLE,
                    message="Baza danych była niedostępna."))
    user(v, "iod", ["dpo"])
    page = signed_in(v, "iod")
    before = len(page.get("/").content)
    alarms = _alarms(page.get("/").text)
    listed = re.findall(r'<li class="error" data-alarm="\d+">(.*?)</li>', alarms, re.S)
    assert len(listed) == SHOWN == 50
    assert listed[0] == "Baza danych była niedostępna."  # nothing records: first, though old
    assert listed[1] == "Odrzucono dane od urządzenia „kamera Żółć 🔥 0”: powód."  # newest
    assert "…i jeszcze 951 alarmów (starszych lub mniej pilnych)." in alarms
    assert len(page.get("/").content) == before < 40_000
    page.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "…and 951 more alerts (older or less urgent)." in _alarms(page.get("/").text)
    with v.transaction() as s:
        s.add(Alert(raised_at=NOW, kind=AlertRow.DISK_FULL, message="Dysk pełny."))
    assert "…and 952 more alerts" in _alarms(page.get("/").text)


def test_one_more_alarm_is_said_in_the_singular(sqlite_web_vault: Vault) -> None:
    v = sqlite_web_vault
    with v.transaction() as s:
        for n in range(SHOWN + 1):
            s.add(Alert(raised_at=NOW - timedelta(minutes=n), kind=AlertRow.INPUT_REFUSED,
                        message=f"Odrzucono {n}."))
    user(v, "iod", ["dpo"])
    alarms = _alarms(signed_in(v, "iod").get("/").text)
    assert "…i jeszcze 1 alarm (starszy lub mniej pilny)." in alarms
    assert "Odrzucono 50." not in alarms and "Odrzucono 49." in alarms
