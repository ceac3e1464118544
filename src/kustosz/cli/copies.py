"""copies (make, list, extend, handover, destroy), bundle (verify, key), registers, documents."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from kustosz.access.users import list_users
from kustosz.audit import append as audit
from kustosz.cli.common import (
    actor,
    console,
    emit_json,
    err_console,
    fails_cleanly,
    local,
    open_vault,
    refused,
)
from kustosz.cli.requests import parse_day
from kustosz.custody import bundles, papers, registers
from kustosz.custody.copies import extend_copy, get_copy, is_due, list_copies
from kustosz.custody.copy_dates import held_period, kept_until
from kustosz.custody.destruction import confirm
from kustosz.custody.handover import hand_over
from kustosz.db.custody import Copy
from kustosz.documents import NAMES, render
from kustosz.documents.announcements import announcement_data
from kustosz.documents.clauses import clause_data
from kustosz.documents.sign import sign_data
from kustosz.errors import FieldError, InputError
from kustosz.kinds import CLAUSED, SourceKind
from kustosz.report.bundle import DRAFT_KIND
from kustosz.report.verify import DRAFT_PROBLEM
from kustosz.states import CopyState
from kustosz.vault import Vault
from kustosz.zipread import ZipRefused

copies_app = typer.Typer(no_args_is_help=True, help="Copies (kopie nagrań) as evidence bundles.")
bundle_app = typer.Typer(no_args_is_help=True, help="Evidence bundles: verify offline.")
registers_app = typer.Typer(no_args_is_help=True, help="The registers, as PDF or CSV.")
documents_app = typer.Typer(no_args_is_help=True, help="Printable documents (Polish).")


def _papers_dir(vault: Vault) -> Path:
    return vault.root / "documents"


def _render(vault: Vault, name: str, data: dict, stem: str) -> Path:
    out = _papers_dir(vault) / f"{stem.replace('/', '-')}.pdf"
    render(name, data, out, vault.root)
    return out


@fails_cleanly
def copies_make(request_id: int, by: str = typer.Option(..., "--by",
                                                        help="Who makes it (custodian)."),
                playable: bool | None = typer.Option(
                    None, "--playable/--no-playable",
                    help="Add one playable MP4 per camera with the time and the copy's "
                         "number burned in (default: for an authority's request only).")
                ) -> None:
    """Make the numbered copy of an approved request as a signed evidence bundle."""
    with open_vault() as vault:
        copy = _copy_by_job(vault, request_id, by, playable)
        console.print(f"copy {copy.number} made: {vault.root / copy.bundle} (kept until "
                      f"{kept_until(copy.expires_at, vault.policy)})")


def _copy_by_job(vault: Vault, request_id: int, by: str, playable: bool | None) -> Copy:
    """Through the same job as the request page's and the API's copy (`copy.make`), run
    here and waited for; on a terminal its progress is shown as it goes (on stderr)."""
    from kustosz import jobs
    from kustosz.cli.progress_bar import job_bar
    from kustosz.custody.copies import get_copy
    from kustosz.errors import KustoszError
    from kustosz.jobs.catalogue import copy_make
    from kustosz.jobs.runners import Inline

    # a bar with the time left on a terminal (issue 29 item 14)
    with job_bar("Sporządzanie kopii / making the copy") as show:
        jobs.use(vault, Inline(watch=show))
        try:
            job_id = copy_make.defer(vault, actor(), request_id=request_id, by=by,
                                     actor=actor(), playable=playable)
        finally:
            jobs.use(vault, None)
    view = jobs.get(vault, job_id)
    if view.state != jobs.JobState.DONE:
        raise KustoszError(f"the copy was not made (job {job_id}): {view.error or 'failed'}",
                           pl=f"Kopia nie została sporządzona (zadanie nr {job_id}): "
                              f"{view.error_pl or view.error or 'błąd'}")
    with vault.reading() as s:
        return get_copy(s, view.result["number"])


def _copy_row(vault: Vault, c: Copy, now: datetime) -> dict[str, object]:
    first, last = held_period(c)  # what the copy holds, as its label says
    return {"number": c.number, "request": c.request_id, "state": c.state,
            "from": first.astimezone(vault.policy.timezone).isoformat(),
            "to": last.astimezone(vault.policy.timezone).isoformat(),
            "made_by": c.made_by, "made_at": c.made_at.isoformat(),
            "kept_until": kept_until(c.expires_at, vault.policy),
            "due": is_due(c, now),
            "bundle": str(vault.root / c.bundle), "sources": [s.get("label") for s in c.sources]}


@fails_cleanly
def copies_list(due: bool = typer.Option(False, "--due", help="Only copies due for "
                                         "destruction (lifetime over, handed over or not)."),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """List copies."""
    with open_vault() as vault, vault.reading() as s:
        now = vault.now()  # one instant for the filter and the rows' "due"
        copies = list_copies(s, due_only=due, now=now)
        rows = [_copy_row(vault, c, now) for c in copies]
        periods = [" – ".join(local(t, vault) for t in held_period(c)) for c in copies]
    if as_json:
        emit_json(rows)
        return
    table = Table("number", "request", "period", "sources", "made by", "kept until", "state")
    for r, period in zip(rows, periods, strict=True):
        state = str(r["state"]) + (" (DUE)" if r["due"] else "")
        table.add_row(str(r["number"]), str(r["request"]), period,
                      "; ".join(map(str, r["sources"])), str(r["made_by"]),
                      str(r["kept_until"]), state)
    console.print(table)


@fails_cleanly
def copies_extend(number: str, request_id: int = typer.Option(..., "--request",
                                                              help="The new, approved request.")
                  ) -> None:
    """Extend a copy's lifetime on a new request (R2.5)."""
    with open_vault() as vault, vault.transaction() as s:
        copy = extend_copy(s, vault.policy, number, request_id, actor())
        until = kept_until(copy.expires_at, vault.policy)
    console.print(f"copy {number} kept until {until}")


