"""One schema for kustosz.toml (issue 31, item 2): a mistyped key anywhere is refused with its
path and the nearest valid name; wrong types, ranges, unknown tables, keys given twice, other
encodings and missing files get a clear error; `kustosz config check` and `config schema`
work without starting anything; `doctor` runs the check; the docs' examples pass it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from kustosz import config_schema as schema
from kustosz.config import TEMPLATE, read_config
from kustosz.config_schema import ConfigProblems, KustoszToml
from kustosz.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def kustosz(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kustosz", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def write(folder: Path, text: str | bytes) -> Path:
    path = folder / "kustosz.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


# -- a valid file with every table, the base the typos are made in --------------------------

FULL: dict[str, Any] = {
    "preset": "pleszew",
    "database_url": "",
    "storage": {"min_free_percent": 5.0, "reserve_mib": 64},
    "retention": {"interval_minutes": 15},
    "custody": {"hold_margin_minutes": 30},
    "audit": {
        "checkpoint_minutes": 15,
        "syslog": "192.0.2.10:514",
        "witness": "/mnt/archive/w.jsonl",
    },
    "web": {
        "tls_cert": "tls/c.crt",
        "tls_key": "tls/c.key",
        "trusted_proxies": ["127.0.0.1"],
        "metrics_from": ["10.0.0.5"],
    },
    "alerts": {
        "forecast_days": 14,
        "digest_at": "07:30",
        "digest_to": ["iod@um.example.pl"],
        "webhook_local": False,
        "email": {
            "host": "smtp.um.example.pl",
            "port": 587,
            "starttls": True,
            "user": "kustosz",
            "password_file": "/etc/kustosz/smtp",
            "from": "kustosz@um.example.pl",
            "to": ["it@um.example.pl"],
            "ca_file": "/etc/kustosz/ca.pem",
        },
        "webhook": {"url": "https://hooks.um.example.pl/k"},
        "syslog": {"host": "10.0.0.1", "port": 514},
        "kinds": {"camera_down": {"grace": "2 minutes", "repeat": "1 hour"}},
    },
    "backup": {"folder": "/mnt/kopie", "at": "02:30", "passphrase_file": "/etc/k/p", "keep": 7},
    "logging": {"format": "json"},
    "cluster": {"node": "rejestrator-1", "lease_seconds": 15, "margin_seconds": 5},
    "policy": {"retention": {"camera": "14 days"}},
}
S3 = {
    "kind": "s3",
    "endpoint": "https://s3.um.example.pl",
    "bucket": "kustosz-media",
    "region": "us-east-1",
    "credentials_file": "/etc/kustosz/s3-app.toml",
    "delete_credentials_file": "/etc/kustosz/s3-sweep.toml",
    "ca_file": "/etc/k/ca.pem",
    "spool_limit": "20 GB",
    "sweep": "separate",
    "check_hours": 24,
}
ROOT = Path("/srv/kustosz")


def full(**storage: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(FULL))
    out["storage"].update(storage)
    return out


def near_miss(key: str) -> str:
    """A typo: a letter left out (min_free_percent -> min_free_ercent), or one doubled."""
    if len(key) >= 4:
        return key[: len(key) // 2] + key[len(key) // 2 + 1 :]
    return key + key[-1]


def tables(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(path of the table, key) of every key of the schema's tables in ``data``."""
    out = []
    for key, value in data.items():
        if prefix[:1] == ("policy",) or (not prefix and key == "policy"):
            continue  # the policy's own loader checks it (tests/test_policy.py)
        out.append((prefix, key))
        if isinstance(value, dict):
            out.extend(tables(value, (*prefix, key)))
    return out


def every_key() -> list[tuple[tuple[str, ...], str]]:
    keys = tables(full(**S3))
    return [k for k in keys if k != (("alerts", "kinds"), "camera_down")]


def test_the_full_example_and_s3_are_valid() -> None:
    schema.validate(full(), "x", ROOT)
    schema.validate(full(**S3), "x", ROOT)


