"""The authenticated registry API: every RegistryApp command for engineers, employers,
reviewers and registrars, plus the reads each role needs.

Each command route takes the caller's `Actor` from the role matrix dependency, honours
`Idempotency-Key` and `If-Match`, and answers with the registration's new version (also as
the ETag). The domain re-checks ownership and roles; its refusals keep their stable codes.
"""

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from domain.actors import Actor, Role
from domain.evidence import EVIDENCE_KINDS, MAX_EVIDENCE_BYTES, EvidenceRef
from domain.personal import PersonalData
from domain.registration import Registration
from registry.application.service import CommandResult
from verify_api.deps import ExpectedVersion, IdempotencyKey, ServicesDep, allow
from verify_api.errors import AUTH_RESPONSES, ApiError
from verify_api.evidence import EvidenceRejected
from verify_api.models import (
    AmendIn,
    ApplyIn,
    AssessmentIn,
    CeIn,
    CodedReasonIn,
    CommandOut,
    EvidenceOut,
    NoteIn,
    OptionalReasonIn,
    ReasonIn,
    RegistrationOut,
    ReturnIn,
    ScoreIn,
    SupplementIn,
)
from verify_api.services import Services

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=AUTH_RESPONSES)

RegistrationId = Annotated[UUID, Path(description="The registration's id (a UUID).")]


def _actor(operation: str) -> Any:
    return Depends(allow(operation))


def _done(services: Services, response: Response, result: CommandResult) -> CommandOut:
    services.refresh(force=True)
    response.headers["ETag"] = f'"{result.version}"'
    return CommandOut.of(result)


def _options(key: str | None, version: int | None) -> dict[str, Any]:
    return {"idempotency_key": key, "expected_version": version}


def _personal(data: Any) -> PersonalData:
    return PersonalData(
        name=data.name,
        id_number=data.id_number,
        phone=data.phone,
        email=data.email,
        address=data.address,
    )


def _command(
    operation: str,
    path: str,
    summary: str,
    call: Callable[[Services, UUID, Actor, Any, dict[str, Any]], CommandResult],
    body: type[Any] | None = None,
) -> None:
    """Register one command route; `call` maps (services, id, actor, body, options) to a result.

    Routes are generated from one table so every command gets the same auth, idempotency,
    concurrency and error behaviour, and cannot drift apart.
    """
    actor_dep = allow(operation)

    if body is None:

        def endpoint_nobody(
            registration_id: RegistrationId,
            services: ServicesDep,
            response: Response,
            actor: Annotated[Actor, Depends(actor_dep)],
            idempotency_key: IdempotencyKey = None,
            expected_version: ExpectedVersion = None,
        ) -> CommandOut:
            result = call(
                services,
                registration_id,
                actor,
                None,
                _options(idempotency_key, expected_version),
            )
            return _done(services, response, result)

        endpoint: Callable[..., CommandOut] = endpoint_nobody
    else:

        def endpoint_body(
            registration_id: RegistrationId,
            payload: body,  # type: ignore[valid-type]
            services: ServicesDep,
            response: Response,
            actor: Annotated[Actor, Depends(actor_dep)],
            idempotency_key: IdempotencyKey = None,
            expected_version: ExpectedVersion = None,
        ) -> CommandOut:
            result = call(
                services,
                registration_id,
                actor,
                payload,
                _options(idempotency_key, expected_version),
            )
            return _done(services, response, result)

        endpoint = endpoint_body

    endpoint.__name__ = operation
    router.add_api_route(
        f"/registrations/{{registration_id}}/{path}",
        endpoint,
        methods=["POST"],
        response_model=CommandOut,
        summary=summary,
        description=f"Allowed roles: {', '.join(sorted(r.value for r in _roles(operation)))}.",
        operation_id=operation,
    )


