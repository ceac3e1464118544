"""The memory store's object lock is the S3 stores' (property test): any sequence of writes with
retention, re-datings (with the governance bypass or without), legal holds and deletes, by the
app's credentials, the sweep's or the re-dating identity's (issue 28 item 5), ends
the same way on MemoryStorage and on a real server (SeaweedFS; Ceph RGW with the slow tests) —
the same refusals, the same content left, the same locks. The other tests may then check the
lock rules on the memory store, fast, and trust them to hold on the real ones."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.storage.conftest import S3Server

from kustosz.storage.memory import MemoryStorage
from kustosz.storage.s3 import S3Storage

KEYS = ["k0", "k1"]
ROLE = st.sampled_from(["app", "sweep"])
# the re-dating identity only re-dates (its policy grants nothing else)
REDATER = st.sampled_from(["app", "sweep", "redate"])
OPS = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(KEYS), st.none() | st.integers(1, 4),
              st.booleans(), ROLE),
    st.tuples(st.just("retain"), st.sampled_from(KEYS), st.integers(1, 6), REDATER),
    # the governance bypass: only the re-dating identity's is granted (issue 28 item 5)
    st.tuples(st.just("shorten"), st.sampled_from(KEYS), st.integers(1, 6), REDATER),
    st.tuples(st.just("hold"), st.sampled_from(KEYS), st.booleans(), ROLE),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), ROLE),
)


def outcome(call: Any) -> str:
    try:
        return repr(call())
    except Exception as exc:  # the kind of refusal is what must agree
        return type(exc).__name__


def run(views: dict[str, Any], prefix: str, ops: list[tuple[Any, ...]], base: datetime
        ) -> list[str]:
    seen = []
    for op in ops:
        kind, key = op[0], f"{prefix}/{op[1]}"
        store = views[op[-1]]
        if kind == "put":
            until = None if op[2] is None else base + timedelta(days=op[2])
            result = outcome(lambda: store.put(key, io.BytesIO(b"x"),  # noqa: B023
                                               retain_until=until,  # noqa: B023
                                               legal_hold=op[3]).size)  # noqa: B023
        elif kind in ("retain", "shorten"):
            result = outcome(lambda: store.retain(  # noqa: B023
                key, base + timedelta(days=op[2]), bypass=kind == "shorten"))  # noqa: B023
        elif kind == "hold":
            result = outcome(lambda: store.legal_hold(key, op[2]))  # noqa: B023
        else:
            result = outcome(lambda: store.delete(key))  # noqa: B023
        state = outcome(lambda: views["sweep"].lock_of(key))  # noqa: B023
        seen.append(f"{op} -> {result}; {state}")
    return seen


@pytest.fixture(params=["seaweedfs", pytest.param("ceph", marks=pytest.mark.slow)])
def real(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, S3Storage], bool]:
    """The views of one bucket, and whether the "redate" one holds the bypass."""
    from tests.storage.conftest import HAVE_CEPH_HARNESS

    if request.param == "ceph" and not HAVE_CEPH_HARNESS:
        pytest.skip("tests/support/ceph_rgw.py is not here")
    server: S3Server = request.getfixturevalue(
        "seaweed" if request.param == "seaweedfs" else "ceph")
    bucket = server.make_bucket()
    views = {"app": server.storage(bucket, tmp_path / "a", deleting=False),
             "sweep": server.storage(bucket, tmp_path / "s", deleting=True)}
    if server.redate is not None:
        views["redate"] = S3Storage(server.endpoint, bucket, server.redate, tmp_path / "r",
                                    region=server.region, attempts=1)
    else:  # the Ceph harness has two users: the app's, asking for the bypass, stands in
        views["redate"] = server.storage(bucket, tmp_path / "r", deleting=False)
    for view in views.values():
        view.prepare()
    return views, server.redate is not None


COUNTER = itertools.count()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=10))
def test_memory_and_s3_lock_agree(real: tuple[dict[str, S3Storage], bool], tmp_path: Path,
                                  ops: list[tuple[Any, ...]]) -> None:
    base = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    prefix = f"e{next(COUNTER)}"  # every example its own keys in the one bucket
    memory = MemoryStorage(tmp_path / "m")
    views, granted = real
    mem_views = {"app": memory.as_role(deleting=False), "sweep": memory,
                 "redate": memory.as_role(deleting=False, redating=granted)}
    assert run(mem_views, prefix, ops, base) == run(views, prefix, ops, base)
