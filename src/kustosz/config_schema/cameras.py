"""[cameras]: where cameras may be found and how closely their own clocks are watched
(issue 34, ONVIF)."""

from __future__ import annotations

from ipaddress import ip_network

from pydantic import Field, field_validator

from kustosz.config_schema.base import Table, problem

# The private ranges (RFC 1918) and IPv6 unique-local: a discovery answer naming an address
# outside the office's networks is never offered — asking it would send the camera's
# password out of the office. Not this machine (loopback) nor link-local (169.254/16 holds
# cloud metadata services): the add page would otherwise probe the server's own services,
# as webhooks refuse to (issue 48). An office whose cameras sit there names the range.
CAMERA_NETWORKS_DEFAULT = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
CLOCK_LIMIT_S = 2.0
CLOCK_CHECK_MINUTES = 15.0


class Cameras(Table):
    networks: list[str] = Field(
        default_factory=lambda: list(CAMERA_NETWORKS_DEFAULT),
        description="The office's networks: cameras found elsewhere are not offered.",
    )
    clock_limit_seconds: float = Field(
        CLOCK_LIMIT_S, gt=0, le=3600,
        description="Alert when a camera's own clock (ONVIF) is off by more than this.",
    )
    clock_check_minutes: float = Field(
        CLOCK_CHECK_MINUTES, ge=1, le=1440,
        description="How often serve reads the clock of each camera added over ONVIF.",
    )

    @field_validator("networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        if not value:
            raise problem("name at least one network", "podaj co najmniej jedną sieć")
        for v in value:
            try:
                ip_network(v.strip(), strict=False)
            except ValueError:
                raise problem(f"{v!r} is not a network (e.g. 192.168.10.0/24)",
                              f"„{v}” nie jest siecią (np. 192.168.10.0/24)") from None
        return value
