"""Bulk tender check over HTTP: JSON or CSV in; signed JSON, CSV or printable PDF out.

Public (tender officers need no account) and rate limited by rows: each request costs one
token plus one per 50 rows from the caller's per-minute bucket.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from registry.application.bulk_check import (
    MAX_ROWS,
    BulkInputError,
    CredentialCheck,
    CsvInput,
    Lookups,
    build_report,
    check_rows,
    check_tender_date,
    parse_csv_table,
    sign_report,
    verify_report,
)
from registry.application.bulk_reports import load_report, signed_csv, store_report
from registry.credentials import Status as StepStatus
from registry.credentials import Step, verify_credential
from verify_api.bulk_pdf import report_pdf
from verify_api.deps import ServicesDep, client_ip, rate_limited
from verify_api.errors import ERROR_RESPONSES, ApiError, ErrorBody
from verify_api.services import Services

router = APIRouter(
    prefix="/api/v1",
    tags=["bulk tender check"],
    dependencies=[Depends(rate_limited())],
    responses=ERROR_RESPONSES,
)

MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_ITEM_CHARS = 2048
"""A registration number or a credential (QR string or URL, about 350 characters)."""
MAX_JSON_BYTES = MAX_ROWS * (MAX_ITEM_CHARS + 8) + 64 * 1024
"""Request-body cap for JSON in: 1,000 rows of the longest item, plus the rest."""
MAX_REPORT_BYTES = MAX_ROWS * (MAX_ITEM_CHARS + 2048) + 64 * 1024
"""Request-body cap for a signed report sent back for verification (1,000 rows)."""
Format = Literal["json", "csv", "pdf"]


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Annotated[str, Field(max_length=MAX_ITEM_CHARS)]] = Field(
        description=f"Registration numbers or credentials (QR strings/URLs); at most {MAX_ROWS}.",
        examples=[["SIE-44-2026-0000017", "IET-44-2025-0000031"]],
    )
    as_of: date = Field(description="The tender date.", examples=["2026-04-01"])
    bidding_employer_id: str | None = Field(
        default=None,
        max_length=100,
        description="Also confirm each engineer was registered to this employer on as_of.",
        examples=["emp-91440300"],
    )
    allow_future: bool = Field(
        default=False,
        description="Check a tender date after today (else 422 `bulk.tender_date_in_future`).",
    )


BULK_EXAMPLE = {
    "report_id": "4b0f2f9e-2a65-4b53-9a43-3b3a1d1f0c55",
    "type": "bulk_tender_check",
    "issuer": "CN-44-REG",
    "checked_at": "2026-05-01T08:00:00+00:00",
    "as_of": "2026-04-01",
    "bidding_employer_id": "emp-91440300",
    "summary": {"rows": 1, "pass": 1, "fail": 0, "could_not_check": 0},
    "rows": [
        {
            "index": 0,
            "input": "SIE-44-2026-0000017",
            "kind": "number",
            "number": "SIE-44-2026-0000017",
            "found": True,
            "scheme": "SIE",
            "masked_name": "张*三",
            "status_on_date": "active",
            "permitted_on_date": True,
            "reason_on_date": "approved",
            "since_on_date": "2026-03-05T09:00:00+00:00",
            "valid_until_on_date": "2028-03-05",
            "employer_on_date": "emp-91440300",
            "registered_to_bidding_employer": True,
            "status_now": "active",
            "permitted_now": True,
            "reason_now": "approved",
            "since_now": "2026-03-05T09:00:00+00:00",
            "credential_genuine": None,
            "credential_reason": None,
            "verdict": "pass",
            "problems": [],
        }
    ],
    "signature": {"alg": "EdDSA", "kid": "q1b3gGmzUhc", "jws": "eyJhbGciOiJFZERTQSJ9..sig"},
}
_OUTPUTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed report (JSON), or CSV / PDF when `format` asks for it.",
        "content": {
            "application/json": {"example": BULK_EXAMPLE},
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    413: {"model": ErrorBody, "description": "More than 1,000 rows (`bulk.too_many_rows`)."},
    503: {"model": ErrorBody, "description": "Signing key unavailable (`keys.unavailable`)."},
}
FormatQuery = Annotated[Format, Query(description="json (default), csv or pdf")]


def _lookups(services: Services) -> Lookups:
    trust = services.trust_or_error()
    now = services.clock.now()

    def check_credential(text: str) -> CredentialCheck:
        if isinstance(trust, Exception):
            return CredentialCheck(None, None, "keys.unavailable")
        result = verify_credential(text, trust, now)
        failure = result.first_failure
        if failure is not None and failure.step is not Step.EXPIRY:
            return CredentialCheck(False, None, failure.reason)
        if result.credential is None or result.step(Step.SIGNATURE).status is not StepStatus.VALID:
            return CredentialCheck(False, None, "cwt.malformed")
        if result.credential.issuer != services.settings.issuer:
            return CredentialCheck(True, None, "status.other_issuer")
        return CredentialCheck(True, result.credential.registration_number, None)

    services.refresh()
    return Lookups(
        status_as_of=services.projections.status_as_of,
        current=lambda number: services.projections.by_number(number),
        check_credential=check_credential,
    )


def _run(
    services: Services,
    request: Request,
    items: list[str],
    as_of: date,
    employer: str | None,
    fmt: Format,
    *,
    allow_future: bool = False,
    table: CsvInput | None = None,
) -> Response:
    if len(items) > MAX_ROWS:
        raise ApiError(
            413, "bulk.too_many_rows", f"at most {MAX_ROWS} rows per request, got {len(items)}"
        )
    try:
        today = services.registry.business_time.today(services.clock.now())
        check_tender_date(as_of, today, allow_future=allow_future)
    except BulkInputError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    wait = services.limiter.take(client_ip(request), len(items) / 50)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many rows checked from this address",
            headers={"Retry-After": services.limiter.retry_after(wait)},
        )
    employer = employer.strip() if employer and employer.strip() else None
    try:
        extras = table.extras if table is not None else None
        rows = check_rows(items, as_of, employer, _lookups(services), extras)
    except BulkInputError as exc:
        raise ApiError(
            413 if exc.code == "bulk.too_many_rows" else 422, exc.code, exc.message
        ) from None
    report = build_report(
        rows,
        as_of=as_of,
        bidding_employer_id=employer,
        issuer=services.settings.issuer,
        checked_at=services.clock.now(),
        timezone=services.registry.business_time.timezone,
        input_encoding=table.encoding if table is not None else None,
        extra_columns=table.extra_columns if table is not None else (),
    )
    try:
        signed = sign_report(services.keys, report)
    except Exception:
        raise ApiError(503, "keys.unavailable", "the signing key is not available") from None
    try:
        store_report(services.bulk_reports, signed)
    except Exception:
        raise ApiError(
            503, "store.unavailable", "the report could not be stored; try again"
        ) from None
    return _render(services, signed, fmt)


def _render(services: Services, signed: dict[str, Any], fmt: Format) -> Response:
    """A signed report in the asked form; the same for a new report and a stored one."""
    report_id = str(signed["report_id"])
    name = f"bulk-check-{signed['as_of']}-{report_id[:8]}"
    headers = {"Registry-Report-Id": report_id}
    if fmt == "csv":
        body, jws = signed_csv(services.keys, signed)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                **headers,
                "Content-Disposition": f'attachment; filename="{name}.csv"',
                "Registry-Signature": jws,
            },
        )
    if fmt == "pdf":
        base = services.settings.public_base_url.rstrip("/")
        pdf = report_pdf(
            signed, f"{base}/api/v1/bulk-check/verify", f"{base}/bulk-check/{report_id}/verify"
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={**headers, "Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return JSONResponse(signed, headers=headers)


def _negotiate(request: Request, fmt: Format | None) -> Format:
    if fmt is not None:
        return fmt
    accept = request.headers.get("accept", "").lower()
    for media, chosen in (("text/csv", "csv"), ("application/pdf", "pdf")):
        if media in accept:
            return cast(Format, chosen)
    return "json"


@router.get(
    "/bulk-check/{report_id}",
    summary="A stored bulk check report by id: signed JSON, CSV or PDF",
    description=(
        "Every report made by /api/v1/bulk-check is kept (append-only) under its "
        "`report_id`. JSON is the signed report; CSV ends with a signed manifest "
        "(`# signature: <JWS>` over every byte before that line); the PDF embeds the signed "
        "JSON and states its id and SHA-256. `?format=` wins over the Accept header."
    ),
    responses={
        **_OUTPUTS,
        404: {"model": ErrorBody, "description": "No report with this id."},
    },
)
def get_bulk_report(
    report_id: str,
    request: Request,
    services: ServicesDep,
    format: Annotated[Format | None, Query(description="json, csv or pdf")] = None,
) -> Response:
    report = _stored(services, report_id)
    if report is None:
        raise ApiError(404, "bulk.report_not_found", "no bulk check report with this id")
    return _render(services, report, _negotiate(request, format))


def _stored(services: Services, report_id: str) -> dict[str, Any] | None:
    try:
        canonical = str(uuid.UUID(report_id))
    except ValueError:
        return None
    return load_report(services.bulk_reports, canonical)


@router.post(
    "/bulk-check",
    summary="Check up to 1,000 registrations as of a tender date (JSON in)",
    description=(
        "Each row: status on `as_of` and now, employer match on `as_of` when "
        "`bidding_employer_id` is given, and credential authenticity for QR strings. The JSON "
        "report carries a detached JWS (RFC 7515 App. F) over its canonical JSON (sorted keys, "
        "no whitespace, UTF-8, without `signature`), signed by a key in "
        "/.well-known/jwks.json; POST it to /api/v1/bulk-check/verify to check it. CSV output "
        "carries a detached JWS over its bytes in the `Registry-Signature` header."
    ),
    responses=_OUTPUTS,
)
def bulk_check(
    payload: BulkIn, request: Request, services: ServicesDep, format: FormatQuery = "json"
) -> Response:
    return _run(
        services,
        request,
        payload.items,
        payload.as_of,
        payload.bidding_employer_id,
        format,
        allow_future=payload.allow_future,
    )


@router.post(
    "/bulk-check/csv",
    summary="Check up to 1,000 registrations as of a tender date (CSV upload)",
    description=(
        "Upload a CSV (UTF-8 with or without BOM, or GBK/GB18030 as Chinese Excel saves it): "
        "one registration number or credential per row (first column, or a column named "
        "`number` / `credential`). Your other columns are kept in each row's `extra` and in "
        "the CSV output; the detected encoding is in `input_encoding`. A tender date after "
        "today is refused (422 `bulk.tender_date_in_future`) unless `allow_future` is true. "
        "Same outputs as /api/v1/bulk-check."
    ),
    responses=_OUTPUTS,
)
async def bulk_check_csv(
    request: Request,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="CSV file, at most 2 MB")],
    as_of: Annotated[date, Form(description="The tender date", examples=["2026-04-01"])],
    bidding_employer_id: Annotated[str | None, Form(max_length=100)] = None,
    allow_future: Annotated[
        bool, Form(description="Check a tender date after today (else 422).")
    ] = False,
    format: FormatQuery = "json",
) -> Response:
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ApiError(
            413, "bulk.file_too_large", f"the CSV file is limited to {MAX_CSV_BYTES} bytes"
        )
    try:
        table = parse_csv_table(data)
    except BulkInputError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    return await run_in_threadpool(
        partial(
            _run,
            services,
            request,
            table.items,
            as_of,
            bidding_employer_id,
            format,
            allow_future=allow_future,
            table=table,
        )
    )


class SignatureOut(BaseModel):
    valid: bool
    code: str = Field(examples=["signature.valid"])
    kid: str | None = None
    alg: str | None = None


@router.post(
    "/bulk-check/verify",
    response_model=SignatureOut,
    summary="Verify a signed bulk check report (as returned by /api/v1/bulk-check)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "valid": True,
                        "code": "signature.valid",
                        "kid": "q1b3gGmzUhc",
                        "alg": "EdDSA",
                    }
                }
            }
        }
    },
)
def verify_bulk_report(
    report: Annotated[dict[str, Any], Body(examples=[BULK_EXAMPLE])],
    services: ServicesDep,
) -> SignatureOut:
    check = verify_report(services.keys, report)
    return SignatureOut(valid=check.valid, code=check.code, kid=check.kid, alg=check.alg)
