"""File-based key store: one PKCS#8 PEM per key (mode 0600) plus an index naming the active key.

Layout of the directory (created 0700)::

    index.json            {"active": "<kid hex>", "keys": [{"kid", "alg", "created", "retired"}]}
    <kid hex>.key.pem     PKCS#8 private key (0600), encrypted when REGISTRY_KEY_PASSPHRASE is set
    <kid hex>.pub.pem     SubjectPublicKeyInfo, so publishing keys never needs the passphrase

Rotation adds a new active key and keeps the old ones, so credentials they signed keep
verifying. Files are created with ``os.open(..., 0o600)`` so no other user can ever read them,
not even for the instant between create and chmod.
"""

from __future__ import annotations

import builtins
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from registry.credentials.algorithms import Algorithm, PublicKey
from registry.credentials.jwk import jwks
from registry.credentials.keys import SigningKey, kid_for_public_key

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

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


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

    # -- operations --------------------------------------------------------------------------
    def generate(self, alg: Algorithm = Algorithm.EDDSA) -> SigningKey:
        """Create the first key; refuses when the store already has keys (use `rotate`)."""
        if self._read_index()["keys"]:
            raise KeyStoreError(f"{self.directory} already holds keys; use rotate for a new one")
        return self._add(alg)

    def rotate(self, alg: Algorithm = Algorithm.EDDSA) -> SigningKey:
        """New active key; the previous ones stay available for verification."""
        return self._add(alg)

    def _add(self, alg: Algorithm) -> SigningKey:
        self._ensure_directory()
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
        index = self._read_index()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for entry in index["keys"]:
            if entry["kid"] == index.get("active") and not entry.get("retired"):
                entry["retired"] = now
        index["keys"].append(
            {"kid": key.kid_hex, "alg": alg.jose_name, "created": now, "retired": None}
        )
        index["active"] = key.kid_hex
        self._write_index(index)
        return key

    def list(self) -> list[KeyInfo]:
        """All keys, oldest first."""
        index = self._read_index()
        infos = []
        for entry in index["keys"]:
            retired = entry.get("retired")
            infos.append(
                KeyInfo(
                    kid=bytes.fromhex(entry["kid"]),
                    alg=Algorithm.from_jose_name(entry["alg"]),
                    created=datetime.fromisoformat(entry["created"]),
                    retired=datetime.fromisoformat(retired) if retired else None,
                    active=entry["kid"] == index.get("active"),
                )
            )
        return infos

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
        """The key new credentials are signed with."""
        active = self._read_index().get("active")
        if not active:
            raise KeyStoreError(f"no signing key in {self.directory}; run `registry keys generate`")
        return self.load(bytes.fromhex(active))

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

    def public_keys(self) -> builtins.list[tuple[bytes, PublicKey]]:
        """(kid, public key) for every key, active and retired, for verifiers."""
        return [(info.kid, self.public_key(info.kid)) for info in self.list()]

    def export_jwks(self) -> dict[str, Any]:
        """JWKS of all public keys (what `/.well-known/jwks.json` serves)."""
        return jwks(self.public_keys())
