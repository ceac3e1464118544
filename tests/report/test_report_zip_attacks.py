"""`kustosz report verify` over a hostile ZIP (issue 64 item 5). A report ZIP with two entries
of one name verified while `unzip -p` showed the forged one, and the verifier extracted the
whole archive before judging it (a 0.3 MB ZIP wrote 300 MB). Each attack of
tests/support/zip_attacks.py is refused, naming what is wrong in Polish first, with exit
status 2, nothing written beyond a bound (the process's own write count) and the ZIP left as
it was; the honest ZIP, and the same files zipped again by Info-ZIP's zip, verify."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kustosz.errors import InputError
from kustosz.report import build, bundle, verify
from kustosz.zipread import ZipRefused
from tests.conftest import Cli, make_vault
from tests.report.report_helpers import this_month
from tests.support.zip_attacks import AES_ATTACK, ATTACKS, FORGED, WRITE_BOUND, Attack, wchar
from tests.support.zip_forge import Entry, Forge, entries_of

TARGET = "report.json"


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report's bundle as `kustosz report accountability --out r.zip` writes it."""
    root = tmp_path_factory.mktemp("honest")
    vault = make_vault(root / "vault")
    try:
        p = this_month(vault)
        out = bundle.write(vault, build.build(vault, p, p.hi + timedelta(seconds=1)),
                           root / "r.zip", datetime.now(UTC))
    finally:
        vault.close()
    return out


@pytest.fixture
def quiet_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temporary folder verification could write into: it must stay empty."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert not list(tmp.iterdir()), "verification wrote into the temporary folder"


def _judged(path: Path) -> tuple[BaseException | None, int]:
    """verify.verify's refusal (or None when it returned) and the bytes written meanwhile."""
    before_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    before = wchar()
    try:
        verify.verify(path)
        error: BaseException | None = None
    except InputError as exc:
        error = exc
    written = wchar() - before
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before_hash, "the ZIP was changed"
    return error, written


@pytest.mark.parametrize("attack", [*ATTACKS, AES_ATTACK], ids=lambda a: a.id)
def test_each_attack_is_refused_unread(attack: Attack, honest: Path, tmp_path: Path,
                                       quiet_tmp: Path) -> None:
    hostile = attack.write(entries_of(honest), TARGET, tmp_path / "hostile.zip")
    error, written = _judged(hostile)
    assert isinstance(error, ZipRefused), (attack.id, error)
    assert attack.pl.format(name=TARGET) in (error.pl or ""), error.pl
    assert (error.pl or "").startswith("hostile.zip: ")
    assert "Archiwum odrzucono bez rozpakowywania." in (error.pl or "")
    # a name's hidden characters are shown as escapes, never sent to a terminal as they are
    assert not any(ord(c) < 0x20 or c == "\u202e" for c in (error.pl or "") + str(error))
    assert written < WRITE_BOUND, f"{attack.id}: {written} bytes written"
    assert set(p.name for p in tmp_path.iterdir()) == {"hostile.zip", "tmp"}


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.id in (
    "duplicate-forged-first", "symlink", "dot-dot", "local-name-differs", "bomb-300-mb")],
    ids=lambda a: a.id)
def test_the_command_refuses_in_polish_first_with_status_2(
        attack: Attack, honest: Path, tmp_path: Path, quiet_tmp: Path) -> None:
    hostile = attack.write(entries_of(honest), TARGET, tmp_path / "hostile.zip")
    before = wchar()
    result = Cli(tmp_path / "no-vault")("report", "verify", str(hostile), ok=False)
    assert wchar() - before < WRITE_BOUND
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("odrzucono: hostile.zip: "), lines
    assert attack.pl.format(name=TARGET) in result.output.replace("\n", " ")
    assert any(line.startswith("refused: hostile.zip: ") for line in lines), lines
    assert "verified" not in result.output


def test_the_forged_duplicate_is_what_unzip_shows(honest: Path, tmp_path: Path) -> None:
    """Why a duplicate is refused: unzip prints the forged entry (with the honest one)."""
    for first in (True, False):
        attack = next(a for a in ATTACKS if a.id == ("duplicate-forged-first" if first
                                                    else "duplicate-forged-last"))
        hostile = attack.write(entries_of(honest), TARGET, tmp_path / f"dup-{first}.zip")
        shown = subprocess.run(["unzip", "-p", str(hostile), TARGET], capture_output=True,
                               check=False).stdout
        assert FORGED in shown
        with pytest.raises(ZipRefused, match=r"two entries named 'report\.json'"):
            verify.verify(hostile)


