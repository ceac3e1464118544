"""Diagnostics that run only when asked for (environment variables); nothing by default."""