@fails_cleanly
def copies_handover(number: str,
                    receiver: str = typer.Option(..., "--receiver",
                                                 help="Person and body receiving it."),
                    by: str = typer.Option(..., "--by", help="Who hands it over (user)."),
                    request_id: int = typer.Option(None, "--request",
                                                   help="The authority's written request "
                                                        "(default: the copy's own)."),
                    medium: str = typer.Option(None, "--medium", help="e.g. 'pendrive'."),
                    zip_to: Path = typer.Option(None, "--zip", help="Write the bundle as an "
                                                "AES-encrypted ZIP here."),
                    password: str = typer.Option(None, "--password", help="ZIP password "
                                                 "(generated if omitted).")) -> None:
    """Hand a copy over; prints the handover protocol (2 copies) and the receipt."""
    with open_vault() as vault:
        h, pw = hand_over(vault, number, receiver=receiver, by=by, actor=actor(),
                          request_id=request_id, medium=medium, zip_to=zip_to,
                          password=password)
        with vault.reading() as s:  # each handover its own papers (a copy may go twice)
            proto = _render(vault, *papers.handover_doc(s, vault.policy, number, h.id),
                            f"protokol-przekazania-{number}-{h.id}")
            receipt = _render(vault, *papers.receipt_doc(s, vault.policy, number, h.id),
                              f"pokwitowanie-{number}-{h.id}")
    console.print(f"copy {number} handed over to {receiver} (handover {h.id})")
    console.print(f"handover protocol: {proto}\nreceipt: {receipt}")
    if zip_to is not None:
        console.print(f"ZIP: {zip_to}")
        if password is None:
            console.print(f"ZIP password (give it to the receiver separately): {pw}")


@fails_cleanly
def copies_destroy(number: str, by: str = typer.Option(..., "--by",
                                                       help="Commission member confirming."),
                   reason: str = typer.Option(
                       None, "--reason", help="Why the commission destroys it: required on the "
                       "first confirmation before the copy's keep-until date; printed in the "
                       "destruction protocol.")) -> None:
    """Confirm a copy's destruction; the second confirmation by another member destroys it."""
    with open_vault() as vault:
        _d, done = confirm(vault, number, by, actor(), reason)
        if not done:
            console.print(f"copy {number}: destruction confirmed by {by}; a second member of "
                          "the commission must confirm too")
            return
        with vault.reading() as s:
            out = _render(vault, *papers.destruction_doc(s, vault.policy, number),
                          f"protokol-zniszczenia-{number}")
    console.print(f"copy {number} destroyed; destruction protocol: {out}")


