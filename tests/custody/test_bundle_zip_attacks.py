"""`kustosz bundle verify` over a hostile ZIP of a copy's bundle (issue 64 item 5): the same
reader as `report verify` (kustosz.zipread), so the same attacks (tests/support/
zip_attacks.py) are refused with the same words, here over a bundle whose files carry Polish
letters and an emoji in their names, plain and AES-256 encrypted as a handover's medium is.
Nothing is extracted; a file not in the manifest is named without being read."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import Cli
from tests.support.zip_attacks import ATTACKS, FORGED, WRITE_BOUND, Attack, wchar
from tests.support.zip_forge import Entry, Forge, entries_of

from kustosz.custody import bundles
from kustosz.custody.bundles import verify_bundle
from kustosz.errors import InputError
from kustosz.zipread import ZipRefused

TARGET = "nagrania/Hol — Józef Żółć 🎥/2026-11-12 12-00-00.mp4"
PASSWORD = "Żółć-hasło 🙂 ŻŻŻ"


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy's bundle as custody.bundles seals one: media under names with Polish letters
    and an emoji, the office's key, the manifest and its signature."""
    root = tmp_path_factory.mktemp("bundle") / "kopia"
    media = root / TARGET
    media.parent.mkdir(parents=True)
    media.write_bytes(os.urandom(300_000))
    (root / "etykieta — Łódź.pdf").write_bytes(b"%PDF-1.7 etykieta kopii 7/2026\n")
    bundles.seal(root, {"number": "7/2026"}, Ed25519PrivateKey.generate())
    return root


@pytest.fixture(scope="module")
def plain(folder: Path) -> Path:
    out = folder.parent / "kopia.zip"
    bundles.write_zip(folder, out, None)
    return out


@pytest.fixture(scope="module")
def encrypted(folder: Path) -> Path:
    out = folder.parent / "kopia-aes.zip"
    bundles.write_zip(folder, out, PASSWORD)
    return out


@pytest.fixture
def quiet_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert not list(tmp.iterdir()), "verification wrote into the temporary folder"


def _refusal(path: Path, password: str | None = None) -> ZipRefused:
    before_hash, before = hashlib.sha256(path.read_bytes()).hexdigest(), wchar()
    with pytest.raises(ZipRefused) as exc:
        verify_bundle(path, password=password)
    assert wchar() - before < WRITE_BOUND
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before_hash
    return exc.value


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_each_attack_on_a_copys_bundle_is_refused(attack: Attack, plain: Path,
                                                  tmp_path: Path, quiet_tmp: Path) -> None:
    hostile = attack.write(entries_of(plain), TARGET, tmp_path / "hostile.zip")
    error = _refusal(hostile)
    assert attack.pl.format(name=TARGET) in (error.pl or ""), error.pl


def test_the_honest_bundles_verify_plain_and_encrypted(plain: Path, encrypted: Path,
                                                       quiet_tmp: Path) -> None:
    before = wchar()
    assert verify_bundle(plain).ok
    verdict = verify_bundle(encrypted, password=PASSWORD)
    assert verdict.ok and verdict.files == 3 and verdict.number == "7/2026", verdict.problems
    assert wchar() - before < WRITE_BOUND


def test_an_encrypted_bundle_needs_its_password(encrypted: Path, quiet_tmp: Path) -> None:
    for password in (None, "Zolc-haslo"):
        error = _refusal(encrypted, password)
        assert "podaj poprawne hasło" in (error.pl or "") and "password" in str(error)


def test_a_plain_entry_among_encrypted_ones_is_refused(encrypted: Path, tmp_path: Path) -> None:
    import zipfile

    hostile = tmp_path / "mixed.zip"
    hostile.write_bytes(encrypted.read_bytes())
    with zipfile.ZipFile(hostile, "a") as z:
        z.writestr("notatka Żółć.txt", FORGED)
    error = _refusal(hostile, PASSWORD)
    assert "pozycja „notatka Żółć.txt” nie jest zaszyfrowana, choć pozostałe są" in (
        error.pl or "")


def test_a_changed_byte_of_an_encrypted_file_fails_its_authentication(
        encrypted: Path, tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(encrypted) as z:
        info = z.getinfo(TARGET)
        at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 1000
    raw = bytearray(encrypted.read_bytes())
    raw[at] ^= 1
    hostile = tmp_path / "changed.zip"
    hostile.write_bytes(bytes(raw))
    error = _refusal(hostile, PASSWORD)
    assert "nie zgadza się z jej kodem uwierzytelniającym" in (error.pl or "")


def test_a_file_added_to_the_zip_is_named_and_never_read(plain: Path, tmp_path: Path) -> None:
    """Not in the manifest: "added", judged by its name; its 20 MB are not read."""
    big = os.urandom(20_000_000)
    more = Forge([*entries_of(plain), Entry("dodatek — Żółć 🙂.bin", big)]).write(
        tmp_path / "more.zip")
    before = _rchar()
    verdict = verify_bundle(more)
    assert _rchar() - before < 5_000_000
    assert not verdict.ok
    assert verdict.problems == ["dodatek — Żółć 🙂.bin: added (not in the manifest)"]


def test_a_folder_bundle_holding_a_link_is_refused(folder: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(folder, tmp_path / "kopia", symlinks=True)
    media = copy / TARGET
    media.unlink()
    media.symlink_to(folder / TARGET)  # the very bytes signed, shown through a link
    verdict = verify_bundle(copy)
    assert not verdict.ok
    assert verdict.problems == [f"{TARGET}: removed",
                                f"{TARGET}: a symbolic link, not a file of the bundle"]


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.id in (
    "duplicate-forged-first", "absolute", "bomb-300-mb")], ids=lambda a: a.id)
