"""An installation: several offices (controllers) on one service (issue 67).

An office is a vault, exactly as a single-office data folder is one; the installation is a
folder holding installation.toml and offices/<slug>/, one vault folder per office. What keeps
the offices apart is each vault's own database scope, fixed when its engine is made: on
PostgreSQL a schema and a login role of its own (pg_scope), on SQLite a file of its own. No
query carries an office filter that could be left out (docs/design.md, "Installations: many
offices, one service").
"""
