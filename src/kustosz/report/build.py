"""The report's content as one JSON document: stable key order, nothing that depends on when it
was made (no "generated at": that is the manifest's), so a report made again for the same
period gives the same bytes. FORMAT names its shape; a change of shape is a new version."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from kustosz.audit.witness import vault_id
from kustosz.db.models import AuditEntry
from kustosz.report import access_facts, custody_facts, material
from kustosz.report.common import utc
from kustosz.report.findings import findings
from kustosz.report.integrity import alerts, integrity, policy_changes
from kustosz.report.material import Facts
from kustosz.report.period import ReportPeriod, check_within, so_far
from kustosz.vault import Vault

# /2: "entries" (messages, events) beside "items" (stored files) under "recorded" (0042)
# /3: "alerts": each alert's "told" (who was told, when: alert_deliveries, 0043) and the
#     counts "told" / "not_told" in place of the note "who_was_told" (not recorded)
# /4: "copies": "made" and "returned_at_review" as {"copy", "at"} (were the numbers alone)
FORMAT = "kustosz-accountability-report/4"
# A draft (the part of a running period gone by, so_far) has the same sections and the key
# "draft"; its own format name, so that a program reading final reports never takes one for
# a final report (it checks "format", as every reader of a versioned file does).
DRAFT_FORMAT = FORMAT.replace("-report/", "-report-draft/")
REPORT_FILE = "report.json"


def began(vault: Vault) -> datetime | None:
    """When the vault came to be: its first audit entry (vault.init)."""
    with vault.reading() as s:
        first = s.execute(select(AuditEntry.at).order_by(AuditEntry.seq).limit(1)).scalar()
    return utc(first) if first is not None else None


def _by_kind(recorded: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for r in recorded:
        k = out.setdefault(r["kind"], {"sources": 0, "items": 0, "entries": None,
                                       "hours": 0.0, "gaps_seconds": 0})
        k["sources"] += 1
        k["items"] += r["items"]
        if r["entries"] is not None:  # messages or events: mail and IT events only
            k["entries"] = (k["entries"] or 0) + r["entries"]
        k["hours"] = round(k["hours"] + r["hours"], 3)
        k["gaps_seconds"] += r["gaps_seconds"]
    return dict(sorted(out.items()))


def is_draft(report: dict[str, Any]) -> bool:
    return "draft" in report


def build(vault: Vault, period: ReportPeriod, now: datetime,
          draft: bool = False) -> dict[str, Any]:
    """The report of ``period`` as of ``now`` (which only decides whether the period is over
    and the vault existed in it; the content is read as it stood at the period's end). With
    ``draft``, the part of the running ``period`` gone by at ``now``, marked as a draft: as
    it stood at ``now``, and never the period's report (that is made once it is over)."""
    tz = vault.policy.timezone
    whole = period
    if draft:
        period = so_far(period, began(vault), now, tz)
    else:
        check_within(period, began(vault), now, tz)
    with vault.reading() as s:
        f = Facts(s, vault.policy, period,
                  timedelta(minutes=vault.config.sweep_interval_minutes))
        recorded = material.recorded(f)
        report: dict[str, Any] = {
            "format": DRAFT_FORMAT if draft else FORMAT,
            "office": {"name": vault.policy.office_name, "preset": vault.policy.preset,
                       "vault": vault_id(s), "timezone": vault.policy.timezone.key},
            "period": period.as_json(),
            "integrity": integrity(f),
            "policy_changes": policy_changes(f),
            "recorded": {"by_kind": _by_kind(recorded), "sources": recorded},
            "kept": material.kept(f),
            "deleted": material.deleted(f),
            "holds": custody_facts.holds(f),
            "requests": custody_facts.requests(f),
            "copies": custody_facts.copies(f),
            "access": access_facts.access(f),
            "acknowledgments": access_facts.acknowledgments(f),
            "cameras_added": access_facts.cameras_added(f),
            "alerts": alerts(f),
        }
    report["findings"] = findings(report)
    if draft:  # what it is not yet: the whole period, whose report comes from final_from
        report["draft"] = {"as_of": utc(now).isoformat(),
                           "period_last_day": whole.last.isoformat(),
                           "final_from": whole.after.isoformat()}
    return report


def to_bytes(report: dict[str, Any]) -> bytes:
    """Canonical: sorted keys, UTF-8, two-space indent, one final newline."""
    return (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n") \
        .encode("utf-8")
