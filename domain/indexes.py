"""Small aggregates whose deterministic ids make the event store enforce uniqueness.

Saving one of these together with a registration in the same transaction means a second,
concurrent attempt fails on the store's version constraint instead of slipping through.
Their events are declared classes with typed fields; the nested names are the stored topics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateApplication, InvalidInput, NumberExhausted
from domain.numbering import MAX_SEQUENCE
from domain.schemes import SchemePolicy

_NS = uuid5(NAMESPACE_URL, "https://engineer-registry.example/ids")


class IdentityIndex(Aggregate):
    """One per (scheme, person): at most one live application per engineer per scheme.

    The identity is ``subject:<subject id>`` — a random id whose link to the ID number lives
    only in the vault's mutable table and dies with erasure. The first release keyed this
    index by the ID number's HMAC instead; its events are upcast and keep working.
    """

    @staticmethod
    def create_id(scheme: str, identity: str) -> UUID:
        return uuid5(_NS, f"identity:{scheme}:{identity}")

    @staticmethod
    def subject_identity(subject_id: UUID) -> str:
        return f"subject:{subject_id}"

    class Claimed(Aggregate.Created):
        """Version 2 renamed ``id_hmac`` to ``identity`` (it now holds the subject)."""

        class_version: ClassVar[int] = 2
        scheme: str
        identity: str
        registration_id: UUID
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["identity"] = state.pop("id_hmac")

    @event(Claimed)
    def __init__(self, scheme: str, identity: str, registration_id: UUID, at: datetime) -> None:
        self.scheme = scheme
        self.registration_id = registration_id
        self.history = [registration_id]

    def reclaim(self, registration_id: UUID, previous_is_closed: bool, at: datetime) -> None:
        if not previous_is_closed:
            raise DuplicateApplication(
                "an application or registration with this ID number already exists in "
                f"scheme {self.scheme}"
            )
        self._reclaimed(registration_id=registration_id, at=at)

    def note_duplicate(self, registration_id: UUID, at: datetime) -> None:
        """Another application for the same person, not told to its maker; approval refuses
        it while the claimant is live (see `reclaim`)."""
        self._duplicate_noted(registration_id=registration_id, at=at)

    class DuplicateNoted(Aggregate.Event):
        registration_id: UUID
        at: datetime

    class Reclaimed(Aggregate.Event):
        registration_id: UUID
        at: datetime

    @event(DuplicateNoted)
    def _duplicate_noted(self, registration_id: UUID, at: datetime) -> None:
        self.history.append(registration_id)

    @event(Reclaimed)
    def _reclaimed(self, registration_id: UUID, at: datetime) -> None:
        self.registration_id = registration_id
        if registration_id not in self.history:
            self.history.append(registration_id)


class NumberSequence(Aggregate):
    """Allocates registration-number sequences for one (prefix, region, year); never reuses."""

    @staticmethod
    def create_id(prefix: str, region: str, year: int) -> UUID:
        return uuid5(_NS, f"numbers:{prefix}:{region}:{year}")

    class Opened(Aggregate.Created):
        prefix: str
        region: str
        year: int

    class Allocated(Aggregate.Event):
        sequence: int

    @event(Opened)
    def __init__(self, prefix: str, region: str, year: int) -> None:
        self.prefix = prefix
        self.region = region
        self.year = year
        self.last = 0

    def allocate(self) -> int:
        if self.last >= MAX_SEQUENCE:
            raise NumberExhausted(f"no numbers left for {self.prefix}-{self.region}-{self.year}")
        self._allocated(sequence=self.last + 1)
        return self.last

    @event(Allocated)
    def _allocated(self, sequence: int) -> None:
        self.last = sequence


class NumberIndex(Aggregate):
    """One per issued registration number: lookup by number, and a second guard on uniqueness."""

    @staticmethod
    def create_id(number: str) -> UUID:
        return uuid5(_NS, f"number:{number}")

    class Assigned(Aggregate.Created):
        number: str
        registration_id: UUID

    @event(Assigned)
    def __init__(self, number: str, registration_id: UUID) -> None:
        self.number = number
        self.registration_id = registration_id


class IdempotencyRecord(Aggregate):
    """Remembers a command by (actor, key) so a retried request applies once."""

    @staticmethod
    def create_id(actor_id: str, key: str) -> UUID:
        return uuid5(_NS, f"idempotency:{actor_id}:{key}")

    class Recorded(Aggregate.Created):
        actor_id: str
        key: str
        fingerprint: str
        result: dict[str, Any]

    @event(Recorded)
    def __init__(self, actor_id: str, key: str, fingerprint: str, result: dict[str, Any]) -> None:
        self.fingerprint = fingerprint
        self.result = result


class SchemePolicies(Aggregate):
    """The published versions of one scheme's policy; a policy change is an event."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(_NS, f"scheme:{code}")

    class Published(Aggregate.Created):
        """`policy` is the `SchemePolicy` document as published."""

        code: str
        policy: dict[str, Any]
        actor_id: str
        at: datetime

    class Revised(Aggregate.Event):
        policy: dict[str, Any]
        actor_id: str
        at: datetime

    @event(Published)
    def __init__(self, code: str, policy: dict[str, Any], actor_id: str, at: datetime) -> None:
        self.code = code
        self.versions = [policy]

    @property
    def current(self) -> SchemePolicy:
        return SchemePolicy.from_dict(self.versions[-1])

    def publish(self, policy: SchemePolicy, actor_id: str, at: datetime) -> None:
        if policy.code != self.code:
            raise InvalidInput("policy code does not match the scheme")
        if policy.version != self.current.version + 1:
            raise InvalidInput(
                f"next policy version must be {self.current.version + 1}, got {policy.version}"
            )
        self._revised(policy=policy.as_dict(), actor_id=actor_id, at=at)

    @event(Revised)
    def _revised(self, policy: dict[str, Any], actor_id: str, at: datetime) -> None:
        self.versions.append(policy)
