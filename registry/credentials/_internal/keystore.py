"""File-based key store: one PKCS#8 PEM per key (mode 0600) plus an index naming the active key.

Layout of the directory (created 0700)::

    index.json            {"active": "<kid hex>", "trust_list": "<kid hex>" | absent,
                           "keys": [{"kid", "alg", "purpose", "created", "retired",
                                     "not_before", "not_after",
                                     "revoked": {"at", "reason"} | absent}]}
    <kid hex>.key.pem     PKCS#8 private key (0600), encrypted when REGISTRY_KEY_PASSPHRASE is set
    <kid hex>.pub.pem     SubjectPublicKeyInfo, so publishing keys never needs the passphrase
    .lock                 serialises changes to the index (rotate, revoke, trust-list key)

Rotation adds a new active key and keeps the old ones, so credentials they signed keep
verifying; it closes the old key's signing window (``not_after``) at the rotation instant and
opens the new one's (``not_before``). `revoke` marks a key compromised (or otherwise
withdrawn) from a stated instant: credentials it signed from then on are invalid. An index
written before windows existed still loads: ``not_before`` = created, ``not_after`` = retired.

The trust list is signed by a separate key (purpose ``trust-list``) that never signs a
credential and is never trusted for one; it is made on first use. Files are created with
``os.open(..., 0o600)`` so no other user can ever read them, not even for the instant between
create and chmod.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from registry.credentials._internal.algorithms import Algorithm, PublicKey
from registry.credentials._internal.jwk import jwks
from registry.credentials._internal.keys import (
    KeyPurpose,
    PublishedKey,
    RevocationReason,
    SigningKey,
    SigningWindow,
    kid_for_public_key,
    signing_instant,
)

PASSPHRASE_ENV = "REGISTRY_KEY_PASSPHRASE"
_INDEX = "index.json"


class KeyStoreError(Exception):
    """The key store is missing, unreadable or inconsistent; the message says which."""


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about a stored key (no key material)."""

    kid: bytes
    alg: Algorithm
    created: datetime
    retired: datetime | None
    active: bool
    purpose: KeyPurpose = KeyPurpose.CREDENTIAL
    window: SigningWindow = field(default_factory=SigningWindow)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    @property
    def revoked(self) -> bool:
        return self.window.revoked_at is not None


def _iso(moment: datetime) -> str:
    return signing_instant(moment).isoformat()


