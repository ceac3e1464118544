"""Times the command line shows people (issue 12 item 9): the office's zone (Europe/Warsaw),
whole seconds, with the offset — from every verb that prints one, through one helper
(`cli.common.local`). `--json` stays ISO 8601 in UTC (README, "--json output"). The material
is made with microseconds on purpose: they were printed before."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kustosz.access import tokens
from kustosz.access.users import get_user
from kustosz.cli import app
from kustosz.vault import Vault
from tests.conftest import Cli
from tests.custody.custody_helpers import call, record, setup_camera, setup_phone

WARSAW = ZoneInfo("Europe/Warsaw")
OFFSET = re.compile(r"(?<![\d:])[+-]\d{2}:\d{2}\b")
# A date and a clock time, with whatever follows: seconds, a fraction, a zone.
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?"
                   r"(?: ?(?:Z|[+-]\d{2}:?\d{2}))?")


def shown(value: datetime) -> str:
    """How a time must look, built without the product's helper."""
    offset = value.astimezone(WARSAW).utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    return (f"{value.astimezone(WARSAW):%Y-%m-%d %H:%M:%S} "
            f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def human(output: str, *expected: datetime) -> list[str]:
    """Every time in ``output`` is local with Warsaw's offset at that instant and no fraction
    of a second; each of ``expected`` appears as `shown` writes it."""
    stamps = STAMP.findall(output)
    assert stamps or not expected, output
    for text in stamps:
        assert "." not in text, f"microseconds in {text!r}:\n{output}"
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" +", "+")
                                       .replace(" -", "-"))
        assert value.tzinfo is not None, f"no offset in {text!r}:\n{output}"
        assert value.utcoffset() == value.astimezone(WARSAW).utcoffset(), \
            f"{text!r} is not in the office's zone:\n{output}"
    for value in expected:
        assert shown(value) in output, f"{shown(value)} not in:\n{output}"
    return stamps


def test_every_verb_shows_local_times_without_microseconds(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--preset", "pleszew")
    config = cli.data / "kustosz.toml"
    config.write_text(config.read_text().replace(
        "[audit]\n", f'[audit]\nwitness = "{tmp_path / "witness.jsonl"}"\n', 1)
        + '\n[policy.retention]\nphone = "3 months"\n')
    vault = Vault.open(cli.data)
    assert vault.policy.timezone.key == "Europe/Warsaw"
    now = datetime.now(UTC)
    seg_at = (now - timedelta(days=2)).replace(microsecond=123456)
    setup_camera(vault, "cam-hol")
    segs = record(vault, "cam-hol", seg_at, 2, tmp_path / "segs")
    setup_phone(vault, tmp_path / "pbx")
    call_at = (now - timedelta(hours=3)).replace(microsecond=654321)
    (tmp_path / "calls").mkdir()
    rec = call(vault, tmp_path / "calls", call_at, "+48600100200")
    vault.close()

    cli("sources", "add", "hall", "--kind", "camera")
    sample = tmp_path / "seg.ts"
    sample.write_bytes(b"\x47" * 188 * 10)
    hall_at = (now - timedelta(days=20)).replace(microsecond=987654)
    ingested = cli("ingest", "file", "hall", str(sample), "--start", hall_at.isoformat(),
                   "--end", (hall_at + timedelta(seconds=10)).isoformat()).output
    human(ingested, hall_at)
    human(cli("recordings", "list").output, seg_at, hall_at)
    # An 80-column terminal: the cells wrap at the spaces; no offset is cut to "+0…".
    narrow = cli.runner.invoke(app, ["--data", str(cli.data), "recordings", "list"],
                               env={"COLUMNS": "80"}).output
    assert "…" not in narrow and len(OFFSET.findall(narrow)) == 3 * 4  # start, end, kept
    listed = json.loads(cli("recordings", "list", "--json").output)
    first = next(r for r in listed if r["id"] == segs[0].id)
    assert first["start"] == seg_at.isoformat()  # --json: ISO 8601 in UTC, microseconds kept
    hall_id = next(r["id"] for r in listed if r["source"] == "hall")

    hold_from, hold_to = seg_at - timedelta(minutes=5), seg_at + timedelta(minutes=5)
    cli("holds", "place", "--source", "cam-hol", "--from", hold_from.isoformat(), "--to",
        hold_to.isoformat(), "--basis", "pismo KPP")
    cli("holds", "place", "--item", str(hall_id), "--basis", "omyłka")
    cli("holds", "release", "2", "--reason", "omyłka")  # a released time is shown too
    human(cli("holds", "list", "--all").output, hold_from, hold_to)

    late = now + timedelta(days=100)
    swept = cli("retention", "run", "--now", late.isoformat(), "--dry-run").output
    assert f"would delete #{hall_id} hall" in swept and f"kept #{segs[0].id} cam-hol" in swept
    human(swept, late, hall_at, seg_at)

    cli("users", "add", "burmistrz", "--display", "Jan Kowalski", "--role", "approver")
    cli("users", "add", "it", "--display", "Piotr Wiśniewski", "--role", "custodian")
    req_from, req_to = seg_at - timedelta(seconds=1), seg_at + timedelta(seconds=3)
    req = json.loads(cli(
        "requests", "add", "--kind", "authority", "--material", "video", "--requester", "KPP",
        "--date", seg_at.astimezone(WARSAW).date().isoformat(), "--from", req_from.isoformat(),
        "--to", req_to.isoformat(), "--camera", "cam-hol", "--margin", "0", "--description",
        "kradzież", "--purpose", "postępowanie", "--json").output)
    rid = str(req["id"])
    human(cli("requests", "show", rid).output, req_from, req_to)
    cli("requests", "decide", rid, "--agree", "--by", "burmistrz", "--paper-ref", "OR.1")
    cli("copies", "make", rid, "--by", "it")
    # The copy's period is what it holds (both 2 s segments), not the request's window.
    human(cli("copies", "list").output, segs[0].start_at, segs[-1].end_at)

    found = cli("calls", "search", "--number", "600100200").output
    human(found, call_at, call_at + timedelta(seconds=1))
    human(cli("calls", "show", str(rec.id)).output, call_at)
    as_json = json.loads(cli("calls", "show", str(rec.id), "--json").output)
    assert as_json["start"] == call_at.isoformat()  # JSON: ISO 8601 in UTC, as it was stored
    cli("phones", "scan", "centrala")
    assert len(human(cli("phones", "status", "centrala").output)) >= 1  # the last pass

    assert len(human(cli("recorders", "status").output)) == 1  # the last segment's end

    vault = Vault.open(cli.data)
    with vault.transaction() as s:
        _, token = tokens.create(s, get_user(s, "it"), "skrypt", ["read"], 30, ("read",))
        expires = token.expires_at
    vault.close()
    human(cli("tokens", "list").output, expires)

    cli("audit", "checkpoint")
    verified = cli("audit", "verify").output
    assert "signed checkpoints agree" in verified
    assert len(human(verified)) == 1  # the latest checkpoint's time

    # A time as shown can be given back as it is (README: quoted, to --from/--to).
    back = shown(hall_at.replace(microsecond=0))
    cli("holds", "place", "--source", "hall", "--from", back, "--to", back, "--basis", "wydruk")
    placed = json.loads(cli("holds", "list", "--json").output)[-1]
    assert placed["from"] == hall_at.replace(microsecond=0).isoformat()
