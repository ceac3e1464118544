"""What PostgreSQL keeps once per database is keyed on the office's schema in one place
(kustosz.db.office_keys, issue 67): no advisory lock, NOTIFY or LISTEN anywhere else in the
program; a lock's name is never SQL; a queue's channel always fits PostgreSQL's 63 bytes.
The locks and queues at work across two offices: tests/installation/test_office_locks.py and
test_office_queue.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kustosz.db import office_keys

SRC = Path(office_keys.__file__).resolve().parents[1]
# SQL's words, as SQL writes them (prose says "notify" and "listen" in other senses)
DATABASE_WIDE = re.compile(r"pg_(try_)?advisory_\w*lock|pg_notify\s*\(|"
                           r"\b(UN)?LISTEN\s+[\"'a-z_{*]|\bNOTIFY\s+[\"'a-z_{]")


def test_no_advisory_lock_or_channel_is_taken_outside_office_keys() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == Path(office_keys.__file__).resolve():
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if DATABASE_WIDE.search(code):
                found.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize("name", ["", "audit.chain'); SELECT pg_sleep(9); --", "Audit",
                                  "audit chain", "łańcuch", "a" * 60])
def test_a_lock_name_that_is_not_a_plain_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        office_keys.lock_sql(name)


def test_each_lock_is_keyed_on_the_schema_and_its_name() -> None:
    for name in (office_keys.AUDIT_CHAIN, office_keys.ACCESS_CHAIN):
        sql = office_keys.lock_sql(name)
        assert sql.count("current_schema()") == 2 and f"'/{name}'" in sql
    assert office_keys.lock_sql(office_keys.AUDIT_CHAIN) != \
        office_keys.lock_sql(office_keys.ACCESS_CHAIN)


@pytest.mark.parametrize("schema", ["public", "office_mops", "office_" + "x" * 56,
                                    "office_zażółć_gęślą_jaźń_🏛️"])
def test_a_queues_channel_fits_and_names_its_schema_alone(schema: str) -> None:
    queue = office_keys.queue_name(schema)
    assert len(("procrastinate_queue_v1#" + queue).encode("utf-8")) <= 63
    assert queue != office_keys.queue_name(schema + "2")
    assert queue == office_keys.queue_name(schema)  # the same for every process
