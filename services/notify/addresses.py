"""Which webhook URLs may be called: never the service's own network, unless allow-listed.

A webhook URL is refused when its host is, or resolves to, a private, loopback, link-local,
multicast, reserved or unspecified address (someone could otherwise make this service probe or
call internal systems). Hosts and networks named in the allow-list are admitted anyway.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedUrl(ValueError):
    """A webhook URL that may not be called; the message says why."""


def _internal(address: IpAddress) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_webhook_url(url: str, allowed: Iterable[str] = ()) -> None:
    """Raise ``RefusedUrl`` unless ``url`` is an http(s) URL of a public host (or allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RefusedUrl("the webhook URL must be http:// or https:// with a host")
    host = parts.hostname
    allowed = list(allowed)
    if host in allowed:
        return
    networks: list[IpNetwork] = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise RefusedUrl(f"the webhook host {host!r} does not resolve") from exc
        addresses = {ipaddress.ip_address(info[4][0]) for info in found}
    for address in addresses:
        if _internal(address) and not any(address in network for network in networks):
            raise RefusedUrl(
                f"the webhook host {host!r} is an internal address ({address}); "
                "only public addresses are called unless the allow-list admits it"
            )
