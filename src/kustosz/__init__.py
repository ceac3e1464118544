"""Kustosz: the monitoring vault of a public office."""

from importlib.metadata import PackageNotFoundError, version

# One place for the version: pyproject.toml's [project] version, read back from the installed
# package's metadata (pip, the wheel and the .deb all write it there).
try:
    __version__ = version("kustosz")
except PackageNotFoundError:  # a source tree on sys.path that pip never installed
    __version__ = "0+unknown"