def test_the_bomb_is_refused_before_it_is_inflated(honest: Path, tmp_path: Path,
                                                   quiet_tmp: Path) -> None:
    """The 300 MB of zeros in 0.3 MB: refused from its headers, not a byte inflated; the
    same stream declared as the honest file's size is refused within the first megabyte."""
    for attack_id in ("bomb-300-mb", "bomb-declared-as-the-file"):
        attack = next(a for a in ATTACKS if a.id == attack_id)
        hostile = attack.write(entries_of(honest), TARGET, tmp_path / f"{attack_id}.zip")
        assert hostile.stat().st_size < 2_000_000
        error, written = _judged(hostile)
        assert isinstance(error, ZipRefused) and written < WRITE_BOUND, (error, written)


def test_the_honest_zip_verifies_without_writing(honest: Path, quiet_tmp: Path,
                                                 tmp_path: Path) -> None:
    before = wchar()
    verdict = verify.verify(honest)
    assert verdict.ok, verdict.problems
    assert verdict.files == 3  # the key, the report and its PDF
    assert wchar() - before < WRITE_BOUND
    result = Cli(tmp_path / "no-vault")("report", "verify", str(honest))
    assert "verified: 3 files intact" in result.output


def test_the_files_zipped_again_by_info_zip_verify(honest: Path, tmp_path: Path) -> None:
    """A receiver who unpacked the bundle and zipped it again (deflated, Info-ZIP's extra
    fields) still has the same signed files: they verify."""
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(honest) as z:
        z.extractall(folder)
    again = tmp_path / "again.zip"
    names = sorted(p.name for p in folder.iterdir())
    subprocess.run(["zip", "-q", "-9", str(again), *names], cwd=folder, check=True)
    assert verify.verify(again).ok, verify.verify(again).problems


def test_an_unexpected_file_is_refused_by_name(honest: Path, tmp_path: Path) -> None:
    """A report's bundle holds its five files and nothing else."""
    hostile = tmp_path / "more.zip"
    Forge([*entries_of(honest), Entry("notatka — Józef Żółć 🙂.txt", FORGED)]).write(hostile)
    with pytest.raises(ZipRefused) as exc:
        verify.verify(hostile)
    assert "pozycja „notatka — Józef Żółć 🙂.txt” nie należy do pakietu" in (exc.value.pl or "")
    assert "manifest.json, manifest.sig, office_public_key.pem, report.json, " \
           "sprawozdanie.pdf" in (exc.value.pl or "")


def _headers(path: Path) -> list[tuple[int, int]]:
    """The byte ranges of the local headers, and of the central directory to the end."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        cd = z.start_dir
    return [(i.header_offset, i.header_offset + 30 + len(i.filename.encode()) + len(i.extra))
            for i in infos] + [(cd, path.stat().st_size - 1)]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_whatever_is_changed_it_is_refused_or_what_every_reader_shows_is_signed(
        honest: Path, tmp_path: Path, data: st.DataObject) -> None:
    """Bytes changed, put in or taken out anywhere: the verifier refuses, says it does not
    verify, or verifies — and then Python's zipfile and unzip read exactly the signed files.
    Never another error, never more than the bound written."""
    raw = bytearray(honest.read_bytes())
    headers = _headers(honest)
    for _ in range(data.draw(st.integers(1, 3))):
        # mostly where the headers are: a change in a file's bytes only fails its CRC
        at = min(len(raw) - 1, data.draw(st.one_of(
            st.integers(0, len(raw) - 1),
            st.sampled_from(headers).flatmap(lambda r: st.integers(*r)))))
        how = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if how == "flip":
            raw[at] ^= data.draw(st.integers(1, 255))
        elif how == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
        else:
            del raw[at:at + data.draw(st.integers(1, 64))]
    changed = tmp_path / "changed.zip"
    changed.write_bytes(bytes(raw))
    error, written = _judged(changed)
    assert written < WRITE_BOUND
    if error is not None:
        assert error.pl, error
        return
    if not verify.verify(changed).ok:
        return
    signed = {e.name: e.data for e in entries_of(honest)}
    with zipfile.ZipFile(changed) as z:
        assert {i.filename: z.read(i) for i in z.infolist()} == signed
    for name, body in signed.items():
        shown = subprocess.run(["unzip", "-p", str(changed), name], capture_output=True,
                               check=False).stdout
        assert shown == body, name
