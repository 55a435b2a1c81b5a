"""Which webhook URLs may be called, and at which address: never the service's own network,
unless allow-listed.

A webhook host is resolved once per attempt, without blocking, and every address it resolves to
must be globally reachable (not private, loopback, link-local, shared 100.64.0.0/10,
documentation, reserved, unspecified or multicast; an IPv4 address inside IPv6 is judged as
IPv4). The attempt then connects to the vetted address itself, with the URL's host kept as the
``Host`` header and the TLS server name: a name that resolves elsewhere a moment later (DNS
rebinding) cannot redirect it. Hosts and networks named in the allow-list are admitted anyway.
A refusal names the host, never the internal address it resolved to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedUrl(ValueError):
    """A webhook URL that may not be called; the message says why."""


@dataclass(frozen=True)
class Destination:
    """A vetted webhook: the URL to connect to (the address in place of the host) and what the
    request must still say it is for."""

    url: httpx.URL
    host_header: str
    server_name: str | None  # the TLS name to send and verify, for https


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _allowed_networks(allowed: Iterable[str]) -> list[IpNetwork]:
    networks: list[IpNetwork] = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


async def _addresses(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        raise RefusedUrl(f"the webhook host {host!r} does not resolve") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


async def vet_webhook_url(url: str, allowed: Iterable[str] = ()) -> Destination:
    """Where to send a notice for ``url``; ``RefusedUrl`` unless it is an http(s) URL whose host
    resolves only to public addresses (or is allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RefusedUrl("the webhook URL must be http:// or https:// with a host")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allowed = list(allowed)
    addresses = await _addresses(host, port)
    if host not in allowed:
        networks = _allowed_networks(allowed)
        for address in addresses:
            if not _public(address) and not any(address in network for network in networks):
                raise RefusedUrl(
                    f"the webhook host {host!r} is or resolves to an address that is not "
                    "public; only public addresses are called unless the allow-list admits it"
                )
    original = httpx.URL(url)
    return Destination(
        url=original.copy_with(host=str(addresses[0])),
        host_header=parts.netloc.rsplit("@", 1)[-1],
        server_name=host if parts.scheme == "https" else None,
    )
