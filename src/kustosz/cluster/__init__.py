"""Several `kustosz serve --node NAME` processes on one PostgreSQL (issue 16 item 2).

Each camera, each phone line and each piece of once-per-cluster work (the sweep, the scheduled
work, the mail and event listeners) is a *resource* with a *lease* in the database
(`leases.py`): claimed and renewed with ``SELECT … FOR UPDATE SKIP LOCKED``, its expiry reckoned
by the database's clock, its fencing epoch grown at every change of holder. A node
(`nodes.py`) takes at most its fair share of the free ones (`balance.py`), hands over what it
holds beyond its share at a segment's end, and stops its recorders before a lease it cannot
renew runs out (`coordinator.py`). On SQLite there is one machine and one process: no leases.
"""