@fails_cleanly
def copies_medium(number: str,
                  handover_id: int = typer.Option(..., "--handover",
                                                  help="The handover the medium went out on."),
                  how: str = typer.Option(..., "--how",
                                          help="How the commission destroyed the medium, or "
                                               "that it stays with its receiver."),
                  by: str = typer.Option(..., "--by", help="Commission member recording it.")
                  ) -> None:
    """Record how a medium the copy was handed out on was destroyed (printed in the
    destruction protocol, 004 §7.9 / 002 zał.5 §8.2) — when it happens: a medium returned
    while the copy is still kept is recorded when the commission destroys it."""
    from kustosz.custody.destruction import record_medium

    with open_vault() as vault:
        with vault.transaction() as s:
            try:
                record_medium(s, number, handover_id, how, by, actor(), now=vault.now())
            except FieldError as exc:
                raise InputError(f"{exc} [--{exc.field.replace('_', '-')}]",
                                 pl=f"{exc.pl} [--{exc.field.replace('_', '-')}]") from None
            destroyed = get_copy(s, number).state == CopyState.DESTROYED
        out = None
        if destroyed:
            with vault.reading() as s:
                out = _render(vault, *papers.destruction_doc(s, vault.policy, number),
                              f"protokol-zniszczenia-{number}")
    console.print(f"copy {number}: the medium of handover {handover_id} recorded"
                  + (f"; destruction protocol: {out}" if out else ""))


@fails_cleanly
def bundle_verify(path: Path, key: Path = typer.Option(None, "--key",
                                                       help="The office's public key (PEM)."),
                  password: str = typer.Option(None, "--password",
                                               help="For an encrypted ZIP.")) -> None:
    """Check a bundle (folder or ZIP) offline; names every changed, added or removed file."""
    public = None
    if key is not None:
        if not key.is_file():
            raise InputError(f"no such key file: {key}",
                             pl=f"Nie ma pliku klucza {key}.")
        public = bundles.load_public(key.read_bytes(), str(key))
    try:
        verdict = bundles.verify_bundle(path, public, password)
    except ZipRefused as exc:
        refused(exc)
    if verdict.kind == DRAFT_KIND:  # a draft report verifies as nothing but a draft
        verdict.ok, verdict.problems = False, [DRAFT_PROBLEM, *verdict.problems]
    if not verdict.ok:
        for problem in verdict.problems:
            err_console.print(f"FAILED: {problem}")
        err_console.print(f"bundle {verdict.number or path} does NOT verify")
        raise typer.Exit(1)
    console.print(f"bundle {verdict.number} verified: {verdict.files} files intact, signature "
                  f"valid ({verdict.key_source}; key {verdict.fingerprint})")


@fails_cleanly
def bundle_key(out: Path = typer.Option(None, "--out", help="Write the PEM here.")) -> None:
    """Export the office's public key (made on first use)."""
    with open_vault() as vault:
        pem = bundles.public_pem(bundles.office_key(vault.root).public_key())
    if out is not None:
        out.write_bytes(pem)
        console.print(f"public key written to {out}")
    else:
        console.print(pem.decode().strip())


@fails_cleanly
def registers_print(kind: str = typer.Option(..., "--kind",
                                             help="disclosures, copies or actions."),
                    start: str = typer.Option(..., "--from", help="YYYY-MM-DD"),
                    end: str = typer.Option(..., "--to", help="YYYY-MM-DD"),
                    fmt: str = typer.Option("pdf", "--format", help="pdf or csv."),
                    csv_form: str = typer.Option(
                        "excel", "--csv", help="The CSV's form: excel (';' and UTF-8 with a "
                        "BOM, what Polish Excel opens) or rfc4180 (',' without a BOM)."),
                    out: Path = typer.Option(None, "--out", help="File to write."),
                    locations: bool = typer.Option(
                        False, "--locations", help="Print where the copied cameras hang "
                        "(R1.7: the employer's secret; the look is audited).")) -> None:
    """Print a register for a date range."""
    if fmt not in ("pdf", "csv"):
        raise InputError("--format must be pdf or csv",
                         pl="--format przyjmuje pdf albo csv.")
    form = registers.csv_form(csv_form)
    lo, hi = parse_day(start, "--from"), parse_day(end, "--to")
    assert lo is not None and hi is not None
    with open_vault() as vault, vault.reading() as s:
        names = {u.name: (f"{u.display_name}, {u.title}" if u.title else u.display_name)
                 for u in list_users(s)}
        reg = registers.build(s, vault.policy, kind, lo, hi, names, locations=locations)
        target = out or _papers_dir(vault) / f"rejestr-{kind}-{lo}-{hi}.{fmt}"
        if fmt == "csv":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(registers.to_csv(reg, form))
        else:
            render("register", registers.pdf_data(reg, vault.policy, lo, hi), target,
                   vault.root)
    if reg.shows_locations:  # R1.7: every look at camera locations is on record
        with open_vault() as vault, vault.transaction() as s:
            audit(s, actor(), "camera_locations.view", f"register {kind} {lo}–{hi} ({fmt})",
                  {"via": "cli", "out": str(target)})
    console.print(f"{reg.title}: {len(reg.rows)} entries -> {target}")


