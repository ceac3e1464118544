"""The session's Ceph RGW (tests/support/ceph_rgw.py) as a pytest fixture.

Not a conftest.py of its own, so that only the modules that want a Ceph cluster pay for one:
a module or a folder's conftest.py imports the fixture by name::

    from tests.conftest_ceph import ceph_rgw  # noqa: F401 (a fixture, found by its name)

The cluster starts on first use (about 2-4 s on two cores) and is shared by the whole session;
tests give their buckets unique names. Skips when the Debian packages are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ceph_rgw import CephRgw, ceph_rgw_unavailable, start_ceph_rgw


@pytest.fixture(scope="session")
def ceph_rgw() -> Iterator[CephRgw]:
    why = ceph_rgw_unavailable()
    if why:
        pytest.skip(why)
    rgw = start_ceph_rgw()
    try:
        yield rgw
    finally:
        rgw.stop()