@pytest.mark.parametrize(
    ("table", "key"), every_key(), ids=lambda v: ".".join(v) if isinstance(v, tuple) else v
)
def test_a_typo_in_any_table_is_refused_with_the_nearest_name(
    table: tuple[str, ...], key: str
) -> None:
    data = full(**S3)
    where = data
    for part in table:
        where = where[part]
    wrong = near_miss(key)
    where[wrong] = where.pop(key)
    with pytest.raises(ConfigProblems) as caught:
        schema.validate(data, "kustosz.toml", ROOT)
    path = ".".join((*table, wrong))
    said = [p for p in caught.value.problems if p.where == path]
    assert said, caught.value
    assert f"did you mean `{key}`?" in said[0].en, said[0].en
    assert f"czy chodziło o `{key}`?" in said[0].pl
    assert f"`{path}`: unknown" in str(caught.value)


def test_the_issues_own_example(tmp_path: Path) -> None:
    write(tmp_path, 'preset = "pleszew"\n[storage]\nmin_free_percnet = 50\n')
    with pytest.raises(ConfigError) as caught:
        read_config(tmp_path)
    assert "`storage.min_free_percnet`: unknown key — did you mean `min_free_percent`?" in str(
        caught.value
    )
    assert "nieznany klucz — czy chodziło o `min_free_percent`?" in (caught.value.pl or "")


@pytest.mark.parametrize(
    ("text", "where", "en", "pl"),
    [
        (
            '[storage]\nmin_free_percent = "5"\n',
            "storage.min_free_percent",
            'must be a number at least 0 and below 100 (got "5")',
            "musi być liczbą",
        ),
        (
            "[custody]\nhold_margin_minutes = 2.5\n",
            "custody.hold_margin_minutes",
            "must be a whole number from 0 to 1440",
            "liczbą całkowitą od 0 do 1440",
        ),
        (
            "[alerts]\nwebhook_local = 1\n",
            "alerts.webhook_local",
            "must be true or false (got 1)",
            "true albo false",
        ),
        (
            "[storage]\nmin_free_percent = 100\n",
            "storage.min_free_percent",
            "at least 0 and below 100 (got 100)",
            "liczbą nie mniejszą niż 0 i mniejszą od 100",
        ),
        (
            "[retention]\ninterval_minutes = 0\n",
            "retention.interval_minutes",
            "must be a number above 0 and at most 1440",
            "większą od 0 i nie większą niż 1440",
        ),
        (
            '[backup]\nfolder = "/mnt/k"\nkeep = 400\n',
            "backup.keep",
            "must be a whole number from 1 to 365",
            "od 1 do 365",
        ),
        (
            '[storage]\nkind = "nfs"\n',
            "storage.kind",
            'must be "local" or "s3", not "nfs"',
            "„local” i „s3”",
        ),
        ('[logging]\nformat = "xml"\n', "logging.format", '"json" or "text"', "„json” i „text”"),
        ("storage = 5\n", "storage", "must be a table", "musi być tabelą"),
        ('[mail]\nlisten = "x"\n', "mail", "unknown table or key", "nieznana tabela"),
        (
            "[retenion]\ninterval_minutes = 5\n",
            "retenion",
            "did you mean `retention`?",
            "czy chodziło o `retention`?",
        ),
        (
            '[alerts.kinds.camera_dwn]\ngrace = "1 minute"\n',
            "alerts.kinds.camera_dwn",
            "unknown alert kind — did you mean `camera_down`?",
            "nieznany rodzaj alarmu",
        ),
        (
            '[alerts.email]\nhost = "smtp"\nto = ["it@um.pl"]\n',
            "alerts.email.from",
            "required key is missing",
            "brak wymaganego klucza",
        ),
        (
            '[storage]\nsecret_key = "x"\n',
            "storage",
            "no secrets in kustosz.toml",
            "nie wpisuje się sekretów",
        ),
        (  # found by the property test: an empty table was read as "no certificate"
            "[web]\ntls_cert = {}\n",
            "web.tls_cert",
            "must be text",
            "musi być tekstem",
        ),
        (  # the SBC's authority checks its certificate over TLS: without TLS it checks nothing
            '[siprec]\ntls_client_ca = "sbc-ca.pem"\n',
            "siprec",
            "siprec.tls_client_ca checks the SBC's certificate over TLS: it needs "
            "siprec.tls_listen",
            "wymaga siprec.tls_listen",
        ),
    ],
)
def test_bad_values_are_refused_with_path_and_both_languages(
    tmp_path: Path, text: str, where: str, en: str, pl: str
) -> None:
    write(tmp_path, 'preset = "pleszew"\n' + text)
    with pytest.raises(ConfigProblems) as caught:
        read_config(tmp_path)
    said = [p for p in caught.value.problems if p.where == where]
    assert said, str(caught.value)
    assert en in said[0].en and pl in said[0].pl, said[0]


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "[storage]\nmin_free_percnet = 5\n[retention]\ninterval_minutes = -1\n"
        '[cluster]\nnoed = "a"\n',
    )
    with pytest.raises(ConfigProblems) as caught:
        read_config(tmp_path)
    assert {p.where for p in caught.value.problems} == {
        "storage.min_free_percnet",
        "retention.interval_minutes",
        "cluster.noed",
    }


