"""Contracts: generated files in step with the models, compatibility, upcasting, bad input."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from shared.contracts.docs import OUT, render
from shared.contracts.envelope import Message, derived_message_id
from shared.contracts.registry import CATALOG, ContractError, Registry
from shared.contracts.submission import ReceivedV1, SubmitV1
from shared.messaging.topology import ALL_QUEUES
from tests.support.drafts import draft


def submit_body(**extra: Any) -> dict[str, Any]:
    return {
        "message_id": "cmd-1",
        "correlation_id": "corr-1",
        "occurred_at": "2022-03-15T02:30:00Z",
        "submission": draft(),
        **extra,
    }


def test_committed_schemas_match_the_models() -> None:
    files = render()
    for name, text in files.items():
        assert (OUT / name).read_text(encoding="utf-8") == text, f"{name} drifted"
    assert {p.name for p in OUT.glob("*.json")} == set(files)


def test_every_event_has_a_bound_queue() -> None:
    # An outcome is bound whatever portal it names: ``<event>.#`` takes the bare key too.
    bound = {key.removesuffix(".#") for queue in ALL_QUEUES for key in queue.routing_keys}
    assert {m.routing_key() for m in CATALOG.models} <= bound


def test_v1_consumer_ignores_an_added_optional_field() -> None:
    body = submit_body(priority="high")
    body["submission"]["attachments"] = ["a.pdf"]
    command = CATALOG.parse("submission.submit.v1", json.dumps(body).encode(), SubmitV1)
    assert command.message_id == "cmd-1"
    assert command.submission.benefit_vnd == 120_000_000


class SubmitV2(Message):
    """A future major version: the benefit is split into amount and currency."""

    NAME: ClassVar[str] = "submission.submit"
    MAJOR: ClassVar[int] = 2

    benefit: dict[str, Any]
    submission: dict[str, Any]


def test_upcaster_turns_v1_into_v2() -> None:
    registry = Registry(CATALOG.models)
    registry.register(SubmitV2)

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        amount = data["submission"].pop("benefit_vnd")
        return {**data, "benefit": {"amount": amount, "currency": "VND"}}

    registry.register_upcaster("submission.submit", 1, v1_to_v2)
    upcast = registry.parse("submission.submit.v1", json.dumps(submit_body()).encode(), SubmitV2)
    assert upcast.benefit == {"amount": 120_000_000, "currency": "VND"}
    assert "benefit_vnd" not in upcast.submission


@pytest.mark.parametrize(
    ("routing_key", "body", "code"),
    [
        ("submission.submit.v1", b"{not json", "malformed_json"),
        ("submission.submit.v1", b"[1, 2]", "malformed_json"),
        ("submission.submit.v7", json.dumps(submit_body()).encode(), "unknown_version"),
        ("submission.submitted", b"{}", "unknown_schema"),
        ("submission.submit.v1", json.dumps(submit_body(message_id="")).encode(), "invalid_field"),
    ],
)
def test_bad_messages_are_contract_errors(routing_key: str, body: bytes, code: str) -> None:
    with pytest.raises(ContractError) as caught:
        CATALOG.parse(routing_key, body, SubmitV1)
    assert caught.value.code == code


def test_invalid_fields_are_named() -> None:
    body = submit_body()
    body["submission"]["benefit_vnd"] = "lots"
    with pytest.raises(ContractError) as caught:
        CATALOG.parse("submission.submit.v1", json.dumps(body).encode(), SubmitV1)
    assert [e.field for e in caught.value.errors] == ["submission.benefit_vnd"]


def test_derived_message_ids_are_stable_and_distinct() -> None:
    first = derived_message_id("s-1", ReceivedV1.routing_key())
    assert first == derived_message_id("s-1", ReceivedV1.routing_key())
    assert first != derived_message_id("s-2", ReceivedV1.routing_key())
