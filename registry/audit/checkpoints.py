"""Signed checkpoints (tree size + root hash), kept as events in the log they cover.

Why events: a checkpoint is a statement the registry made at a time; recording it through the
application puts it under the same append-only guarantees (and into the next checkpoint's tree)
instead of a side table someone could quietly rewrite. One tiny aggregate per tree size, with a
deterministic id, makes the store refuse a second, different checkpoint for the same size.

CP.json (UTF-8 JSON object)::

    {"type": "er-audit-checkpoint", "version": 1, "log": "<issuer id>",
     "tree_size": N, "root_hash": "<64 hex>", "timestamp": "<ISO-8601 UTC>",
     "kid": "<base64url key id, as in our JWKS>", "alg": "EdDSA" | "ES256",
     "signature": "<base64url>"}

The signature covers `canonical_json` (sorted keys, no whitespace, UTF-8) of the document
without its ``signature`` member; ES256 signatures are raw ``r || s`` (as in COSE/JWS).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from registry.audit.canonical import canonical_json
from registry.audit.log import (
    CHECKPOINT_TOPIC,
    AuditLog,
    IndexedCheckpoint,
    UnauthenticatedEventsError,
)
from registry.audit.merkle import HASH_SIZE
from registry.credentials import (
    Algorithm,
    JwkError,
    KeyStore,
    TrustStore,
    UnsupportedAlgorithm,
    b64url_decode,
    b64url_encode,
    sign_bytes,
    verify_signature,
)

DOCUMENT_TYPE = "er-audit-checkpoint"
_NS = uuid5(NAMESPACE_URL, "https://engineer-registry.example/audit-checkpoints")


class CheckpointError(ValueError):
    """A checkpoint document that is malformed or whose signature does not verify."""


class AuditCheckpoint(Aggregate):
    """One signed checkpoint; its only event carries the whole signed document."""

    @staticmethod
    def create_id(log: str, tree_size: int) -> UUID:
        return uuid5(_NS, f"{log}:{tree_size}")

    @event("Signed")
    def __init__(
        self,
        log: str,
        tree_size: int,
        root_hash: str,
        timestamp: str,
        kid: str,
        alg: str,
        signature: str,
    ) -> None:
        self.document = Checkpoint(
            log, tree_size, bytes.fromhex(root_hash), timestamp, kid, alg, signature
        )


@dataclass(frozen=True)
class Checkpoint:
    """A (possibly unverified) checkpoint document."""

    log: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    kid: str
    alg: str
    signature: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "type": DOCUMENT_TYPE,
            "version": 1,
            "log": self.log,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "kid": self.kid,
            "alg": self.alg,
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.body())

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.timestamp)

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict) or data.get("type") != DOCUMENT_TYPE:
            raise CheckpointError(f"not an {DOCUMENT_TYPE} document")
        if data.get("version") != 1:
            raise CheckpointError(f"unsupported checkpoint version {data.get('version')!r}")
        try:
            size = data["tree_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise CheckpointError("tree_size must be a non-negative integer")
            root = str(data["root_hash"])
            if len(root) != 2 * HASH_SIZE or root != root.lower():
                raise CheckpointError("root_hash must be 64 lower-case hex digits")
            return cls(
                log=str(data["log"]),
                tree_size=size,
                root_hash=bytes.fromhex(root),
                timestamp=str(data["timestamp"]),
                kid=str(data["kid"]),
                alg=str(data["alg"]),
                signature=str(data["signature"]),
            )
        except KeyError as exc:
            raise CheckpointError(f"checkpoint lacks {exc.args[0]!r}") from None
        except ValueError as exc:
            raise CheckpointError(f"malformed checkpoint: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None

    def verify(self, trust: TrustStore) -> None:
        """Raise `CheckpointError` unless a trusted key with this kid signed this document."""
        try:
            kid = b64url_decode(self.kid)
            signature = b64url_decode(self.signature)
            alg = Algorithm.from_jose_name(self.alg)
        except (ValueError, JwkError) as exc:
            raise CheckpointError(f"bad checkpoint signature fields: {exc}") from None
        candidates = trust.lookup(kid)
        if not candidates:
            raise CheckpointError(f"checkpoint signed by unknown key {self.kid!r}")
        data = self.signed_bytes()
        try:
            ok = any(verify_signature(k.public_key, alg, signature, data) for k in candidates)
        except UnsupportedAlgorithm as exc:
            raise CheckpointError(str(exc)) from None
        if not ok:
            raise CheckpointError("checkpoint signature is invalid")


def sign_checkpoint(
    log: str, tree_size: int, root: bytes, timestamp: datetime, keys: KeyStore
) -> Checkpoint:
    """Sign (size, root, time) with the registry's active credential key."""
    key = keys.active()
    unsigned = Checkpoint(
        log=log,
        tree_size=tree_size,
        root_hash=root,
        timestamp=timestamp.isoformat(),
        kid=b64url_encode(key.kid),
        alg=key.alg.jose_name,
    )
    signature = sign_bytes(key.private_key, unsigned.signed_bytes())
    return replace(unsigned, signature=b64url_encode(signature))