# -- the file itself: twice, another encoding, missing ------------------------------------


def test_a_key_given_twice_is_named_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, 'preset = "pleszew"\n[storage]\nmin_free_percent = 5\nmin_free_percent = 7\n')
    with pytest.raises(ConfigProblems) as caught:
        read_config(tmp_path)
    (problem,) = caught.value.problems
    assert "given twice (line 4" in problem.en and "wiersz 4" in problem.pl


def test_a_file_in_windows_1250_is_refused_with_the_line(tmp_path: Path) -> None:
    text = 'preset = "pleszew"\n[backup]\nfolder = "/mnt/kopie-łódź"\n'
    write(tmp_path, text.encode("cp1250"))
    with pytest.raises(ConfigProblems) as caught:
        read_config(tmp_path)
    (problem,) = caught.value.problems
    assert "not UTF-8" in problem.en and "line 3" in problem.en
    assert "Windows-1250" in problem.en and "UTF-8" in problem.pl


def test_a_byte_order_mark_is_no_problem(tmp_path: Path) -> None:
    write(tmp_path, b'\xef\xbb\xbfpreset = "pleszew"\n')
    assert read_config(tmp_path).preset == "pleszew"


# -- kustosz config check / schema -----------------------------------------------------------


def test_config_check_of_a_good_file_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, TEMPLATE.format(preset="pleszew", database_url=""))
    done = kustosz("config", "check", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "plik jest poprawny" in done.stdout and "the file is valid" in done.stdout


def test_config_check_lists_each_problem_and_changes_nothing(tmp_path: Path) -> None:
    text = (
        'preset = "pleszew"\n[storage]\nmin_free_percnet = 50\nreserve_mib = -1\n'
        '[web]\nmetrics_from = ["intranet"]\n'
    )
    path = write(tmp_path, text)
    done = kustosz("config", "check", "--config", str(path))
    assert done.returncode == 1
    out = done.stderr
    assert "3 błędy / 3 problems" in out
    assert "`storage.min_free_percnet`: nieznany klucz — czy chodziło o `min_free_percent`?" in out
    assert "`storage.min_free_percnet`: unknown key — did you mean `min_free_percent`?" in out
    assert "`storage.reserve_mib`: musi być liczbą od 0 do 65536 (podano: -1)" in out
    assert "`web.metrics_from`: 'intranet' is not an address or network" in out
    assert "did you mean `min_free_percent`? (line 3)" in out  # where, as well as which
    assert "czy chodziło o `min_free_percent`? (wiersz 3)" in out
    # Polish first
    assert out.index("nieznany klucz") < out.index("unknown key")
    assert path.read_text("utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kustosz.toml"]


def test_config_check_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, "[cluster]\nlease_seconds = 0\n")
    done = kustosz("config", "check", "--json", "--config", str(path))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert [p["key"] for p in report["problems"]] == ["cluster.lease_seconds"]


def test_config_check_of_a_missing_file(tmp_path: Path) -> None:
    done = kustosz("config", "check", "--config", str(tmp_path / "nie-ma.toml"))
    assert done.returncode == 1
    assert "nie-ma.toml" in done.stderr and "nie ma takiego pliku" in done.stderr
    assert "no such file" in done.stderr
    assert not (tmp_path / "nie-ma.toml").exists()


def test_config_check_of_the_data_folder_and_the_policy(tmp_path: Path) -> None:
    write(tmp_path, 'preset = "pleszew"\n[policy.retention]\ncamera = "dwa tygodnie"\n')
    done = kustosz("--data", str(tmp_path), "config", "check")
    assert done.returncode == 1
    # the key the policy's rule names, with its line (issue 64 item 6: a refusal names it)
    assert "`policy.retention.camera`" in done.stderr and "dwa tygodnie" in done.stderr
    assert "(wiersz 3)" in done.stderr and "(line 3)" in done.stderr
    write(tmp_path, 'preset = "nie-ma-takiego"\n')
    done = kustosz("--data", str(tmp_path), "config", "check")
    assert done.returncode == 1 and "`preset`" in done.stderr and "(wiersz 1)" in done.stderr


