"""A webhook receiver for milestone notices, with nothing but the standard library.

Run it with ``python examples/webhook_receiver.py SECRET [PORT]``. It checks each POST the way
every receiver should (``docs/notify.md``):

1. the signature: HMAC-SHA256, keyed with the subscription's secret, over the
   ``X-Sangkien-Timestamp`` value, a dot, and the raw body bytes, compared in constant time with
   ``X-Sangkien-Signature`` (``sha256=<hex>``);
2. the timestamp: at most five minutes old, so a captured request cannot be replayed later;
3. the ``Idempotency-Key``: a notice retried after a timeout or a crash comes again with the same
   key; handle it once and answer 2xx again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """Whether a request really comes from the notify service, and recently."""
    timestamp = headers.get("X-Sangkien-Timestamp", "")
    presented = headers.get("X-Sangkien-Signature", "")
    if not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(presented, "sha256=" + expected.hexdigest())


def main(secret: str, port: int) -> None:
    """Serve until interrupted, printing each verified notice once."""
    seen: set[str] = set()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not verify(secret, dict(self.headers.items()), body):
                self.send_response(401)
                self.end_headers()
                return
            key = self.headers.get("Idempotency-Key", "")
            if key not in seen:
                seen.add(key)
                for milestone in json.loads(body)["milestones"]:
                    print(milestone["text"], flush=True)
            self.send_response(204)
            self.end_headers()

    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8900)
