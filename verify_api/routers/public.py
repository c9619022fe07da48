"""Public JSON API: verify a credential, look up a number, publish keys and the trust list.

No authentication; every route is rate limited per client address. Nothing here returns
personal data beyond the masked name.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from domain.numbering import is_well_formed
from registry.credentials import own_trust_list
from verify_api.deps import ServicesDep, rate_limited
from verify_api.errors import ERROR_RESPONSES, ApiError, ErrorBody
from verify_api.services import TRUST_LIST_VALIDITY
from verify_api.verification import evaluate

router = APIRouter(
    tags=["public"], dependencies=[Depends(rate_limited())], responses=ERROR_RESPONSES
)

EXAMPLE_CREDENTIAL = (
    "ER1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA.A5"
)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: str = Field(
        min_length=1,
        max_length=8192,
        description="The credential string (`ER1:…`) or the verification URL from the QR code.",
        examples=[EXAMPLE_CREDENTIAL],
    )


class StepOut(BaseModel):
    """One step. On `key.revoked` and `key.outside_window` it also carries `since` (ISO-8601):
    the key's revocation instant, or the window boundary the issue time crossed."""

    model_config = ConfigDict(extra="allow")
    result: str = Field(examples=["VALID"], description="VALID, INVALID or COULD_NOT_CHECK")
    reason: str | None = Field(
        default=None,
        examples=[None],
        description="Stable code, e.g. `signature.invalid`, `key.outside_window` (issued "
        "outside its key's signing window), `key.revoked` (issued at/after its key's "
        "revocation), `status.revoked`.",
    )


class LiveOut(BaseModel):
    number: str
    scheme: str
    status: str = Field(
        examples=["active"], description="active, suspended, revoked, expired or unknown"
    )
    lifecycle_status: str
    permitted_to_practise: bool
    reason: str | None
    since: str | None
    valid_until: str | None
    masked_name: str | None
    issuer: str


class VerifyOut(BaseModel):
    headline: str = Field(
        examples=["valid"],
        description="valid, not_valid_now, expired (see `expired_on`), unreadable "
        "(damaged or incomplete code: scan again or look the number up), not_genuine, "
        "status_unknown or unavailable",
    )
    genuine: bool | None
    valid_now: bool
    checked_at: str
    steps: dict[str, StepOut] = Field(
        description="format, signature, issuer_key, status, expiry — each reported alone."
    )
    registration: LiveOut | None
    credential: dict[str, Any] | None
    notes: list[str]
    expired_on: str | None = Field(
        default=None, description="The last day of validity when the headline is `expired`."
    )


VERIFY_EXAMPLE = {
    "headline": "not_valid_now",
    "genuine": True,
    "valid_now": False,
    "checked_at": "2026-05-01T08:00:00+00:00",
    "steps": {
        "format": {"result": "VALID", "reason": None},
        "signature": {"result": "VALID", "reason": None},
        "issuer_key": {"result": "VALID", "reason": None},
        "status": {"result": "INVALID", "reason": "status.revoked"},
        "expiry": {"result": "VALID", "reason": None},
    },
    "registration": {
        "number": "SIE-44-2026-0000017",
        "scheme": "SIE",
        "status": "revoked",
        "lifecycle_status": "revoked",
        "permitted_to_practise": False,
        "reason": "fraud",
        "since": "2026-04-02T09:00:00+00:00",
        "valid_until": "2028-03-05",
        "masked_name": "张*三",
        "issuer": "CN-44-REG",
    },
    "credential": {"registration_number": "SIE-44-2026-0000017", "issuer": "CN-44-REG"},
    "notes": [],
}


@router.post(
    "/api/v1/verify",
    response_model=VerifyOut,
    summary="Verify a credential (signature, trust list, live status, expiry)",
    description=(
        "Always 200 for a verification that ran, whatever its outcome: read `headline` and "
        "the per-step results. A genuine credential whose registration was suspended or "
        "revoked after issue reads `not_valid_now`; an unreachable status reads "
        "`status_unknown` (never 'not revoked')."
    ),
    responses={200: {"content": {"application/json": {"example": VERIFY_EXAMPLE}}}},
)
def verify(payload: VerifyIn, services: ServicesDep) -> dict[str, Any]:
    outcome = evaluate(
        payload.credential,
        trust=services.trust_or_error(),
        at=services.clock.now(),
        own_issuer=services.settings.issuer,
        live_status=services.live_status,
        business=services.registry.business_time,
    )
    return outcome.as_dict()


