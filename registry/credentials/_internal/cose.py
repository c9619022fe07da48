"""COSE_Sign1 (RFC 9052 §4.2) built directly on cbor2 + cryptography.

pycose 1.1.0 cannot decode its own output with cbor2 >= 6, and we need only Sign1, so the
Sig_structure (§4.4) is assembled here: ``["Signature1", protected, external_aad, payload]``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2

from registry.credentials._internal import algorithms
from registry.credentials._internal.keys import SigningKey

HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_CONTENT_TYPE = 3
HEADER_KID = 4
HEADER_IV = 5
HEADER_PARTIAL_IV = 6
# Labels a `crit` list may name: those RFC 9052 §3.1 defines, which every implementation
# understands. Any other critical label is one this verifier would ignore, so the message
# must be rejected (RFC 9052 §3.1, "crit").
UNDERSTOOD_CRITICAL = frozenset(
    {HEADER_ALG, HEADER_CRIT, HEADER_CONTENT_TYPE, HEADER_KID, HEADER_IV, HEADER_PARTIAL_IV}
)
TAG_SIGN1 = 18
TAG_CWT = 61


class CoseError(ValueError):
    """Bytes that are not a well-formed COSE_Sign1."""


class CriticalHeaderError(CoseError):
    """A `crit` header naming a parameter this verifier does not understand (or malformed)."""


def loads_strict(data: bytes) -> Any:
    """Decode exactly one CBOR item; trailing bytes are an error (cbor2.loads ignores them)."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, EOFError) as exc:
        raise CoseError(f"not CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise CoseError(f"{len(data) - stream.tell()} trailing bytes after the CBOR item")
    return item


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The bytes that are signed (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def sign1(payload: bytes, key: SigningKey, *, tagged: bool = True) -> bytes:
    """A COSE_Sign1 with alg and kid in the protected header."""
    protected = cbor2.dumps({HEADER_ALG: int(key.alg), HEADER_KID: key.kid}, canonical=True)
    signature = algorithms.sign(key.private_key, sig_structure(protected, payload))
    body = [protected, {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, body) if tagged else body)


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1; the signature is not checked yet."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    def header(self, label: int) -> Any:
        """Protected header first, then unprotected (DCC allows kid in either)."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    @property
    def kid(self) -> Any:
        return self.header(HEADER_KID)

    @property
    def alg(self) -> Any:
        return self.header(HEADER_ALG)

    def signed_bytes(self) -> bytes:
        return sig_structure(self.protected_bytes, self.payload)


def decode_sign1(data: bytes) -> Sign1:
    """Parse COSE_Sign1, with or without tag 18, optionally inside CWT tag 61."""
    item = loads_strict(data)
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_SIGN1:
            raise CoseError(f"unexpected CBOR tag {item.tag} (want 18, COSE_Sign1)")
        item = item.value
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise CoseError("COSE_Sign1 must be an array of 4 items")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes):
        raise CoseError("protected header must be a byte string")
    if not isinstance(unprotected, Mapping):
        raise CoseError("unprotected header must be a map")
    if not isinstance(payload, bytes):
        raise CoseError("payload must be a byte string (detached payloads are not supported)")
    if not isinstance(signature, bytes):
        raise CoseError("signature must be a byte string")
    protected: Mapping[Any, Any] = {}
    if protected_bytes:
        decoded = loads_strict(protected_bytes)
        if not isinstance(decoded, Mapping):
            raise CoseError("protected header must encode a map")
        protected = decoded
    _check_critical(protected, unprotected)
    return Sign1(protected_bytes, protected, unprotected, payload, signature)


def _check_critical(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> None:
    """RFC 9052 §3.1: `crit` is protected, a non-empty array of labels that are present in
    the protected header and understood; anything else rejects the message."""
    if HEADER_CRIT in unprotected:
        raise CriticalHeaderError("crit must be in the protected header")
    if HEADER_CRIT not in protected:
        return
    crit = protected[HEADER_CRIT]
    if not isinstance(crit, list | tuple) or not crit:
        raise CriticalHeaderError("crit must be a non-empty array of header labels")
    for label in crit:
        if isinstance(label, bool) or not isinstance(label, int | str):
            raise CriticalHeaderError(f"crit label {label!r} is not an int or text label")
        if label not in protected:
            raise CriticalHeaderError(f"crit names header {label!r}, absent from protected")
        if label not in UNDERSTOOD_CRITICAL:
            raise CriticalHeaderError(f"critical header {label!r} is not understood")
