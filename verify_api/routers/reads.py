"""Authenticated reads and certificates: queue, search, statistics, dishonesty list, event
history (auditors), certificate issue (registrar) and download (holder).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from domain.actors import Actor, Role
from domain.permissions import check
from domain.registration import Registration
from domain.status import Status
from registry.application import certificates
from registry.credentials import (
    KeyStoreError,
    credential_qr_png,
    credential_qr_svg,
    credential_url,
)
from verify_api.deps import Options, ServicesDep, UserDep, allow
from verify_api.errors import AUTH_RESPONSES, ApiError
from verify_api.models import (
    CertificateOut,
    CommandOut,
    EventOut,
    MyRegistration,
    RegistrationOut,
    WhoAmI,
)
from verify_api.services import Services

router = APIRouter(prefix="/api/v1", responses=AUTH_RESPONSES)
RegistrationId = Annotated[UUID, Path(description="The registration's id (a UUID).")]
RegistrationRef = Annotated[
    str,
    Path(
        description="The registration's number (e.g. SIE-44-2026-0001237) or its id (a UUID).",
        max_length=64,
    ),
]


def registration_for_ref(services: Services, ref: str) -> UUID:
    """The id of the registration named by number or id; 404 when there is none."""
    value = ref.strip()
    try:
        registration_id = UUID(value)
    except ValueError:
        return services.registry.registration_id_for_number(value.upper())
    services.registry.get(registration_id)  # NotFound → 404
    return registration_id


_HIDDEN_EVENT_FIELDS = {
    "personal_data",
    "id_hmac",
    "subject_id",
    "policy",
    "originator_id",
    "originator_version",
    "timestamp",
    "actor_id",
    "actor_role",
    "at",
}


@router.get(
    "/me",
    response_model=WhoAmI,
    tags=["registry"],
    summary="Who the token belongs to, and an engineer's own registrations",
)
def whoami(
    user: UserDep, services: ServicesDep, actor: Annotated[Actor, Depends(allow("whoami"))]
) -> WhoAmI:
    mine: list[MyRegistration] = []
    if actor.role is Role.ENGINEER:
        services.refresh(force=True)
        mine = [
            MyRegistration(
                registration_id=str(v.registration_id),
                number=v.number,
                scheme=v.scheme,
                status=v.public_status,
                status_reason=v.status_reason,
                valid_until=v.valid_until,
                certificate_serial=v.certificate_serial,
            )
            for v in services.projections.owned_by(actor.id)
        ]
    return WhoAmI(name=user.name, role=user.role.value, actor_id=user.actor_id, registrations=mine)


@router.get("/queue", tags=["reviewer"], summary="Review queue with working-day deadlines")
def queue(
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("queue"))],
    overdue_only: bool = False,
) -> list[dict[str, Any]]:
    services.refresh(force=True)
    return [i.as_dict() for i in services.projections.review_queue(overdue_only=overdue_only)]


@router.get("/search", tags=["registry"], summary="Search registrations (employers: own only)")
def search(
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("search"))],
    number: Annotated[str | None, Query(max_length=40)] = None,
    employer_id: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[
        Status | None, Query(description="A registration status; any other value is a 422")
    ] = None,
    scheme: Annotated[str | None, Query(max_length=10)] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    if actor.role is Role.EMPLOYER:
        if employer_id not in {None, actor.id}:
            raise ApiError(403, "actor.not_permitted", "employers search their own staff only")
        employer_id = actor.id
    services.refresh(force=True)
    views = services.projections.search(
        number=number,
        employer_id=employer_id,
        status=status.value if status is not None else None,
        scheme=scheme,
        expiring_within_days=expiring_within_days,
        limit=limit,
        offset=offset,
    )
    return [v.as_dict() for v in views]


@router.get(
    "/employer-claims",
    tags=["registry"],
    summary="Engineers who asked to move to an employer (employers: themselves only)",
)
def employer_claims(
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("employer_claims"))],
    employer_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> list[dict[str, Any]]:
    if actor.role is Role.EMPLOYER:
        if employer_id not in {None, actor.id}:
            raise ApiError(403, "actor.not_permitted", "employers see their own claims only")
        employer_id = actor.id
    if employer_id is None:
        raise ApiError(422, "input.invalid", "employer_id is required")
    services.refresh(force=True)
    return [v.as_dict() for v in services.projections.employer_claims(employer_id)]


@router.get("/statistics", tags=["registry"], summary="Counts and review turnaround")
def statistics(
    services: ServicesDep, actor: Annotated[Actor, Depends(allow("statistics"))]
) -> dict[str, Any]:
    services.refresh(force=True)
    return services.projections.statistics().as_dict()


@router.get("/dishonesty-list", tags=["registry"], summary="The dishonesty list (失信名单)")
def dishonesty_list(
    services: ServicesDep, actor: Annotated[Actor, Depends(allow("dishonesty_list"))]
) -> list[dict[str, Any]]:
    services.refresh(force=True)
    return [e.as_dict() for e in services.projections.dishonesty_list()]


@router.get(
    "/registrations/{registration_id}/events",
    response_model=list[EventOut],
    tags=["auditor"],
    summary="A registration's full event history (personal data stays encrypted, omitted)",
)
def events(
    registration_id: RegistrationId,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("events"))],
) -> list[EventOut]:
    services.registry.get(registration_id)  # 404 for unknown ids and non-registrations
    out = []
    for event in services.registry.repository.event_store.get(registration_id):
        data = {k: _plain(v) for k, v in vars(event).items() if k not in _HIDDEN_EVENT_FIELDS}
        at: datetime = getattr(event, "at", None) or getattr(event, "timestamp")  # noqa: B009
        out.append(
            EventOut(
                version=event.originator_version,
                type=type(event).__qualname__.split(".")[-1],
                at=at,
                actor_id=str(getattr(event, "actor_id", "")),
                actor_role=str(getattr(event, "actor_role", "")),
                data=data,
            )
        )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------ registrations


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
    tags=["registry"],
    summary="Read one registration",
    operation_id="read_registration",
)
def read_registration(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("read_registration"))],
) -> RegistrationOut:
    reg = services.registry.get(registration_id)
    check_reader(reg, actor)
    response.headers["ETag"] = f'"{reg.version}"'
    return registration_view(services, reg, actor)


# ---------------------------------------------------------------------- certificates


@router.post(
    "/registrations/{registration_ref}/certificate",
    response_model=CertificateOut,
    status_code=201,
    tags=["registrar"],
    summary="Issue a signed credential (QR) for a registration permitted to practise",
    description="By registration number or id. A registration that is not permitted to "
    "practise (expired, suspended, revoked, not approved) is refused with 409 "
    "`certificate.not_permitted` and the reason.",
    operation_id="issue_certificate",
)
def issue_certificate(
    registration_ref: RegistrationRef,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("issue_certificate"))],
    options: Options,
) -> CertificateOut:
    registration_id = registration_for_ref(services, registration_ref)
    try:
        issued = certificates.issue_certificate(
            services.registry, services.archive, services.keys, registration_id, actor, options
        )
    except KeyStoreError:
        raise ApiError(503, "keys.unavailable", "the signing key is not available") from None
    services.refresh(force=True)
    response.headers["ETag"] = f'"{issued.result.version}"'
    return CertificateOut(
        **CommandOut.of(issued.result).model_dump(),
        serial=issued.serial,
        kid=issued.kid,
        expires_at=issued.expires_at,
        credential=issued.credential,
        url=issued.url,
    )


_DOWNLOAD_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@router.get(
    "/registrations/{registration_ref}/certificate",
    tags=["engineer"],
    summary="Download the latest certificate: credential JSON, QR PNG/SVG or printable PDF",
    description="By registration number or id. Refused with 409 `certificate.not_permitted` "
    "while the registration is not permitted to practise (no clean certificate then).",
    responses={
        200: {
            "content": {
                "application/json": {},
                "image/png": {},
                "image/svg+xml": {},
                "application/pdf": {},
            }
        }
    },
)
def download_certificate(
    registration_ref: RegistrationRef,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("certificate_download"))],
    format: Literal["json", "png", "svg", "pdf"] = "json",
) -> Response:
    reg = services.registry.get(registration_for_ref(services, registration_ref))
    # the one permission table: the registration's own engineer, the registrar, an admin
    check("certificate_download", actor, owner_id=reg.owner_id, employer_id=reg.employer_id)
    if not reg.certificates:
        raise ApiError(404, "certificate.not_found", "no certificate has been issued")
    certificates.require_certificate_permitted(reg, services.registry.clock.now())
    latest = reg.certificates[-1]
    credential = services.archive.get(str(latest["serial"]))
    if credential is None:
        raise ApiError(404, "certificate.not_found", "the certificate must be issued again")
    base = services.settings.public_base_url
    if format == "png":
        body = credential_qr_png(base, credential)
    elif format == "svg":
        body = credential_qr_svg(base, credential)
    elif format == "pdf":
        body = certificates.printable_certificate(services.registry, reg, latest, credential)
    else:
        return Response(
            json.dumps(
                {
                    "serial": latest["serial"],
                    "credential": credential,
                    "url": credential_url(base, credential),
                    "expires_at": str(latest.get("expires_at")),
                }
            ),
            media_type="application/json",
        )
    filename = f"{reg.number}-{latest['serial']}.{format}"
    return Response(
        body,
        media_type=_DOWNLOAD_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
