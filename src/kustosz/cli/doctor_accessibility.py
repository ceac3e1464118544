"""`kustosz doctor`'s line for the accessibility statement (issue 65 item 6): the facts of
the office the statement still lacks ([policy.accessibility], as policy.accessibility.gaps
counts them), so that an administrator who never opens the first-day page learns of them.
A statement short of a fact is still served, so this WARNs and never FAILs."""

from __future__ import annotations

from kustosz.cli.doctor_check import OK, WARN, Check
from kustosz.policy import Policy
from kustosz.policy.accessibility import gaps


def check_accessibility(policy: Policy) -> Check:
    missing = gaps(policy.accessibility, policy.documents)
    if not missing:
        return Check("accessibility", OK, "the accessibility statement gives its dates, what "
                     "it was prepared on and a contact person with e-mail and telephone")
    keys = ", ".join(g.key for g in missing)
    return Check(
        "accessibility", WARN,
        "the accessibility statement (/deklaracja-dostepnosci) does not give "
        + "; ".join(g.en for g in missing)
        + f": add to kustosz.toml [policy.accessibility] {keys} (the office's values)",
        "Deklaracja dostępności (/deklaracja-dostepnosci) nie podaje: "
        + "; ".join(g.pl for g in missing)
        + f". Dopisz w kustosz.toml w sekcji [policy.accessibility]: {keys} (wartości "
          "urzędu).")
