"""The submission family: the intake command and the events about one submission."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from shared.contracts.envelope import Message
from shared.text import INVISIBLE, NO_CONTROL_PATTERN, at_least_visible

UnionCode = str


class RecognitionKind(StrEnum):
    """Form of recognition the initiative claims (hình thức công nhận)."""

    RECOGNITION_DECISION = "recognition_decision"  # quyết định công nhận sáng kiến
    COMMENDATION_DECISION = "commendation_decision"  # quyết định khen thưởng
    OTHER_DIRECT = "other_direct"  # hình thức trực tiếp khác
    NONE = "none"  # chưa được công nhận


class InitiativeField(StrEnum):
    """Domain of an initiative (lĩnh vực)."""

    PRODUCTION = "production"  # sản xuất, kinh doanh
    ENERGY_SAVING = "energy_saving"  # tiết kiệm năng lượng, vật tư
    EDUCATION = "education"  # giáo dục, đào tạo
    HEALTH = "health"  # y tế, chăm sóc sức khỏe
    ADMINISTRATIVE_REFORM = "administrative_reform"  # cải cách hành chính
    DIGITAL_TRANSFORMATION = "digital_transformation"  # chuyển đổi số
    SAFETY = "safety"  # an toàn, vệ sinh lao động
    AGRICULTURE = "agriculture"  # nông nghiệp
    SERVICES = "services"  # dịch vụ
    COVID_RESPONSE = "covid_response"  # phòng, chống dịch Covid-19
    OTHER = "other"


# What the submission service enforces of a draft besides its types, stated in its JSON Schema
# (``pattern``, ``maxLength``, ``maximum``, ``if``/``then``) so that a portal's generated client
# knows it. The service checks them itself (``services/submission/validation.py``), answering
# every broken one with its own reason code. What no schema can say is in the descriptions: the
# union must exist and take submissions, the local date must fall in a phase and not in the
# future, a decision must not postdate the submission.
TEXT_LIMITS = {  # (visible characters at least, characters as sent at most)
    "title": (5, 300),
    "situation": (10, 10_000),
    "solution": (10, 10_000),
    "effect": (10, 10_000),
}
MAX_BENEFIT_VND = 10**13
DECISION_KINDS = (RecognitionKind.RECOGNITION_DECISION, RecognitionKind.COMMENDATION_DECISION)
_ADDRESS_PART = f"[^@{INVISIBLE}]+"
EMAIL_PATTERN = f"^(?:{_ADDRESS_PART}@{_ADDRESS_PART}\\.{_ADDRESS_PART})?$"
PHONE_PATTERN = r"^(?:\+?[0-9 .-]{8,15})?$"
LENGTH_NOTE = (
    " At least {least} visible characters (white space, control and format characters are not "
    "counted), at most {most} characters as sent; stored with spaces folded."
)


def _text(description: str, name: str) -> Any:
    least, most = TEXT_LIMITS[name]
    return Field(
        description=description + LENGTH_NOTE.format(least=least, most=most),
        json_schema_extra={"pattern": at_least_visible(least), "maxLength": most},
    )


def _whole_number(value: object) -> object:
    """JSON Schema's ``integer`` takes 292.0 as 292: so does the contract (a string does not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Recognition(BaseModel):
    """The claimed recognition; a decision needs its number and date."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "if": {
                "properties": {"kind": {"enum": [kind.value for kind in DECISION_KINDS]}},
                "required": ["kind"],
            },
            "then": {
                "required": ["decision_number", "decision_date"],
                "properties": {
                    "decision_number": {"type": "string", "pattern": at_least_visible(1)},
                    "decision_date": {"type": "string", "format": "date"},
                },
            },
        },
    )

    kind: RecognitionKind
    decision_number: str | None = Field(
        None,
        max_length=100,
        description="Required for a decision. No control characters.",
        json_schema_extra={"pattern": NO_CONTROL_PATTERN},
    )
    decision_date: date | None = Field(
        None, description="Required for a decision; not after the submission's local date."
    )


class Author(BaseModel):
    """The member who files the initiative. Contact details never leave the submission service."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(
        max_length=200,
        description="At least one visible character.",
        json_schema_extra={"pattern": at_least_visible(1)},
    )
    member_id: str | None = Field(
        None,
        max_length=50,
        description="No control characters.",
        json_schema_extra={"pattern": NO_CONTROL_PATTERN},
    )
    phone: str | None = Field(
        None,
        max_length=30,
        description="8 to 15 digits, spaces, dots or dashes, an optional leading +; '' for none.",
        json_schema_extra={"pattern": PHONE_PATTERN},
    )
    email: str | None = Field(
        None,
        max_length=200,
        description="An address without white space; '' for none.",
        json_schema_extra={"pattern": EMAIL_PATTERN},
    )