class LookupOut(BaseModel):
    number: str = Field(examples=["SIE-44-2026-0000017"])
    masked_name: str | None = Field(examples=["张*三"])
    scheme: str = Field(examples=["SIE"])
    status: str = Field(examples=["active"])
    permitted_to_practise: bool
    status_reason: str | None = Field(examples=["approved"])
    status_since: str | None = Field(examples=["2026-03-05T09:00:00+00:00"])
    valid_until: str | None = Field(examples=["2028-03-05"])
    issuer: str = Field(examples=["CN-44-REG"])
    issuer_region: str = Field(examples=["44"])
    checked_at: str


@router.get(
    "/api/v1/lookup/{number}",
    response_model=LookupOut,
    summary="Look up a registration by number (public fields only)",
    responses={404: {"model": ErrorBody, "description": "Unknown or malformed number"}},
)
def lookup(
    number: Annotated[
        str,
        Path(
            min_length=5,
            max_length=40,
            examples=["SIE-44-2026-0000017"],
            description="Registration number, e.g. SIE-44-2026-0000017",
        ),
    ],
    services: ServicesDep,
) -> LookupOut:
    number = number.strip().upper()
    if not is_well_formed(number):
        raise ApiError(
            404,
            "registration_number.malformed",
            "not a well-formed registration number (check character mismatch?)",
        )
    live = services.live_status(number)
    if live is None:
        raise ApiError(404, "registration.not_found", "no registration with this number")
    return LookupOut(
        number=live.number,
        masked_name=live.masked_name,
        scheme=live.scheme,
        status=live.status,
        permitted_to_practise=live.permitted_to_practise,
        status_reason=live.reason,
        status_since=live.since.isoformat() if live.since else None,
        valid_until=live.valid_until.isoformat() if live.valid_until else None,
        issuer=live.issuer,
        issuer_region=live.number.split("-")[1],
        checked_at=services.clock.now().isoformat(),
    )


JWKS_EXAMPLE = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "q1b3gGmzUhc",
            "alg": "EdDSA",
            "use": "sig",
            "purpose": "credential",
            "not_before": "2026-01-05T08:00:00+00:00",
            "not_after": None,
        }
    ]
}


@router.get(
    "/.well-known/jwks.json",
    summary="The registry's public signing keys (JWKS) with their signing windows",
    description=(
        "Every key the registry ever signed with, with `purpose` (`credential` or "
        "`trust-list`) and its signing window: `not_before`, `not_after` (ISO-8601, null = "
        "open) and, for a revoked key, `revoked_at` and `revocation_reason`. A credential "
        "whose `iat` lies outside its key's window, or at/after the key's revocation, is not "
        "genuine."
    ),
    responses={
        200: {"content": {"application/json": {"example": JWKS_EXAMPLE}}},
        503: {"model": ErrorBody, "description": "No keys configured"},
    },
)
def jwks(services: ServicesDep) -> JSONResponse:
    try:
        document = services.jwks()
    except Exception:
        raise ApiError(503, "keys.unavailable", "the signing keys are not available") from None
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


class TrustListOut(BaseModel):
    format: str = Field(examples=["jws-compact"])
    typ: str = Field(examples=["er-trust-list+jws"])
    jws: str = Field(
        description="Compact JWS, signed by the registry's trust-list key (the key with "
        '`"purpose": "trust-list"` in /.well-known/jwks.json), which signs no credentials.'
    )
    payload: dict[str, Any]


@router.get(
    "/.well-known/trust-list.json",
    response_model=TrustListOut,
    summary="The signed trust list (issuers and keys this registry recognises)",
    responses={503: {"model": ErrorBody, "description": "No keys configured"}},
)
def trust_list(services: ServicesDep) -> JSONResponse:
    now = services.clock.now()
    try:
        jws = own_trust_list(
            services.keys,
            issuer=services.settings.issuer,
            region=services.settings.issuer_region,
            name=f"Engineer registry {services.settings.issuer}",
            issued_at=now,
            valid_until=now + TRUST_LIST_VALIDITY,
        )
    except Exception:
        raise ApiError(503, "keys.unavailable", "the signing keys are not available") from None
    body = jws.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return JSONResponse(
        {"format": "jws-compact", "typ": "er-trust-list+jws", "jws": jws, "payload": payload},
        headers={"Cache-Control": "public, max-age=300"},
    )