def test_bundle_verify_refuses_in_polish_first(attack: Attack, plain: Path,
                                               tmp_path: Path) -> None:
    hostile = attack.write(entries_of(plain), TARGET, tmp_path / "hostile.zip")
    result = Cli(tmp_path / "no-vault")("bundle", "verify", str(hostile), ok=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("odrzucono: hostile.zip: "), lines
    assert attack.pl.format(name=TARGET) in result.output.replace("\n", " ")


@pytest.fixture(scope="module")
def zip64(folder: Path) -> Iterator[tuple[Path, Path]]:
    """The bundle as Python writes one past its ZIP64 limits (a copy's video over 2 GiB, over
    65 535 files): the records forced by lowering the limits, plain and encrypted."""
    import pyzipper.zipfile as written

    limits = (written.ZIP64_LIMIT, written.ZIP_FILECOUNT_LIMIT)
    written.ZIP64_LIMIT, written.ZIP_FILECOUNT_LIMIT = 1000, 2
    try:
        plain, aes = folder.parent / "zip64.zip", folder.parent / "zip64-aes.zip"
        bundles.write_zip(folder, plain, None)
        bundles.write_zip(folder, aes, PASSWORD)
    finally:
        written.ZIP64_LIMIT, written.ZIP_FILECOUNT_LIMIT = limits
    raw = plain.read_bytes()
    assert raw.count(b"PK\x06\x06") == raw.count(b"PK\x06\x07") == 1
    yield plain, aes


def test_a_bundle_in_zip64_form_verifies(zip64: tuple[Path, Path], quiet_tmp: Path) -> None:
    plain, aes = zip64
    assert verify_bundle(plain).ok
    assert verify_bundle(aes, password=PASSWORD).ok


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_changed_zip64_archive_is_refused_or_reads_as_signed(
        zip64: tuple[Path, Path], tmp_path: Path, data: st.DataObject) -> None:
    """Bytes changed in the central directory or the ZIP64 records (sizes and offsets of 64
    bits among them): refused, not verified, or verified with the bytes Python's zipfile
    reads being the signed ones."""
    import zipfile

    plain = zip64[0]
    raw = bytearray(plain.read_bytes())
    with zipfile.ZipFile(plain) as z:
        start = z.start_dir
        signed = {i.filename: z.read(i) for i in z.infolist()}
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(start, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    changed = tmp_path / "changed.zip"
    changed.write_bytes(bytes(raw))
    before = wchar()
    try:
        verdict = verify_bundle(changed)
    except InputError as exc:
        assert exc.pl
        return
    finally:
        assert wchar() - before < WRITE_BOUND
    if verdict.ok:
        with zipfile.ZipFile(changed) as z:
            assert {i.filename: z.read(i) for i in z.infolist()} == signed


PEAK = ("import resource, sys; from pathlib import Path; "
        "from kustosz.custody.bundles import verify_bundle; "
        "assert verify_bundle(Path(sys.argv[1])).ok; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def _peak_kib(zip_path: Path) -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", PEAK, str(zip_path)], capture_output=True,
                          text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_memory_stays_bounded_whatever_a_file_holds(tmp_path: Path) -> None:
    """A bundle with a 200 MB file verifies in (nearly) the memory one with 1 MB does: the
    file is hashed as it streams out of the archive."""
    peaks = []
    for size in (1 << 20, 200 << 20):
        root = tmp_path / f"b{size}"
        (root / "media").mkdir(parents=True)
        with open(root / "media" / "kamera Żółć 🎥.mp4", "wb") as f:
            for _ in range(size >> 20):
                f.write(os.urandom(1 << 20))
        bundles.seal(root, {"number": "8/2026"}, Ed25519PrivateKey.generate())
        bundles.write_zip(root, tmp_path / f"b{size}.zip", None)
        shutil.rmtree(root)
        peaks.append(_peak_kib(tmp_path / f"b{size}.zip"))
    assert peaks[1] - peaks[0] < 16 * 1024, peaks  # KiB
    print(f"peak memory verifying 1 MB and 200 MB: {peaks} KiB")
