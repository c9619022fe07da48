"""Authenticated reads and certificates: queue, search, statistics, dishonesty list, event
history (auditors), certificate issue (registrar) and download (holder).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from domain.actors import Actor, Role
from domain.clock import add_years
from domain.errors import InvalidTransition
from registry.credentials import (
    CertificateDetails,
    CredentialClaims,
    KeyStoreError,
    certificate_pdf,
    credential_qr_png,
    credential_qr_svg,
    credential_url,
    issue_credential,
)
from verify_api.deps import ExpectedVersion, IdempotencyKey, ServicesDep, UserDep, allow
from verify_api.errors import AUTH_RESPONSES, ApiError
from verify_api.models import CertificateOut, CommandOut, EventOut, WhoAmI
from verify_api.routers.registry import check_reader
from verify_api.services import Services

router = APIRouter(prefix="/api/v1", responses=AUTH_RESPONSES)
RegistrationId = Annotated[UUID, Path(description="The registration's id (a UUID).")]
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


@router.get("/me", response_model=WhoAmI, tags=["registry"], summary="Who the token belongs to")
def whoami(user: UserDep, actor: Annotated[Actor, Depends(allow("whoami"))]) -> WhoAmI:
    return WhoAmI(name=user.name, role=user.role.value, actor_id=user.actor_id)


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
    status: Annotated[str | None, Query(max_length=40)] = None,
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
        status=status,
        scheme=scheme,
        expiring_within_days=expiring_within_days,
        limit=limit,
        offset=offset,
    )
    return [v.as_dict() for v in views]


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


# ---------------------------------------------------------------------- certificates


def _serial(registration_id: UUID, actor: Actor, key: str | None, now: datetime) -> str:
    """Random, or derived from the idempotency key so a retried issue is the same issue."""
    if key is None:
        return f"C{now:%Y%m%d}-{uuid.uuid4().hex[:12].upper()}"
    digest = hashlib.sha256(f"{registration_id}|{actor.id}|{key}".encode()).hexdigest()
    return f"C{now:%Y%m%d}-{digest[:12].upper()}"


@router.post(
    "/registrations/{registration_id}/certificate",
    response_model=CertificateOut,
    status_code=201,
    tags=["registrar"],
    summary="Issue a signed credential (QR) for an active registration",
    operation_id="issue_certificate",
)
def issue_certificate(
    registration_id: RegistrationId,
    services: ServicesDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("issue_certificate"))],
    idempotency_key: IdempotencyKey = None,
    expected_version: ExpectedVersion = None,
) -> CertificateOut:
    reg = services.registry.get(registration_id)
    now = services.clock.now()
    if not reg.permitted or reg.number is None:
        raise InvalidTransition("a certificate is only issued for an active registration")
    data = None if reg.personal_data_erased else services.registry.personal_data(reg)
    masked = data.masked_name if data is not None else "*"
    valid_until = reg.valid_until or add_years(now.date(), reg.policy.validity_years)
    expires_at = datetime.combine(valid_until + timedelta(days=1), time.min, tzinfo=UTC)
    try:
        key = services.keys.active()
    except KeyStoreError:
        raise ApiError(503, "keys.unavailable", "the signing key is not available") from None
    serial = _serial(registration_id, actor, idempotency_key, now)
    claims = CredentialClaims(
        issuer=services.settings.issuer,
        issued_at=now,
        expires_at=expires_at,
        registration_number=reg.number,
        scheme_code=reg.scheme,
        certificate_serial=serial,
        masked_name=masked,
        issuer_region=services.settings.issuer_region,
    )
    credential = services.archive.put_if_absent(
        serial, str(registration_id), issue_credential(claims, key), now
    )
    try:
        result = services.registry.record_certificate(
            registration_id,
            actor,
            serial,
            key.kid_hex,
            expires_at,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )
    except Exception:
        if not any(
            c["serial"] == serial for c in services.registry.get(registration_id).certificates
        ):
            services.archive.delete(serial)
        raise
    services.refresh(force=True)
    response.headers["ETag"] = f'"{result.version}"'
    out = CommandOut.of(result)
    return CertificateOut(
        **out.model_dump(),
        serial=serial,
        kid=key.kid_hex,
        expires_at=expires_at,
        credential=credential,
        url=credential_url(services.settings.public_base_url, credential),
    )


_DOWNLOAD_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@router.get(
    "/registrations/{registration_id}/certificate",
    tags=["engineer"],
    summary="Download the latest certificate: credential JSON, QR PNG/SVG or printable PDF",
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
    registration_id: RegistrationId,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(allow("certificate_download"))],
    format: Literal["json", "png", "svg", "pdf"] = "json",
) -> Response:
    reg = services.registry.get(registration_id)
    check_reader(reg, actor)
    if not reg.certificates:
        raise ApiError(404, "certificate.not_found", "no certificate has been issued")
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
        body = _certificate_pdf(services, reg, latest, credential)
    else:
        import json

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


def _certificate_pdf(
    services: Services, reg: Any, latest: dict[str, Any], credential: str
) -> bytes:
    data = None if reg.personal_data_erased else services.registry.personal_data(reg)
    policy = services.registry.policy(reg.scheme)
    expires = latest.get("expires_at")
    valid_until = reg.valid_until or (expires.date() if isinstance(expires, datetime) else None)
    issued = latest.get("at")
    details = CertificateDetails(
        holder_name=data.name if data is not None else "*",
        registration_number=reg.number,
        scheme_name=policy.name_zh,
        scheme_code=reg.scheme,
        issuer_name=services.settings.issuer,
        issuer_region=services.settings.issuer_region,
        certificate_serial=str(latest["serial"]),
        issued_on=issued.date() if isinstance(issued, datetime) else services.clock.now().date(),
        valid_until=valid_until or services.clock.now().date(),
        employer=(reg.facts_data.get("employer") or {}).get("name"),
    )
    return certificate_pdf(details, credential, services.settings.public_base_url)
