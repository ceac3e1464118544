"""/metrics (issue 14 item 4): the Prometheus text format read back with prometheus-client's
own parser; a camera's `up` follows its recorder; reached only with a `metrics` token or from
an address of `[web] metrics_from`; no label carries a number, an address or a name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from tests.custody.custody_helpers import record, setup_camera
from web_helpers import STRANGER, Material, client, session_for, user

from kustosz.access import tokens
from kustosz.db.cameras import RecorderStatus
from kustosz.db.custody import User
from kustosz.db.models import Alert, Source
from kustosz.errors import ConfigError
from kustosz.index.sources import add_source
from kustosz.ingest.camera.health import open_gap, set_status
from kustosz.ingest.chunks.counters import add_counts
from kustosz.vault import Vault
from kustosz.web.gate import SCOPES


def token(vault: Vault, name: str, scopes: list[str]) -> dict[str, str]:
    with vault.transaction() as s:
        u = s.execute(select(User).where(User.name == name)).scalar_one()
        made, _ = tokens.create(s, u, "prometheus", scopes, 30, SCOPES)
    return {"Authorization": f"Bearer {made}"}


def scrape(c, headers: dict[str, str] | None = None) -> dict[str, dict[tuple, float]]:  # type: ignore[no-untyped-def]
    """name -> {sorted label items: value}, parsed by prometheus-client."""
    r = c.get("/metrics", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def source_id(vault: Vault, name: str) -> int:
    with vault.reading() as s:
        return s.execute(select(Source.id).where(Source.name == name)).scalar_one()


def camera_labels(vault: Vault, name: str) -> tuple[tuple[str, str], ...]:
    """A camera's labels: by id (its name only for a scraper that may see locations)."""
    return (("kind", "camera"), ("source", f"camera-{source_id(vault, name)}"))


def test_camera_up_follows_its_recorder(web_vault: Vault, tmp_path: Path) -> None:
    """SQLite and PostgreSQL: recording → up 1 with its age, bytes and gaps; down → 0."""
    vault = web_vault
    setup_camera(vault, "cam-hol")
    now = datetime.now(UTC)
    [seg] = record(vault, "cam-hol", now - timedelta(seconds=30), 1, tmp_path / "seg")
    cam = source_id(vault, "cam-hol")
    open_gap(vault, cam, now - timedelta(seconds=100), "unreachable", "test", "cam-hol")
    set_status(vault, cam, "recording")
    hol = camera_labels(vault, "cam-hol")
    c = client(vault)  # loopback: on the default metrics allow-list
    m = scrape(c)
    assert m["kustosz_source_up"][hol] == 1
    assert m["kustosz_source_bytes"][hol] == seg.size > 0
    assert 25 <= m["kustosz_source_last_segment_age_seconds"][hol] < 120
    assert 95 <= m["kustosz_source_gap_seconds_total"][hol] < 200
    assert m["kustosz_holds_active"][()] == 0
    assert m["kustosz_sweep_deletions_total"][(("mode", "retention"),)] == 0
    assert m["kustosz_disk_free_bytes"][()] > 0
    assert m["kustosz_upload_backlog_files"][()] == 0  # a local store: nothing waits
    for state in ("down", "connecting"):
        set_status(vault, cam, state, "connection refused")
        assert scrape(c)["kustosz_source_up"][hol] == 0, state
    set_status(vault, cam, "recording")
    assert scrape(c)["kustosz_source_up"][hol] == 1
    # A status row left at "recording" (a `serve` that died, a stalled recorder) with no
    # segment for minutes is not up; one just started, before its first segment, is.
    setup_camera(vault, "cam-stale")
    record(vault, "cam-stale", now - timedelta(minutes=10), 1, tmp_path / "seg")
    stale = source_id(vault, "cam-stale")
    set_status(vault, stale, "recording")
    label = (("kind", "camera"), ("source", f"camera-{stale}"))
    assert scrape(c)["kustosz_source_up"][label] == 1
    with vault.transaction() as s:
        s.get(RecorderStatus, stale).since = now - timedelta(minutes=9)
    assert scrape(c)["kustosz_source_up"][label] == 0
    assert scrape(c)["kustosz_source_up"][hol] == 1


