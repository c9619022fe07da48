"""Issuing a certificate: sign a credential, archive it, record `CertificateIssued`.

A use case of more than one step, so it lives here once and the HTTP route, the demo and
the benchmarks call it (they used to re-implement it). The credential is archived before
the event is recorded; if recording fails the archived credential is removed again unless
the registration already names its serial (a retried issue that had succeeded).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from domain.actors import Actor
from domain.clock import add_years
from domain.errors import DomainError, InvalidTransition
from domain.registration import Registration
from domain.standing import in_force, lapse_moment
from domain.status import Status
from registry.application.commands import CommandOptions, CommandResult, RecordCertificate
from registry.application.service import RegistryApp
from registry.credentials import (
    CertificateDetails,
    CredentialClaims,
    SigningKey,
    certificate_pdf,
    credential_url,
    issue_credential,
)


class CredentialArchive(Protocol):
    """Issued credential strings by serial, so holders can download their QR/PDF again."""

    def put_if_absent(
        self, serial: str, registration_id: str, credential: str, issued_at: datetime
    ) -> str: ...
    def get(self, serial: str) -> str | None: ...
    def delete(self, serial: str) -> None: ...


class SigningKeys(Protocol):
    """Where the active signing key comes from (a `registry.credentials.KeyStore`)."""

    def active(self) -> SigningKey: ...


@dataclass(frozen=True)
class IssuedCertificate:
    result: CommandResult
    serial: str
    kid: str
    expires_at: datetime
    credential: str
    url: str


class CertificateRefused(InvalidTransition):
    """No certificate for a registration that is not permitted to practise (a 409)."""

    code = "certificate.not_permitted"


def certificate_refusal(reg: Registration, now: datetime) -> str | None:
    """Why `reg` may not have a (clean) certificate at `now`, in words; None when it may."""
    label = reg.number or str(reg.id)
    if reg.number is None:
        return f"registration {label} is not approved (status {reg.status.value})"
    point = reg.point_at(now)
    status = reg.status_at(now)
    if status is Status.EXPIRED or (
        in_force(status, numbered=True) and credential_expiry(reg, now) <= now
    ):
        return f"registration {label} expired: it was valid until {reg.valid_until}"
    if not in_force(status, numbered=True):
        reason = point.reason_code if point is not None else None
        since = f" since {point.at:%Y-%m-%d}" if point is not None else ""
        because = f" ({reason})" if reason else ""
        return f"registration {label} is {status.value}{because}{since}; it may not practise"
    return None


def require_certificate_permitted(reg: Registration, now: datetime) -> None:
    """Raise `CertificateRefused` with the reason unless `reg` may practise at `now`."""
    refusal = certificate_refusal(reg, now)
    if refusal is not None:
        raise CertificateRefused(refusal)


def certificate_serial(registration_id: UUID, actor: Actor, key: str | None, now: datetime) -> str:
    """Random, or derived from the idempotency key so a retried issue is the same issue."""
    if key is None:
        return f"C{now:%Y%m%d}-{uuid.uuid4().hex[:12].upper()}"
    digest = hashlib.sha256(f"{registration_id}|{actor.id}|{key}".encode()).hexdigest()
    return f"C{now:%Y%m%d}-{digest[:12].upper()}"


def credential_expiry(registration: Registration, now: datetime) -> datetime:
    """The credential expires when the registration lapses: the first instant of the local
    day after its validity (the registry's zone, which the loaded aggregate carries), as a
    UTC instant."""
    business = registration.business_time
    valid_until = registration.valid_until or add_years(
        business.day(now), registration.policy.validity_years
    )
    return lapse_moment(valid_until, business)


def issue_certificate(
    app: RegistryApp,
    archive: CredentialArchive,
    keys: SigningKeys,
    registration_id: UUID,
    actor: Actor,
    options: CommandOptions = CommandOptions(),
) -> IssuedCertificate:
    """Sign, archive and record a credential for an active registration.

    Raises `CertificateRefused` (with the reason in words) unless the registration is
    permitted to practise now, and whatever `keys.active()` raises when no signing key is
    available.
    """
    reg = app.get(registration_id)
    now = app.clock.now()
    require_certificate_permitted(reg, now)
    if reg.number is None:  # unreachable after the check above; narrows the type
        raise CertificateRefused("a certificate is only issued for a numbered registration")
    data = None if reg.personal_data_erased else app.personal_data(reg)
    masked = data.masked_name if data is not None else "*"
    expires_at = credential_expiry(reg, now)
    key = keys.active()
    serial = certificate_serial(registration_id, actor, options.idempotency_key, now)
    settings = app.settings
    claims = CredentialClaims(
        issuer=settings.issuer,
        issued_at=now,
        expires_at=expires_at,
        registration_number=reg.number,
        scheme_code=reg.scheme,
        certificate_serial=serial,
        masked_name=masked,
        issuer_region=settings.issuer_region,
    )
    credential = archive.put_if_absent(
        serial, str(registration_id), issue_credential(claims, key), now
    )
    try:
        result = app.handle(
            RecordCertificate(registration_id, serial, key.kid_hex, expires_at), actor, options
        )
    except Exception:
        if not any(c["serial"] == serial for c in app.get(registration_id).certificates):
            archive.delete(serial)
        raise
    return IssuedCertificate(
        result=result,
        serial=serial,
        kid=key.kid_hex,
        expires_at=expires_at,
        credential=credential,
        url=credential_url(settings.public_base_url, credential),
    )


@dataclass(frozen=True)
class BatchOutcome:
    """One registration of a batch: issued (`issued`), or refused with a code and reason."""

    registration_id: UUID
    number: str | None
    issued: IssuedCertificate | None = None
    refused_code: str | None = None
    refused: str | None = None


def issue_certificates(
    app: RegistryApp,
    archive: CredentialArchive,
    keys: SigningKeys,
    registration_ids: Iterable[UUID],
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> list[BatchOutcome]:
    """`issue_certificate` for each registration; a refusal is recorded and the batch goes
    on, while a missing signing key (or a store failure) stops it."""
    outcomes = []
    for registration_id in registration_ids:
        number = app.get(registration_id).number
        try:
            issued = issue_certificate(app, archive, keys, registration_id, actor)
        except DomainError as exc:
            outcomes.append(BatchOutcome(registration_id, number, None, exc.code, exc.message))
        else:
            outcomes.append(BatchOutcome(registration_id, number, issued))
        if progress is not None:
            progress(1)
    return outcomes


def printable_certificate(
    app: RegistryApp, reg: Registration, latest: dict[str, Any], credential: str
) -> bytes:
    """The printable PDF of the registration's certificate `latest` (holder's full name)."""
    data = None if reg.personal_data_erased else app.personal_data(reg)
    policy = app.policy(reg.scheme)
    settings = app.settings
    business = app.business_time
    today = business.day(app.clock.now())
    expires = latest.get("expires_at")
    valid_until = reg.valid_until or (
        # The credential expires at the first local instant after the last valid day.
        business.day(expires - timedelta(microseconds=1)) if isinstance(expires, datetime) else None
    )
    issued = latest.get("at")
    details = CertificateDetails(
        holder_name=data.name if data is not None else "*",
        registration_number=reg.number or "",
        scheme_name=policy.name_zh,
        scheme_code=reg.scheme,
        issuer_name=settings.issuer,
        issuer_region=settings.issuer_region,
        certificate_serial=str(latest["serial"]),
        issued_on=business.day(issued) if isinstance(issued, datetime) else today,
        valid_until=valid_until or today,
        employer=(reg.facts_data.get("employer") or {}).get("name"),
    )
    return certificate_pdf(details, credential, settings.public_base_url)
