"""What every benchmark shares (issue 68 item 7): its smallest form, how it says it cannot run
here, and the checks its vault ends with.

`--smoke` runs a benchmark in seconds — the fewest cameras, files, viewers and seconds — still
through the product's own path and against its own baseline tool, so that the suite
(tests/test_bench_smoke.py) finds a benchmark that no longer runs: bench/playback.py had rotted
for days (its witness was refused) before anyone ran it. A smoke run asserts no figure; speed is
the full run's to measure.

A benchmark that needs a Debian package or a service missing here exits with SKIPPED and the
reason (the suite then skips it, as it skips the tests that need the same), in either form.

`check_vault`: `audit verify` and the store check of a benchmark's vault, after its run (issue
68, "Done when"), in either form; a finding fails the benchmark.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from kustosz.vault import Vault

SKIPPED = 77  # the exit status of "cannot run here" (automake's SKIP)
HELP = ("the smallest form, in seconds (issue 68 item 7): the suite runs it to find a "
        "benchmark that cannot run; its figures mean nothing")


def parse(parser: argparse.ArgumentParser, smallest: Mapping[str, object],
          argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The arguments, with `--smoke` added; given it, the options named in ``smallest`` (by
    their destination) take those values, whatever else was given."""
    parser.add_argument("--smoke", action="store_true", help=HELP)
    args = parser.parse_args(argv)
    stale = sorted(set(smallest) - set(vars(args)))
    if stale:  # an option renamed without its smallest form: fail here, not silently
        raise SystemExit(f"--smoke names options the benchmark does not have: {stale}")
    if args.smoke:
        for name, value in smallest.items():
            setattr(args, name, value)
    return args


def unavailable(reason: str) -> NoReturn:
    """Stop: the benchmark cannot run on this machine, and why."""
    print(f"skipped: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(SKIPPED)


def vault_problems(vault: Vault) -> list[str]:
    """The store check (`kustosz storage check`: the bucket against the index, or every
    stored file hashed again) and then `audit verify` (the check's own entries included), on
    the benchmark's vault as it is left; what they found, or nothing."""
    from kustosz.audit.verifier import vault_report
    from kustosz.storage.s3 import S3Storage

    found: list[str] = []
    if isinstance(vault.storage, S3Storage):
        from kustosz.maintenance.store_check import run_check

        bucket = run_check(vault, actor="bench")
        if bucket.problems or bucket.lost_count or bucket.marked_missing:
            found.append(f"store check: {bucket.unknown_count} unknown version(s), "
                         f"{len(bucket.size_differs)} of another size, {bucket.lost_count} "
                         f"indexed missing or changed, {bucket.marked_missing} marked "
                         f"missing; {'; '.join(bucket.examples())}")
    else:
        from kustosz.maintenance.files_check import run_files_check

        files = run_files_check(vault, actor="bench", rate=float("inf"))
        if files.lost_count or files.marked_missing:
            found.append(f"store check: {files.lost_count} of {files.checked} file(s) changed "
                         f"or missing, {files.marked_missing} marked missing; "
                         + "; ".join(lost.line() for lost in files.lost[:5]))
    with vault.reading() as s:
        audit = vault_report(s, vault.head_file)
    found += [f"audit verify: {problem}" for problem in audit.problems]
    return found


def check_vault(vault: Vault) -> None:
    """`vault_problems`, printed; exit 1 if there are any."""
    problems = vault_problems(vault)
    for problem in problems:
        print(f"VAULT CHECK FAILED: {problem}", file=sys.stderr, flush=True)
    if problems:
        raise SystemExit(1)
    print(f"vault {vault.root}: the store check and audit verify passed", flush=True)
