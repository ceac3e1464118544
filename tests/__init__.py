"""The test suite. Imported before tests/conftest.py (and so before any kustosz module)."""

import os

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment (a plain
# `pytest` has neither). Rich's Console reads COLUMNS once, when it is made: the CLI's module
# console (kustosz.cli.common) would then stay 80 columns wide for the whole worker, and the
# tests' CliRunner, which asks for COLUMNS=200 per call, would get tables with wrapped,
# truncated cells. Out of the environment before the first kustosz import, as without xdist.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)