def _instant(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise KeyStoreError(f"key index: {what} {value!r} is not ISO-8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _info(entry: dict[str, Any], index: dict[str, Any]) -> KeyInfo:
    """One index entry; entries written before windows existed get created/retired."""
    created = _instant(entry.get("created"), "created")
    if created is None:
        raise KeyStoreError(f"key index: key {entry.get('kid')!r} has no created time")
    retired = _instant(entry.get("retired"), "retired")
    revoked = entry.get("revoked") or {}
    purpose = KeyPurpose(entry.get("purpose") or KeyPurpose.CREDENTIAL.value)
    window = SigningWindow(
        not_before=_instant(entry.get("not_before"), "not_before") or created,
        not_after=_instant(entry.get("not_after"), "not_after") or retired,
        revoked_at=_instant(revoked.get("at"), "revoked at"),
        revocation_reason=revoked.get("reason"),
    )
    return KeyInfo(
        kid=bytes.fromhex(entry["kid"]),
        alg=Algorithm.from_jose_name(entry["alg"]),
        created=created,
        retired=retired,
        active=purpose is KeyPurpose.CREDENTIAL and entry["kid"] == index.get("active"),
        purpose=purpose,
        window=window,
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _purpose(entry: dict[str, Any]) -> KeyPurpose:
    return KeyPurpose(entry.get("purpose") or KeyPurpose.CREDENTIAL.value)


class KeyStore:
    """Signing keys in a directory; see the module docstring for the layout."""

    def __init__(self, directory: Path | str, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)

    # -- index -------------------------------------------------------------------------------
    def _index_path(self) -> Path:
        return self.directory / _INDEX

    def _read_index(self) -> dict[str, Any]:
        path = self._index_path()
        if not path.is_file():
            return {"active": None, "keys": []}
        try:
            index = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot read key index {path}: {exc}") from None
        if not isinstance(index, dict) or not isinstance(index.get("keys"), list):
            raise KeyStoreError(f"key index {path} is malformed")
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.directory / f".{_INDEX}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(index, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, self._index_path())

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The index, read under an exclusive lock and written back when the block ends."""
        self._ensure_directory()
        fd = os.open(self.directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            index = self._read_index()
            yield index
            self._write_index(index)
        finally:
            os.close(fd)

    # -- operations --------------------------------------------------------------------------
    def generate(
        self, alg: Algorithm = Algorithm.EDDSA, *, not_before: datetime | None = None
    ) -> SigningKey:
        """Create the first credential key, and the trust-list key when there is none;
        refuses when the store already has keys (use `rotate`).

        The credential key's signing window opens at ``not_before`` (default: now).
        """
        with self._locked() as index:
            if any(_purpose(e) is KeyPurpose.CREDENTIAL for e in index["keys"]):
                raise KeyStoreError(
                    f"{self.directory} already holds keys; use rotate for a new one"
                )
            moment = not_before or datetime.now(UTC)
            key = self._add(index, alg, KeyPurpose.CREDENTIAL, moment)
            if not index.get("trust_list"):
                self._add(index, alg, KeyPurpose.TRUST_LIST, moment)
            return key

    def rotate(self, alg: Algorithm = Algorithm.EDDSA, *, at: datetime | None = None) -> SigningKey:
        """New active key from ``at`` (default now); the previous ones stay published for
        verification, and the previous active key's signing window closes at ``at``."""
        moment = at or datetime.now(UTC)
        with self._locked() as index:
            for entry in index["keys"]:
                if entry["kid"] == index.get("active"):
                    self._close_window(entry, moment)
            return self._add(index, alg, KeyPurpose.CREDENTIAL, moment)

    def revoke(
        self, kid: bytes, reason: RevocationReason | str, *, at: datetime | None = None
    ) -> KeyInfo:
        """Revoke a key from ``at`` (default now): whatever it signed at or after that
        instant is invalid. A key can be revoked again only with an earlier instant."""
        reason = RevocationReason(reason)
        moment = signing_instant(at or datetime.now(UTC))
        if moment > datetime.now(UTC):
            raise KeyStoreError("a revocation time cannot lie in the future")
        with self._locked() as index:
            entry = next((e for e in index["keys"] if e["kid"] == kid.hex()), None)
            if entry is None:
                raise KeyStoreError(f"no key {kid.hex()} in {self.directory}")
            info = _info(entry, index)
            earlier = info.window.revoked_at
            if earlier is not None and earlier <= moment:
                raise KeyStoreError(f"key {kid.hex()} is already revoked as of {earlier}")
            entry["revoked"] = {"at": moment.isoformat(), "reason": reason.value}
            self._close_window(entry, moment)
            if index.get("trust_list") == entry["kid"]:
                index.pop("trust_list")
            return _info(entry, index)

    @staticmethod
    def _close_window(entry: dict[str, Any], moment: datetime) -> None:
        """End a key's signing window at ``moment`` (never later than it already ends)."""
        closed = _instant(entry.get("not_after") or entry.get("retired"), "not_after")
        if closed is None or closed > moment:
            entry["not_after"] = _iso(moment)
        if not entry.get("retired"):
            entry["retired"] = entry.get("not_after") or _iso(moment)
        entry.setdefault("not_before", entry.get("created"))

    def _add(
        self, index: dict[str, Any], alg: Algorithm, purpose: KeyPurpose, not_before: datetime
    ) -> SigningKey:
        key = SigningKey.generate(alg)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase.encode("utf-8"))
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        _write_private(self.directory / f"{key.kid_hex}.key.pem", pem)
        (self.directory / f"{key.kid_hex}.pub.pem").write_bytes(
            key.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        now = _iso(datetime.now(UTC))
        index["keys"].append(
            {
                "kid": key.kid_hex,
                "alg": alg.jose_name,
                "purpose": purpose.value,
                "created": now,
                "retired": None,
                "not_before": _iso(not_before),
                "not_after": None,
            }
        )
        index["trust_list" if purpose is KeyPurpose.TRUST_LIST else "active"] = key.kid_hex
        return key

    def list(self) -> builtins.list[KeyInfo]:
        """All keys, oldest first (credential keys and the trust-list key)."""
        index = self._read_index()
        return [_info(entry, index) for entry in index["keys"]]

    def load(self, kid: bytes) -> SigningKey:
        """The private key with this kid (decrypted with the passphrase when needed)."""
        path = self.directory / f"{kid.hex()}.key.pem"
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"cannot read key {kid.hex()}: {exc.strerror}") from None
        password = self._passphrase.encode("utf-8") if self._passphrase else None
        try:
            private = serialization.load_pem_private_key(pem, password=password)
        except TypeError:
            raise KeyStoreError(
                f"key {kid.hex()} is encrypted: set {PASSPHRASE_ENV}"
                if password is None
                else f"key {kid.hex()} is not encrypted but a passphrase was given"
            ) from None
        except ValueError:
            raise KeyStoreError(
                f"cannot decrypt or parse key {kid.hex()} (wrong {PASSPHRASE_ENV}?)"
            ) from None
        if not isinstance(private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"key {kid.hex()} has unsupported type {type(private).__name__}")
        key = SigningKey.from_private_key(private)
        if key.kid != kid:
            raise KeyStoreError(f"key file {path.name} does not hold the key it is named after")
        return key

    def active(self) -> SigningKey:
        """The key new credentials are signed with; refused once it has been revoked."""
        index = self._read_index()
        active = index.get("active")
        if not active:
            raise KeyStoreError(f"no signing key in {self.directory}; run `registry keys generate`")
        entry = next((e for e in index["keys"] if e["kid"] == active), None)
        if entry is not None and entry.get("revoked"):
            raise KeyStoreError(f"the active key {active} was revoked; run `registry keys rotate`")
        return self.load(bytes.fromhex(active))

    def trust_list_signer(self, alg: Algorithm = Algorithm.EDDSA) -> SigningKey:
        """The dedicated trust-list key (never a credential key), made on first use and
        again after it was revoked."""
        current = self._read_index().get("trust_list")
        if current:
            return self.load(bytes.fromhex(current))
        with self._locked() as index:
            current = index.get("trust_list")
            if current:  # another process made it while we waited for the lock
                return self.load(bytes.fromhex(current))
            if not self._passphrase and any(
                b"ENCRYPTED" in self._pem_head(e["kid"]) for e in index["keys"]
            ):
                raise KeyStoreError(
                    f"the store's keys are encrypted: set {PASSPHRASE_ENV} to add a trust-list key"
                )
            return self._add(index, alg, KeyPurpose.TRUST_LIST, datetime.now(UTC))

    def _pem_head(self, kid_hex: str) -> bytes:
        try:
            with open(self.directory / f"{kid_hex}.key.pem", "rb") as fh:
                return fh.read(64)
        except OSError:
            return b""

    def public_key(self, kid: bytes) -> PublicKey:
        """The public half of a stored key, read without touching the private file."""
        path = self.directory / f"{kid.hex()}.pub.pem"
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot read public key {kid.hex()}: {exc}") from None
        if not isinstance(public, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            raise KeyStoreError(f"public key {kid.hex()} has unsupported type")
        if kid_for_public_key(public) != kid:
            raise KeyStoreError(f"public key file {path.name} does not match its kid")
        return public

    def _published(self, info: KeyInfo) -> PublishedKey:
        return PublishedKey(info.kid, self.public_key(info.kid), info.window, info.purpose)

    def public_keys(self) -> builtins.list[tuple[bytes, PublicKey]]:
        """(kid, public key) for every credential key, active, retired and revoked, for
        verifiers; each is a `PublishedKey` carrying its signing window."""
        return [
            self._published(info) for info in self.list() if info.purpose is KeyPurpose.CREDENTIAL
        ]

    def published_keys(self) -> builtins.list[tuple[bytes, PublicKey]]:
        """Every public key with its purpose and signing window: credential keys, then the
        trust-list key(s). What the JWKS and the trust list publish."""
        infos = self.list()
        ordered = [i for i in infos if i.purpose is KeyPurpose.CREDENTIAL] + [
            i for i in infos if i.purpose is KeyPurpose.TRUST_LIST
        ]
        return [self._published(info) for info in ordered]

    def export_jwks(self) -> dict[str, Any]:
        """JWKS of `published_keys` (what `/.well-known/jwks.json` serves); verifiers trust
        only the credential keys for credentials (see `TrustStore.from_jwks`)."""
        return jwks(self.published_keys())
