"""One office's flood does not cost another office its recordings (issue 67 item 4): on the
installation's shared disk, under pressure, an office deletes only what it holds beyond its
share ([disk_shares] of installation.toml, weights), and an office within its share deletes
nothing and is told why. The disk's figures are given to the sweep (its `free_space`), the
offices and their recordings are real vaults of a real installation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.custody.custody_helpers import record, setup_camera
from tests.installation.install_helpers import Install

from kustosz.db.models import Alert, Recording
from kustosz.retention import office_share
from kustosz.retention.pressure import relieve_pressure
from kustosz.states import AlertRow, RecordingState
from kustosz.vault import Vault

START = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _office(inst: Install, slug: str) -> Vault:
    return Vault.open(inst.root / "offices" / slug, actor="test")


def _stored(vault: Vault) -> list[int]:
    with vault.reading() as s:
        return list(s.execute(select(Recording.id).where(
            Recording.state == RecordingState.STORED).order_by(Recording.start_at)).scalars())


def _pressure_alert(vault: Vault) -> str:
    with vault.reading() as s:
        return str(s.execute(select(Alert.message).where(
            Alert.kind == AlertRow.DISK_PRESSURE)).scalar_one())


def test_only_the_office_over_its_share_deletes_and_only_down_to_it(
        inst: Install, tmp_path: Path) -> None:
    inst.init()
    town, mops = inst.add("urzad", grant=False), inst.add("mops", grant=False)
    with (inst.root / "installation.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[disk_shares]\n"{town}" = 3\n')  # the town hall's 3 to the MOPS's 1
    for slug in (town, mops):  # the default margin (the suite's template keeps none)
        config = inst.root / "offices" / slug / "kustosz.toml"
        text = config.read_text("utf-8")
        assert "min_free_percent = 0.0" in text
        config.write_text(text.replace("min_free_percent = 0.0", "min_free_percent = 5.0"))
    vaults = {town: _office(inst, town), mops: _office(inst, mops)}
    try:
        for slug, count in ((town, 12), (mops, 6)):
            setup_camera(vaults[slug], "kamera-hol")
            record(vaults[slug], "kamera-hol", START, count, tmp_path / slug)
        with vaults[mops].reading() as s:
            size = s.execute(select(Recording.size)).scalars().first()
        assert size
        # a disk of 20 segments, 0.5 free (5 % wanted): usable 19, shares 14.25 and 4.75;
        # the town hall holds 12 (within), the MOPS 6 (1.25 over: two of its oldest)
        total, free = 20 * size, size // 2
        before = {slug: _stored(v) for slug, v in vaults.items()}
        for vault in vaults.values():
            relieve_pressure(vault, actor="test", free_space=lambda: (free, total), batch=1)
        assert _stored(vaults[town]) == before[town]  # within its share: nothing deleted
        assert _stored(vaults[mops]) == before[mops][2:]  # its two oldest, and no more
        told = _pressure_alert(vaults[town])
        assert "Dysk jest wspólny dla urzędów instalacji" in told and "nie są usuwane" in told
        assert "aż urząd zmieści się w swoim udziale" in _pressure_alert(vaults[mops])
        share = office_share.of(vaults[mops], total)
        assert share is not None and share.over == 0 and (share.weight, share.weights) == (1, 4)
        for vault in vaults.values():
            assert "audit log intact" in inst("audit", "verify", office=vault.root.name).output
    finally:
        for vault in vaults.values():
            vault.close()


def test_a_single_offices_vault_has_the_whole_disk(vault: Vault) -> None:
    assert office_share.of(vault, 1 << 30) is None


@pytest.mark.parametrize(("line", "said"), [
    ('"urzad" = 0', "udział to liczba całkowita od 1 do 1000"),
    ('"urzad" = 1001', "udział to liczba całkowita od 1 do 1000"),
    ('"Urząd" = 2', "nie jest krótką nazwą urzędu"),
    ('"urzad" = "dwa"', "disk_shares"),
])
def test_a_bad_share_is_refused_in_words(inst: Install, line: str, said: str) -> None:
    inst.init()
    with (inst.root / "installation.toml").open("a", encoding="utf-8") as f:
        f.write(f"\n[disk_shares]\n{line}\n")
    refused = inst("offices", "list", ok=False)
    assert refused.exit_code == 2 and said in " ".join(refused.output.split())
