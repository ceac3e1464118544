"""What a PBX's spool intake cannot use is an `input.refused` alert naming the line's PBX and
the reason (issue 47): a Master.csv line it cannot read, a file it will not take, a recording
whose call record never came. Each goes through `kustosz.ingest.refusals.refused`, called
outside the intake's transactions; the rows fold per PBX and hour.

The alerts are read by whoever watches the dashboard, not only by those allowed to hear
calls: they name a recording by its folder and uniqueid, never by the numbers in its name."""

from __future__ import annotations

from pathlib import PurePosixPath

from kustosz.ingest.phone.scope import untold_pl
from kustosz.ingest.refusals import refused
from kustosz.vault import Vault

# Lines of one reading alerted one by one; past them one refusal says how many more (a
# Master.csv in a layout Kustosz does not read would otherwise cost a transaction a line; each
# line is still in `phones status`).
CDR_LINES_ALERTED = 20


def device_of(line: str) -> str:
    return f"centrala linii {line}"


def cdr_line(vault: Vault, line: str, cdr_file: str, lineno: int, problem: str) -> None:
    refused(vault, device=device_of(line), source=line, detail=problem,
            reason_pl=f"nie można odczytać wiersza {lineno} pliku {cdr_file}; tego połączenia "
                      "nie da się powiązać z nagraniem")


def cdr_lines(vault: Vault, line: str, cdr_file: str, bad: tuple[tuple[int, str], ...]
              ) -> None:
    for lineno, problem in bad[:CDR_LINES_ALERTED]:
        cdr_line(vault, line, cdr_file, lineno, problem)
    if len(bad) > CDR_LINES_ALERTED:
        more = len(bad) - CDR_LINES_ALERTED
        refused(vault, device=device_of(line), source=line,
                detail=f"{more} more unreadable lines, the last line {bad[-1][0]}: {bad[-1][1]}",
                reason_pl=f"nie można odczytać kolejnych {more} wierszy pliku {cdr_file} "
                          "(wszystkie w: kustosz phones status)")


def no_record(vault: Vault, line: str, rel: str, uniqueid: str, cdr_file: str,
              waited_s: float) -> None:
    folder = str(PurePosixPath(rel).parent)
    refused(vault, device=device_of(line), source=line, taken=True,
            detail=f"no line of {cdr_file} names the file, its uniqueid or fits its start "
                   f"time after {waited_s:g} s",
            reason_pl=f"nagranie {uniqueid or '(bez uniqueid)'} z katalogu "
                      f"{'/' if folder == '.' else folder} nie ma swojego wiersza w "
                      f"{cdr_file} (brak rekordu połączenia); zapisano je z numerami i czasem "
                      "z nazwy pliku")


def file_skipped(vault: Vault, line: str, rel: str, why: str) -> None:
    path = PurePosixPath(rel)
    folder = str(path.parent)
    refused(vault, device=device_of(line), source=line,
            detail=why.replace(path.name, "<file>") if path.name else why,
            reason_pl=f"pominięto plik z katalogu nagrań ({'/' if folder == '.' else folder}): "
                      "nie jest nagraniem, które Kustosz umie przyjąć")


def direction_untold(vault: Vault, line: str, count: int) -> None:
    """Calls of a pass not kept because their numbers could not tell their direction under
    a scope narrower than every call (kustosz.ingest.phone.scope): the office is told, never
    by their numbers (R1.4: an out-of-scope call's are not kept)."""
    scope = vault.policy.call_scope
    refused(vault, device=device_of(line), source=line,
            detail=f"{count} call(s) of direction unknown not kept (scope: {scope})",
            reason_pl=untold_pl(scope))
