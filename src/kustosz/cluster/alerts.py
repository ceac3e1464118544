"""The cluster's alert rows (kinds in kustosz.alert_kinds; the notifier delivers them): a node
that stopped beating, a camera or phone line no node took over within a lease time, a node
whose clock is off the database's beyond the margin (it refuses leases) — and a phone line
that nodes do not record at all: one Kustosz records itself (SIPREC, a mirrored port), whose
SBC or switch port is tied to one machine, which `kustosz serve --node` does not run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from kustosz.alert_rows import clear_rows, raise_row
from kustosz.db.leases import NOW
from kustosz.db.models import Alert, Source
from kustosz.kinds import SourceKind
from kustosz.phones.settings import PhoneSettings
from kustosz.states import AlertRow
from kustosz.vault import Vault


def clock_skew(vault: Vault, node: str, skew_s: float | None, margin_s: float) -> None:
    """Raise (skew_s given) or clear this node's clock alert. One row a node: its message
    starts with the node's name, which tells the rows apart."""
    now = datetime.now(UTC)
    mark = f"Węzeł {node}:"
    with vault.reading() as s:
        open_rows = [a for a in s.execute(select(Alert).where(
            Alert.kind == AlertRow.NODE_CLOCK_SKEW, Alert.cleared_at.is_(None))).scalars()
            if a.message.startswith(mark)]
    if skew_s is None and not open_rows:
        return
    with vault.transaction() as s:
        rows = [a for a in s.execute(select(Alert).where(
            Alert.kind == AlertRow.NODE_CLOCK_SKEW, Alert.cleared_at.is_(None))).scalars()
            if a.message.startswith(mark)]
        if skew_s is None:
            for row in rows:
                row.cleared_at = now
            return
        message = (f"{mark} zegar różni się od zegara bazy danych o {skew_s:+.0f} s (dopuszczalne "
                   f"{margin_s:.0f} s); węzeł nie przejmuje kamer ani linii, dopóki zegar nie "
                   f"zostanie poprawiony (NTP). / Node {node}: its clock is {skew_s:+.0f} s off "
                   "the database's; it takes no leases until that is fixed.")
        if rows:
            rows[0].message = message
        else:
            s.add(Alert(raised_at=now, kind=AlertRow.NODE_CLOCK_SKEW, source_id=None,
                        message=message))


def check_cluster(vault: Vault, lease_seconds: float) -> None:
    """node_missing: nodes that stopped beating without a clean stop; source_without_node:
    cameras and phone lines whose lease has been free for more than a lease time."""
    now = datetime.now(UTC)
    with vault.engine.connect() as conn:
        missing = list(conn.execute(text(
            "SELECT name FROM nodes WHERE stopped_at IS NULL AND last_seen <= "
            f"{NOW} - make_interval(secs => :s) ORDER BY name"), {"s": lease_seconds}).scalars())
        orphans = list(conn.execute(text(
            "SELECT resource FROM leases WHERE (resource LIKE 'camera:%' OR resource LIKE "
            f"'phone:%') AND (node IS NULL OR until <= {NOW}) AND until <= {NOW} - "
            "make_interval(secs => :s) ORDER BY resource"), {"s": lease_seconds}).scalars())
    with vault.transaction() as s:
        if missing:
            raise_row(s, AlertRow.NODE_MISSING,
                      "Węzły rejestratora nie odpowiadają: " + ", ".join(missing) + "; ich "
                      "kamery i linie przejmują pozostałe węzły. / Recorder nodes not "
                      "answering: " + ", ".join(missing) + ".", now)
        else:
            clear_rows(s, AlertRow.NODE_MISSING, now)
        names = [r.partition(":")[2] for r in orphans]
        sources = {name: sid for name, sid in s.execute(
            select(Source.name, Source.id).where(Source.name.in_(names))).all()}
        for name, sid in sources.items():
            raise_row(s, AlertRow.SOURCE_WITHOUT_NODE,
                      f"Źródło {name} nie jest nagrywane przez żaden węzeł. / Source {name} "
                      "has no node recording it.", now, source_id=sid)
        for name, sid, settings in s.execute(select(Source.name, Source.id, Source.settings)
                                             .where(Source.kind == SourceKind.PHONE,
                                                    Source.enabled.is_(True))).all():
            cfg = PhoneSettings.of(settings)
            if not cfg.recorded_by_kustosz:
                continue
            how = ("przez SIPREC" if cfg.by_siprec else
                   f"z portu lustrzanego (interfejs {cfg.capture})")
            raise_row(s, AlertRow.SOURCE_WITHOUT_NODE,
                      f"Linia telefoniczna {name} jest nagrywana {how}, czego węzły "
                      "(kustosz serve --node) nie robią: jej rozmowy nie są nagrywane. "
                      f"/ Phone line {name} is recorded by Kustosz itself "
                      f"({'SIPREC' if cfg.by_siprec else 'a mirrored port'}), which nodes "
                      "do not run: its calls are not recorded.", now, source_id=sid)
            sources[name] = sid
        open_rows = s.execute(select(Alert).where(
            Alert.kind == AlertRow.SOURCE_WITHOUT_NODE, Alert.cleared_at.is_(None))).scalars()
        for row in open_rows:
            if row.source_id not in sources.values():
                row.cleared_at = now
