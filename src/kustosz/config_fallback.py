"""What `kustosz serve` starts on when kustosz.toml is refused (issue 64 item 6): never nothing.

A refused file used to end every start with status 2, so an edit refused on reload (rightly)
followed by a crash or a reboot left the office unrecorded until someone mended the file. Now
serve's start (Vault.offline with ``fallback``) takes, in this order:

1. the file, when it passes the check a start makes (`accept`: the schema, the settings read
   from it, the policy its preset and [policy] tables make);
2. else `kustosz.toml.last-good` beside the file (kustosz.config_keep), the last file serve
   accepted, checked the same way;
3. else defaults for what the vault holds — cameras and phone lines are in its database, not
   in the file: the file's tables that pass on their own (the rest at their defaults), the
   database it names (or the folder's SQLite), and the rules last in force (the preset and
   [policy] serve last noted in the database, `POLICY_SOURCE`; else the file's own preset).
   Where even that cannot be known — no database the file names and no kustosz.db in the
   folder, or no rules at all — the start is refused as before, saying why.

What it chose is an `InForce`: kustosz.config_in_force tells it (a high alert naming the
file's line and reason, the audit log, the note `doctor` and `config check` read)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kustosz import config_schema as schema
from kustosz.config import CONFIG_NAME, VaultConfig, config_of, from_schema, read_config
from kustosz.config_keep import last_good, read_kept, settings_file
from kustosz.config_schema import Problem
from kustosz.config_schema.refusal import located, summary
from kustosz.db.engine import make_engine, sqlite_url
from kustosz.db.models import Setting
from kustosz.errors import ConfigError
from kustosz.policy import Policy, load_policy

log = logging.getLogger(__name__)
FILE, LAST_GOOD, DEFAULTS, NOTHING = "file", "last-good", "defaults", "nothing"
# The preset and [policy] tables of the settings serve last ran on (JSON), noted by it in the
# database at each start and reload on an accepted file: the rules of a start on defaults.
POLICY_SOURCE = "config.policy_source"
_SCALARS = ("preset", "database_url")


@dataclass(frozen=True)
class InForce:
    """The settings a start chose: ``kind`` FILE, LAST_GOOD or DEFAULTS (NOTHING: what a
    start would do that cannot be made, `plan` only)."""

    kind: str
    path: Path | None = None  # the file in force (None on defaults)
    problems: tuple[Problem, ...] = ()  # why kustosz.toml was refused
    why_not_kept: str = ""  # on defaults: why the last good copy could not be used
    why_not_kept_pl: str = ""
    kept: tuple[str, ...] = ()  # on defaults: the file's tables taken as they are
    dropped: tuple[str, ...] = ()  # on defaults: its tables left at their defaults
    rules: str = ""  # on defaults: where the policy came from ("noted", "file", "preset")
    preset: str | None = field(default=None, compare=False)


class RulesRefused(ConfigError):
    """The database refused the file's rules at `Vault.connect`: they leave a kind of source
    the register holds without a retention period (its material would have no end)."""


def accept(raw: bytes, path: Path, root: Path) -> tuple[VaultConfig, Policy]:
    """The one check a start makes of a kustosz.toml's bytes (``path`` names it): the
    settings and the policy they make, or the ConfigError that refuses them."""
    config = config_of(raw, path, root)
    return config, load_policy(config.preset, config.policy_overrides)


def choose(root: Path, refused: tuple[Problem, ...] = (),
           kept_refused: tuple[str, str] | None = None) -> tuple[VaultConfig, Policy, InForce]:
    """What a start of serve runs on (see the module's doc); ConfigError only when there is
    nothing to record on, or ``root`` is no vault at all. ``refused``: why the file was
    refused after it passed here (RulesRefused): it is not taken again; ``kept_refused``: why
    the last good copy was (English, Polish): nor is it."""
    path = root / CONFIG_NAME
    if not path.exists() and not path.is_symlink():
        read_config(root)  # not a vault at all: its own words
    raw, problems = b"", refused
    try:
        raw = schema.read_file(path)
        if not refused:
            config, policy = accept(raw, path, root)
            return config, policy, InForce(FILE, settings_file(root))
    except ConfigError as exc:
        problems = tuple(located(exc, raw.decode("utf-8", "replace")))
    kept = last_good(settings_file(root))
    try:
        if kept_refused is not None:
            raise ConfigError(*kept_refused[:1], pl=kept_refused[1])
        config, policy = accept(read_kept(kept), kept, root)
        return config, policy, InForce(LAST_GOOD, kept, problems)
    except FileNotFoundError:
        why = (f"there is no {kept}", f"nie ma pliku {kept}")
    except OSError as exc:
        why = (f"{kept}: {exc.strerror or exc}",
               f"nie można odczytać pliku {kept} ({exc.strerror or exc})")
    except ConfigError as exc:
        why = (f"{kept} is refused too: {' '.join(str(exc).split())}",
               f"plik {kept} też jest odrzucony: {' '.join((exc.pl or str(exc)).split())}")
    config, policy, (kept_tables, dropped, rules) = _defaults(root, path, raw)
    return config, policy, InForce(DEFAULTS, None, problems, why[0], why[1], kept_tables,
                                   dropped, rules, preset=config.preset)


def plan(root: Path, refused: tuple[Problem, ...]) -> InForce:
    """What the next start would run on once the file is ``refused`` (said when a reload
    refuses it: a start refuses it too, on its own or when the database refuses its rules)."""
    try:
        return choose(root, refused)[2]
    except ConfigError as exc:
        return InForce(NOTHING, None, (Problem("", str(exc), exc.pl or str(exc)),))


def _defaults(root: Path, path: Path, raw: bytes
              ) -> tuple[VaultConfig, Policy, tuple[tuple[str, ...], tuple[str, ...], str]]:
    try:
        data = schema.parse_bytes(raw, path)
    except ConfigError:
        data = {}
    sound: dict[str, Any] = {k: data[k] for k in _SCALARS if isinstance(data.get(k), str)}
    dropped = []
    for name in schema.KustoszToml.model_fields:
        if name in (*_SCALARS, "policy") or name not in data:
            continue
        try:
            schema.table(name, data, path, root)
        except ConfigError:
            dropped.append(name)
        else:
            sound[name] = data[name]
    try:
        config = _tables(sound, path, root)
    except ConfigError:  # the tables do not agree with each other: the scalars alone
        dropped += [k for k in sound if k not in _SCALARS]
        sound = {k: v for k, v in sound.items() if k in _SCALARS}
        config = _tables(sound, path, root)
    if not config.database_url and not (root / "kustosz.db").exists():
        raise ConfigError(
            f"{path} is refused, there is no {CONFIG_NAME}.last-good to start on, and "
            "the vault's database is not known (the file names none that can be read, and "
            "there is no kustosz.db in the folder): mend the file (kustosz config check)",
            pl=f"Plik {path} został odrzucony, nie ma ostatnich zaakceptowanych ustawień "
               f"({CONFIG_NAME}.last-good), a nie wiadomo, gdzie jest baza danych skarbca "
               "(plik nie podaje czytelnego database_url, a w katalogu nie ma kustosz.db): "
               "popraw plik (kustosz config check).")
    policy, rules = _rules(root, config, data)
    kept = tuple(k for k in sound if k not in _SCALARS)
    return config, policy, (kept, tuple(dropped), rules)


def _tables(data: dict[str, Any], path: Path, root: Path) -> VaultConfig:
    return from_schema(schema.validate(data, path, root), root)


def _rules(root: Path, config: VaultConfig, data: dict[str, Any]) -> tuple[Policy, str]:
    """The policy of a start on defaults: the one serve last ran on, else the file's."""
    noted = _noted(root, config)
    overrides = data.get("policy") if isinstance(data.get("policy"), dict) else None
    tries: list[tuple[str, str | None, dict[str, Any] | None]] = []
    if noted is not None:
        tries.append(("noted", noted.get("preset"), noted.get("overrides")))
    if overrides:
        tries.append(("file", config.preset, overrides))
    tries.append(("preset", config.preset, None))
    for rules, preset, over in tries:
        if not preset and not over:
            continue
        try:
            policy = load_policy(preset, over)
        except ConfigError:
            continue
        config.preset, config.policy_overrides = preset, dict(over or {})
        return policy, rules
    raise ConfigError(
        f"{CONFIG_NAME} is refused, there is no {CONFIG_NAME}.last-good to start on, and no "
        "rules are known to record by (the database notes none, the file names no preset "
        "that can be read): mend the file (kustosz config check)",
        pl=f"Plik {CONFIG_NAME} został odrzucony, nie ma ostatnich zaakceptowanych ustawień "
           f"({CONFIG_NAME}.last-good) ani znanych zasad, według których można nagrywać (baza "
           "danych ich nie zapisała, plik nie podaje czytelnego zestawu zasad): popraw plik "
           "(kustosz config check).")


def _noted(root: Path, config: VaultConfig) -> dict[str, Any] | None:
    """The preset and [policy] tables serve last ran on, as it noted them in the database."""
    engine = make_engine(config.database_url or sqlite_url(root / "kustosz.db"))
    try:
        with engine.connect() as conn:
            value = conn.execute(select(Setting.value).where(
                Setting.key == POLICY_SOURCE)).scalar_one_or_none()
    except Exception as exc:  # no database, or an old one: the file's preset then
        log.warning("the rules last in force could not be read from the database (%s)",
                    type(exc).__name__)
        return None
    finally:
        engine.dispose()
    try:
        noted = json.loads(value) if value else None
    except ValueError:
        return None
    return noted if isinstance(noted, dict) else None


def policy_source(config: VaultConfig) -> str:
    """What POLICY_SOURCE holds for ``config``."""
    return json.dumps({"preset": config.preset, "overrides": config.policy_overrides},
                      sort_keys=True, ensure_ascii=False)


def _rules_pl(chosen: InForce) -> str:
    preset = f"zestawu „{chosen.preset}”" if chosen.preset else "zestawu zasad"
    return {"noted": f"jak przy ostatnim uruchomieniu ({preset} z ustawieniami z bazy danych)",
            "file": f"według {preset} i sekcji [policy] z pliku",
            "preset": f"według samego {preset} (bez zmian z sekcji [policy])"}.get(
                chosen.rules, "")


def start_text(chosen: InForce, lang: str) -> str:
    """What a start not on the file says: the alert row (pl), the journal (en)."""
    refused = summary(list(chosen.problems), lang)
    if chosen.kind == LAST_GOOD:
        if lang == "en":
            return (f"{CONFIG_NAME} is refused ({refused}); serve started on the last "
                    f"configuration it accepted, {chosen.path}, and records by it: mend the "
                    "file (kustosz config check), then systemctl reload kustosz")
        return (f"Usługa Kustosz uruchomiła się z ostatnich zaakceptowanych ustawień "
                f"({chosen.path}), bo plik {CONFIG_NAME} został odrzucony: {refused}. "
                "Nagrywanie trwa według tamtych ustawień. Popraw plik (kustosz config check "
                "pokaże błędy) i przeładuj usługę (systemctl reload kustosz).")
    kept, dropped = ", ".join(f"[{t}]" for t in chosen.kept), \
        ", ".join(f"[{t}]" for t in chosen.dropped)
    if lang == "en":
        return (f"{CONFIG_NAME} is refused ({refused}) and its last good copy cannot be used "
                f"({chosen.why_not_kept}); serve started on defaults for what the vault holds "
                f"(its cameras and phone lines), the file's sound tables kept ({kept or 'none'}"
                f"), left at defaults: {dropped or 'none'}; rules: {chosen.rules}. Mend the "
                "file (kustosz config check), then systemctl reload kustosz")
    return (f"Usługa Kustosz uruchomiła się bez pliku {CONFIG_NAME}, bo plik został "
            f"odrzucony: {refused}; ostatnich zaakceptowanych ustawień nie można użyć "
            f"({chosen.why_not_kept_pl}). Nagrywa kamery i linie telefoniczne zapisane w bazie "
            "danych z ustawieniami domyślnymi"
            + (f"; z pliku wzięto poprawne sekcje: {kept}" if kept else "")
            + (f"; sekcje z błędami ({dropped}) mają wartości domyślne" if dropped else "")
            + f"; zasady przechowywania i nagrywania: {_rules_pl(chosen)}. Popraw plik "
            "(kustosz config check pokaże błędy) i przeładuj usługę (systemctl reload "
            "kustosz).")
