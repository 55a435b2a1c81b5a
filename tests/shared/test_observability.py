"""Contact details are masked in log lines whatever the caller passes."""

from __future__ import annotations

from shared.observability import redact_contact_details, redact_text


def test_emails_and_phones_are_masked() -> None:
    text = "gọi 0912 345 678 hoặc +84912345678, thư nguyen.van.a@example.vn"
    assert redact_text(text) == "gọi [phone] hoặc [phone], thư [email]"


def test_ids_and_amounts_are_kept() -> None:
    line = {"event": "filed", "submission_id": "3f2a-11", "benefit": "120000000 VND"}
    assert redact_contact_details(None, "info", dict(line)) == line