def test_counts_of_the_vault(sqlite_material: Material) -> None:
    """Holds, waiting requests, copies, open alerts by kind, a finished sweep, intake
    counters: what the dashboard counts, as the scraper reads it."""
    from kustosz.retention.sweep import run_sweep

    vault = sqlite_material.vault
    run_sweep(vault)
    with vault.transaction() as s:
        s.add(Alert(raised_at=datetime.now(UTC), kind="camera_down", message="x"))
        s.add(Alert(raised_at=datetime.now(UTC), kind="camera_down", message="y"))
        s.add(Alert(raised_at=datetime.now(UTC), kind="disk_pressure", message="z",
                    cleared_at=datetime.now(UTC)))
        box = add_source(s, vault.policy, "dziennik", "mailbox", "test")
        add_counts(s, box.id, {"messages": 5, "too_large": 1})
    m = scrape(client(vault))
    assert m["kustosz_holds_active"][()] >= 1  # the request's hold and the copy's
    assert m["kustosz_requests_waiting"][()] == 0  # decided
    assert m["kustosz_copies_due"][()] == 0
    assert m["kustosz_alerts_open"] == {(("kind", "camera_down"),): 2}
    assert m["kustosz_sweep_last_run_timestamp_seconds"][()] > datetime.now(UTC).timestamp() - 60
    assert m["kustosz_sweep_last_duration_seconds"][()] >= 0
    box_labels = (("kind", "mailbox"), ("source", f"mailbox-{source_id(vault, 'dziennik')}"))
    assert m["kustosz_intake_items_total"][(("counter", "messages"), *box_labels)] == 5
    assert m["kustosz_source_up"][box_labels] == 1  # delivered just now


def test_refused_without_the_scope_or_from_elsewhere(sqlite_web_vault: Vault,
                                                     tmp_path: Path) -> None:
    vault = sqlite_web_vault
    user(vault, "admin", ["administrator"])
    here, there = client(vault), client(vault, STRANGER)
    read = token(vault, "admin", ["read"])
    scoped = token(vault, "admin", ["metrics"])
    for c, headers, why in [(there, {}, "address"), (here, read, "scope"),
                            (there, read, "scope"),
                            (here, {"Authorization": "Bearer ksz_made-up"}, "token")]:
        r = c.get("/metrics", headers=headers)
        assert r.status_code == 403, (why, r.status_code)
        assert r.headers["content-type"].startswith("text/plain")
        assert why in r.text and "kustosz_" not in r.text
    session_for(vault, there, "admin")  # a signed-in browser does not open it either
    assert there.get("/metrics").status_code == 403
    assert "kustosz_holds_active" in scrape(client(vault, STRANGER), scoped)


def with_web(config: str, line: str) -> str:
    """The config with ``line`` in its [web] table (the template may already have one)."""
    if "\n[web]\n" in config:
        return config.replace("\n[web]\n", f"\n[web]\n{line}\n", 1)
    return config + f"\n[web]\n{line}\n"


def test_metrics_from_in_the_config(tmp_path: Path) -> None:
    from tests.conftest import make_vault

    root = tmp_path / "vault"
    make_vault(root).close()
    config = root / "kustosz.toml"
    plain = config.read_text()
    config.write_text(with_web(plain, 'metrics_from = ["10.9.9.0/24"]'))
    vault = Vault.open(root)
    try:
        assert "kustosz_disk_free_bytes" in scrape(client(vault, STRANGER))
        assert client(vault).get("/metrics").status_code == 403  # loopback no longer listed
    finally:
        vault.close()
    for bad, said in [('"10.9.9.9"', "list"), ('["10.9.9.300"]', "10.9.9.300"),
                      ('["intranet"]', "intranet"), ("[5]", "must be text")]:
        config.write_text(with_web(plain, f"metrics_from = {bad}"))
        with pytest.raises(ConfigError, match=said):
            Vault.open(root)


PHONE = re.compile(r"\+?\d[\d ]{6,}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def test_no_personal_data_in_labels(sqlite_material: Material) -> None:
    """Over a vault with people, a call from +48600100200, a mailbox of a named person's
    address and a line named with a number: labels name sources and kinds only."""
    vault = sqlite_material.vault
    with vault.transaction() as s:
        add_source(s, vault.policy, "48600100200", "phone", "test")
        add_source(s, vault.policy, "j.wisniewski", "mailbox", "test")  # Piotr Wiśniewski's
        add_source(s, vault.policy, "dziennik", "mailbox", "test",
                   settings={"imap_host": "imap.um.example.pl",
                             "imap_user": "jan.kowalski@um.example.pl"})
        s.add(Alert(raised_at=datetime.now(UTC), kind="phone.silent",
                    message="Linia 48600100200: Jan Kowalski, jan.kowalski@um.example.pl"))
        people = [(u.name, u.display_name) for u in s.execute(select(User)).scalars()]
    m = scrape(client(vault))
    values = {v for samples in m.values() for labels in samples for _, v in labels}
    assert f"camera-{source_id(vault, 'cam-hol')}" in values  # a camera: by id (R1.7)
    # a line or a mailbox by id too: offices name them after rooms and people (issue 48)
    assert "centrala" not in values and "dziennik" not in values
    assert f"mailbox-{source_id(vault, 'dziennik')}" in values
    assert not [v for v in values if PHONE.search(v) or EMAIL.search(v)], values
    words = {w.lower() for _, display in people for w in display.split() if len(w) > 2}
    assert words and not [v for v in values if words & set(re.split(r"[\W_]+", v.lower()))]
    assert not {name for name, _ in people} & values
    assert f"phone-{source_id(vault, '48600100200')}" in values
    assert f"mailbox-{source_id(vault, 'j.wisniewski')}" in values