class SubmissionDraft(BaseModel):
    """What a portal sends for one initiative, over HTTP or inside ``submission.submit.v1``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    union_code: UnionCode = Field(
        max_length=100,
        description="The member's direct union: a code of the reference tree whose union takes "
        "submissions (grassroots, district or sector).",
    )
    submitted_at: AwareDatetime = Field(
        description="When the member submitted, with offset: its local date (Asia/Ho_Chi_Minh) "
        "must fall in a phase of the program, and it may not lie in the future."
    )
    title: str = _text("The initiative's name.", "title")
    field: InitiativeField = Field(description="Domain of the initiative (lĩnh vực).")
    situation: str = _text("Current situation (hiện trạng).", "situation")
    solution: str = _text("The solution proposed (giải pháp).", "solution")
    effect: str = _text("Effect obtained (hiệu quả).", "effect")
    benefit_vnd: Annotated[int, BeforeValidator(_whole_number)] = Field(
        strict=True,
        description="Estimated benefit over one year, whole VND.",
        json_schema_extra={"minimum": 0, "maximum": MAX_BENEFIT_VND},
    )
    recognition: Recognition
    author: Author


class SubmitV1(Message):
    """Command: a portal files one initiative; ``message_id`` is its idempotency key."""

    NAME = "submission.submit"

    submission: SubmissionDraft


class FieldError(BaseModel):
    """One reason a submission was refused, naming the field."""

    model_config = ConfigDict(frozen=True)

    field: str
    code: str
    message: str


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as field-level reasons, with dotted field paths."""
    return [
        FieldError(
            field=prefix + ".".join(str(part) for part in error["loc"]),
            code=error["type"],
            message=error["msg"],
        )
        for error in exc.errors()
    ]


class CountingFacts(BaseModel):
    """What counting and roll-up need about a submission, carried so nobody calls back upstream."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    submission_id: str
    union_code: UnionCode
    union_path: list[UnionCode] = Field(
        description="Ancestors from the national node to the union, as filed on local_date. "
        "Counting services place submissions from their own reference history."
    )
    program: str
    phase: str
    submitted_at: AwareDatetime
    local_date: date = Field(description="Local date of submitted_at in Asia/Ho_Chi_Minh.")
    benefit_vnd: int
    author_key: str = Field(description="Keyed hash of the author; no personal data.")

    def counting_facts(self) -> dict[str, object]:
        """These facts alone, to carry them into the next event about the submission."""
        return {name: getattr(self, name) for name in CountingFacts.model_fields}


PORTAL_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class PortalOutcome(Message):
    """An answer to the portal that filed a submission: published with its routing key plus
    ``.<portal>``, so that each portal binds (and may read) only its own outcomes."""

    portal: str | None = Field(
        None,
        pattern=PORTAL_PATTERN,
        description=(
            "Broker user of the portal that filed it, whose outcomes queue receives this "
            "(routing key + '.' + portal); null for a client without one."
        ),
    )

    def address(self) -> str:
        """``<routing key>.<portal>``, or the routing key alone for no portal."""
        return f"{self.routing_key()}.{self.portal}" if self.portal else self.routing_key()


class ReceivedV1(PortalOutcome, CountingFacts):
    """A submission was accepted and stored."""

    NAME = "submission.received"
    MINOR = 1

    command_id: str | None = Field(None, description="message_id of the AMQP command, if any.")
    title: str
    field: InitiativeField
    situation: str
    solution: str
    effect: str
    recognition_kind: RecognitionKind


class RejectedV1(PortalOutcome):
    """A command could not be filed: the reasons name the fields, or say ``unknown_portal``,
    ``outside_scope`` or ``conflict`` (its message id was used before with another body)."""

    NAME = "submission.rejected"
    MINOR = 1

    command_id: str
    reasons: list[FieldError]


class Verdict(StrEnum):
    """Outcome of duplicate screening."""

    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    UNIQUE = "unique"


class Candidate(BaseModel):
    """An earlier submission that resembles this one."""

    model_config = ConfigDict(frozen=True)

    submission_id: str
    score: float = Field(ge=0, le=1)


class ScreenedV1(Message, CountingFacts):
    """Dedup's verdict on a submission."""

    NAME = "submission.screened"

    verdict: Verdict
    score: float = Field(ge=0, le=1)
    best_match_id: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    same_union: bool = False
    same_author: bool = False
    method_version: str


class ReviewDecision(StrEnum):
    """A reviewer's decision on a submission."""

    VALID = "valid"
    INVALID = "invalid"
    CONFIRMED_DUPLICATE = "confirmed_duplicate"
    NOT_DUPLICATE = "not_duplicate"
    WITHDRAWN = "withdrawn"


class ReviewedV1(Message, CountingFacts):
    """A reviewer decided on a submission; ``sequence`` orders the decisions on one submission."""

    NAME = "submission.reviewed"

    review_id: str
    sequence: int = Field(ge=1)
    decision: ReviewDecision
    duplicate_of: str | None = None
    reason: str | None = None
    reviewer_union: UnionCode
    decided_at: AwareDatetime
