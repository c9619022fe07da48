"""Event authentication shared by the SQLite and PostgreSQL recorders (SPEC §12 "Integrity").

Why a side table of MACs rather than a MAC inside the stored state: the event rows stay
exactly what `eventsourcing` writes, so the canonical events, the Merkle leaves and every
export stay byte-identical to earlier releases; and the events a previous release wrote are
adopted by *adding* their MACs once, never by rewriting the append-only log. The MAC row is
inserted in the same transaction as its event, so a reader that sees the event sees its MAC.

Each MAC is HMAC-SHA256 under the ``event-mac`` secret (a file under ``keys_dir``, never in the
database) of the canonical event (see `registry.audit.canonical.event_mac`). An event without
a MAC, or with a wrong one, was not written by the registry: every read (repository loads,
notification reads by projections) raises `UnauthenticatedEventError` instead of returning it.
The audit layer alone reads such events, through `checked_notifications`, to report them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification, PersistenceError, StoredEvent
from eventsourcing.utils import strtobool

from registry.adapters.secrets import MissingSecret, Secret, SecretFiles
from registry.application.errors import StoreIntegrityError
from registry.audit.canonical import CanonicalFormError, MacKind, event_mac, raw_event_mac

log = logging.getLogger("registry.adapters.event_store")

KEYS_DIR = "EVENT_MAC_KEYS_DIR"
"""Environment key: the registry's ``keys_dir`` (the secret is ``secrets/event-mac.key``)."""
CREATE_MISSING = "EVENT_MAC_CREATE_MISSING"
"""Environment key: create the secret when absent (``registry init``, demo, tests)."""
META_TABLE = "event_authentication"
"""One row per authenticated table: the key id and what was adopted when it was first opened."""


class EventAuthenticationError(StoreIntegrityError, PersistenceError):
    """The event store cannot vouch for what it holds (or was asked to store).

    `StoreIntegrityError` first, so handlers keyed by class (HTTP) find it before the
    generic `PersistenceError` ones."""


class UnauthenticatedEventError(EventAuthenticationError):
    """A stored event has no valid MAC: it was inserted or altered outside the registry."""

    def __init__(
        self,
        originator_id: Any,
        originator_version: int,
        topic: str,
        reason: str,
        notification_id: int | None = None,
        table: str = "",
    ) -> None:
        self.originator_id = str(originator_id)
        self.originator_version = originator_version
        self.topic = topic
        self.reason = reason
        self.notification_id = notification_id
        where = f"notification {notification_id}, " if notification_id is not None else ""
        super().__init__(
            f"unauthenticated {'snapshot' if 'snapshot' in table else 'event'} "
            f"{self.originator_id} version {originator_version} ({where}topic {topic}): "
            f"{reason}. It was not written by the registry (inserted or altered in the "
            "database) and is refused; see docs/AUDIT.md, 'Forged events'"
        )


class WrongEventKeyError(EventAuthenticationError):
    """The key file does not hold the key this store's events were authenticated with."""


@dataclass(frozen=True)
class CheckedNotification:
    """A notification as stored, with its MAC (None when none was recorded) and the verdict."""

    notification: Notification
    mac: bytes | None
    authentic: bool

    @property
    def reason(self) -> str:
        if self.authentic:
            return "authenticated"
        return "no MAC recorded" if self.mac is None else "MAC does not match"


@runtime_checkable
class AuthenticatedRecorder(Protocol):
    """What the audit layer needs from an authenticating application recorder."""

    authenticator: Authenticator

    def checked_notifications(
        self, start: int, limit: int, stop: int | None = None
    ) -> list[CheckedNotification]: ...

    def adoption(self) -> Adoption | None: ...


@dataclass(frozen=True)
class Adoption:
    """What was adopted when this store was first opened by a release that authenticates."""

    table: str
    key_id: str
    rows: int
    up_to: int | None
    at: str


def key_id(key: bytes) -> str:
    """A public fingerprint of the key (to refuse a wrong key file with a clear message)."""
    return hmac.digest(key, b"er-event-mac key id", "sha256")[:8].hex()