def test_config_check_without_a_file_named(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kustosz", "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2 and "--config" in done.stderr


def test_config_schema_is_json_schema_refusing_unknown_keys(tmp_path: Path) -> None:
    out = tmp_path / "kustosz.schema.json"
    done = kustosz("config", "schema", "--output", str(out))
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text("utf-8"))
    printed = json.loads(kustosz("config", "schema").stdout)
    assert written == printed
    assert written["additionalProperties"] is False
    for name, model in written["$defs"].items():
        if model.get("type") == "object" and "properties" in model:
            assert model.get("additionalProperties") is False, name
    storage = written["$defs"]["Storage"]["properties"]
    assert storage["min_free_percent"]["default"] == 5.0
    assert storage["min_free_percent"]["exclusiveMaximum"] == 100
    assert "from" in written["$defs"]["Email"]["properties"]


def test_the_template_is_valid_and_its_defaults_are_the_schemas() -> None:
    data = tomllib.loads(TEMPLATE.format(preset="pleszew", database_url=""))
    doc = schema.validate(data, "template", ROOT)
    defaults = KustoszToml()
    for table in ("storage", "retention", "custody", "audit"):
        for key, value in data[table].items():
            assert getattr(getattr(defaults, table), key) == value, (table, key)
    assert doc.storage.min_free_percent == defaults.storage.min_free_percent


