"""Signed registration credentials: issue, publish keys, encode as QR/PDF, verify offline.

Credential = CWT claims (RFC 8392) in COSE_Sign1 (RFC 9052), zlib, Base45 (RFC 9285), with the
context prefix ``ER1:``. This module is the package's whole public surface (as
`sigstore.verify` is over its internals): everything else in the registry imports from here,
never from `registry.credentials._internal`, which import-linter enforces.
"""

from __future__ import annotations

from registry.credentials._internal.algorithms import Algorithm, UnsupportedAlgorithm
from registry.credentials._internal.algorithms import sign as sign_bytes
from registry.credentials._internal.algorithms import verify as verify_signature
from registry.credentials._internal.claims import ClaimsError, CredentialClaims, mask_name
from registry.credentials._internal.encoding import PREFIX
from registry.credentials._internal.issue import issue_credential
from registry.credentials._internal.jwk import (
    JwkError,
    b64url_decode,
    b64url_encode,
    jwk_to_public_key,
    parse_jwks,
)
from registry.credentials._internal.keys import (
    RevocationReason,
    SigningKey,
    kid_for_certificate,
    kid_for_public_key,
)
from registry.credentials._internal.keystore import KeyInfo, KeyStore, KeyStoreError
from registry.credentials._internal.pdf import CertificateDetails, certificate_pdf, cjk_font
from registry.credentials._internal.policy import AllOf, AnyOf, Check, issuer_in, region_in
from registry.credentials._internal.qr import (
    QrDecodeError,
    QrInfo,
    credential_qr_png,
    credential_qr_svg,
    decode_qr,
    qr_info,
    qr_png,
    qr_svg,
)
from registry.credentials._internal.result import Status, Step, StepResult, VerificationResult
from registry.credentials._internal.trustlist import (
    IssuerEntry,
    TrustList,
    TrustListError,
    load_trust_list,
    own_trust_list,
    sign_trust_list,
)
from registry.credentials._internal.truststore import TrustedKey, TrustStore, TrustStoreError
from registry.credentials._internal.url import PARAM as URL_PARAM
from registry.credentials._internal.url import PATH as URL_PATH
from registry.credentials._internal.url import (
    CredentialUrlError,
    credential_from_url,
    credential_url,
)
from registry.credentials._internal.verifier import (
    DEFAULT_PREFIXES,
    verify_credential,
    verify_image,
)

__all__ = [
    "DEFAULT_PREFIXES",
    "PREFIX",
    "URL_PARAM",
    "URL_PATH",
    "Algorithm",
    "AllOf",
    "AnyOf",
    "CertificateDetails",
    "Check",
    "ClaimsError",
    "CredentialClaims",
    "CredentialUrlError",
    "IssuerEntry",
    "JwkError",
    "KeyInfo",
    "KeyStore",
    "KeyStoreError",
    "QrDecodeError",
    "QrInfo",
    "RevocationReason",
    "SigningKey",
    "Status",
    "Step",
    "StepResult",
    "TrustList",
    "TrustListError",
    "TrustStore",
    "TrustStoreError",
    "TrustedKey",
    "UnsupportedAlgorithm",
    "VerificationResult",
    "b64url_decode",
    "b64url_encode",
    "certificate_pdf",
    "cjk_font",
    "credential_from_url",
    "credential_qr_png",
    "credential_qr_svg",
    "credential_url",
    "decode_qr",
    "issue_credential",
    "issuer_in",
    "jwk_to_public_key",
    "kid_for_certificate",
    "kid_for_public_key",
    "load_trust_list",
    "mask_name",
    "own_trust_list",
    "parse_jwks",
    "qr_info",
    "qr_png",
    "qr_svg",
    "region_in",
    "sign_bytes",
    "sign_trust_list",
    "verify_credential",
    "verify_image",
    "verify_signature",
]
