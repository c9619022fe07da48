"""The transaction every command runs in (cosmicpython's unit of work, on `eventsourcing`).

The request's fingerprint (so a retried idempotency key returns the first result and a key
reused for another request is refused), the expected-version check, the domain call, and one
`save` of every resulting event with the uniqueness and idempotency records it needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor
from domain.clock import BusinessTime
from domain.errors import InvalidInput
from domain.indexes import IdempotencyRecord, IdentityIndex
from domain.personal import PersonalData
from domain.registration import Registration
from domain.schemes import ApplicantHistory, SchemePolicy
from registry.application.clock import Clock
from registry.application.commands import CommandOptions, CommandResult
from registry.application.errors import ConcurrencyConflict, IdempotencyKeyReused
from registry.application.ports import EvidenceFiles, PersonalDataVault

Action = Callable[[Registration, datetime], None]
"""The domain call a command makes on its loaded registration, at the clock's now."""


class Registry(Protocol):
    """What the handlers need from the application (`RegistryApp` is one; tests may fake it)."""

    clock: Clock
    business_time: BusinessTime
    vault: PersonalDataVault
    evidence_files: EvidenceFiles

    @property
    def repository(self) -> Repository[UUID]: ...
    def save(self, *objs: Any, **kwargs: Any) -> Any: ...
    def get(self, registration_id: UUID) -> Registration: ...
    def policy(self, scheme: str) -> SchemePolicy: ...
    def personal_data(self, registration: Registration) -> PersonalData | None: ...
    def applicant_history(self, registration: Registration, at: datetime) -> ApplicantHistory: ...
    def identity(
        self, scheme: str, subject_id: UUID, legacy_hmac: str | None = None
    ) -> IdentityIndex | None: ...


# ------------------------------------------------------------------ the machinery


def personal_bytes(personal: PersonalData) -> bytes:
    return json.dumps(asdict(personal), sort_keys=True, ensure_ascii=False).encode()


def fingerprint(app: Registry, command: str, payload: dict[str, Any]) -> str:
    """A keyed digest of the request, so a reused idempotency key can be told apart."""
    try:
        body = json.dumps(
            [command, payload], sort_keys=True, default=str, ensure_ascii=False, allow_nan=False
        ).encode()
    except ValueError:  # NaN/Infinity, or a lone surrogate (UnicodeEncodeError)
        raise InvalidInput(
            "the request holds a value with no canonical JSON form (a non-finite number "
            "or text that is not valid Unicode)"
        ) from None
    return app.vault.keyed_digest(body)


def replay(app: Registry, actor: Actor, key: str | None, print_: str) -> CommandResult | None:
    """The first result recorded under this actor's idempotency key, if any."""
    if key is None:
        return None
    try:
        record: IdempotencyRecord = app.repository.get(IdempotencyRecord.create_id(actor.id, key))
    except AggregateNotFoundError:
        return None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused("this idempotency key was already used for a different request")
    r = record.result
    return CommandResult(
        registration_id=UUID(r["registration_id"]),
        version=int(r["version"]),
        events=tuple(r["events"]),
        number=r.get("number"),
        replayed=True,
        extra=dict(r.get("extra", {})),
    )


def load(app: Registry, registration_id: UUID, expected_version: int | None) -> Registration:
    """The registration, refused if the caller decided on a different version."""
    registration = app.get(registration_id)
    if expected_version is not None and registration.version != expected_version:
        raise ConcurrencyConflict(
            f"registration is at version {registration.version}, "
            f"not the expected {expected_version}"
        )
    return registration


def commit(
    app: Registry,
    registration: Registration,
    others: Sequence[Aggregate],
    actor: Actor,
    key: str | None,
    print_: str,
) -> CommandResult:
    """Save the registration's new events and `others` in one transaction."""
    pending = registration.collect_events()
    result = CommandResult(
        registration_id=registration.id,
        version=registration.version,
        events=tuple(type(e).__name__ for e in pending),
        number=registration.number,
    )
    to_save: list[Any] = [*pending, *others]
    if key is not None:
        to_save.append(IdempotencyRecord(actor.id, key, print_, result.as_dict()))
    try:
        app.save(*to_save)
    except IntegrityError:
        replayed = replay(app, actor, key, print_)
        if replayed is not None:
            return replayed
        raise ConcurrencyConflict(
            "the registration was changed by another request; reload and retry"
        ) from None
    return result


def run(
    app: Registry,
    name: str,
    registration_id: UUID,
    actor: Actor,
    options: CommandOptions,
    action: Action,
    payload: dict[str, Any] | None = None,
) -> CommandResult:
    """The common path: fingerprint, replay, load, act, commit."""
    print_ = fingerprint(app, name, {"id": str(registration_id), **(payload or {})})
    replayed = replay(app, actor, options.idempotency_key, print_)
    if replayed is not None:
        return replayed
    registration = load(app, registration_id, options.expected_version)
    action(registration, app.clock.now())
    return commit(app, registration, [], actor, options.idempotency_key, print_)