def _from_index(indexed: IndexedCheckpoint | None) -> Checkpoint | None:
    return None if indexed is None else Checkpoint.from_json(indexed.document)


class Checkpointer:
    """Makes, records and retrieves checkpoints for one audit log."""

    def __init__(self, audit: AuditLog, keys: KeyStore) -> None:
        self.audit = audit
        self.keys = keys
        self.log_id = audit.app.settings.issuer

    def make(self, *, force: bool = True) -> tuple[Checkpoint, bool]:
        """Checkpoint the current tree; returns (checkpoint, whether a new one was recorded).

        Without ``force``, a tree that grew only by the previous checkpoint's own event is not
        checkpointed again (otherwise a schedule would checkpoint its own checkpoints forever).
        """
        self.audit.catch_up()
        latest = self.audit.indexed_checkpoint()
        size = self.audit.size()
        if latest is not None and not force and _nothing_new(latest, size):
            checkpoint = Checkpoint.from_json(latest.document)
            return checkpoint, False
        existing = self.audit.indexed_checkpoint(size)
        if existing is not None:
            return Checkpoint.from_json(existing.document), False
        forged = self.audit.unauthenticated(0, size)
        if forged:
            # Signing would vouch for events the registry never wrote (SPEC §12).
            raise UnauthenticatedEventsError(
                f"refusing to sign a checkpoint over {len(forged)} unauthenticated event(s): "
                + "; ".join(str(leaf) for leaf in forged[:10]),
                forged,
            )
        checkpoint = sign_checkpoint(
            self.log_id, size, self.audit.root(size), self.audit.app.clock.now(), self.keys
        )
        record = AuditCheckpoint(
            log=checkpoint.log,
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash.hex(),
            timestamp=checkpoint.timestamp,
            kid=checkpoint.kid,
            alg=checkpoint.alg,
            signature=checkpoint.signature,
        )
        try:
            self.audit.app.save(record)
        except IntegrityError:  # a concurrent checkpointer signed this size first
            self.audit.catch_up()
            found = self.get(size)
            if found is None:
                raise
            return found, False
        self.audit.catch_up()
        return checkpoint, True

    def latest(self) -> Checkpoint | None:
        self.audit.catch_up()
        return _from_index(self.audit.indexed_checkpoint())

    def get(self, tree_size: int) -> Checkpoint | None:
        self.audit.catch_up()
        return _from_index(self.audit.indexed_checkpoint(tree_size))

    def all(self) -> list[Checkpoint]:
        self.audit.catch_up()
        return [Checkpoint.from_json(c.document) for c in self.audit.checkpoint_index()]

    def run_every(
        self,
        seconds: float,
        *,
        stop: Callable[[], bool] = lambda: False,
        on_checkpoint: Callable[[Checkpoint, bool], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """The scheduled loop behind `registry audit checkpoint --every`: sign when the log grew."""
        while not stop():
            checkpoint, created = self.make(force=False)
            if on_checkpoint is not None:
                on_checkpoint(checkpoint, created)
            if stop():
                return
            sleep(seconds)


def _nothing_new(latest: IndexedCheckpoint, size: int) -> bool:
    """Only the latest checkpoint's own event was appended after the size it covers."""
    return latest.leaf_index == latest.tree_size and size == latest.tree_size + 1


assert f"{__name__}:AuditCheckpoint.Signed" == CHECKPOINT_TOPIC