def test_doctor_runs_the_check(sqlite_vault: Any) -> None:
    config = sqlite_vault.root / "kustosz.toml"
    sqlite_vault.close()
    config.write_text(config.read_text() + "\n[cluster]\nlease_secnods = 10\n")
    done = kustosz("--data", str(sqlite_vault.root), "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("FAIL") and "config" in x)
    assert "`cluster.lease_secnods`: unknown key — did you mean `lease_seconds`?" in line
    assert "czy chodziło o `lease_seconds`?" in done.stdout


# -- the examples of the docs --------------------------------------------------------------


def _merge(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def _examples() -> list[tuple[Path, dict[str, Any]]]:
    """Each page's ```toml blocks, merged in order: a page's later block adds to the file
    its earlier ones show (e.g. the spool limit of an S3 store)."""
    out = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        blocks = re.findall(r"```toml\n(.*?)```", page.read_text("utf-8"), re.S)
        if blocks:
            merged: dict[str, Any] = {}
            for block in blocks:
                _merge(merged, tomllib.loads(block))
            out.append((page, merged))
    return out


def test_there_are_examples_to_check() -> None:
    assert len(_examples()) >= 3


@pytest.mark.parametrize(
    ("page", "data"), _examples(), ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_every_example_in_the_docs_passes_config_check(
    tmp_path: Path, page: Path, data: dict[str, Any]
) -> None:
    doc = schema.validate(data, page, root=tmp_path)  # extra="forbid": no key unknown
    assert_nothing_dropped(doc, data)


# -- random TOML: a clean error or a valid config, never a traceback, never a dropped key ----


def assert_nothing_dropped(model: BaseModel, data: dict[str, Any]) -> None:
    by_key = {f.alias or n: n for n, f in type(model).model_fields.items()}
    for key, value in data.items():
        assert key in by_key, key
        name = by_key[key]
        assert name in model.model_fields_set, key
        inner = getattr(model, name)
        if isinstance(inner, BaseModel) and isinstance(value, dict):
            assert_nothing_dropped(inner, value)
        elif isinstance(inner, dict) and isinstance(value, dict) and any(
                isinstance(v, BaseModel) for v in inner.values()):  # e.g. [policy.positions.*]
            assert inner.keys() == value.keys(), key
            for name_, item in inner.items():
                assert isinstance(item, BaseModel), (key, name_)
                assert_nothing_dropped(item, value[name_])
        elif isinstance(value, dict):
            assert inner == value, key  # [policy]: handed on whole


def toml_text(data: dict[str, Any]) -> str:
    """A minimal TOML writer (scalars, arrays of scalars, nested tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    def quoted(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)

    lines: list[str] = []

    def table(d: dict[str, Any], prefix: list[str]) -> None:
        for k, v in d.items():
            if not isinstance(v, dict):
                lines.append(f"{quoted(k)} = {value(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append(f"[{'.'.join(quoted(p) for p in (*prefix, k))}]")
                table(v, [*prefix, k])

    table(data, [])
    return "\n".join(lines) + "\n"


def _schema_keys() -> dict[tuple[str, ...], list[str]]:
    out: dict[tuple[str, ...], list[str]] = {}

    def walk(model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        out[prefix] = [f.alias or n for n, f in model.model_fields.items()]
        for n, f in model.model_fields.items():
            inner = schema._unwrap(f.annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                walk(inner, (*prefix, f.alias or n))

    walk(KustoszToml, ())
    return out


def test_random_toml_gives_a_clean_error_or_a_valid_config(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    known = _schema_keys()
    scalars = st.one_of(
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(max_size=12),
        st.sampled_from(
            ["local", "s3", "json", "02:30", "2 minutes", "127.0.0.1", "it@um.example.pl", ""]
        ),
    )
    values = st.one_of(scalars, st.lists(scalars, max_size=3))

    def keys_of(prefix: tuple[str, ...]) -> st.SearchStrategy[str]:
        names = known.get(prefix, ["x"])
        return st.one_of(
            st.sampled_from(names),
            st.sampled_from(names).map(near_miss),
            st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
        )

    def tables_at(prefix: tuple[str, ...], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        if depth == 0:
            return st.dictionaries(keys_of(prefix), values, max_size=4)
        return st.dictionaries(keys_of(prefix), values, max_size=3).flatmap(
            lambda flat: st.dictionaries(keys_of(prefix), st.just(None), max_size=3).flatmap(
                lambda subs: st.tuples(*[tables_at((*prefix, k), depth - 1) for k in subs]).map(
                    lambda inner, subs=subs, flat=flat: {
                        **flat,
                        **dict(zip(subs, inner, strict=True)),
                    }
                )
            )
        )

    path = tmp_path / "kustosz.toml"

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(tables_at((), 2))
    def check(data: dict[str, Any]) -> None:
        path.write_text(toml_text(data), "utf-8")
        try:
            doc = schema.load(path, tmp_path)
        except ConfigProblems as exc:
            assert exc.problems and all(p.en and p.pl for p in exc.problems)
            assert str(exc).startswith(str(path))
            return
        assert_nothing_dropped(doc, tomllib.loads(path.read_text("utf-8")))

    check()


# -- the settings sources keep in the database: the same rule ------------------------------


@pytest.mark.parametrize(
    ("cls_path", "raw", "where", "near"),
    [
        (
            "kustosz.ingest.mail.settings.MailSettings",
            {"imap_pasword": "x"},
            "imap_pasword",
            "imap_password",
        ),
        (
            "kustosz.ingest.events.settings.EndpointSettings",
            {"syslog_ud": "0.0.0.0:514"},
            "syslog_ud",
            "syslog_udp",
        ),
        (
            "kustosz.phones.settings.PhoneSettings",
            {"spool": "/s", "cdr": "/c", "settle": 2},
            "settle",
            "settle_s",
        ),
    ],
)
def test_stored_source_settings_refuse_unknown_keys(
    cls_path: str, raw: dict[str, Any], where: str, near: str
) -> None:
    import importlib

    module, _, name = cls_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(ConfigError) as caught:
        cls.of(raw)
    assert f"`{where}`: unknown key — did you mean `{near}`?" in str(caught.value)
    assert f"czy chodziło o `{near}`?" in (caught.value.pl or "")
    assert "'x'" not in str(caught.value)  # a value (a password?) is never repeated


def test_stored_source_settings_check_types_and_keep_what_they_are() -> None:
    from kustosz.ingest.mail.settings import MailSettings
    from kustosz.phones.settings import PhoneSettings

    with pytest.raises(ConfigError, match="`imap_port`: must be a whole number"):
        MailSettings.of({"imap_port": "sto czterdzieści trzy", "imap_password": "tajne"})
    with pytest.raises(ConfigError, match="`cdr`: required key is missing"):
        PhoneSettings.of({"spool": "/s"})
    settings = MailSettings(imap_host="imap.um.example.pl", imap_user="u")
    assert MailSettings.of(settings.as_dict()) == settings
    phone = PhoneSettings("/s", "/c", office_numbers=["+48555123456"])
    assert PhoneSettings.of(phone.as_settings()) == phone
