"""docs/operations/s3.md, "Object storage (S3)" — the README's section until issue 31 — (review of
issue 16, F5): what an office admin copies to set
up the store is what the storage tests run against. The SeaweedFS identities file must load as
JSON, its application policy (a JSON string, as `weed` wants it) must be the one
tests/support/seaweedfs.py gives the test gateway (APP_POLICY), and the sweep's and the
re-dating identity's policies those the tests give (issue 28 item 5: no bypass, no Admin for
the sweep); the Ceph bucket policy's Allow must grant the application exactly those actions,
deny the sweep the bypass, and name the users `radosgw-admin user create --uid` makes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.seaweedfs import APP_POLICY, REDATE_POLICY, SWEEP_POLICY

PAGE = Path(__file__).resolve().parents[1] / "docs" / "operations" / "s3.md"


def _section() -> str:
    text = PAGE.read_text("utf-8")
    assert text.startswith("# Magazyn obiektów / Object storage (S3)\n")
    return text


def _json_blocks() -> list[object]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", _section(), re.S)]


def test_the_seaweedfs_identities_file_is_the_tested_one() -> None:
    (identities,) = [b for b in _json_blocks() if isinstance(b, dict) and "identities" in b]
    people = {i["name"]: i for i in identities["identities"]}
    assert people["kustosz-app"]["policyNames"] == ["kustosz-app"]
    assert "actions" not in people["kustosz-app"]
    for name in ("kustosz-sweep", "kustosz-redate"):
        assert people[name]["policyNames"] == [name] and "actions" not in people[name]
    policies = {p["name"]: p["content"] for p in identities["policies"]}
    assert all(isinstance(c, str) for c in policies.values())
    assert json.loads(policies["kustosz-app"]) == APP_POLICY
    assert json.loads(policies["kustosz-sweep"]) == SWEEP_POLICY
    assert json.loads(policies["kustosz-redate"]) == REDATE_POLICY
    for name in ("kustosz-app", "kustosz-sweep"):
        actions = json.loads(policies[name])["Statement"][0]["Action"]
        assert "s3:BypassGovernanceRetention" not in actions and "Admin" not in actions
    assert "s3:PutObjectLegalHold" not in APP_POLICY["Statement"][0]["Action"]


def test_the_ceph_policy_names_the_user_the_commands_make() -> None:
    (policy,) = [b for b in _json_blocks() if isinstance(b, dict) and "Statement" in b]
    app = [st for st in policy["Statement"]
           if st["Principal"] == {"AWS": ["arn:aws:iam:::user/kustosz-app"]}]
    allow, *denies = app
    assert allow["Effect"] == "Allow"
    assert allow["Action"] == APP_POLICY["Statement"][0]["Action"]
    assert all(d["Effect"] == "Deny" for d in denies)
    assert {"s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion",
            "s3:PutObjectLegalHold"} <= set(denies[0]["Action"])
    (sweep,) = [st for st in policy["Statement"]
                if st["Principal"] == {"AWS": ["arn:aws:iam:::user/kustosz-sweep"]}]
    assert sweep["Effect"] == "Deny" and sweep["Action"] == ["s3:BypassGovernanceRetention"]
    (redate,) = [st for st in policy["Statement"]
                 if st["Principal"] == {"AWS": ["arn:aws:iam:::user/kustosz-redate"]}]
    assert set(redate["Action"]) == set(REDATE_POLICY["Statement"][0]["Action"])
    assert len(app) + 2 == len(policy["Statement"])
    assert "radosgw-admin user create --uid kustosz-app" in _section()
    assert "install -m 0600 -o kustosz -g kustosz s3-app.toml" in _section()
    assert "-ip.bind=127.0.0.1" in _section() and "weed s3 -filer=127.0.0.1:8888" in _section()