class Authenticator:
    """Computes and checks the MACs of one table's rows (events, or snapshots)."""

    def __init__(self, key: bytes, kind: MacKind = "event", *, uuid_ids: bool = True) -> None:
        if len(key) < 32:
            raise ValueError("the event MAC key must be at least 32 bytes")
        self._key = key
        self.kind = kind
        self.uuid_ids = uuid_ids
        self.key_id = key_id(key)

    def with_kind(self, kind: MacKind) -> Authenticator:
        return Authenticator(self._key, kind, uuid_ids=self.uuid_ids)

    def id_text(self, originator_id: UUID | str) -> str:
        """The originator id as the audit export writes it (hyphenated UUID)."""
        if isinstance(originator_id, UUID) or not self.uuid_ids:
            return str(originator_id)
        return str(UUID(originator_id))

    def mac(self, originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
        """The MAC for a new row; refuses a state that has no canonical JSON form."""
        try:
            parsed = json.loads(state)
            return event_mac(
                self._key, self.id_text(originator_id), version, topic, parsed, self.kind
            )
        except (ValueError, CanonicalFormError) as exc:
            raise EventAuthenticationError(
                f"refusing to store {self.kind} {originator_id} version {version}: its state "
                f"has no canonical JSON form, so it could never be audited ({exc})"
            ) from None

    def adoption_mac(
        self, originator_id: UUID | str, version: int, topic: str, state: bytes
    ) -> bytes:
        """The MAC of a row written before authentication: canonical if possible, else raw."""
        try:
            return self.mac(originator_id, version, topic, state)
        except EventAuthenticationError:
            return raw_event_mac(
                self._key, self.id_text(originator_id), version, topic, state, self.kind
            )

    def check(
        self, originator_id: UUID | str, version: int, topic: str, state: bytes, mac: Any
    ) -> bool:
        if mac is None:
            return False
        given = bytes(mac)
        try:
            expected = self.mac(originator_id, version, topic, state)
        except EventAuthenticationError:
            expected = raw_event_mac(
                self._key, self.id_text(originator_id), version, topic, state, self.kind
            )
        return hmac.compare_digest(given, expected)

    def require(self, event: StoredEvent, mac: Any, table: str) -> StoredEvent:
        """The event, if its MAC checks out; never hand an unauthenticated event onwards."""
        if not self.check(
            event.originator_id, event.originator_version, event.topic, event.state, mac
        ):
            raise UnauthenticatedEventError(
                event.originator_id,
                event.originator_version,
                event.topic,
                "no MAC recorded" if mac is None else "MAC does not match",
                table=table,
            )
        return event


def load_key(
    keys_dir: str | None, create_missing: str | None, store_is_unauthenticated: Callable[[], bool]
) -> bytes:
    """The ``event-mac`` secret; created when allowed, or when no stored event depends on it.

    A store none of whose events was ever authenticated (a new one, or one written by a
    release before authentication, being upgraded now) cannot disagree with a new key, so
    its first opener makes one; a store with authenticated events refuses to open without
    the key they were authenticated with.
    """
    if not keys_dir:
        raise MissingSecret(
            f"event authentication needs the key directory ({KEYS_DIR} is not set in the "
            "eventsourcing environment; use Settings.eventsourcing_env())"
        )
    allowed = bool(strtobool(create_missing or "no"))
    files = SecretFiles(Path(keys_dir), create_missing=allowed)
    try:
        return files.get(Secret.EVENT_MAC)
    except MissingSecret:
        if not allowed and not files.exists(Secret.EVENT_MAC) and store_is_unauthenticated():
            return SecretFiles(Path(keys_dir), create_missing=True).get(Secret.EVENT_MAC)
        raise


def log_adoption(table: str, rows: int, up_to: int | None) -> None:
    if rows:
        log.warning(
            "event authentication: adopted %d %s rows written by an earlier release%s; from "
            "now on a row without a valid MAC is refused as forged",
            rows,
            table,
            f" (notifications up to {up_to})" if up_to is not None else "",
        )
    else:
        log.info("event authentication: table %s starts authenticated", table)


def digest_name(*parts: str) -> int:
    """A stable signed 64-bit number for a PostgreSQL advisory lock."""
    value = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")
    return value - (1 << 63)
