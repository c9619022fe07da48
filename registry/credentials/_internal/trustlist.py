"""The signed trust list: which issuers (regions) and keys a verifier should accept.

Serialization: a JWS in compact form (RFC 7515 §7.1), ``header.payload.signature``, each
part unpadded base64url. Header: ``{"alg": "EdDSA"|"ES256", "kid": <b64url kid>,
"typ": "er-trust-list+jws"}``. Payload (UTF-8 JSON)::

    {"type": "er-trust-list", "version": 1,
     "list_issuer": "CN-44-REG", "issued_at": ISO-8601, "valid_until": ISO-8601 | null,
     "issuers": [{"id": "CN-44-REG", "region": "44", "name": "...",
                  "valid_from": ISO-8601 | null, "valid_until": ISO-8601 | null,
                  "keys": [JWK, ...]}, ...]}

A registry lists its own keys and the keys of the other regions it recognises
(cross-region mutual recognition); each key's JWK carries its purpose and signing window
(see `jwk`). The list is signed by the registry's dedicated trust-list key, which signs no
credentials (SPEC §12), and a verifier checks it against that signer's public key (or
JWKS) before trusting any entry: a key published for credentials cannot sign a trust list,
nor can a key outside its own signing window at the list's ``issued_at``.
JWS was chosen over COSE here because a trust list is fetched and read by people and by
web tooling, not squeezed into a QR code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from registry.credentials._internal import algorithms
from registry.credentials._internal.algorithms import Algorithm, PublicKey
from registry.credentials._internal.jwk import (
    JwkError,
    b64url_decode,
    b64url_encode,
    entry_to_jwk,
    jwk_to_public_key,
)
from registry.credentials._internal.keys import KeyPurpose, SigningKey, purpose_of, window_of
from registry.credentials._internal.keystore import KeyStore
from registry.credentials._internal.truststore import TrustedKey, TrustStore

JWS_TYPE = "er-trust-list+jws"
PAYLOAD_TYPE = "er-trust-list"


class TrustListError(ValueError):
    """A trust list that is malformed, unsigned by a trusted signer, or out of date."""


@dataclass(frozen=True)
class IssuerEntry:
    """One recognised issuer (a region's registry) and its verification keys."""

    issuer_id: str
    region: str
    keys: tuple[tuple[bytes, PublicKey], ...] = field(repr=False)
    name: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.issuer_id,
            "region": self.region,
            "name": self.name,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "keys": [entry_to_jwk(entry) for entry in self.keys],
        }


@dataclass(frozen=True)
class TrustList:
    """A verified trust list."""

    list_issuer: str
    issued_at: datetime
    valid_until: datetime | None
    issuers: tuple[IssuerEntry, ...]
    signer_kid: bytes

    def trust_store(self) -> TrustStore:
        """Keys of every listed issuer, each bound to its issuer id, region and validity."""
        return TrustStore(
            TrustedKey(
                key[0],
                key[1],
                issuer=entry.issuer_id,
                region=entry.region,
                not_before=entry.valid_from,
                not_after=entry.valid_until,
                source=f"trust-list:{self.list_issuer}",
                window=window_of(key),
            )
            for entry in self.issuers
            for key in entry.keys
            if purpose_of(key) is not KeyPurpose.TRUST_LIST
        )


