"""Signed registration credentials: issue, publish keys, encode as QR/PDF, verify offline.

Credential = CWT claims (RFC 8392) in COSE_Sign1 (RFC 9052), zlib, Base45 (RFC 9285), with the
context prefix ``ER1:``. See `claims` for claim keys, `keys` for kids, `url` for the
verification URL shape and `trustlist` for the signed trust-list format.
"""

from __future__ import annotations

from registry.credentials.algorithms import Algorithm
from registry.credentials.claims import ClaimsError, CredentialClaims, mask_name
from registry.credentials.encoding import PREFIX
from registry.credentials.issue import issue_credential
from registry.credentials.keys import SigningKey, kid_for_certificate, kid_for_public_key
from registry.credentials.keystore import KeyInfo, KeyStore, KeyStoreError
from registry.credentials.pdf import CertificateDetails, certificate_pdf
from registry.credentials.policy import AllOf, AnyOf, Check, issuer_in, region_in
from registry.credentials.qr import (
    QrDecodeError,
    QrInfo,
    credential_qr_png,
    credential_qr_svg,
    decode_qr,
    qr_info,
    qr_png,
    qr_svg,
)
from registry.credentials.result import Status, Step, StepResult, VerificationResult
from registry.credentials.trustlist import (
    IssuerEntry,
    TrustList,
    TrustListError,
    load_trust_list,
    sign_trust_list,
)
from registry.credentials.truststore import TrustedKey, TrustStore, TrustStoreError
from registry.credentials.url import CredentialUrlError, credential_from_url, credential_url
from registry.credentials.verifier import verify_credential, verify_image

__all__ = [
    "PREFIX",
    "Algorithm",
    "AllOf",
    "AnyOf",
    "CertificateDetails",
    "Check",
    "ClaimsError",
    "CredentialClaims",
    "CredentialUrlError",
    "IssuerEntry",
    "KeyInfo",
    "KeyStore",
    "KeyStoreError",
    "QrDecodeError",
    "QrInfo",
    "SigningKey",
    "Status",
    "Step",
    "StepResult",
    "TrustList",
    "TrustListError",
    "TrustStore",
    "TrustStoreError",
    "TrustedKey",
    "VerificationResult",
    "certificate_pdf",
    "credential_from_url",
    "credential_qr_png",
    "credential_qr_svg",
    "credential_url",
    "decode_qr",
    "issue_credential",
    "issuer_in",
    "kid_for_certificate",
    "kid_for_public_key",
    "load_trust_list",
    "mask_name",
    "qr_info",
    "qr_png",
    "qr_svg",
    "region_in",
    "sign_trust_list",
    "verify_credential",
    "verify_image",
]
