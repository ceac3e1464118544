"""[storage] prefix (issue 67), the setting and the names it makes, without a store: bad
prefixes refused in words, Polish first, nothing changed; the default (none) is the whole
bucket; and every object name a prefixed vault can make stays under its prefix, as given and
once %-decoded (tests/storage/test_s3_prefix.py runs the two offices on a real bucket)."""

from __future__ import annotations

import functools
import posixpath
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import Cli, make_vault, snapshot
from tests.storage.test_s3_vault import set_storage

from kustosz.config import TEMPLATE, read_config
from kustosz.errors import ConfigError, InputError
from kustosz.storage.s3 import Credentials, S3Storage

BAD_PREFIXES = ["mops", "/mops/", "mops//", "../", "./", "Mops/", "urząd/", "mops/sp1/", "-mops/",
                "a" * 41 + "/", "🙂/", "mops /", " mops/", "/", "mops\\", "mops/\n", 5]


@pytest.mark.parametrize("prefix", BAD_PREFIXES, ids=[repr(p) for p in BAD_PREFIXES])
def test_a_bad_prefix_is_refused_in_words_and_changes_nothing(tmp_path: Path,
                                                               prefix: object) -> None:
    vault = make_vault(tmp_path / "vault")
    value = f'"{prefix}"'.replace("\\", "\\\\").replace("\n", "\\n") \
        if isinstance(prefix, str) else str(prefix)
    set_storage(vault.root, f'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\n'
                            f'bucket = "media"\nprefix = {value}')
    before = snapshot(vault)
    with pytest.raises(ConfigError) as exc:
        read_config(vault.root)
    assert "storage.prefix" in str(exc.value) and exc.value.pl
    result = Cli(vault.root)("config", "check", ok=False)
    assert result.exit_code != 0
    assert "storage.prefix" in result.output
    if isinstance(prefix, str):
        assert "nie jest prefiksem" in result.output and "is not a prefix" in result.output
        assert result.output.index("nie jest prefiksem") < result.output.index("is not a prefix")
    assert snapshot(vault) == before
    vault.close()


def test_a_prefix_on_the_local_folder_is_refused(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    set_storage(vault.root, 'prefix = "mops/"')
    before = snapshot(vault)
    with pytest.raises(ConfigError, match=r'storage\.prefix apply only with storage\.kind = "s3"'):
        read_config(vault.root)
    assert snapshot(vault) == before
    vault.close()


@pytest.mark.parametrize("prefix", ["", "mops/", "sp1/", "0/", "urzad-miasta-i-gminy/",
                                    "a" * 40 + "/"])
def test_good_prefixes_are_read(tmp_path: Path, prefix: str) -> None:
    vault = make_vault(tmp_path / "vault")
    set_storage(vault.root, f'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\n'
                            f'bucket = "media"\nprefix = "{prefix}"')
    settings = read_config(vault.root).s3
    assert settings is not None and settings.prefix == prefix
    vault.close()


def test_no_prefix_set_is_the_whole_bucket_and_the_template_tells_of_it(tmp_path: Path) -> None:
    vault = make_vault(tmp_path / "vault")
    set_storage(vault.root, 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\nbucket = "media"')
    settings = read_config(vault.root).s3
    assert settings is not None and settings.prefix == ""
    vault.close()
    assert '#   prefix = "mops/"' in TEMPLATE and "issue 67" in TEMPLATE


@pytest.mark.parametrize("setting", ['bucket = "media\\n"', 'region = "eu-central-1\\n"'])
def test_a_trailing_newline_is_no_bucket_nor_region(tmp_path: Path, setting: str) -> None:
    """The names are matched whole: a regular expression's "$" alone lets "\\n" through."""
    vault = make_vault(tmp_path / "vault")
    lines = 'kind = "s3"\nendpoint = "http://10.0.0.5:8333"\n'
    set_storage(vault.root, lines + ("" if setting.startswith("bucket") else
                                     'bucket = "media"\n') + setting)
    with pytest.raises(ConfigError):
        read_config(vault.root)
    vault.close()


@pytest.mark.parametrize("prefix", ["mops", "../", "Mops/", "mops/x/", "mops/\n"])
def test_a_store_made_in_code_refuses_a_bad_prefix(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ConfigError, match="is not an object store prefix") as exc:
        S3Storage("http://127.0.0.1:1", "media", Credentials("a", "b"), tmp_path, prefix=prefix)
    assert exc.value.pl and "nie jest prefiksem" in exc.value.pl


@functools.cache
def probe() -> S3Storage:
    """A store no request is made to: names only (made once, not at collection)."""
    return S3Storage("http://127.0.0.1:1", "media", Credentials("a", "b"),
                     Path("/nonexistent"), prefix="urzad/")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=["a", ".", "/", "%", "2", "e", "E", "f", "F", "5", "c", "\\"],
               max_size=16))
def test_every_name_a_key_may_have_stays_under_the_prefix(key: str) -> None:
    """Whatever key `_object` accepts, its name stays under "urzad/" read as a path — and so
    once %-decoded (a store or proxy decoding twice)."""
    try:
        name = probe()._object(key)
    except InputError:
        return
    for seen in (name, unquote(name)):
        assert posixpath.normpath(seen).startswith("urzad/"), (key, seen)
        assert ".." not in seen.split("/")


@pytest.mark.parametrize(("prefix", "place"), [("", "http://s3:8333/media "),
                                               ("mops/", "http://s3:8333/media/mops/ ")])
def test_the_spool_alert_names_the_office_s_part_of_the_bucket(prefix: str,
                                                               place: str) -> None:
    """Where an office's uploads wait for: its part of the shared bucket (issue 67)."""
    from types import SimpleNamespace

    from kustosz.config import S3Config
    from kustosz.ingest.upload_queue import _unreachable

    vault = SimpleNamespace(config=SimpleNamespace(
        s3=S3Config("http://s3:8333", "media", prefix=prefix)))
    said = _unreachable(vault, OSError("connection refused"), 3, 3 << 20)  # type: ignore[arg-type]
    assert f"Magazyn obiektów {place}" in said and f"The object store {place}" in said
