"""The submission family: the intake command and the events about one submission."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.envelope import Message

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


class Recognition(BaseModel):
    """The claimed recognition; a decision needs its number and date."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: RecognitionKind
    decision_number: str | None = Field(None, max_length=100)
    decision_date: date | None = None


class Author(BaseModel):
    """The member who files the initiative. Contact details never leave the submission service."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(max_length=200)
    member_id: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)


class SubmissionDraft(BaseModel):
    """What a portal sends for one initiative, over HTTP or inside ``submission.submit.v1``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    union_code: UnionCode = Field(max_length=100, description="The member's direct union.")
    submitted_at: AwareDatetime = Field(description="When the member submitted, with offset.")
    title: str
    field: InitiativeField = Field(description="Domain of the initiative (lĩnh vực).")
    situation: str = Field(description="Current situation (hiện trạng).")
    solution: str = Field(description="The solution proposed (giải pháp).")
    effect: str = Field(description="Effect obtained (hiệu quả).")
    benefit_vnd: int = Field(strict=True, description="Estimated benefit over one year, whole VND.")
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
        description="Ancestors from the national node to the union."
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
