"""Webhook destinations: only public addresses, resolved once and connected to as vetted, within
one deadline per attempt (SSRF, DNS rebinding, trickling receivers)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from pipeline.processes import free_port
from services.notify.addresses import RefusedUrl, vet_webhook_url
from services.notify.senders import Senders, SendFailed
from services.notify.settings import NotifySettings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://localhost/x",
        "http://[::1]/x",
        "ftp://example.vn/x",
        "http://100.64.0.7/x",  # shared address space (carrier-grade NAT)
        "http://[::ffff:127.0.0.1]/x",  # IPv4 loopback inside IPv6
        "http://192.0.2.10/x",  # documentation
        "http://[fc00::1]/x",  # unique local
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",  # multicast
    ],
)
async def test_addresses_that_are_not_public_are_refused_without_an_allow_list(url: str) -> None:
    with pytest.raises(RefusedUrl):
        await vet_webhook_url(url)


async def test_a_refusal_names_the_host_not_the_internal_address_it_resolves_to() -> None:
    with pytest.raises(RefusedUrl) as refused:
        await vet_webhook_url("http://localhost:8080/hook")
    assert "'localhost'" in str(refused.value) and "127.0.0.1" not in str(refused.value)


async def test_the_allow_list_admits_hosts_and_networks() -> None:
    await vet_webhook_url("http://127.0.0.1:9000/x", ["127.0.0.1"])
    await vet_webhook_url("http://10.20.30.40/x", ["10.0.0.0/8"])
    pinned = await vet_webhook_url("https://93.184.216.34/hook")  # public: no list needed
    assert (pinned.server_name, pinned.host_header) == ("93.184.216.34", "93.184.216.34")


class RawReceiver:
    """An HTTP receiver written on sockets, to answer as no well-behaved server would."""

    def __init__(self, trickle: bool) -> None:
        self.trickle = trickle
        self.requests: list[bytes] = []
        self.port = free_port()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        if not self.trickle:
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            for _ in range(100_000):  # one byte every tenth of a second: within any read timeout
                writer.write(b".")
                await writer.drain()
                await asyncio.sleep(0.1)
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> RawReceiver:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.close()


@pytest.fixture
async def resolved_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``hooks.example.vn`` resolves to 127.0.0.1 the first time, to 10.9.9.9 after: what a
    rebinding attacker's DNS does. Returns the names looked up."""
    looked_up: list[str] = []
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example.vn":
            return await real(host, port, *args, **kwargs)
        looked_up.append(host)
        address = "127.0.0.1" if len(looked_up) == 1 else "10.9.9.9"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return looked_up


async def test_the_attempt_connects_to_the_address_it_vetted_with_the_host_kept(
    resolved_once: list[str],
) -> None:
    settings = NotifySettings(notify_allowed_hosts=["127.0.0.0/8"])
    senders = Senders(settings)
    async with RawReceiver(trickle=False) as receiver:
        url = f"http://hooks.example.vn:{receiver.port}/hook"
        outcome = await senders.webhook(url, "secret-secret", "n1", "s1", [])
    await senders.close()
    assert outcome == "HTTP 204"
    assert resolved_once == ["hooks.example.vn"]  # once: no second lookup to rebind
    assert f"host: hooks.example.vn:{receiver.port}".encode() in receiver.requests[0].lower()


async def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline() -> None:
    settings = NotifySettings(
        notify_allowed_hosts=["127.0.0.1"], notify_webhook_timeout_seconds=1.0
    )
    senders = Senders(settings)
    async with RawReceiver(trickle=True) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with pytest.raises(SendFailed, match="no complete answer within 1 s"):
            await asyncio.wait_for(senders.webhook(url, "secret-secret", "n1", "s1", []), 30)
    await senders.close()