@fails_cleanly
def documents_render(name: str,
                     request_id: int = typer.Option(None, "--request"),
                     number: str = typer.Option(None, "--copy", help="Copy number, e.g. 7/2026."),
                     handover_id: int = typer.Option(
                         None, "--handover", help="handover-protocol/receipt: which handover of "
                         "the copy (default: its last; `kustosz copies list` names them)."),
                     kind: str = typer.Option(SourceKind.CAMERA.value, "--source-kind",
                                              help="clause/sign: " + " or ".join(
                                                  k.name for k in CLAUSED) + "."),
                     out: Path = typer.Option(None, "--out")) -> None:
    """Render a document: forms filled from a request or copy, or blank."""
    if name not in NAMES:
        raise InputError(f"unknown document {name!r}; known: {', '.join(NAMES)}",
                         pl=f"Nieznany dokument „{name}”; znane: {', '.join(NAMES)}.")
    with open_vault() as vault, vault.reading() as s:
        policy = vault.policy
        if name in ("request-calls", "request-video", "request-subject") \
                and request_id is not None:
            name, data = papers.request_form(s, policy, request_id)
        elif name == "decision":
            if request_id is None:
                raise InputError("the decision needs --request",
                                 pl="Decyzja wymaga numeru wniosku (--request).")
            name, data = papers.decision_doc(s, policy, request_id)
        elif name == "answer-letter":
            if request_id is None:
                raise InputError("the answer letter needs --request",
                                 pl="Odpowiedź na żądanie wymaga numeru wniosku (--request).")
            name, data = papers.answer_letter_doc(s, policy, request_id)
        elif name == "extension-notice":
            if request_id is None:
                raise InputError("the extension notice needs --request",
                                 pl="Zawiadomienie o przedłużeniu terminu wymaga numeru "
                                    "wniosku (--request).")
            name, data = papers.extension_notice_doc(s, policy, request_id)
        elif name in ("label", "handover-protocol", "receipt", "destruction-protocol"):
            if number is None:
                raise InputError(f"{name} needs --copy NUMBER",
                                 pl=f"Dokument „{name}” wymaga numeru porządkowego kopii (--copy "
                                    "NUMER).")
            build = {"label": lambda: papers.label_doc(s, policy, number, bundles.fingerprint(
                        bundles.office_key(vault.root).public_key())),
                     "handover-protocol": lambda: papers.handover_doc(s, policy, number,
                                                                      handover_id),
                     "receipt": lambda: papers.receipt_doc(s, policy, number, handover_id),
                     "destruction-protocol": lambda: papers.destruction_doc(s, policy, number)}
            name, data = build[name]()
        elif name == "clause":
            data = clause_data(policy, kind)
        elif name == "announcement":
            data = announcement_data(policy)
        elif name == "sign":
            data = sign_data(policy)
        elif name == "register":
            raise InputError("registers are printed with: kustosz registers print",
                             pl="Rejestry drukuje się poleceniem: kustosz registers print.")
        else:
            data = papers.blank(name, policy)
        today = vault.now().astimezone(policy.timezone).date()  # the office's day
        target = out or _papers_dir(vault) / f"{name}-{today.isoformat()}.pdf"
        render(name, data, target, vault.root)
    console.print(f"{name} -> {target}")


def register(app: typer.Typer) -> None:
    for verb, fn in (("make", copies_make), ("list", copies_list), ("extend", copies_extend),
                     ("handover", copies_handover), ("destroy", copies_destroy),
                     ("medium-destroyed", copies_medium)):
        copies_app.command(verb)(fn)
    bundle_app.command("verify")(bundle_verify)
    bundle_app.command("key")(bundle_key)
    registers_app.command("print")(registers_print)
    documents_app.command("render")(documents_render)
    app.add_typer(copies_app, name="copies")
    app.add_typer(bundle_app, name="bundle")
    app.add_typer(registers_app, name="registers")
    app.add_typer(documents_app, name="documents")