def _roles(operation: str) -> frozenset[Role]:
    from verify_api.roles import ROLE_MATRIX

    return ROLE_MATRIX[operation]


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
    actor: Annotated[Actor, _actor("apply")],
    idempotency_key: IdempotencyKey = None,
) -> CommandOut:
    result = services.registry.apply(
        actor,
        payload.scheme,
        _personal(payload.personal),
        payload.facts,
        idempotency_key=idempotency_key,
    )
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
    actor: Annotated[Actor, _actor("attach_evidence")],
    kind: Annotated[str, Query(description="Evidence kind.", examples=["degree"])],
    filename: Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^/\\]+$")],
    idempotency_key: IdempotencyKey = None,
    expected_version: ExpectedVersion = None,
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
    result = await run_in_threadpool(
        partial(
            services.registry.attach_evidence,
            registration_id,
            actor,
            ref,
            stored.content,
            **_options(idempotency_key, expected_version),
        )
    )
    out = _done(services, response, result)
    return EvidenceOut(
        **out.model_dump(), sha256=stored.sha256, media_type=stored.media_type, size=stored.size
    )


# ------------------------------------------------------------------------ commands

_command(
    "submit",
    "submit",
    "Submit the application for review",
    lambda s, i, a, b, o: s.registry.submit(i, a, **o),
)
_command(
    "endorse",
    "endorse",
    "Employer preliminary review passed (单位初审)",
    lambda s, i, a, b, o: s.registry.endorse(i, a, b.note, **o),
    NoteIn,
)
_command(
    "decline",
    "decline",
    "Employer does not confirm the application",
    lambda s, i, a, b, o: s.registry.decline(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "start_review",
    "review/start",
    "Start the expert review",
    lambda s, i, a, b, o: s.registry.start_review(i, a, **o),
)
_command(
    "score",
    "review/score",
    "Record the expert review score",
    lambda s, i, a, b, o: s.registry.record_expert_score(i, a, b.score, b.method, **o),
    ScoreIn,
)
_command(
    "return",
    "review/return",
    "Return for supplement with reason codes",
    lambda s, i, a, b, o: s.registry.return_for_supplement(i, a, b.reason_codes, b.note, **o),
    ReturnIn,
)
_command(
    "further_verification",
    "review/further-verification",
    "Put under further verification (extends the SLA)",
    lambda s, i, a, b, o: s.registry.request_further_verification(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "supplement",
    "supplement",
    "Answer a return-for-supplement request",
    lambda s, i, a, b, o: s.registry.provide_supplement(i, a, b.facts, **o),
    SupplementIn,
)
_command(
    "approve",
    "approve",
    "Approve (allocates the registration number)",
    lambda s, i, a, b, o: s.registry.approve(i, a, **o),
)
_command(
    "reject",
    "reject",
    "Reject the application",
    lambda s, i, a, b, o: s.registry.reject(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "withdraw",
    "withdraw",
    "Withdraw an application that is not yet approved",
    lambda s, i, a, b, o: s.registry.withdraw(i, a, b.reason, **o),
    OptionalReasonIn,
)
_command(
    "record_ce",
    "ce",
    "Log continuing-education hours",
    lambda s, i, a, b, o: s.registry.record_ce(i, a, b.hours, b.provider, b.course, **o),
    CeIn,
)
_command(
    "assessment",
    "assessments",
    "Record an annual assessment",
    lambda s, i, a, b, o: s.registry.record_annual_assessment(i, a, b.year, b.passed, b.note, **o),
    AssessmentIn,
)
_command(
    "suspend",
    "suspend",
    "Suspend an active registration",
    lambda s, i, a, b, o: s.registry.suspend(i, a, b.reason_code, b.reason, **o),
    CodedReasonIn,
)
_command(
    "reinstate",
    "reinstate",
    "Reinstate a suspended or lapsed registration",
    lambda s, i, a, b, o: s.registry.reinstate(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "revoke",
    "revoke",
    "Revoke a registration (fraud/forgery also lists as dishonest)",
    lambda s, i, a, b, o: s.registry.revoke(i, a, b.reason_code, b.reason, **o),
    CodedReasonIn,
)
_command(
    "dishonesty_add",
    "dishonesty",
    "Add to the dishonesty list (失信名单)",
    lambda s, i, a, b, o: s.registry.list_as_dishonest(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "dishonesty_lift",
    "dishonesty/lift",
    "Lift a dishonesty listing",
    lambda s, i, a, b, o: s.registry.lift_dishonesty(i, a, b.reason, **o),
    ReasonIn,
)
_command(
    "amend",
    "amend",
    "Amend details (never the ID number)",
    lambda s, i, a, b, o: s.registry.amend(
        i, a, b.changes, _personal(b.personal) if b.personal else None, **o
    ),
    AmendIn,
)


def _erase(s: Services, i: UUID, a: Actor, b: Any, o: dict[str, Any]) -> CommandResult:
    """Erasure covers every registration of the subject; the first result is reported."""
    if o.get("expected_version") is not None:
        current = s.registry.get(i).version
        if current != o["expected_version"]:
            from registry.application.errors import ConcurrencyConflict

            raise ConcurrencyConflict(
                f"registration is at version {current}, not the expected {o['expected_version']}"
            )
    results = s.registry.erase_personal_data(i, a)
    if not results:
        from domain.errors import InvalidTransition

        raise InvalidTransition("personal data already erased")
    mine = [r for r in results if r.registration_id == i]
    return mine[0] if mine else results[0]


_command("erase", "erase", "Erase the engineer's personal data (destroys their key)", _erase)


# --------------------------------------------------------------------------- reads


def registration_view(services: Services, reg: Registration, actor: Actor) -> RegistrationOut:
    """A registration as its reader may see it; personal data only to owner and registrar."""
    now = services.clock.now()
    personal = None
    masked = None
    data = None if reg.personal_data_erased else services.registry.personal_data(reg)
    if data is not None:
        masked = data.masked_name
        if (actor.role is Role.ENGINEER and actor.id == reg.owner_id) or actor.role in {
            Role.REGISTRAR
        }:
            personal = {
                "name": data.name,
                "id_number": data.id_number,
                "phone": data.phone,
                "email": data.email,
                "address": data.address,
            }
    return RegistrationOut(
        registration_id=str(reg.id),
        version=reg.version,
        scheme=reg.scheme,
        number=reg.number,
        status=reg.status.value,
        status_now=reg.status_at(now).value,
        valid_until=reg.valid_until,
        owner_id=reg.owner_id,
        employer_id=reg.employer_id,
        masked_name=masked,
        dishonest=reg.dishonest,
        expert_score=reg.expert_score,
        return_reasons=list(reg.return_reasons),
        evidence=list(reg.evidence),
        certificates=[{**c, "expires_at": str(c.get("expires_at"))} for c in reg.certificates],
        timeline=[
            {
                "at": p.at.isoformat(),
                "status": p.status.value,
                "reason_code": p.reason_code,
                "valid_until": p.valid_until.isoformat() if p.valid_until else None,
            }
            for p in reg.timeline
        ],
        facts=reg.facts_data,
        personal=personal,
    )


def check_reader(reg: Registration, actor: Actor) -> None:
    """Engineers read their own registrations, employers their employees'; others all."""
    if actor.role is Role.ENGINEER and actor.id != reg.owner_id:
        raise ApiError(403, "actor.not_permitted", "engineers may read their own registrations")
    if actor.role is Role.EMPLOYER and actor.id != reg.employer_id:
        raise ApiError(403, "actor.not_permitted", "employers may read their employees' only")


@router.get(
    "/registrations/{registration_id}",
    response_model=RegistrationOut,
    summary="Read one registration",
    operation_id="read_registration",
)
def read_registration(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, _actor("read_registration")],
) -> RegistrationOut:
    reg = services.registry.get(registration_id)
    check_reader(reg, actor)
    response.headers["ETag"] = f'"{reg.version}"'
    return registration_view(services, reg, actor)
