"""[web]: HTTPS, the reverse proxies believed, and who reads /metrics."""

from __future__ import annotations

from ipaddress import ip_network

from pydantic import Field, field_validator

from kustosz.config_schema.base import Table, problem

METRICS_FROM_DEFAULT = ("127.0.0.1/32", "::1/128")  # this machine only


def _one_or_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Web(Table):
    tls_cert: str | None = Field(
        None, description="The certificate (PEM); relative paths are the data folder's."
    )
    tls_key: str | None = Field(None, description="Its key (chmod 600).")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Reverse proxies whose X-Forwarded-For is believed."
    )
    metrics_from: list[str] = Field(
        default_factory=lambda: list(METRICS_FROM_DEFAULT),
        description="Addresses or networks that read /metrics without an API token.",
    )

    @field_validator("tls_cert", "tls_key", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        # only the empty text means "none": another falsy value ({}, [], 0) is a wrong type,
        # refused, not dropped (tests/test_config_schema.py's property test found `{}`)
        return None if value == "" else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_list(cls, value: object) -> object:
        return _one_or_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ip_network(proxy.strip(), strict=False)
            except ValueError:
                raise problem(
                    f"{proxy!r} is not an IP address or network",
                    f"„{proxy}” nie jest adresem IP ani siecią",
                ) from None
        return value

    @field_validator("metrics_from")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        for v in value:
            try:
                ip_network(v.strip(), strict=False)
            except ValueError:
                raise problem(
                    f"{v!r} is not an address or network", f"„{v}” nie jest adresem ani siecią"
                ) from None
        return value
