"""Issue 47: the recipients an Exchange envelope journal report names — distribution-list
members (`To: member, Expanded: list`), an alternative recipient (`Forwarded:`), Bcc, and the
`Recipient:` lines Exchange writes when it cannot verify the addressing — are shown with the
message (page and JSON), not only searchable. The report's recipient lines are the examples
of Microsoft's own format page (tests/corpus/mail/exchange, see its README), sent through the
real SMTP journal listener."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from tests.custody.custody_helpers import people
from tests.monitoring.monitoring_helpers import mail_listener, mailbox, wait_for
from web_helpers import authorise, client, csrf_of, session_for, user

from kustosz.ingest.mail.search import search_mail
from kustosz.vault import Vault

CORPUS = Path(__file__).parents[1] / "corpus" / "mail" / "exchange"


def journal_report() -> EmailMessage:
    """An envelope journal report: the body's first three lines in the page's ABNF form with
    this test's values, the page's five recipient lines as stored, and one `Recipient:` line
    (the ABNF's unverified-addressing form); the original attached as message/rfc822."""
    original = EmailMessage()
    original["From"] = "Referat ZP <zp@contoso.com>"
    original["To"] = "dl@contoso.com"
    original["Cc"] = "user@contoso.com"
    original["Subject"] = "Przetarg ZP.271.9.2026"
    original["Date"] = format_datetime(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    original["Message-ID"] = make_msgid(domain="contoso.com")
    original.set_content("Treść listu")
    lines = (CORPUS / "recipient-specifications.txt").read_text("utf-8").splitlines()
    body = "\r\n".join(["Sender: zp@contoso.com", f"Subject: {original['Subject']}",
                        f"Message-ID: {original['Message-ID']}", *lines,
                        "Recipient: unverified@contoso.com"]) + "\r\n"
    report = EmailMessage()
    report["From"] = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com"
    report["To"] = "journal@kustosz.contoso.com"
    report["Subject"] = original["Subject"]
    report["X-MS-Journal-Report"] = ""
    report.set_content(body)
    report.add_attachment(original)
    return report


def test_journal_report_recipients_are_shown_with_the_message(web_vault: Vault) -> None:
    v = web_vault
    people(v)
    mailbox(v, "dziennik", office_domains=["contoso.com"])
    bg = mail_listener(v, "dziennik")
    try:
        host, port = bg.service.addresses["smtp"]
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(journal_report(), from_addr="journal-sender@contoso.com",
                              to_addrs=["journal@kustosz.contoso.com"])
        wait_for(lambda: bg.service.counters.totals["messages"] == 1)
        bg.flush()
    finally:
        bg.stop()
    expected = ["dl-member@contoso.com", "dl@contoso.com", "fwd@contoso.com",
                "unverified@contoso.com", "user@contoso.com"]
    with v.reading() as s:
        (m,) = search_mail(s, address="dl-member@contoso.com")  # searchable, as before
    assert m["journal_rcpt"] == expected
    # ... and shown: the reviewer's page and its JSON name every recipient of the report
    user(v, "iod", ["dpo"], password=None)
    authorise(v, "iod", ["mail"], sources=["dziennik"])
    c = client(v)
    session_for(v, c, "iod")
    now = datetime.now(UTC)
    local = [t.astimezone(v.policy.timezone).strftime("%Y-%m-%dT%H:%M:%S")
             for t in (now - timedelta(hours=1), now + timedelta(hours=1))]
    r = c.post("/media/start", data={"csrf": csrf_of(v, c), "action": "mail",
                                     "source": "dziennik", "from": local[0], "to": local[1],
                                     "purpose": "wyjaśnienie", "case_ref": "BI.0123.5.2026"})
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    page = c.get(f"/media/{token}/mail")
    assert page.status_code == 200
    assert "Wg raportu dziennika" in page.text
    for address in ("dl-member@contoso.com", "fwd@contoso.com", "unverified@contoso.com"):
        assert address in page.text
    js = c.get(f"/media/{token}/mail", params={"format": "json"}).json()
    assert [row["journal_rcpt"] for row in js["rows"]] == [expected]
