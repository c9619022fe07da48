"""The registry's application service: queries, policies and the one command entry point.

Entry points (CLI, HTTP, demo, bench) build a command from `registry.application.commands`
and call `RegistryApp.handle(command, actor, options)`; the handler table in
`registry.application.handlers` does the work. Nothing else writes to the event store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any, ClassVar, overload
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.actors import SYSTEM, Actor
from domain.indexes import IdentityIndex, NumberIndex, NumberSequence, SchemePolicies
from domain.numbering import is_well_formed
from domain.personal import PersonalData
from domain.registration import TOPIC_PREFIX as REGISTRATION_TOPIC_PREFIX
from domain.registration import Registration
from domain.schemes import DEFAULT_POLICIES, ApplicantHistory, SchemePolicy
from registry.application.clock import Clock, SystemClock
from registry.application.commands import (
    Command,
    CommandOptions,
    CommandResult,
    ErasePersonalData,
    SingleCommand,
)
from registry.application.errors import NotFound
from registry.application.handlers import HANDLERS
from registry.application.ports import Database, EvidenceFiles, PersonalDataVault
from registry.application.settings import Settings
from registry.application.transcoding import (
    CanonicalJSONTranscoder,
    register_domain_transcodings,
)
from registry.application.unit_of_work import commit

__all__ = ["CommandResult", "RegistryApp"]

_NO_OPTIONS = CommandOptions()


class RegistryApp(Application[UUID]):
    """Registry use cases. One instance per process; thread-safe like its recorder."""

    name = "Registry"
    # A year's number sequence grows by one event per approval; a snapshot every 100 keeps a
    # fresh process (a one-shot CLI call) from replaying the whole year to allocate one.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {NumberSequence: 100}

    def __init__(
        self,
        settings: Settings,
        *,
        database: Database,
        vault: PersonalDataVault,
        evidence_files: EvidenceFiles,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Built by `registry.bootstrap.open_app`, which supplies the adapters; `env` replaces
        the settings' event store (handler tests run on `eventsourcing.popo`)."""
        self.settings = settings
        self.business_time = settings.business_time()
        self.clock: Clock = clock or SystemClock()
        self.after_save: list[Callable[[], None]] = []
        """Called after every successful `save` (the audit tree follows the log this way)."""
        super().__init__(env=dict(env) if env is not None else settings.eventsourcing_env())
        self.db = database
        self.vault = vault
        self.evidence_files = evidence_files
        self._ensure_default_policies()

    def close(self) -> None:
        self.db.close()
        super().close()

    def construct_transcoder(self) -> CanonicalJSONTranscoder:
        """JSON as the library writes it, but refusing values with no canonical form."""
        transcoder = CanonicalJSONTranscoder()
        self.register_transcodings(transcoder)
        register_domain_transcodings(transcoder)
        return transcoder

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Record the events, then run the `after_save` hooks (they must not raise)."""
        recordings = super().save(*objs, **kwargs)
        for hook in list(self.after_save):
            hook()
        return recordings

    # ---------------------------------------------------------------- policies

    def _ensure_default_policies(self) -> None:
        for policy in DEFAULT_POLICIES:
            if SchemePolicies.create_id(policy.code) in self.repository:
                continue
            record = SchemePolicies(
                code=policy.code, policy=policy.as_dict(), actor_id=SYSTEM.id, at=self.clock.now()
            )
            with suppress(IntegrityError):  # another process published them first
                self.save(record)

    def policy(self, scheme: str) -> SchemePolicy:
        try:
            record: SchemePolicies = self.repository.get(SchemePolicies.create_id(scheme))
        except AggregateNotFoundError:
            raise NotFound(f"unknown scheme {scheme!r}", code="scheme.not_found") from None
        return record.current

    def schemes(self) -> list[SchemePolicy]:
        return [self.policy(p.code) for p in DEFAULT_POLICIES]

    def publish_policy(self, policy: SchemePolicy, actor: Actor) -> SchemePolicy:
        record: SchemePolicies = self.repository.get(SchemePolicies.create_id(policy.code))
        record.publish(policy, actor.id, self.clock.now())
        self.save(record)
        return record.current

    # ----------------------------------------------------------------- queries

    def get(self, registration_id: UUID) -> Registration:
        try:
            registration: Registration = self.repository.get(
                registration_id, projector_func=self._in_business_time
            )
        except AggregateNotFoundError:
            raise NotFound(f"no registration {registration_id}") from None
        if not isinstance(registration, Registration):
            raise NotFound(f"no registration {registration_id}")
        registration.business_time = self.business_time
        return registration

    def _in_business_time(self, aggregate: Any, events: Iterable[Any]) -> Any:
        """Replay with the registry's zone set from the first event on, so that a move replayed
        judges a lapse on the same local day as when it was first made (`Registration._move`)."""
        for event in events:
            aggregate = event.mutate(aggregate)
            if isinstance(aggregate, Registration):
                aggregate.business_time = self.business_time
        return aggregate

    def registration_id_for_number(self, number: str) -> UUID:
        if not is_well_formed(number):
            raise NotFound(
                f"{number!r} is not a well-formed registration number",
                code="registration_number.malformed",
            )
        try:
            index: NumberIndex = self.repository.get(NumberIndex.create_id(number))
        except AggregateNotFoundError:
            raise NotFound(f"no registration with number {number}") from None
        return index.registration_id

    def find_by_number(self, number: str) -> Registration:
        return self.get(self.registration_id_for_number(number))

    def personal_data(self, registration: Registration) -> PersonalData | None:
        return self.vault.decrypt(registration.subject_id, registration.personal_data)

    def registration_ids(self, topic_suffix: str = "Drafted") -> Iterator[UUID]:
        """Registration ids from the notification log, by the event that marks them."""
        topic = REGISTRATION_TOPIC_PREFIX + topic_suffix
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, 1000, topics=[topic])
            if not batch:
                return
            for n in batch:
                yield UUID(str(n.originator_id))
            start = batch[-1].id + 1

    def applicant_history(self, registration: Registration, at: datetime) -> ApplicantHistory:
        """What the person's other registrations say (dishonesty, title eligibility)."""
        dishonest = False
        title_eligible = False
        for policy in DEFAULT_POLICIES:
            index = self.identity(policy.code, registration.subject_id, registration.id_hmac)
            if index is None:
                continue
            for registration_id in index.history:
                reg = self.get(registration_id)
                dishonest = dishonest or reg.dishonest
                if reg.title_eligible_at(at):
                    title_eligible = True
        return ApplicantHistory(dishonest, title_eligible)

    def identity(
        self, scheme: str, subject_id: UUID, legacy_hmac: str | None = None
    ) -> IdentityIndex | None:
        """The person's identity index in `scheme`: by subject, else the first release's
        index keyed by the ID-number HMAC (kept for stores written by that release)."""
        index = self._identity_index(scheme, IdentityIndex.subject_identity(subject_id))
        if index is not None:
            return index
        # Only a first-release person lacks a subject-keyed index: ask the vault then.
        legacy_hmac = legacy_hmac or self.vault.id_hmac_of(subject_id)
        return self._identity_index(scheme, legacy_hmac) if legacy_hmac else None

    def _identity_index(self, scheme: str, identity: str) -> IdentityIndex | None:
        try:
            index: IdentityIndex = self.repository.get(IdentityIndex.create_id(scheme, identity))
        except AggregateNotFoundError:
            return None
        return index

    # ---------------------------------------------------------------- commands

    @overload
    def handle(
        self, command: ErasePersonalData, actor: Actor, options: CommandOptions = ...
    ) -> list[CommandResult]: ...
    @overload
    def handle(
        self, command: SingleCommand, actor: Actor, options: CommandOptions = ...
    ) -> CommandResult: ...
    @overload
    def handle(
        self, command: Command, actor: Actor, options: CommandOptions = ...
    ) -> CommandResult | list[CommandResult]: ...
    def handle(
        self, command: Command, actor: Actor, options: CommandOptions = _NO_OPTIONS
    ) -> CommandResult | list[CommandResult]:
        """Run `command` as `actor` through its handler (see `handlers.HANDLERS`)."""
        try:
            handler = HANDLERS[type(command)]
        except KeyError:
            raise TypeError(f"no handler for {type(command).__name__}") from None
        return handler(self, command, actor, options)

    def check_can_attach_evidence(self, registration_id: UUID, actor: Actor) -> None:
        """Refuses as `AttachEvidence` would; call it before receiving a file."""
        self.get(registration_id).check_can_attach_evidence(actor)

    def evidence_content(self, registration_id: UUID, sha256: str) -> bytes | None:
        """An attached file's bytes, or None when unknown or erased."""
        registration = self.get(registration_id)
        if not any(e["sha256"] == sha256 for e in registration.evidence):
            return None
        sealed = self.evidence_files.read(registration.subject_id, sha256)
        if sealed is None:
            return None
        return self.vault.unseal(registration.subject_id, sealed, sha256.encode())

    def apply_scheme_rules(self, registration_id: UUID) -> CommandResult | None:
        """Run the time-driven supervision rules on one registration (SYSTEM actor)."""
        registration = self.get(registration_id)
        triggered = registration.apply_scheme_rules(SYSTEM, self.clock.now())
        if not triggered:
            return None
        return commit(self, registration, [], SYSTEM, None, "")

    def supervise(self, progress: Callable[[int], None] | None = None) -> list[CommandResult]:
        """Sweep every approved registration through the scheme rules."""
        results = []
        for registration_id in self.registration_ids("Approved"):
            result = self.apply_scheme_rules(registration_id)
            if result is not None:
                results.append(result)
            if progress:
                progress(1)
        return results
