"""kustosz policy show: the rules in force (a preset plus the office's overrides), all of them
(issue 66 item 5): what `--json` gives as Policy.as_dict, row by row, so a rule the office set
is never in force unseen — the supervisor, the cameras' purposes and the places excluded too."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from kustosz.cli.common import console, emit_json, fails_cleanly, open_vault
from kustosz.policy import Policy

_NONE = "—"


def _yes(value: bool) -> str:
    return "tak / yes" if value else "nie / no"


def _listed(items: list[str] | tuple[str, ...]) -> str:
    return "; ".join(items) or _NONE


def _supervisor(p: Policy) -> str:
    if p.access.supervisor_is_dpo:
        return "inspektor ochrony danych / the data protection officer"
    return p.access.supervisor or "regulamin nie wskazuje / the regulation names no one"


def _custody_rows(p: Policy) -> list[tuple[str, str]]:
    c = p.custody
    return [
        ("request deadline", f"{p.request_deadline}, after it: {p.after_deadline}"
         if p.request_deadline else "none (the regulation sets no deadline)"),
        ("hold of a person's request ends on", c.person_hold_ends),
        ("hold of an authority's request ends on", c.authority_hold_ends),
        ("decision overdue after", str(c.decision_overdue_after)),
        ("copy overdue after", str(c.copy_overdue_after)),
        ("copy lifetime", f"{p.copy_lifetime} from {p.copy_counted_from}"),
        ("copy lifetime a ceiling", c.copy_ceiling or "no: a new request extends it"),
    ]


def _video_rows(p: Policy) -> list[tuple[str, str]]:
    v = p.video
    purposes = [f"{q.code}: {q.cited}" for q in v.in_force()]
    own = [f"{k.code}: {k.name} ({k.place}{', forbidden' if k.forbidden else ''})"
           for k in v.kinds.values() if k.own]
    return [
        ("purposes of the cameras", _listed(purposes)),
        ("purposes stated by the regulation", _yes(v.stated)
         + (f" ({v.purposes_clause})" if v.stated and v.purposes_clause else "")),
        ("places excluded outright", (v.excluded_words() or _NONE)
         + (f" [{', '.join(v.excluded_zones)}]" if v.excluded_zones else "")
         + (f" ({v.excluded_clause})" if v.excluded_clause else "")),
        ("the office's own kinds of place", _listed(own)),
    ]


def _access_rows(p: Policy) -> list[tuple[str, str]]:
    a, d = p.access, p.duties
    return [
        ("supervisor of monitoring", _supervisor(p)),
        ("positions that may hold an authorisation", _listed(a.positions) if a.positions
         else "any"),
        ("listening purposes", _listed(a.listening_purposes) if a.listening_purposes
         else "free text"),
        ("listening basis", a.listening_basis or _NONE),
        ("recordings do not serve", a.listening_not_for or _NONE),
        ("listening needs its protocol", _yes(a.listening_protocol)),
        ("only appointed members confirm a destruction", _yes(a.commission_appointed)),
        ("no self-authorisation", _yes(d.no_self_authorisation)),
        ("decision by the approver's own account", _yes(d.decision_by_own_account)),
        ("copier is not the destroyer", _yes(d.copier_not_destroyer)),
    ]


def rows(p: Policy) -> list[tuple[str, str]]:
    """Every rule in force, as (rule, value)."""
    n = p.names  # what documents print inside sentences (office.name_genitive, …)
    out = [(f"retention of {kind} material",
            str(period) if period else "not regulated (sources refused)")
           for kind, period in p.retention.items()]
    out += _custody_rows(p)
    out += [("call recording scope", str(p.call_scope)),
            ("disclosure approved by", ", ".join(p.position(a).title for a in p.approvers)
             + (" (each of them)" if p.approval == "all" and len(p.approvers) > 1 else ""))]
    out += _video_rows(p) + _access_rows(p)
    out += [("time zone", p.timezone.key),
            ("office in sentences", f"od {n.office_gen}; {n.office_in}"),
            ("head in sentences", f"decyzja {n.approver_gen}; przez {n.approver_acc}"),
            ("deputy in sentences", f"nieobecność {n.deputy_gen}; przez {n.deputy_acc}")]
    return out


@fails_cleanly
def policy_show(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the rules in force (preset plus this office's overrides), all of them."""
    with open_vault() as vault:
        p = vault.policy
        if as_json:
            emit_json(p.as_dict())
            return
        console.print(f"[bold]{escape(p.office_name)}[/] (preset {p.preset or '—'})")
        table = Table("rule", "value")
        for rule, value in rows(p):
            table.add_row(rule, escape(value))
        console.print(table)
