"""kustosz requests mask / unmask, copies review / approve / send-back: a data subject's video
request masked, its copy reviewed and decided without the browser (issue 66 item 5;
custody.subject_review, custody.review_stream)."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import typer

from kustosz.cli.common import actor, console, err_console, fails_cleanly, open_vault
from kustosz.custody import review_stream
from kustosz.custody import subject_review as sr
from kustosz.custody.requests import get_request
from kustosz.errors import InputError


@fails_cleanly
def copies_review(
    number: str,
    by: str = typer.Option(..., "--by", help="The reviewer (custodian or administrator, not "
                                             "the copy's maker), as a user name."),
    output: Path = typer.Option(None, "--output", "-o",
                                help="Where the player reads (a named pipe or a file); "
                                     "default: standard output, e.g. `| mpv -`."),
    file: int = typer.Option(None, "--file", min=1,
                             help="Only the masked file of this number (default: each)."),
) -> None:
    """Play a data subject's masked copy to its reviewer, file by file, at the speed it plays:
    watched is what was handed on in real time, as on the review page. Then approve it or
    send it back."""
    with open_vault() as vault:
        opened = review_stream.open_review(vault, number, by)
        files = opened.files if file is None else opened.files[file - 1:file]
        if not files:
            raise InputError(f"copy {number} has no masked file {file}",
                             pl=f"Kopia nr {number} nie ma zamaskowanego pliku nr {file}.")
        with ExitStack() as stack:
            out: BinaryIO = (stack.enter_context(output.open("wb")) if output is not None
                             else sys.stdout.buffer)
            try:
                for masked in files:
                    err_console.print(f"{masked.source}: {masked.duration_s:g} s …",
                                      markup=False)
                    review_stream.play_file(vault, opened, by, masked, out)
            finally:
                pl, en = review_stream.close_review(vault, opened, by)
        err_console.print(f"obejrzano / watched: {pl}\n{en}", markup=False, soft_wrap=True)


@fails_cleanly
def copies_approve(number: str, by: str = typer.Option(..., "--by")) -> None:
    """Approve a data subject's masked copy its reviewer watched to the end; it may then be
    handed over."""
    with open_vault() as vault, vault.transaction() as s:
        copy = sr.approve(s, number, by, actor())
        n = copy.number
    console.print(f"Kopię nr {n} zatwierdzono po przeglądzie; można ją wydać. / Copy {n} "
                  "approved after review; it may be handed over.", markup=False)


@fails_cleanly
def copies_send_back(number: str, by: str = typer.Option(..., "--by"),
                     reason: str = typer.Option(..., "--reason")) -> None:
    """Send a data subject's masked copy back: it is destroyed at once, the masks are
    corrected and the copy made again."""
    with open_vault() as vault:
        with vault.transaction() as s:
            copy, bundle = sr.send_back(s, number, by, reason, actor())
            n = copy.number
        sr.remove_bundle(vault.root, bundle)
    console.print(f"Kopię nr {n} zwrócono do poprawy i zniszczono. / Copy {n} sent back and "
                  "destroyed.", markup=False)


@fails_cleanly
def requests_mask(
    request_id: int,
    source: str = typer.Option(..., "--source", help="One of the request's cameras."),
    x: float = typer.Option(..., "--x", help="Left edge, per cent of the picture's width."),
    y: float = typer.Option(..., "--y", help="Top edge, per cent of its height."),
    w: float = typer.Option(..., "--w", help="Width, per cent."),
    h: float = typer.Option(..., "--h", help="Height, per cent."),
    from_s: float = typer.Option(..., "--from", help="Seconds from the period's start."),
    to_s: float = typer.Option(..., "--to", help="Seconds from the period's start."),
    kind: str = typer.Option("mask", "--kind", help="mask (hide) or keep (the requester)."),
    note: str = typer.Option("", "--note"),
) -> None:
    """Mark a rectangle on a data subject's video request before its copy is made: a manual
    mask, or the requester's own box (what the request page's mask form does)."""
    with open_vault() as vault, vault.transaction() as s:
        item = sr.add_region(s, request_id, kind=kind, source=source, x=x, y=y, w=w, h=h,
                             from_s=from_s, to_s=to_s, note=note, actor=actor())
        n = len(get_request(s, request_id).subject_regions or [])
    console.print(f"Obszar nr {n} zapisany ({sr.KIND_PL[item['kind']]}, {item['source']}, "
                  f"{item['from_s']:g}–{item['to_s']:g} s). / Rectangle {n} saved.",
                  markup=False)


@fails_cleanly
def requests_unmask(request_id: int, number: int) -> None:
    """Remove rectangle NUMBER (as `requests show` lists them) before the copy is made."""
    with open_vault() as vault, vault.transaction() as s:
        sr.remove_region(s, request_id, number - 1, actor())
    console.print(f"Obszar nr {number} usunięty. / Rectangle {number} removed.", markup=False)


def register(copies_app: typer.Typer, requests_app: typer.Typer) -> None:
    copies_app.command("review")(copies_review)
    copies_app.command("approve")(copies_approve)
    copies_app.command("send-back")(copies_send_back)
    requests_app.command("mask")(requests_mask)
    requests_app.command("unmask")(requests_unmask)
