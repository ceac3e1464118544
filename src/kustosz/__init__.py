"""Kustosz: the monitoring vault of a public office."""

__version__ = "0.1.0"
