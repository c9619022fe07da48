"""The public verification page a phone camera opens from the certificate's QR code.

Server-rendered (no JavaScript needed), Chinese or English, one glance: genuine or not,
live status in colour and words, and each verification step on its own. A garbled or
forged credential gets a clear "not genuine" page with status 200 — never a 500.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from domain.numbering import is_well_formed
from registry.application.bulk_check import verify_report
from registry.application.bulk_reports import load_report, report_sha256
from registry.credentials import URL_PARAM as PARAM
from registry.credentials import URL_PATH as PATH
from verify_api.deps import ServicesDep, rate_limited
from verify_api.i18n import choose_language, reason_text, status_text, translator
from verify_api.services import Services
from verify_api.verification import (
    LiveStatus,
    Outcome,
    StatusUnavailable,
    evaluate,
    last_valid_day,
)

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
router = APIRouter(
    tags=["pages"],
    dependencies=[Depends(rate_limited())],
    responses={
        429: {
            "description": "Rate limit exceeded (JSON error body).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    },
)

# Pages accept any input and answer in HTML: nothing here returns a JSON 422.
LangQuery = Annotated[str | None, Query(description="zh or en (else Accept-Language)")]
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "An HTML page."}
}
_TONE = {
    "valid": "good",
    "lookup_active": "good",
    "not_valid_now": "bad",
    "not_genuine": "bad",
    "expired": "bad",
    "unreadable": "warn",
    "not_found": "bad",
    "lookup_not_active": "bad",
    "status_unknown": "warn",
    "unavailable": "warn",
}
_MARK = {"good": "✓", "bad": "✗", "warn": "?"}


def _render(request: Request, services: Services, lang: str, **context: Any) -> HTMLResponse:
    t = translator(lang)
    other = "en" if lang == "zh" else "zh"
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    params["lang"] = other
    headline = context.get("headline", "")
    tone = _TONE.get(headline, "warn")
    live: LiveStatus | None = context.get("live")
    scheme_name = ""
    if live is not None:
        try:
            policy = services.registry.policy(live.scheme)
            scheme_name = policy.name_zh if lang == "zh" else policy.name_en
        except Exception:
            scheme_name = live.scheme
    business = services.registry.business_time
    credential: dict[str, Any] | None = context.get("credential")
    credential_until = "—"
    if credential and credential.get("expires_at"):
        expires_at = datetime.fromisoformat(str(credential["expires_at"]))
        credential_until = last_valid_day(expires_at, business).isoformat()
    response = templates.TemplateResponse(
        request,
        "verify.html",
        {
            "t": t,
            "status_text": lambda code: status_text(code, lang),
            "reason_text": lambda code: reason_text(code, lang),
            "lang": lang,
            "other_lang": other,
            "switch_url": f"{request.url.path}?{urlencode(params)}",
            "tone": tone,
            "mark": _MARK[tone],
            "scheme_name": scheme_name,
            "mode": "result",
            "steps": (),
            "notes": (),
            "credential": None,
            "live": None,
            "explain": headline,
            "expired_on": None,
            # a person reads local time with its zone, and local calendar days (SPEC §12)
            "checked_at": business.show(services.clock.now()),
            "local_day": lambda at: business.day(at).isoformat() if at else "—",
            "local_time": lambda at: business.show(at) if at else "—",
            "credential_until": credential_until,
            **context,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = "zh-CN" if lang == "zh" else "en"
    response.headers["Vary"] = "Accept-Language"
    return response


@router.get(
    "/", response_class=HTMLResponse, summary="Home: scan hint and number lookup", responses=_HTML
)
def home(request: Request, services: ServicesDep, lang: LangQuery = None) -> HTMLResponse:
    chosen = choose_language(lang, request.headers.get("accept-language"))
    return _render(request, services, chosen, mode="home")


@router.get(
    PATH,
    response_class=HTMLResponse,
    summary="Verification page the QR code opens",
    description="`c` carries the credential, percent-encoded (see `credential_url`).",
    responses=_HTML,
)
def verify_page(
    request: Request,
    services: ServicesDep,
    c: Annotated[str | None, Query(alias=PARAM, description="The credential")] = None,
    lang: LangQuery = None,
) -> HTMLResponse:
    chosen = choose_language(lang, request.headers.get("accept-language"))
    if not c:
        return _render(request, services, chosen, mode="home")
    outcome: Outcome = evaluate(
        c,
        trust=services.trust_or_error(),
        at=services.clock.now(),
        own_issuer=services.settings.issuer,
        live_status=services.live_status,
        business=services.registry.business_time,
    )
    return _render(
        request,
        services,
        chosen,
        headline=outcome.headline,
        live=outcome.live,
        credential=outcome.credential,
        steps=outcome.steps,
        notes=outcome.notes,
        expired_on=outcome.expired_on,
    )


@router.get(
    "/lookup", response_class=HTMLResponse, summary="Look up a number (HTML)", responses=_HTML
)
def lookup_page(
    request: Request,
    services: ServicesDep,
    number: Annotated[str, Query(description="Registration number")] = "",
    lang: LangQuery = None,
) -> HTMLResponse:
    chosen = choose_language(lang, request.headers.get("accept-language"))
    number = number.strip().upper()[:64]
    if not number:
        return _render(request, services, chosen, mode="home")
    if not is_well_formed(number):
        return _render(request, services, chosen, headline="not_found")
    try:
        live = services.live_status(number)
    except StatusUnavailable:
        return _render(request, services, chosen, headline="status_unknown")
    if live is None:
        return _render(request, services, chosen, headline="not_found")
    headline = "lookup_active" if live.permitted_to_practise else "lookup_not_active"
    return _render(request, services, chosen, headline=headline, live=live)


@router.get(
    "/bulk-check/{report_id}/verify",
    response_class=HTMLResponse,
    summary="Public page: is this stored bulk check report genuine?",
    responses=_HTML,
)
def bulk_report_page(report_id: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """Where the QR on a bulk report PDF leads: the registry's stored copy, its signature
    checked now, with the id and hash to compare against the paper."""
    try:
        report = load_report(services.bulk_reports, str(uuid.UUID(report_id)))
    except ValueError:
        report = None
    if report is None:
        outcome, code, tone = "not_found", "bulk.report_not_found", "bad"
    else:
        check = verify_report(services.keys, report)
        outcome, code = ("genuine" if check.valid else "not_genuine"), check.code
        tone = "good" if check.valid else "bad"
    response = templates.TemplateResponse(
        request,
        "bulk_verify.html",
        {
            "outcome": outcome,
            "code": code,
            "tone": tone,
            "mark": _MARK[tone],
            "report": report,
            "sha256": report_sha256(report) if report is not None else None,
        },
        status_code=200 if report is not None else 404,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
