"""Who the client is: its IP address, believing `X-Forwarded-For` only from proxies we run."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_proxies() -> tuple[Network, ...]:
    """The networks of `TRUSTED_PROXIES` (IPs or CIDRs; empty: trust no forwarded header)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy; then `X-Forwarded-For` is read
    from the right, skipping trusted proxies, and the first other address is the client. Entries left of
    it are whatever the client chose to send, so they are never believed."""
    address = str(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxies()
    if not networks or not _is_trusted(address, networks):
        return address
    forwarded = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if _parse(hop) is None:
            break  # garbage where an address should be: stop at the last proxy that we trust
        address = hop
        if not _is_trusted(hop, networks):
            break
    return address
