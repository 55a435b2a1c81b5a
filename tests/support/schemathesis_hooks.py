"""What the published schemas cannot say, given to the schemathesis run as a portal's data.

A schema states types, lengths, patterns and ranges; it cannot state which union codes exist
and take submissions, which dates fall in a phase of the program, nor which webhook hosts
resolve (to an address notify may call: here the allowed loopback). A body schemathesis drew
as valid (positive) gets a real union and a date of the campaign before it is sent, and stays
valid by the schema; so "a schema-valid request was refused" then means the published schema
is wrong. Bodies drawn to break the schema (negative) are sent as drawn.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from tests.support.drafts import HANOI_GRASSROOTS

SUBMITTED_AT = "2022-03-15T09:30:00+07:00"
WEBHOOK_URL = "http://127.0.0.1:9/"  # nothing listens: the run never reaches a notice
DECIDED_ON = date(2022, 3, 1)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Real reference data in a schema-valid body of a filing or a subscription."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return
    body = case.body
    if case.method.upper() != "POST" or not isinstance(body, dict):
        return
    if case.path == "/v1/submissions":
        _realistic(body)
    elif case.path == "/v1/submissions/batch" and isinstance(body.get("items"), list):
        for item in body["items"]:
            if isinstance(item, dict) and isinstance(item.get("submission"), dict):
                _realistic(item["submission"])
    elif case.path == "/v1/subscriptions":
        if isinstance(body.get("union_code"), str):
            body["union_code"] = HANOI_GRASSROOTS
        webhook = body.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            webhook["url"] = WEBHOOK_URL


def _realistic(draft: dict[str, Any]) -> None:
    if isinstance(draft.get("union_code"), str):
        draft["union_code"] = HANOI_GRASSROOTS
    if isinstance(draft.get("submitted_at"), str) and _aware(draft["submitted_at"]):
        draft["submitted_at"] = SUBMITTED_AT
    recognition = draft.get("recognition")
    if isinstance(recognition, dict) and isinstance(recognition.get("decision_date"), str):
        try:
            decided = date.fromisoformat(recognition["decision_date"])
        except ValueError:
            return
        if decided > DECIDED_ON:
            recognition["decision_date"] = DECIDED_ON.isoformat()


def _aware(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False
