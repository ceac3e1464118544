"""Issue 51 item 3: whom an IT event is about. The user was read by a loose pattern: "Admin
login failed" was attributed to user "failed", "User login succeeded for anowak" to "login",
and CEF's `suser=` (the acting user) was never read — a person's name put on someone else's
event, or on a word. An event names a user only where the line says it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from kustosz.ingest.events.syslog import parse, user_of

TZ = ZoneInfo("Europe/Warsaw")


def _user(message: str) -> str:
    return user_of(parse(f"<38>Nov 26 10:15:02 pc-042 app: {message}".encode(), TZ))


@pytest.mark.parametrize(("message", "user"), [
    # the findings
    ("Admin login failed", ""),
    ("User login succeeded for anowak", "anowak"),
    ("CEF:0|Microsoft|Windows|10|4625|An account failed to log on|5|suser=anowak "
     "duser=administrator src=10.1.2.3", "anowak"),
    ("CEF:0|Vendor|Product|1.0|100|Logon|3|duser=jkowalski shost=pc-042", "jkowalski"),
    # the forms that were read right, still read
    ("Failed password for jkowalski from 10.1.2.3 port 22 ssh2", "jkowalski"),
    ("Failed password for invalid user admin from 10.1.2.3 port 22 ssh2", "admin"),
    ("Accepted publickey for anowak from 10.1.2.3 port 50000 ssh2", "anowak"),
    ("pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)", "root"),
    ("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
     "ruser= rhost=10.1.2.3  user=jkowalski", "jkowalski"),
    ('login attempt user="jkowalski" result=fail', "jkowalski"),
    ("account: ANowak locked out", "ANowak"),
    ("USER=kowalski COMMAND=/bin/ls", "kowalski"),
    # words, not people
    ("User logged in", ""),
    ("login successful", ""),
    ("User account created", ""),
    ("Service started for user session", ""),
])
def test_the_user_is_the_one_the_line_names(message: str, user: str) -> None:
    assert _user(message) == user
