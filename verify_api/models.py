"""Pydantic models at the HTTP edge only; the domain validates again and owns the rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from domain.errors import InvalidInput
from domain.facts import CERTIFICATE_KINDS, EDUCATION_LEVELS, PROJECT_KINDS
from domain.values import require_canonical
from registry.application.service import CommandResult


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _refuse_non_canonical(value: Any, name: str) -> Any:
    """Refuse at the edge what the log could not canonicalise (NaN, ±Infinity, lone
    surrogates), unknown keys included; the application refuses it again before anything
    is stored."""
    try:
        return require_canonical(value, name)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


# ------------------------------------------------------------------ application facts
#
# These models document the facts of domain/facts.py in OpenAPI. They check JSON types
# only: which fields are required, allowed values, dates and ranges stay the domain's to
# check (ApplicationFacts.from_dict), so a bad fact keeps the domain's `input.invalid`
# code and message. The schema still shows those rules (`required`, `enum`, date
# format). Unknown keys are allowed, as the domain ignores them; the route hands the
# domain `model_dump(exclude_unset=True)`: the keys and values that were sent, no
# defaults invented.

IsoDate = Annotated[
    StrictStr, WithJsonSchema({"type": "string", "format": "date", "examples": ["2015-07-01"]})
]
Number = Annotated[StrictInt | StrictFloat, WithJsonSchema({"type": "number", "minimum": 0})]


def _document_rules(schema: dict[str, Any], model: type[Any]) -> None:
    """Mark as required in the schema what the domain requires (enforced there)."""
    required: tuple[str, ...] = getattr(model, "REQUIRED", ())
    if required:
        schema["required"] = list(required)
        properties = schema.get("properties")
        assert isinstance(properties, dict)
        for name in required:
            field_schema = properties[name]
            assert isinstance(field_schema, dict)
            field_schema.pop("default", None)


class _Fact(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False, json_schema_extra=_document_rules)
    REQUIRED: ClassVar[tuple[str, ...]] = ()


def _enum(values: Iterable[str]) -> dict[str, Any]:
    return {"enum": sorted(values)}


def _domain_checks(**schema: Any) -> Any:
    """A field the domain checks (and requires, where the model says so): only its JSON
    type is checked here, and when omitted it stays omitted (see `exclude_unset`)."""
    return Field(default=None, json_schema_extra=schema or None)


class EducationIn(_Fact):
    REQUIRED = ("level", "institution", "major", "graduated")
    level: StrictStr = _domain_checks(enum=list(EDUCATION_LEVELS))
    institution: StrictStr = _domain_checks(examples=["华南理工大学"])
    major: StrictStr = _domain_checks(examples=["软件工程"])
    graduated: IsoDate = _domain_checks()


class CertificateIn(_Fact):
    REQUIRED = ("kind", "name", "issued")
    kind: StrictStr = _domain_checks(enum=sorted(CERTIFICATE_KINDS))
    name: StrictStr = _domain_checks(examples=["系统集成项目管理工程师"])
    issued: IsoDate = _domain_checks()


class ProjectIn(_Fact):
    """A project experience; internship and graduation projects count for new graduates."""

    REQUIRED = ("name", "start", "role", "outcome")
    name: StrictStr = _domain_checks(examples=["某市政务云平台实施"])
    start: IsoDate = _domain_checks()
    end: IsoDate | None = Field(default=None, description="None while the project runs.")
    role: StrictStr = _domain_checks(examples=["实施工程师"])
    outcome: StrictStr = _domain_checks(examples=["上线并培训 300 名用户"])
    kind: StrictStr = Field(default="work", json_schema_extra=_enum(PROJECT_KINDS))
    implementation_phase: StrictBool = True


class EmployerIn(_Fact):
    REQUIRED = ("id", "name", "job_description")
    id: StrictStr = _domain_checks(examples=["EMP-SZ-001"])
    name: StrictStr = _domain_checks(examples=["深圳某软件有限公司"])
    job_description: StrictStr = _domain_checks(examples=["ERP/MES 系统实施与培训"])


class AchievementIn(_Fact):
    REQUIRED = ("title", "year")
    title: StrictStr = _domain_checks()
    year: StrictInt = _domain_checks(minimum=1950, maximum=2200)


class ApplicationFactsIn(_Fact):
    """What an applicant declares (domain/facts.py ApplicationFacts); personal data is
    sent apart, in `personal`."""

    education: list[EducationIn] = []
    certificates: list[CertificateIn] = []
    projects: list[ProjectIn] = []
    employer: EmployerIn | None = None
    work_years: Number = 0
    independent_work_years: Number = 0
    achievements: list[AchievementIn] = []
    skills: StrictStr = ""
    ce_hours_last_year: Number = 0
    ethics_clean: StrictBool = True
    region: StrictStr = Field(
        default="44", description="Two-digit administrative division code (44: Guangdong)."
    )

    @model_validator(mode="before")
    @classmethod
    def _canonical(cls, data: Any) -> Any:
        return _refuse_non_canonical(data, "facts")

    def as_facts(self) -> dict[str, Any]:
        """The facts as sent, for the domain to validate."""
        return self.model_dump(exclude_unset=True)


def _document_changes(schema: dict[str, Any], model: type[Any]) -> None:
    """An omitted key is left unchanged (no default); an unknown one is refused."""
    schema["additionalProperties"] = False
    properties = schema.get("properties")
    assert isinstance(properties, dict)
    for field_schema in properties.values():
        assert isinstance(field_schema, dict)
        field_schema.pop("default", None)


class FactChangesIn(_Fact):
    """The amendable facts (domain/reasons.py AMENDABLE); each sent key replaces that
    fact whole, an omitted one is left as it is. Any other key is refused by the domain
    (`input.invalid`, "cannot amend …")."""

    model_config = ConfigDict(json_schema_extra=_document_changes)
    employer: EmployerIn | None = Field(
        default=None, description="A new employer: an approved engineer's move is a request."
    )
    projects: list[ProjectIn] = _domain_checks()
    education: list[EducationIn] = _domain_checks()
    certificates: list[CertificateIn] = _domain_checks()
    achievements: list[AchievementIn] = _domain_checks()
    skills: StrictStr = _domain_checks()
    personal_data: Any = Field(
        default=None,
        description="Marks personal data as amended; the data itself goes in `personal`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _canonical(cls, data: Any) -> Any:
        return _refuse_non_canonical(data, "changes")

    def as_changes(self) -> dict[str, Any]:
        """The changes as sent, for the domain to check and apply."""
        return self.model_dump(exclude_unset=True)


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
    facts: ApplicationFactsIn = Field(
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
    facts: ApplicationFactsIn | None = None


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
    changes: FactChangesIn = Field(default_factory=FactChangesIn)
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
