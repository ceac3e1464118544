"""[cluster]: this node's name and the lease timing of several recorders on one database."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from kustosz.config_schema.base import Table, problem

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
DEFAULT_LEASE_S = 15.0
DEFAULT_MARGIN_S = 5.0


class Cluster(Table):
    node: str | None = Field(None, description="This node's name (kustosz serve --node wins).")
    lease_seconds: float = Field(
        DEFAULT_LEASE_S,
        gt=0,
        le=3600,
        description="A dead node's cameras move within this plus one segment.",
    )
    # A node stops its recorders this long before a lease it could not renew runs out, and
    # refuses leases while its clock is off the database's by more.
    margin_seconds: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Stop this long before a lease runs out; the allowed clock difference "
        "(default: 5, or a third of lease_seconds when that is less).",
    )

    @field_validator("node")
    @classmethod
    def _node(cls, value: str | None) -> str | None:
        if value and not NAME.match(value):
            raise problem(
                f"node name {value!r}: use letters, digits, '.', '_' or '-' (at most 100)",
                f"nazwa węzła „{value}”: dozwolone są litery, cyfry, „.”, „_” i „-” "
                "(najwyżej 100 znaków)",
            )
        return value or None

    @property
    def margin(self) -> float:
        if self.margin_seconds is not None:
            return self.margin_seconds
        return min(DEFAULT_MARGIN_S, self.lease_seconds / 3)

    @model_validator(mode="after")
    def _margin_fits(self) -> Cluster:
        margin, lease = self.margin, self.lease_seconds
        if margin >= lease * 2 / 3:
            raise problem(
                f"cluster.margin_seconds ({margin:g}) must be shorter than two thirds of "
                f"cluster.lease_seconds ({lease:g}): a lease is renewed at a third",
                f"cluster.margin_seconds ({margin:g}) musi być krótszy niż dwie trzecie "
                f"cluster.lease_seconds ({lease:g}): dzierżawa jest odnawiana co jedną trzecią",
            )
        return self