def sign_trust_list(
    issuers: Iterable[IssuerEntry],
    signer: SigningKey,
    *,
    list_issuer: str,
    issued_at: datetime,
    valid_until: datetime | None = None,
) -> str:
    """Compact JWS over the trust-list JSON, signed by ``signer``."""
    payload = {
        "type": PAYLOAD_TYPE,
        "version": 1,
        "list_issuer": list_issuer,
        "issued_at": issued_at.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else None,
        "issuers": [entry.to_json() for entry in issuers],
    }
    header = {"alg": signer.alg.jose_name, "kid": b64url_encode(signer.kid), "typ": JWS_TYPE}
    signing_input = (
        b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))
        + "."
        + b64url_encode(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        )
    )
    signature = algorithms.sign(signer.private_key, signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def _time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TrustListError(f"{what} must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TrustListError(f"{what} is not ISO-8601: {value!r}") from None
    if moment.tzinfo is None:
        raise TrustListError(f"{what} must carry a time zone")
    return moment


def load_trust_list(
    jws: str, signer_keys: Iterable[tuple[bytes, PublicKey]], *, at: datetime | None = None
) -> TrustList:
    """Verify the JWS against ``signer_keys`` and parse it; `TrustListError` otherwise.

    With ``at``, a list whose ``valid_until`` has passed is refused (stale lists could
    still name a region whose recognition was withdrawn).
    """
    parts = jws.strip().split(".")
    if len(parts) != 3:
        raise TrustListError("not a compact JWS (expected header.payload.signature)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, JwkError) as exc:
        raise TrustListError(f"malformed JWS: {exc}") from None
    if not isinstance(header, dict) or header.get("typ") != JWS_TYPE:
        raise TrustListError(f"JWS header typ must be {JWS_TYPE!r}")
    try:
        alg = Algorithm.from_jose_name(str(header.get("alg")))
        kid = b64url_decode(str(header.get("kid", "")))
    except (ValueError, JwkError) as exc:
        raise TrustListError(f"bad JWS header: {exc}") from None
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    candidates = [entry for entry in signer_keys if entry[0] == kid]
    if not candidates:
        raise TrustListError(f"trust list signed by unknown key {header.get('kid')!r}")
    candidates = [e for e in candidates if purpose_of(e) is not KeyPurpose.CREDENTIAL]
    if not candidates:
        raise TrustListError("trust list signed by a credential key, not a trust-list key")
    try:
        signer = next(
            (e for e in candidates if algorithms.verify(e[1], alg, signature, signing_input)),
            None,
        )
    except algorithms.UnsupportedAlgorithm as exc:
        raise TrustListError(str(exc)) from None
    if signer is None:
        raise TrustListError("trust list signature is invalid")
    trust_list = _parse_payload(payload, kid, at)
    window = window_of(signer)
    refusal = window.refusal(trust_list.issued_at) if window is not None else None
    if refusal is not None:
        raise TrustListError(f"trust list signer outside its window: {refusal.detail}")
    return trust_list


def _parse_payload(payload: Any, signer_kid: bytes, at: datetime | None) -> TrustList:
    if not isinstance(payload, dict) or payload.get("type") != PAYLOAD_TYPE:
        raise TrustListError("payload is not an er-trust-list")
    if payload.get("version") != 1:
        raise TrustListError(f"unsupported trust list version {payload.get('version')!r}")
    issued_at = _time(payload.get("issued_at"), "issued_at")
    if issued_at is None:
        raise TrustListError("issued_at missing")
    valid_until = _time(payload.get("valid_until"), "valid_until")
    if at is not None and valid_until is not None and at > valid_until:
        raise TrustListError(f"trust list expired at {valid_until.isoformat()}")
    raw_issuers = payload.get("issuers")
    if not isinstance(raw_issuers, list):
        raise TrustListError("issuers must be a list")
    issuers = []
    for raw in raw_issuers:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise TrustListError("each issuer needs a string id")
        if not isinstance(raw.get("keys"), list):
            raise TrustListError(f"issuer {raw['id']}: keys must be a list")
        try:
            keys = tuple(jwk_to_public_key(jwk) for jwk in raw["keys"])
        except JwkError as exc:
            raise TrustListError(f"issuer {raw['id']}: {exc}") from None
        issuers.append(
            IssuerEntry(
                issuer_id=raw["id"],
                region=str(raw.get("region", "")),
                name=str(raw.get("name", "")),
                keys=keys,
                valid_from=_time(raw.get("valid_from"), "valid_from"),
                valid_until=_time(raw.get("valid_until"), "valid_until"),
            )
        )
    return TrustList(
        list_issuer=str(payload.get("list_issuer", "")),
        issued_at=issued_at,
        valid_until=valid_until,
        issuers=tuple(issuers),
        signer_kid=signer_kid,
    )


def own_trust_list(
    store: KeyStore,
    *,
    issuer: str,
    region: str,
    name: str,
    issued_at: datetime,
    valid_until: datetime | None,
    recognised: Iterable[IssuerEntry] = (),
) -> str:
    """This registry's signed trust list: its keys (each with purpose and signing window)
    and any recognised issuers, signed by the store's dedicated trust-list key, which the
    list names among its own keys so that the list also verifies on its own."""
    if not store.public_keys():
        raise TrustListError("no credential keys to list; run `registry keys generate`")
    signer = store.trust_list_signer()
    own = IssuerEntry(
        issuer_id=issuer, region=region, name=name, keys=tuple(store.published_keys())
    )
    return sign_trust_list(
        [own, *recognised],
        signer,
        list_issuer=issuer,
        issued_at=issued_at,
        valid_until=valid_until,
    )
