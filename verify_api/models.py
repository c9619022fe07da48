"""Pydantic models at the HTTP edge only; the domain validates again and owns the rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.errors import InvalidInput
from domain.values import require_canonical
from registry.application.service import CommandResult


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _canonical_object(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse at the edge what the log could not canonicalise (NaN, ±Infinity, lone
    surrogates); the application refuses it again before anything is stored."""
    try:
        require_canonical(value, "object")
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_canonical_object)]


# ------------------------------------------------------------------ registry commands


class PersonalIn(_Strict):
    """Personal data; encrypted under the engineer's own key before it reaches the log."""

    name: str = Field(min_length=1, max_length=100, examples=["张小三"])
    id_number: str = Field(min_length=18, max_length=18, examples=["44030519900101001X"])
    phone: str = Field(default="", max_length=20, examples=["13800138000"])
    email: str = Field(default="", max_length=200, examples=["eng@example.cn"])
    address: str = Field(default="", max_length=300)


class ApplyIn(_Strict):
    scheme: str = Field(min_length=2, max_length=10, examples=["SIE"])
    personal: PersonalIn
    facts: JsonObject = Field(
        description="Education, certificates, projects, employer… (see the scheme rules)."
    )


class NoteIn(_Strict):
    note: str = Field(default="", max_length=2000)


class ReasonIn(_Strict):
    reason: str = Field(min_length=1, max_length=2000, examples=["材料不全"])


class OptionalReasonIn(_Strict):
    reason: str = Field(default="", max_length=2000)


class ScoreIn(_Strict):
    score: int = Field(ge=0, le=100, examples=[78])
    method: Literal["defence", "material_review", "practical_test", "combined"] = "combined"


class ReturnIn(_Strict):
    reason_codes: list[str] = Field(
        min_length=1, max_length=10, examples=[["project.no_implementation"]]
    )
    note: str = Field(default="", max_length=2000)


class SupplementIn(_Strict):
    facts: JsonObject | None = None


class CeIn(_Strict):
    hours: float = Field(gt=0, le=500, examples=[24])
    provider: str = Field(min_length=1, max_length=200, examples=["省继续教育平台"])
    course: str = Field(default="", max_length=200)


class AssessmentIn(_Strict):
    year: int = Field(ge=2000, le=2200, examples=[2025])
    passed: bool
    note: str = Field(default="", max_length=2000)


class CodedReasonIn(_Strict):
    reason_code: str = Field(min_length=1, max_length=60, examples=["investigation"])
    reason: str = Field(default="", max_length=2000)


class EmployerChangeIn(_Strict):
    employer_id: str = Field(min_length=1, max_length=100, examples=["EMP-NEWCO"])
    employer_name: str = Field(min_length=1, max_length=200, examples=["新公司"])
    job_description: str = Field(min_length=1, max_length=2000, examples=["ERP 实施"])
    note: str = Field(default="", max_length=2000)


class AmendIn(_Strict):
    changes: JsonObject = Field(default_factory=dict)
    personal: PersonalIn | None = None


class CommandOut(BaseModel):
    registration_id: str
    version: int = Field(description="The registration's version; send it back as If-Match.")
    events: list[str]
    number: str | None = None
    replayed: bool = Field(description="True when an earlier call with this Idempotency-Key ran.")

    @classmethod
    def of(cls, result: CommandResult) -> CommandOut:
        return cls(
            registration_id=str(result.registration_id),
            version=result.version,
            events=list(result.events),
            number=result.number,
            replayed=result.replayed,
        )


class EvidenceOut(CommandOut):
    sha256: str
    media_type: str
    size: int


class CertificateOut(CommandOut):
    serial: str
    kid: str
    expires_at: datetime
    credential: str = Field(description="The signed credential (Base45, with its prefix).")
    url: str = Field(description="The verification URL the QR code carries.")


class RegistrationOut(BaseModel):
    registration_id: str
    version: int
    scheme: str
    number: str | None
    status: str
    status_now: str
    valid_until: date | None
    owner_id: str
    employer_id: str | None
    masked_name: str | None
    dishonest: bool
    expert_score: int | None
    return_reasons: list[str]
    evidence: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    facts: dict[str, Any]
    personal: dict[str, str] | None = Field(
        default=None, description="Decrypted personal data: the owner and registrars only."
    )


class EventOut(BaseModel):
    version: int
    type: str
    at: datetime
    actor_id: str
    actor_role: str
    data: dict[str, Any]


class MyRegistration(BaseModel):
    """One of the caller's own registrations, enough to find it and fetch its certificate."""

    registration_id: str
    number: str | None = Field(description="None until approved")
    scheme: str
    status: str = Field(description="public status today (expiry derived from the date)")
    status_reason: str
    valid_until: date | None
    certificate_serial: str | None = Field(description="the latest certificate, if issued")


class WhoAmI(BaseModel):
    name: str
    role: str
    actor_id: str
    registrations: list[MyRegistration] = Field(
        default_factory=list,
        description="an engineer's own registrations (the ones they applied for); "
        "empty for other roles",
    )
