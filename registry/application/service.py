"""The registry's application service: every use case, on the `eventsourcing` Application.

Adapters (CLI, HTTP) call these methods with an `Actor`; each call loads the aggregate,
runs the domain command, and saves every resulting event in one transaction together with
the uniqueness and idempotency records it needs. Nothing else writes to the event store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.actors import SYSTEM, Actor, Role
from domain.errors import InvalidInput
from domain.evidence import EvidenceRef
from domain.facts import ApplicationFacts
from domain.indexes import (
    IdempotencyRecord,
    IdentityIndex,
    NumberIndex,
    NumberSequence,
    SchemePolicies,
)
from domain.numbering import format_number, is_well_formed
from domain.personal import PersonalData
from domain.registration import TOPIC_PREFIX as REGISTRATION_TOPIC_PREFIX
from domain.registration import Registration
from domain.schemes import DEFAULT_POLICIES, ApplicantHistory, SchemePolicy
from domain.status import TERMINAL
from registry.application.clock import Clock, SystemClock
from registry.application.errors import ConcurrencyConflict, IdempotencyKeyReused, NotFound
from registry.application.ports import Database, EvidenceFiles, PersonalDataVault
from registry.application.settings import Settings
from registry.application.transcoding import (
    CanonicalJSONTranscoder,
    register_domain_transcodings,
)


def _personal_bytes(personal: PersonalData) -> bytes:
    return json.dumps(asdict(personal), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the registration, its new version, and the events recorded."""

    registration_id: UUID
    version: int
    events: tuple[str, ...] = ()
    number: str | None = None
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "registration_id": str(self.registration_id),
            "version": self.version,
            "events": list(self.events),
            "number": self.number,
            "extra": self.extra,
        }


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
    ) -> None:
        """Built by `registry.bootstrap.open_app`, which supplies the adapters."""
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.after_save: list[Callable[[], None]] = []
        """Called after every successful `save` (the audit tree follows the log this way)."""
        super().__init__(env=self.settings.eventsourcing_env())
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
            registration: Registration = self.repository.get(registration_id)
        except AggregateNotFoundError:
            raise NotFound(f"no registration {registration_id}") from None
        if not isinstance(registration, Registration):
            raise NotFound(f"no registration {registration_id}")
        return registration

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
            index = self._identity(policy.code, registration.subject_id, registration.id_hmac)
            if index is None:
                continue
            for registration_id in index.history:
                reg = self.get(registration_id)
                dishonest = dishonest or reg.dishonest
                if reg.title_eligible_at(at):
                    title_eligible = True
        return ApplicantHistory(dishonest, title_eligible)

    def _identity(
        self, scheme: str, subject_id: UUID, legacy_hmac: str | None = None
    ) -> IdentityIndex | None:
        """The person's identity index in `scheme`: by subject, else the first release's
        index keyed by the ID-number HMAC (kept for stores written by that release)."""
        identities = [IdentityIndex.subject_identity(subject_id)]
        legacy_hmac = legacy_hmac or self.vault.id_hmac_of(subject_id)
        if legacy_hmac:
            identities.append(legacy_hmac)
        for identity in identities:
            try:
                index: IdentityIndex = self.repository.get(
                    IdentityIndex.create_id(scheme, identity)
                )
            except AggregateNotFoundError:
                continue
            return index
        return None

    # ----------------------------------------------------------- the machinery

    def _fingerprint(self, command: str, payload: dict[str, Any]) -> str:
        try:
            body = json.dumps(
                [command, payload], sort_keys=True, default=str, ensure_ascii=False, allow_nan=False
            ).encode()
        except ValueError:  # NaN/Infinity, or a lone surrogate (UnicodeEncodeError)
            raise InvalidInput(
                "the request holds a value with no canonical JSON form (a non-finite number "
                "or text that is not valid Unicode)"
            ) from None
        return self.vault.keyed_digest(body)

    def _replay(self, actor: Actor, key: str | None, fingerprint: str) -> CommandResult | None:
        if key is None:
            return None
        try:
            record: IdempotencyRecord = self.repository.get(
                IdempotencyRecord.create_id(actor.id, key)
            )
        except AggregateNotFoundError:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "this idempotency key was already used for a different request"
            )
        r = record.result
        return CommandResult(
            registration_id=UUID(r["registration_id"]),
            version=int(r["version"]),
            events=tuple(r["events"]),
            number=r.get("number"),
            replayed=True,
            extra=dict(r.get("extra", {})),
        )

    def _commit(
        self,
        registration: Registration,
        others: Sequence[Aggregate],
        actor: Actor,
        key: str | None,
        fingerprint: str,
        extra: dict[str, Any] | None = None,
    ) -> CommandResult:
        pending = registration.collect_events()
        result = CommandResult(
            registration_id=registration.id,
            version=registration.version,
            events=tuple(type(e).__name__ for e in pending),
            number=registration.number,
            extra=extra or {},
        )
        to_save: list[Any] = [*pending, *others]
        if key is not None:
            to_save.append(IdempotencyRecord(actor.id, key, fingerprint, result.as_dict()))
        try:
            self.save(*to_save)
        except IntegrityError:
            replay = self._replay(actor, key, fingerprint)
            if replay is not None:
                return replay
            raise ConcurrencyConflict(
                "the registration was changed by another request; reload and retry"
            ) from None
        return result

    def _load(self, registration_id: UUID, expected_version: int | None) -> Registration:
        """The registration, refused if the caller decided on a different version."""
        registration = self.get(registration_id)
        if expected_version is not None and registration.version != expected_version:
            raise ConcurrencyConflict(
                f"registration is at version {registration.version}, "
                f"not the expected {expected_version}"
            )
        return registration

    def _run(
        self,
        command: str,
        registration_id: UUID,
        actor: Actor,
        action: Callable[[Registration, datetime], None],
        *,
        payload: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        fingerprint = self._fingerprint(command, {"id": str(registration_id), **(payload or {})})
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        registration = self._load(registration_id, expected_version)
        action(registration, self.clock.now())
        return self._commit(registration, [], actor, idempotency_key, fingerprint)

    # ---------------------------------------------------------------- commands

    def apply(
        self,
        actor: Actor,
        scheme: str,
        personal: PersonalData,
        facts: dict[str, Any] | ApplicationFacts,
        *,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Start an application (a draft) for the person with this ID number.

        A second live application for the same person in a scheme is refused to a registrar.
        Anyone else is never told whether an ID number is registered (that would let any
        account probe the register): their draft is accepted and noted on the person's
        index, and approval refuses it while the other one is live.
        """
        policy = self.policy(scheme)
        parsed = facts if isinstance(facts, ApplicationFacts) else ApplicationFacts.from_dict(facts)
        subject_id = self.vault.subject_for(self.vault.id_hmac(personal.id_number))
        fingerprint = self._fingerprint(
            "apply",
            {
                "scheme": scheme,
                "subject": str(subject_id),
                "facts": parsed.as_dict(),
                "personal": self.vault.subject_digest(subject_id, _personal_bytes(personal)),
            },
        )
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        now = self.clock.now()
        registration = Registration.draft(
            policy=policy,
            subject_id=subject_id,
            personal_data=self.vault.encrypt(subject_id, personal),
            facts=parsed,
            actor=actor,
            at=now,
        )
        index = self._identity(scheme, subject_id)
        if index is None:
            identity = IdentityIndex.subject_identity(subject_id)
            index = IdentityIndex(scheme, identity, registration.id, now)
        else:
            previous_closed = self.get(index.registration_id).status in TERMINAL
            if previous_closed or actor.role is Role.REGISTRAR:
                index.reclaim(registration.id, previous_closed, now)
            else:
                index.note_duplicate(registration.id, now)
        return self._commit(registration, [index], actor, idempotency_key, fingerprint)

    def check_can_attach_evidence(self, registration_id: UUID, actor: Actor) -> None:
        """Refuses as `attach_evidence` would; call it before receiving a file."""
        self.get(registration_id).check_can_attach_evidence(actor)

    def attach_evidence(
        self,
        registration_id: UUID,
        actor: Actor,
        evidence: EvidenceRef,
        content: bytes,
        *,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Seal the file under the subject's key, store it, and record its reference."""
        if len(content) != evidence.size or hashlib.sha256(content).hexdigest() != evidence.sha256:
            raise InvalidInput("the evidence file does not match its reference (size or hash)")
        registration = self._load(registration_id, expected_version)
        registration.check_can_attach_evidence(actor)
        sealed = self.vault.seal(registration.subject_id, content, evidence.sha256.encode())
        self.evidence_files.write(registration.subject_id, evidence.sha256, sealed)
        return self._run(
            "attach_evidence",
            registration_id,
            actor,
            lambda r, at: r.attach_evidence(evidence, actor, at),
            payload=evidence.as_dict(),
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )

    def evidence_content(self, registration_id: UUID, sha256: str) -> bytes | None:
        """An attached file's bytes, or None when unknown or erased."""
        registration = self.get(registration_id)
        if not any(e["sha256"] == sha256 for e in registration.evidence):
            return None
        sealed = self.evidence_files.read(registration.subject_id, sha256)
        if sealed is None:
            return None
        return self.vault.unseal(registration.subject_id, sealed, sha256.encode())

    def submit(self, registration_id: UUID, actor: Actor, **options: Any) -> CommandResult:
        def action(r: Registration, at: datetime) -> None:
            r.submit(actor, at, self.applicant_history(r, at))

        return self._run("submit", registration_id, actor, action, **options)

    def endorse(
        self, registration_id: UUID, actor: Actor, note: str = "", **options: Any
    ) -> CommandResult:
        return self._run(
            "endorse",
            registration_id,
            actor,
            lambda r, at: r.endorse(actor, at, note),
            payload={"note": note},
            **options,
        )

    def decline(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "decline",
            registration_id,
            actor,
            lambda r, at: r.decline(actor, at, reason),
            payload={"reason": reason},
            **options,
        )

    def start_review(self, registration_id: UUID, actor: Actor, **options: Any) -> CommandResult:
        return self._run(
            "start_review",
            registration_id,
            actor,
            lambda r, at: r.start_review(actor, at),
            **options,
        )

    def record_expert_score(
        self,
        registration_id: UUID,
        actor: Actor,
        score: int,
        method: str = "combined",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "score",
            registration_id,
            actor,
            lambda r, at: r.record_expert_score(score, method, actor, at),
            payload={"score": score, "method": method},
            **options,
        )

    def return_for_supplement(
        self,
        registration_id: UUID,
        actor: Actor,
        reason_codes: Sequence[str],
        note: str = "",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "return",
            registration_id,
            actor,
            lambda r, at: r.return_for_supplement(reason_codes, note, actor, at),
            payload={"codes": sorted(reason_codes), "note": note},
            **options,
        )

    def provide_supplement(
        self,
        registration_id: UUID,
        actor: Actor,
        facts: dict[str, Any] | None = None,
        **options: Any,
    ) -> CommandResult:
        parsed = ApplicationFacts.from_dict(facts) if facts is not None else None

        def action(r: Registration, at: datetime) -> None:
            r.provide_supplement(actor, at, parsed, self.applicant_history(r, at))

        return self._run(
            "supplement", registration_id, actor, action, payload={"facts": facts}, **options
        )

    def request_further_verification(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "further_verification",
            registration_id,
            actor,
            lambda r, at: r.request_further_verification(reason, actor, at),
            payload={"reason": reason},
            **options,
        )

    def approve(
        self,
        registration_id: UUID,
        actor: Actor,
        *,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Approve, allocating the next number for (scheme, region, year) on first approval."""
        fingerprint = self._fingerprint("approve", {"id": str(registration_id)})
        replay = self._replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        for _attempt in range(10):
            registration = self._load(registration_id, expected_version)
            at = self.clock.now()
            version_before = registration.version
            others: list[Aggregate] = []
            number = None
            if registration.number is None:
                policy = registration.policy
                region = registration.facts.region
                seq_id = NumberSequence.create_id(policy.number_prefix, region, at.year)
                try:
                    sequence: NumberSequence = self.repository.get(seq_id)
                except AggregateNotFoundError:
                    sequence = NumberSequence(policy.number_prefix, region, at.year)
                number = format_number(policy.number_prefix, region, at.year, sequence.allocate())
                others = [sequence, NumberIndex(number, registration.id)]
                others += self._claim_identity(registration, at)
            registration.approve(number, actor, at)
            try:
                return self._commit(registration, others, actor, idempotency_key, fingerprint)
            except ConcurrencyConflict:
                # Lost the race for the number sequence only? Then try the next number.
                if self.get(registration_id).version != version_before:
                    raise
        raise ConcurrencyConflict("could not allocate a registration number; retry")

    def _claim_identity(self, registration: Registration, at: datetime) -> list[Aggregate]:
        """At first approval, refuse a duplicate of a live registration of the same person;
        a duplicate whose rival has since closed takes the person's index over."""
        index = self._identity(registration.scheme, registration.subject_id, registration.id_hmac)
        if index is None or index.registration_id == registration.id:
            return []
        rival = self.get(index.registration_id)
        index.reclaim(registration.id, rival.status in TERMINAL, at)
        return [index]

    def reject(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "reject",
            registration_id,
            actor,
            lambda r, at: r.reject(reason, actor, at),
            payload={"reason": reason},
            **options,
        )

    def withdraw(
        self, registration_id: UUID, actor: Actor, reason: str = "", **options: Any
    ) -> CommandResult:
        return self._run(
            "withdraw",
            registration_id,
            actor,
            lambda r, at: r.withdraw(actor, at, reason),
            payload={"reason": reason},
            **options,
        )

    def record_ce(
        self,
        registration_id: UUID,
        actor: Actor,
        hours: float,
        provider: str,
        course: str = "",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "record_ce",
            registration_id,
            actor,
            lambda r, at: r.record_ce(hours, provider, course, actor, at),
            payload={"hours": hours, "provider": provider, "course": course},
            **options,
        )

    def record_annual_assessment(
        self,
        registration_id: UUID,
        actor: Actor,
        year: int,
        passed: bool,
        note: str = "",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "assessment",
            registration_id,
            actor,
            lambda r, at: r.record_annual_assessment(year, passed, note, actor, at),
            payload={"year": year, "passed": passed, "note": note},
            **options,
        )

    def suspend(
        self,
        registration_id: UUID,
        actor: Actor,
        reason_code: str,
        reason: str = "",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "suspend",
            registration_id,
            actor,
            lambda r, at: r.suspend(reason_code, reason, actor, at),
            payload={"code": reason_code, "reason": reason},
            **options,
        )

    def reinstate(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "reinstate",
            registration_id,
            actor,
            lambda r, at: r.reinstate(reason, actor, at),
            payload={"reason": reason},
            **options,
        )

    def revoke(
        self,
        registration_id: UUID,
        actor: Actor,
        reason_code: str,
        reason: str = "",
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "revoke",
            registration_id,
            actor,
            lambda r, at: r.revoke(reason_code, reason, actor, at),
            payload={"code": reason_code, "reason": reason},
            **options,
        )

    def list_as_dishonest(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "dishonesty_list",
            registration_id,
            actor,
            lambda r, at: r.list_as_dishonest(reason, actor, at),
            payload={"reason": reason},
            **options,
        )

    def lift_dishonesty(
        self, registration_id: UUID, actor: Actor, reason: str, **options: Any
    ) -> CommandResult:
        return self._run(
            "dishonesty_lift",
            registration_id,
            actor,
            lambda r, at: r.lift_dishonesty(reason, actor, at),
            payload={"reason": reason},
            **options,
        )

    def amend(
        self,
        registration_id: UUID,
        actor: Actor,
        changes: dict[str, Any],
        personal: PersonalData | None = None,
        **options: Any,
    ) -> CommandResult:
        """Amend facts and/or personal data; the ID number is immutable."""

        def action(r: Registration, at: datetime) -> None:
            changed = False
            token = None
            if personal is not None:
                current = self.personal_data(r)
                if current is None:
                    raise InvalidInput("this engineer's personal data was erased")
                changed = current.id_number != personal.id_number
                if not changed:
                    token = self.vault.encrypt(r.subject_id, personal)
            r.amend(changes, actor, at, id_number_changed=changed, personal_data=token)

        payload: dict[str, Any] = {"changes": changes}
        if personal is not None:
            subject_id = self.get(registration_id).subject_id
            payload["personal"] = self.vault.subject_digest(subject_id, _personal_bytes(personal))
        return self._run("amend", registration_id, actor, action, payload=payload, **options)

    def record_certificate(
        self,
        registration_id: UUID,
        actor: Actor,
        serial: str,
        kid: str,
        expires_at: datetime,
        **options: Any,
    ) -> CommandResult:
        return self._run(
            "certificate",
            registration_id,
            actor,
            lambda r, at: r.issue_certificate(serial, kid, expires_at, actor, at),
            payload={"serial": serial, "kid": kid},
            **options,
        )

    def erase_personal_data(self, registration_id: UUID, actor: Actor) -> list[CommandResult]:
        """Destroy the engineer's key and record the erasure on each of their registrations."""
        registration = self.get(registration_id)
        subject_id = registration.subject_id
        registrations = {registration_id}
        for policy in DEFAULT_POLICIES:
            index = self._identity(policy.code, subject_id, registration.id_hmac)
            registrations.update(index.history if index else [])
        results = []
        # Record first, then shred: a failure in between leaves a retryable command, never
        # data destroyed without an event saying so. Repeating it finishes the job.
        for rid in sorted(registrations, key=str):
            reg = self.get(rid)
            if reg.subject_id == subject_id and not reg.personal_data_erased:
                results.append(
                    self._run("erase", rid, actor, lambda r, at: r.record_erasure(actor, at))
                )
        self.vault.destroy(subject_id)
        self.evidence_files.shred(subject_id)
        return results

    def apply_scheme_rules(self, registration_id: UUID) -> CommandResult | None:
        """Run the time-driven supervision rules on one registration (SYSTEM actor)."""
        registration = self.get(registration_id)
        triggered = registration.apply_scheme_rules(SYSTEM, self.clock.now())
        if not triggered:
            return None
        return self._commit(registration, [], SYSTEM, None, "")

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
