"""Review of issue 16, F9: only the store's policy keeps the app's credentials from deleting,
so Kustosz asks the store (S3Storage.may_delete_versions: a DELETE of a made-up version of a
made-up key with the governance bypass). The app's must be refused, the sweep's not, and the
probe must leave nothing behind — no delete marker, no object. `kustosz doctor` (and
`kustosz storage check`, exit 1) FAILs when a
copy of the sweep's key file is used as the app's (the attack the review made), and when the
sweep's key cannot delete. Real SeaweedFS and Ceph RGW."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from tests.storage.conftest import S3Server
from tests.storage.test_s3_vault import set_storage, write_credentials

from kustosz.storage.s3 import S3Storage
from kustosz.vault import Vault


def _nothing_under_probe(server: S3Server, bucket: str) -> None:
    found = server.client(server.sweep).list_object_versions(Bucket=bucket,
                                                              Prefix="kustosz-probe/")
    assert not found.get("Versions") and not found.get("DeleteMarkers"), found


def test_the_store_refuses_the_app_and_lets_the_sweep(tmp_path: Path,
                                                        server: S3Server) -> None:
    bucket = server.make_bucket()
    for who, may in ((server.app, False), (server.sweep, True)):
        store = S3Storage(server.endpoint, bucket, who, tmp_path / "scratch",
                          region=server.region, attempts=1)
        assert store.may_delete_versions() is may, (server.name, who.access_key)
    _nothing_under_probe(server, bucket)


def _vault(tmp_path: Path, server: S3Server, app: tuple[str, str],
           sweep: tuple[str, str]) -> tuple[Path, str]:
    root = tmp_path / "vault"
    Vault.init(root, "pleszew", "", actor="test").close()
    bucket = server.make_bucket()
    app_file = write_credentials(tmp_path / "s3-app.toml", *app)
    sweep_file = write_credentials(tmp_path / "s3-sweep.toml", *sweep)
    set_storage(root, f'kind = "s3"\nendpoint = "{server.endpoint}"\nbucket = "{bucket}"\n'
                      f'region = "{server.region}"\ncredentials_file = "{app_file}"\n'
                      f'delete_credentials_file = "{sweep_file}"\nsweep = "separate"')
    return root, bucket


def _rights(root: Path) -> tuple[dict[str, str], str]:
    result = Cli(root)("doctor", "--json", ok=False)
    (found,) = [c for c in json.loads(result.output)["checks"]
                if c["check"] == "object store rights"]
    return found, Cli(root)("doctor", ok=False).output


def test_doctor_tells_the_app_credentials_from_the_sweeps(tmp_path: Path,
                                                          seaweed: S3Server) -> None:
    app = (seaweed.app.access_key, seaweed.app.secret_key)
    sweep = (seaweed.sweep.access_key, seaweed.sweep.secret_key)

    root, bucket = _vault(tmp_path / "right", seaweed, app, sweep)
    found, _ = _rights(root)
    assert found["status"] == "OK", found
    assert "refuses the app's credentials" in found["detail"] and "the sweep's may" \
        in found["detail"]
    checked = Cli(root)("storage", "check", "--json")
    assert json.loads(checked.output)["app_can_delete"] is False

    # the review's attack: a copy of the sweep's key file named as the app's
    root, bucket = _vault(tmp_path / "copied", seaweed, sweep, sweep)
    found, text = _rights(root)
    assert found["status"] == "FAIL", found
    assert "the app's credentials can delete object versions" in found["detail"]
    assert "s3-app.toml" in found["detail"] and seaweed.sweep.secret_key not in text
    assert "Dane dostępowe aplikacji pozwalają usuwać wersje obiektów" in found["pl"]
    assert "FAIL" in text and "Dane dostępowe aplikacji pozwalają usuwać" in text
    assert Cli(root)("doctor", ok=False).exit_code == 1
    checked = Cli(root)("storage", "check", ok=False)
    assert checked.exit_code == 1
    assert "the app's credentials can delete object versions" in checked.output
    assert "dane dostępowe aplikacji pozwalają usuwać wersje obiektów" in checked.output
    assert json.loads(Cli(root)("storage", "check", "--json", ok=False).output)[
        "app_can_delete"] is True
    _nothing_under_probe(seaweed, bucket)

    # the reverse: the app's key named as the sweep's — nothing would ever be deleted
    root, bucket = _vault(tmp_path / "reversed", seaweed, app, app)
    found, _ = _rights(root)
    assert found["status"] == "FAIL", found
    assert "and the sweep's too" in found["detail"] and "s3-sweep.toml" in found["detail"]
    assert "nic nie zostanie usunięte" in found["pl"]
    _nothing_under_probe(seaweed, bucket)
