"""The authenticated registry API: every command for engineers, employers, reviewers and
registrars, one explicit route each.

Each route takes the caller's `Actor` from the permission check (`allow`), its
`Idempotency-Key` and `If-Match` as `CommandOptions`, builds one command and hands it to
`RegistryApp.handle`; it answers with the registration's new version (also as the ETag).
The domain re-checks ownership and roles; its refusals keep their stable codes.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from domain.actors import Actor
from domain.evidence import EVIDENCE_KINDS, MAX_EVIDENCE_BYTES, EvidenceRef
from domain.personal import PersonalData
from registry.application import (
    Amend,
    Apply,
    Approve,
    ApproveEmployerChange,
    AttachEvidence,
    CommandOptions,
    CommandResult,
    Decline,
    DeclineEmployerChange,
    Endorse,
    EndorseEmployerChange,
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    ProvideSupplement,
    RecordAnnualAssessment,
    RecordCe,
    RecordExpertScore,
    Reinstate,
    Reject,
    RequestEmployerChange,
    RequestFurtherVerification,
    ReturnForSupplement,
    Revoke,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
    erasure_result,
)
from verify_api.deps import IdempotencyKey, Options, ServicesDep, allow
from verify_api.errors import AUTH_RESPONSES, ApiError
from verify_api.evidence import EvidenceRejected
from verify_api.models import (
    AmendIn,
    ApplyIn,
    AssessmentIn,
    CeIn,
    CodedReasonIn,
    CommandOut,
    EmployerChangeIn,
    EvidenceOut,
    NoteIn,
    OptionalReasonIn,
    PersonalIn,
    ReasonIn,
    ReturnIn,
    ScoreIn,
    SupplementIn,
)
from verify_api.roles import ROLE_MATRIX
from verify_api.services import Services

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=AUTH_RESPONSES)

RegistrationId = Annotated[UUID, Path(description="The registration's id (a UUID).")]
_ONE = "/registrations/{registration_id}"


def _command_route(operation: str, summary: str) -> dict[str, Any]:
    """The decorator arguments every command route shares; its roles come from the table."""
    roles = ", ".join(sorted(r.value for r in ROLE_MATRIX[operation]))
    return {
        "response_model": CommandOut,
        "summary": summary,
        "description": f"Allowed roles: {roles}.",
        "operation_id": operation,
    }


def _done(services: Services, response: Response, result: CommandResult) -> CommandOut:
    services.refresh(force=True)
    response.headers["ETag"] = f'"{result.version}"'
    return CommandOut.of(result)


def _personal(data: PersonalIn) -> PersonalData:
    return PersonalData(
        name=data.name,
        id_number=data.id_number,
        phone=data.phone,
        email=data.email,
        address=data.address,
    )


# --------------------------------------------------------------------------- apply


@router.post(
    "/registrations",
    status_code=201,
    response_model=CommandOut,
    summary="Start an application (a draft)",
    description="Allowed roles: engineer, registrar. The caller becomes the owner.",
    operation_id="apply",
)
def apply(
    payload: ApplyIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("apply"))],
    idempotency_key: IdempotencyKey = None,
) -> CommandOut:
    command = Apply(payload.scheme, _personal(payload.personal), payload.facts.as_facts())
    result = services.registry.handle(command, actor, CommandOptions(idempotency_key))
    response.headers["Location"] = f"/api/v1/registrations/{result.registration_id}"
    return _done(services, response, result)


# ------------------------------------------------------------------------ evidence


@router.post(
    "/registrations/{registration_id}/evidence",
    status_code=201,
    response_model=EvidenceOut,
    summary="Upload one evidence file (PDF, JPEG or PNG; 5 MB at most)",
    description=(
        "Send the file itself as the request body with its Content-Type. The size limit is "
        "enforced while streaming and the type is checked from the file's magic bytes. "
        "Allowed roles: engineer (owner), registrar."
    ),
    operation_id="attach_evidence",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("application/pdf", "image/jpeg", "image/png")
            },
        }
    },
    responses={413: {"description": "File larger than 5 MB"}, 415: {"description": "Type"}},
)
async def attach_evidence(
    registration_id: RegistrationId,
    request: Request,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("attach_evidence"))],
    kind: Annotated[str, Query(description="Evidence kind.", examples=["degree"])],
    filename: Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^/\\]+$")],
    options: Options,
) -> EvidenceOut:
    if kind not in EVIDENCE_KINDS:
        raise ApiError(422, "evidence.invalid", f"kind must be one of {sorted(EVIDENCE_KINDS)}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_EVIDENCE_BYTES:
        raise ApiError(413, "evidence.too_large", f"limit is {MAX_EVIDENCE_BYTES} bytes")
    # Refuse before reading a byte if the registration is unknown, not the caller's, or in a
    # state that takes no evidence: nothing is received, nothing is stored.
    await run_in_threadpool(services.registry.check_can_attach_evidence, registration_id, actor)

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            yield chunk

    try:
        stored = await services.evidence.receive(chunks(), request.headers.get("content-type"))
    except EvidenceRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    ref = EvidenceRef(stored.sha256, stored.media_type, stored.size, kind, filename)
    command = AttachEvidence(registration_id, ref, stored.content)
    result = await run_in_threadpool(services.registry.handle, command, actor, options)
    out = _done(services, response, result)
    return EvidenceOut(
        **out.model_dump(), sha256=stored.sha256, media_type=stored.media_type, size=stored.size
    )


# ------------------------------------------------------------------------ commands


@router.post(f"{_ONE}/submit", **_command_route("submit", "Submit the application for review"))
def submit(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("submit"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Submit(registration_id), actor, options)
    return _done(services, response, result)


@router.post(
    f"{_ONE}/endorse", **_command_route("endorse", "Employer preliminary review passed (单位初审)")
)
def endorse(
    registration_id: RegistrationId,
    payload: NoteIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("endorse"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Endorse(registration_id, payload.note), actor, options)
    return _done(services, response, result)


@router.post(
    f"{_ONE}/decline", **_command_route("decline", "Employer does not confirm the application")
)
def decline(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("decline"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Decline(registration_id, payload.reason), actor, options)
    return _done(services, response, result)


@router.post(f"{_ONE}/review/start", **_command_route("start_review", "Start the expert review"))
def start_review(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("start_review"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(StartReview(registration_id), actor, options)
    return _done(services, response, result)


@router.post(f"{_ONE}/review/score", **_command_route("score", "Record the expert review score"))
def score(
    registration_id: RegistrationId,
    payload: ScoreIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("score"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        RecordExpertScore(registration_id, payload.score, payload.method), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/review/return", **_command_route("return", "Return for supplement with reason codes")
)
def return_for_supplement(
    registration_id: RegistrationId,
    payload: ReturnIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("return"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        ReturnForSupplement(registration_id, payload.reason_codes, payload.note), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/review/further-verification",
    **_command_route("further_verification", "Put under further verification (extends the SLA)"),
)
def further_verification(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("further_verification"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        RequestFurtherVerification(registration_id, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/supplement", **_command_route("supplement", "Answer a return-for-supplement request")
)
def supplement(
    registration_id: RegistrationId,
    payload: SupplementIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("supplement"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        ProvideSupplement(registration_id, payload.facts.as_facts() if payload.facts else None),
        actor,
        options,
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/approve", **_command_route("approve", "Approve (allocates the registration number)")
)
def approve(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("approve"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Approve(registration_id), actor, options)
    return _done(services, response, result)


@router.post(f"{_ONE}/reject", **_command_route("reject", "Reject the application"))
def reject(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("reject"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Reject(registration_id, payload.reason), actor, options)
    return _done(services, response, result)


@router.post(
    f"{_ONE}/withdraw",
    **_command_route("withdraw", "Withdraw an application that is not yet approved"),
)
def withdraw(
    registration_id: RegistrationId,
    payload: OptionalReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("withdraw"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Withdraw(registration_id, payload.reason), actor, options)
    return _done(services, response, result)


@router.post(f"{_ONE}/ce", **_command_route("record_ce", "Log continuing-education hours"))
def record_ce(
    registration_id: RegistrationId,
    payload: CeIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("record_ce"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        RecordCe(registration_id, payload.hours, payload.provider, payload.course), actor, options
    )
    return _done(services, response, result)


@router.post(f"{_ONE}/assessments", **_command_route("assessment", "Record an annual assessment"))
def assessment(
    registration_id: RegistrationId,
    payload: AssessmentIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("assessment"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        RecordAnnualAssessment(registration_id, payload.year, payload.passed, payload.note),
        actor,
        options,
    )
    return _done(services, response, result)


@router.post(f"{_ONE}/suspend", **_command_route("suspend", "Suspend an active registration"))
def suspend(
    registration_id: RegistrationId,
    payload: CodedReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("suspend"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        Suspend(registration_id, payload.reason_code, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/reinstate",
    **_command_route("reinstate", "Reinstate a suspended or lapsed registration"),
)
def reinstate(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("reinstate"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(Reinstate(registration_id, payload.reason), actor, options)
    return _done(services, response, result)


@router.post(
    f"{_ONE}/revoke",
    **_command_route("revoke", "Revoke a registration (fraud/forgery also lists as dishonest)"),
)
def revoke(
    registration_id: RegistrationId,
    payload: CodedReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("revoke"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        Revoke(registration_id, payload.reason_code, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/dishonesty",
    **_command_route("dishonesty_add", "Add to the dishonesty list (失信名单)"),
)
def dishonesty_add(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("dishonesty_add"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        ListAsDishonest(registration_id, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/dishonesty/lift", **_command_route("dishonesty_lift", "Lift a dishonesty listing")
)
def dishonesty_lift(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("dishonesty_lift"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        LiftDishonesty(registration_id, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(f"{_ONE}/amend", **_command_route("amend", "Amend details (never the ID number)"))
def amend(
    registration_id: RegistrationId,
    payload: AmendIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("amend"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        Amend(
            registration_id,
            payload.changes.as_changes(),
            _personal(payload.personal) if payload.personal else None,
        ),
        actor,
        options,
    )
    return _done(services, response, result)


# ------------------------------------------------ employer change (SPEC §12, 挂证 guard)


@router.post(
    f"{_ONE}/employer-change",
    **_command_route(
        "request_employer_change",
        "Ask to move to another employer (bound to the old one until endorsed and approved)",
    ),
)
def request_employer_change(
    registration_id: RegistrationId,
    payload: EmployerChangeIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("request_employer_change"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        RequestEmployerChange(
            registration_id,
            payload.employer_id,
            payload.employer_name,
            payload.job_description,
            payload.note,
        ),
        actor,
        options,
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/employer-change/endorse",
    **_command_route(
        "employer_change_endorse", "The claimed employer confirms the engineer's move"
    ),
)
def endorse_employer_change(
    registration_id: RegistrationId,
    payload: NoteIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("employer_change_endorse"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        EndorseEmployerChange(registration_id, payload.note), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/employer-change/decline",
    **_command_route(
        "employer_change_decline", "The claimed employer (or the registrar) refuses the move"
    ),
)
def decline_employer_change(
    registration_id: RegistrationId,
    payload: ReasonIn,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("employer_change_decline"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(
        DeclineEmployerChange(registration_id, payload.reason), actor, options
    )
    return _done(services, response, result)


@router.post(
    f"{_ONE}/employer-change/approve",
    **_command_route("employer_change_approve", "Approve an endorsed employer change"),
)
def approve_employer_change(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("employer_change_approve"))],
    options: Options,
) -> CommandOut:
    result = services.registry.handle(ApproveEmployerChange(registration_id), actor, options)
    return _done(services, response, result)


@router.post(
    f"{_ONE}/erase",
    **_command_route("erase", "Erase the engineer's personal data (destroys their key)"),
)
def erase(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("erase"))],
    options: Options,
) -> CommandOut:
    """Erasure covers every registration of the subject; the addressed one is reported."""
    results = services.registry.handle(ErasePersonalData(registration_id), actor, options)
    return _done(services, response, erasure_result(results, registration_id))
