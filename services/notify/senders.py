"""Sending a notice: a signed webhook POST, or an e-mail over SMTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import httpx

from services.notify.addresses import vet_webhook_url
from services.notify.messages import Milestone, html_body, plain_text, subject, webhook_body
from services.notify.settings import NotifySettings
from services.notify.signing import signed_headers


class SendFailed(Exception):
    """A delivery attempt failed; the message is kept in the delivery log."""


class Senders:
    """The webhook client and the SMTP settings of one process."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(
            timeout=settings.notify_webhook_timeout_seconds, follow_redirects=False
        )
        self._deadline = settings.notify_webhook_timeout_seconds
        self._answer_limit = settings.notify_webhook_max_answer_bytes

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def webhook(
        self,
        url: str,
        secret: str,
        notification_id: str,
        subscription_id: str,
        milestones: Sequence[Milestone],
    ) -> str:
        """POST the notice, signed, to the address vetted for this attempt, within one deadline
        and reading a bounded answer; returns a line for the log, raises ``SendFailed``."""
        try:
            # Resolved and vetted at each attempt: a name may point elsewhere since subscribing.
            destination = await vet_webhook_url(url, self._settings.notify_allowed_hosts)
        except ValueError as exc:
            raise SendFailed(str(exc)) from exc
        body = webhook_body(notification_id, subscription_id, milestones)
        headers = {
            **signed_headers(secret, int(time.time()), body, notification_id),
            "Host": destination.host_header,
        }
        extensions = {"sni_hostname": destination.server_name} if destination.server_name else {}
        try:
            async with asyncio.timeout(self._deadline):
                async with self._http.stream(
                    "POST", destination.url, content=body, headers=headers, extensions=extensions
                ) as answer:
                    start = await self._start_of(answer)
        except TimeoutError as exc:
            raise SendFailed(f"no complete answer within {self._deadline:g} s") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:1000]) from exc
        if not answer.is_success:
            raise SendFailed(f"HTTP {answer.status_code}: {start[:200]}")
        return f"HTTP {answer.status_code}"

    async def _start_of(self, answer: httpx.Response) -> str:
        """Up to the answer limit of the body, as text; the rest is never read."""
        kept = bytearray()
        async for chunk in answer.aiter_raw():
            kept += chunk[: self._answer_limit - len(kept)]
            if len(kept) >= self._answer_limit:
                break
        return kept.decode("utf-8", errors="replace")

    async def email(
        self, recipients: Sequence[str], notification_id: str, milestones: Sequence[Milestone]
    ) -> str:
        """Send the notice as plain text and HTML; returns a line for the log."""
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.notify_email_from
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject(milestones)
        message["Message-ID"] = make_msgid(idstring=notification_id, domain="sangkien.invalid")
        message["X-Sangkien-Notification"] = notification_id
        message.set_content(plain_text(milestones))
        message.add_alternative(html_body(milestones), subtype="html")
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.notify_smtp_host,
                port=settings.notify_smtp_port,
                username=settings.notify_smtp_username or None,
                password=settings.notify_smtp_password or None,
                start_tls=settings.notify_smtp_starttls,
                timeout=settings.notify_webhook_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:1000]) from exc
        return f"accepted by {settings.notify_smtp_host} for {len(recipients)} recipient(s)"
