"""Offline verification: the public `verify_credential` over a private step pipeline.

Steps run in order (see `result.Step`); the first INVALID one stops the pipeline and every
later step is reported NOT_CHECKED. Nothing here touches the network or the registry's
live state: online status is the HTTP service's job, on top of this result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from registry.credentials._internal import algorithms
from registry.credentials._internal.claims import (
    CLAIM_IAT,
    CLAIM_ISS,
    ClaimsError,
    CredentialClaims,
)
from registry.credentials._internal.cose import (
    CoseError,
    CriticalHeaderError,
    Sign1,
    decode_sign1,
    loads_strict,
)
from registry.credentials._internal.encoding import (
    MAX_INPUT_CHARS,
    PREFIX,
    DecompressionError,
    b45decode,
    decompress,
)
from registry.credentials._internal.policy import EXPIRY_POLICY, Check, CheckContext
from registry.credentials._internal.result import (
    STEPS,
    Status,
    Step,
    StepResult,
    VerificationResult,
)
from registry.credentials._internal.truststore import TrustedKey, TrustStore
from registry.credentials._internal.url import CredentialUrlError, credential_from_url

DEFAULT_PREFIXES: tuple[str, ...] = (PREFIX,)


class _Stop(Exception):
    """Raised by a step to fail it with a reason code."""

    def __init__(self, reason: str, detail: str, *more: str) -> None:
        super().__init__(detail)
        self.reasons = (reason, *more)
        self.detail = detail


@dataclass
class _State:
    """What earlier steps decoded, for later steps and for the result."""

    text: str
    trust: TrustStore
    at: datetime
    prefixes: Sequence[str]
    policy: Check | None
    prefix: str | None = None
    body: str = ""
    compressed: bytes = b""
    cose_bytes: bytes = b""
    sign1: Sign1 | None = None
    kid: bytes | None = None
    alg: int | None = None
    candidates: list[TrustedKey] = field(default_factory=list)
    key: TrustedKey | None = None
    claims: Mapping[Any, Any] | None = None
    credential: CredentialClaims | None = None


def _unprefix(s: _State) -> str:
    text = s.text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise _Stop("input.too_large", f"input longer than {MAX_INPUT_CHARS} characters")
    if text.lower().startswith(("http://", "https://")):
        try:
            text = credential_from_url(text)
        except CredentialUrlError as exc:
            raise _Stop("url.invalid", str(exc)) from None
    for prefix in s.prefixes:
        if text.startswith(prefix):
            s.prefix, s.body = prefix, text[len(prefix) :]
            return f"context prefix {prefix}"
    head = text.split(":", 1)[0][:8] + ":" if ":" in text[:9] else "none"
    raise _Stop("prefix.unsupported", f"prefix {head!r} not in {list(s.prefixes)}")


def _base45(s: _State) -> str:
    try:
        s.compressed = b45decode(s.body)
    except ValueError as exc:
        raise _Stop("base45.invalid", f"not Base45: {exc}") from None
    return f"{len(s.compressed)} bytes"


def _decompress(s: _State) -> str:
    try:
        s.cose_bytes = decompress(s.compressed)
    except DecompressionError as exc:
        raise _Stop("zlib.invalid", f"zlib: {exc}") from None
    return f"{len(s.cose_bytes)} bytes"


def _cose(s: _State) -> str:
    try:
        s.sign1 = decode_sign1(s.cose_bytes)
    except CriticalHeaderError as exc:
        raise _Stop("cose.crit_unsupported", str(exc)) from None
    except CoseError as exc:
        raise _Stop("cose.malformed", str(exc)) from None
    return "COSE_Sign1"


def _kid(s: _State) -> str:
    assert s.sign1 is not None
    kid = s.sign1.kid
    if kid is None:
        raise _Stop("kid.missing", "no kid in the protected or unprotected header")
    if not isinstance(kid, bytes):
        raise _Stop("cose.malformed", "kid must be a byte string")
    s.kid = kid
    found = s.trust.lookup(kid)
    if not found:
        raise _Stop("kid.unknown", f"no trusted key with kid {kid.hex()}")
    s.candidates = [key for key in found if key.valid_at(s.at)]
    if not s.candidates:
        raise _Stop("kid.not_valid_at", f"key {kid.hex()} is not trusted at {s.at.isoformat()}")
    return f"kid {kid.hex()}"


def _signature(s: _State) -> str:
    assert s.sign1 is not None
    alg = s.sign1.alg
    if not isinstance(alg, int) or isinstance(alg, bool):
        raise _Stop("signature.alg_unsupported", f"alg {alg!r} is not a supported COSE algorithm")
    s.alg = alg
    signed = s.sign1.signed_bytes()
    problems: list[str] = []
    for key in s.candidates:
        try:
            if algorithms.verify(key.public_key, alg, s.sign1.signature, signed):
                s.key = key
                return f"alg {alg}, key from {key.source}"
        except algorithms.UnsupportedAlgorithm as exc:
            problems.append(str(exc))
    if problems and len(problems) == len(s.candidates):
        raise _Stop("signature.alg_unsupported", "; ".join(problems))
    raise _Stop("signature.invalid", "signature does not verify under the trusted key")


def _cwt(s: _State) -> str:
    assert s.sign1 is not None and s.key is not None
    try:
        claims = loads_strict(s.sign1.payload)
    except CoseError as exc:
        raise _Stop("cwt.malformed", f"payload: {exc}") from None
    if not isinstance(claims, Mapping):
        raise _Stop("cwt.malformed", "CWT claims must be a map")
    s.claims = claims
    iss = claims.get(CLAIM_ISS)
    if iss is not None and not isinstance(iss, str):
        raise _Stop("cwt.malformed", "iss must be text")
    if s.key.issuer is not None and iss != s.key.issuer:
        raise _Stop("cwt.issuer_mismatch", f"iss {iss!r} but the key belongs to {s.key.issuer!r}")
    if s.prefix == PREFIX:
        try:
            s.credential = CredentialClaims.from_cwt(claims)
        except ClaimsError as exc:
            raise _Stop("cwt.malformed", str(exc)) from None
    return f"issuer {iss!r}"


def _key_window(s: _State) -> str:
    """The credential's ``iat`` lies inside its key's signing window and before any
    revocation of that key (SPEC §12). Keys whose source publishes no window (external
    JWKS, X.509 anchors) pass with a note."""
    assert s.claims is not None and s.key is not None
    window = s.key.window
    if window is None:
        return "no signing window published for this key"
    iat = s.claims.get(CLAIM_IAT)
    signed_at: datetime | None = None
    if iat is not None:
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise _Stop("cwt.malformed", "iat is not a NumericDate")
        try:
            signed_at = datetime.fromtimestamp(iat, UTC)
        except (OverflowError, OSError, ValueError):
            raise _Stop("cwt.malformed", "iat out of range") from None
    refusal = window.refusal(signed_at)
    if refusal is not None:
        raise _Stop(refusal.reason, refusal.detail)
    return f"issued {signed_at.isoformat() if signed_at else '?'} inside the key's window"


def _run_checks(s: _State, check: Check) -> str:
    assert s.claims is not None and s.key is not None
    failures = check(CheckContext(s.claims, s.at, s.key))
    if failures:
        raise _Stop(
            failures[0].reason,
            "; ".join(f.detail for f in failures),
            *(f.reason for f in failures[1:]),
        )
    return "ok"


def _expiry(s: _State) -> str:
    return _run_checks(s, EXPIRY_POLICY)


def _policy(s: _State) -> str:
    assert s.policy is not None
    return _run_checks(s, s.policy)


_PIPELINE: dict[Step, Callable[[_State], str]] = {
    Step.UNPREFIX: _unprefix,
    Step.BASE45: _base45,
    Step.DECOMPRESS: _decompress,
    Step.COSE: _cose,
    Step.KID: _kid,
    Step.SIGNATURE: _signature,
    Step.CWT: _cwt,
    Step.KEY_WINDOW: _key_window,
    Step.EXPIRY: _expiry,
    Step.POLICY: _policy,
}


def verify_credential(
    text: str,
    trust: TrustStore,
    at: datetime,
    prefixes: Iterable[str] = DEFAULT_PREFIXES,
    *,
    policy: Check | None = None,
) -> VerificationResult:
    """Verify a credential string or a verification URL carrying one, as of ``at``.

    ``policy`` adds checks (e.g. `policy.issuer_in`) reported as the "policy" step.
    Never raises for bad input: every problem is a reason code in the result.
    """
    if at.tzinfo is None:
        raise ValueError("verification time must be timezone-aware")
    state = _State(text=text, trust=trust, at=at, prefixes=tuple(prefixes), policy=policy)
    steps = [*STEPS, Step.POLICY] if policy is not None else list(STEPS)
    results: list[StepResult] = []
    failed = False
    for step in steps:
        if failed:
            results.append(StepResult(step, Status.NOT_CHECKED))
            continue
        try:
            detail = _PIPELINE[step](state)
        except _Stop as stop:
            results.append(StepResult(step, Status.INVALID, stop.reasons, stop.detail))
            failed = True
        else:
            results.append(StepResult(step, Status.VALID, (), detail))
    key = state.key
    # A key from a trust list names its issuer and region; a key from the registry's own JWKS
    # does not, so the signed claims (decoded only once the signature verified) say who.
    claimed = state.credential
    issuer = (key.issuer if key else None) or (claimed.issuer if claimed else None)
    region = (key.region if key else None) or (claimed.issuer_region if claimed else None)
    return VerificationResult(
        steps=tuple(results),
        verified_at=at,
        prefix=state.prefix,
        kid=state.kid,
        alg=state.alg,
        issuer=issuer,
        region=region,
        key_source=key.source if key else None,
        claims=state.claims,
        credential=state.credential,
        key_window=key.window if key else None,
    )


def verify_image(
    image: bytes | Path | str,
    trust: TrustStore,
    at: datetime,
    prefixes: Iterable[str] = DEFAULT_PREFIXES,
    *,
    policy: Check | None = None,
) -> VerificationResult:
    """Decode the QR code in an image (PNG/JPEG bytes or a path) and verify it.

    Raises `qr.QrDecodeError` when the image holds no readable QR code.
    """
    from registry.credentials._internal.qr import decode_qr

    return verify_credential(decode_qr(image), trust, at, prefixes, policy=policy)
