"""The session's Ceph RGW (tests/support/ceph_rgw.py) as a pytest fixture.

Not a conftest.py of its own, so that only the modules that want a Ceph cluster pay for one:
a module or a folder's conftest.py imports the fixture by name::

    from tests.conftest_ceph import ceph_rgw  # noqa: F401 (a fixture, found by its name)

The cluster starts on first use (about 2-4 s on two cores) and is shared by the whole session,
also between modules that import the fixture separately (pytest makes one fixture definition
per importing module, so the cluster is kept here, not in the fixture's cache); it stops when
pytest ends, or with the interpreter. Tests give their buckets unique names. Skips when the
Debian packages are missing.
"""

from __future__ import annotations

import pytest

from tests.support.ceph_rgw import CephRgw, ceph_rgw_unavailable, start_ceph_rgw

_shared: list[CephRgw] = []


def _stop_shared() -> None:
    while _shared:
        _shared.pop().stop()


@pytest.fixture(scope="session")
def ceph_rgw(request: pytest.FixtureRequest) -> CephRgw:
    why = ceph_rgw_unavailable()
    if why:
        pytest.skip(why)
    if not _shared:
        _shared.append(start_ceph_rgw())
        request.config.add_cleanup(_stop_shared)
    return _shared[0]
