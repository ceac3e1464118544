"""Alerts that reach a person: the alert rows the recorders, the sweep, the phone watch and
the audit witness write are sent through the channels of `[alerts]` in kustosz.toml (e-mail,
webhook, syslog) by the notifier `serve` runs. This package is the notify side only; the
rows are raised and cleared where the problem is seen."""
