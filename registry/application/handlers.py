"""One handler per command, in one table; `RegistryApp.handle` dispatches from it.

A handler loads what its command needs, calls the domain, and commits through
`registry.application.unit_of_work` (idempotency, expected version, one transaction), so
every command gets the same guarantees and none can drift from the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role
from domain.errors import InvalidInput
from domain.facts import ApplicationFacts
from domain.indexes import IdentityIndex, NumberIndex, NumberSequence
from domain.numbering import format_number
from domain.registration import Registration
from domain.schemes import DEFAULT_POLICIES
from registry.application.commands import (
    Amend,
    Apply,
    Approve,
    ApproveEmployerChange,
    AttachEvidence,
    Command,
    CommandOptions,
    CommandResult,
    Decline,
    DeclineEmployerChange,
    Endorse,
    EndorseEmployerChange,
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    ProvideSupplement,
    RecordAnnualAssessment,
    RecordCe,
    RecordCertificate,
    RecordExpertScore,
    Reinstate,
    Reject,
    RequestEmployerChange,
    RequestFurtherVerification,
    ReturnForSupplement,
    Revoke,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
)
from registry.application.errors import ConcurrencyConflict
from registry.application.unit_of_work import (
    Registry,
    commit,
    fingerprint,
    load,
    personal_bytes,
    replay,
    run,
)


def apply(app: Registry, c: Apply, actor: Actor, o: CommandOptions) -> CommandResult:
    """Start a draft. A second live application for the same person in a scheme is refused
    to a registrar; anyone else is never told whether an ID number is registered (that
    would let any account probe the register): their draft is accepted and noted on the
    person's index, and approval refuses it while the other one is live."""
    policy = app.policy(c.scheme)
    facts = c.facts
    parsed = (
        facts if isinstance(facts, ApplicationFacts) else ApplicationFacts.from_dict(dict(facts))
    )
    subject_id = app.vault.subject_for(app.vault.id_hmac(c.personal.id_number))
    print_ = fingerprint(
        app,
        "apply",
        {
            "scheme": c.scheme,
            "subject": str(subject_id),
            "facts": parsed.as_dict(),
            "personal": app.vault.subject_digest(subject_id, personal_bytes(c.personal)),
        },
    )
    replayed = replay(app, actor, o.idempotency_key, print_)
    if replayed is not None:
        return replayed
    now = app.clock.now()
    registration = Registration.draft(
        policy=policy,
        subject_id=subject_id,
        personal_data=app.vault.encrypt(subject_id, c.personal),
        facts=parsed,
        actor=actor,
        at=now,
    )
    registration.business_time = app.business_time
    index = app.identity(c.scheme, subject_id)
    if index is None:
        index = IdentityIndex(
            c.scheme, IdentityIndex.subject_identity(subject_id), registration.id, now
        )
    else:
        # A lapsed registration is closed too: its engineer may apply again, and the new
        # application joins the person's index beside the old one (whose history stays).
        previous_closed = app.get(index.registration_id).closed_at(now)
        if previous_closed or actor.role is Role.REGISTRAR:
            index.reclaim(registration.id, previous_closed, now)
        else:
            index.note_duplicate(registration.id, now)
    return commit(app, registration, [index], actor, o.idempotency_key, print_)


def attach_evidence(
    app: Registry, c: AttachEvidence, actor: Actor, o: CommandOptions
) -> CommandResult:
    """Seal the file under the subject's key, store it, and record its reference."""
    evidence, content = c.evidence, c.content
    if len(content) != evidence.size or hashlib.sha256(content).hexdigest() != evidence.sha256:
        raise InvalidInput("the evidence file does not match its reference (size or hash)")
    registration = load(app, c.registration_id, o.expected_version)
    registration.check_can_attach_evidence(actor)
    sealed = app.vault.seal(registration.subject_id, content, evidence.sha256.encode())
    app.evidence_files.write(registration.subject_id, evidence.sha256, sealed)
    return run(
        app,
        "attach_evidence",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.attach_evidence(evidence, actor, at),
        evidence.as_dict(),
    )


def submit(app: Registry, c: Submit, actor: Actor, o: CommandOptions) -> CommandResult:
    def action(r: Registration, at: datetime) -> None:
        personal = app.personal_data(r)
        has_contact = personal is not None and bool(
            personal.phone.strip() or personal.email.strip()
        )
        r.submit(actor, at, app.applicant_history(r, at), has_contact)

    return run(app, "submit", c.registration_id, actor, o, action)


def endorse(app: Registry, c: Endorse, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "endorse",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.endorse(actor, at, c.note),
        {"note": c.note},
    )


def decline(app: Registry, c: Decline, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "decline",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.decline(actor, at, c.reason),
        {"reason": c.reason},
    )


def start_review(app: Registry, c: StartReview, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app, "start_review", c.registration_id, actor, o, lambda r, at: r.start_review(actor, at)
    )


def record_expert_score(
    app: Registry, c: RecordExpertScore, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "score",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.record_expert_score(c.score, c.method, actor, at),
        {"score": c.score, "method": c.method},
    )


def return_for_supplement(
    app: Registry, c: ReturnForSupplement, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "return",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.return_for_supplement(c.reason_codes, c.note, actor, at),
        {"codes": sorted(c.reason_codes), "note": c.note},
    )


def provide_supplement(
    app: Registry, c: ProvideSupplement, actor: Actor, o: CommandOptions
) -> CommandResult:
    facts = dict(c.facts) if c.facts is not None else None
    parsed = ApplicationFacts.from_dict(facts) if facts is not None else None

    def action(r: Registration, at: datetime) -> None:
        r.provide_supplement(actor, at, parsed, app.applicant_history(r, at))

    return run(app, "supplement", c.registration_id, actor, o, action, {"facts": facts})


def request_further_verification(
    app: Registry, c: RequestFurtherVerification, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "further_verification",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.request_further_verification(c.reason, actor, at),
        {"reason": c.reason},
    )


def approve(app: Registry, c: Approve, actor: Actor, o: CommandOptions) -> CommandResult:
    """Approve, allocating the next number for (scheme, region, year) on first approval."""
    print_ = fingerprint(app, "approve", {"id": str(c.registration_id)})
    replayed = replay(app, actor, o.idempotency_key, print_)
    if replayed is not None:
        return replayed
    for _attempt in range(10):
        registration = load(app, c.registration_id, o.expected_version)
        at = app.clock.now()
        version_before = registration.version
        others: list[Aggregate] = []
        number = None
        if registration.number is None:
            policy = registration.policy
            region = registration.facts.region
            seq_id = NumberSequence.create_id(policy.number_prefix, region, at.year)
            try:
                sequence: NumberSequence = app.repository.get(seq_id)
            except AggregateNotFoundError:
                sequence = NumberSequence(policy.number_prefix, region, at.year)
            number = format_number(policy.number_prefix, region, at.year, sequence.allocate())
            others = [sequence, NumberIndex(number, registration.id)]
            others += _claim_identity(app, registration, at)
        registration.approve(number, actor, at)
        try:
            return commit(app, registration, others, actor, o.idempotency_key, print_)
        except ConcurrencyConflict:
            # Lost the race for the number sequence only? Then try the next number.
            if app.get(c.registration_id).version != version_before:
                raise
    raise ConcurrencyConflict("could not allocate a registration number; retry")


def _claim_identity(app: Registry, registration: Registration, at: datetime) -> list[Aggregate]:
    """At first approval (and at reinstatement), refuse a duplicate of a live registration
    of the same person; one whose rival has since closed (or lapsed) takes the person's
    index over."""
    index = app.identity(registration.scheme, registration.subject_id, registration.id_hmac)
    if index is None or index.registration_id == registration.id:
        return []
    rival = app.get(index.registration_id)
    index.reclaim(registration.id, rival.closed_at(at), at)
    return [index]


def reject(app: Registry, c: Reject, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "reject",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.reject(c.reason, actor, at),
        {"reason": c.reason},
    )


def withdraw(app: Registry, c: Withdraw, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "withdraw",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.withdraw(actor, at, c.reason),
        {"reason": c.reason},
    )


def record_ce(app: Registry, c: RecordCe, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "record_ce",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.record_ce(c.hours, c.provider, c.course, actor, at),
        {"hours": c.hours, "provider": c.provider, "course": c.course},
    )


def record_annual_assessment(
    app: Registry, c: RecordAnnualAssessment, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "assessment",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.record_annual_assessment(c.year, c.passed, c.note, actor, at),
        {"year": c.year, "passed": c.passed, "note": c.note},
    )


def suspend(app: Registry, c: Suspend, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "suspend",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.suspend(c.reason_code, c.reason, actor, at),
        {"code": c.reason_code, "reason": c.reason},
    )


def reinstate(app: Registry, c: Reinstate, actor: Actor, o: CommandOptions) -> CommandResult:
    """Reinstate; a lapsed registration whose engineer has since applied again is revived
    only if that later application has closed (it takes the person's index back), so a
    person never holds two live registrations in one scheme."""
    print_ = fingerprint(app, "reinstate", {"id": str(c.registration_id), "reason": c.reason})
    replayed = replay(app, actor, o.idempotency_key, print_)
    if replayed is not None:
        return replayed
    registration = load(app, c.registration_id, o.expected_version)
    at = app.clock.now()
    registration.reinstate(c.reason, actor, at)
    others = _claim_identity(app, registration, at)
    return commit(app, registration, others, actor, o.idempotency_key, print_)


def revoke(app: Registry, c: Revoke, actor: Actor, o: CommandOptions) -> CommandResult:
    return run(
        app,
        "revoke",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.revoke(c.reason_code, c.reason, actor, at),
        {"code": c.reason_code, "reason": c.reason},
    )


def list_as_dishonest(
    app: Registry, c: ListAsDishonest, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "dishonesty_list",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.list_as_dishonest(c.reason, actor, at),
        {"reason": c.reason},
    )


def lift_dishonesty(
    app: Registry, c: LiftDishonesty, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "dishonesty_lift",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.lift_dishonesty(c.reason, actor, at),
        {"reason": c.reason},
    )


def amend(app: Registry, c: Amend, actor: Actor, o: CommandOptions) -> CommandResult:
    personal = c.personal
    changes = dict(c.changes)

    def action(r: Registration, at: datetime) -> None:
        changed = False
        token = None
        if personal is not None:
            current = app.personal_data(r)
            if current is None:
                raise InvalidInput("this engineer's personal data was erased")
            changed = current.id_number != personal.id_number
            if not changed:
                token = app.vault.encrypt(r.subject_id, personal)
        r.amend(changes, actor, at, id_number_changed=changed, personal_data=token)

    payload: dict[str, Any] = {"changes": changes}
    if personal is not None:
        subject_id = app.get(c.registration_id).subject_id
        payload["personal"] = app.vault.subject_digest(subject_id, personal_bytes(personal))
    return run(app, "amend", c.registration_id, actor, o, action, payload)


def record_certificate(
    app: Registry, c: RecordCertificate, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "certificate",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.issue_certificate(c.serial, c.kid, c.expires_at, actor, at),
        {"serial": c.serial, "kid": c.kid},
    )


def erase_personal_data(
    app: Registry, c: ErasePersonalData, actor: Actor, o: CommandOptions
) -> list[CommandResult]:
    """Destroy the engineer's key and record the erasure on each of their registrations.

    The expected version is that of the addressed registration; the idempotency key is not
    needed (repeating an erasure finishes the job and records nothing twice).
    """
    registration = load(app, c.registration_id, o.expected_version)
    subject_id = registration.subject_id
    registrations = {c.registration_id}
    for policy in DEFAULT_POLICIES:
        index = app.identity(policy.code, subject_id, registration.id_hmac)
        registrations.update(index.history if index else [])
    results = []

    def erase(r: Registration, at: datetime) -> None:
        r.record_erasure(actor, at)

    # Record first, then shred: a failure in between leaves a retryable command, never
    # data destroyed without an event saying so. Repeating it finishes the job.
    for rid in sorted(registrations, key=str):
        reg = app.get(rid)
        if reg.subject_id == subject_id and not reg.personal_data_erased:
            results.append(run(app, "erase", rid, actor, CommandOptions(), erase))
    app.vault.destroy(subject_id)
    app.evidence_files.shred(subject_id)
    return results


def request_employer_change(
    app: Registry, c: RequestEmployerChange, actor: Actor, o: CommandOptions
) -> CommandResult:
    employer = {
        "id": c.employer_id,
        "name": c.employer_name,
        "job_description": c.job_description,
    }
    return run(
        app,
        "request_employer_change",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.request_employer_change(employer, actor, at, c.note),
        {"employer": employer, "note": c.note},
    )


def endorse_employer_change(
    app: Registry, c: EndorseEmployerChange, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "employer_change_endorse",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.endorse_employer_change(actor, at, c.note),
        {"note": c.note},
    )


def decline_employer_change(
    app: Registry, c: DeclineEmployerChange, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "employer_change_decline",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.decline_employer_change(c.reason, actor, at),
        {"reason": c.reason},
    )


def approve_employer_change(
    app: Registry, c: ApproveEmployerChange, actor: Actor, o: CommandOptions
) -> CommandResult:
    return run(
        app,
        "employer_change_approve",
        c.registration_id,
        actor,
        o,
        lambda r, at: r.approve_employer_change(actor, at),
    )


Handler = Callable[[Registry, Any, Actor, CommandOptions], CommandResult | list[CommandResult]]

HANDLERS: Mapping[type[Command], Handler] = {
    Apply: apply,
    AttachEvidence: attach_evidence,
    Submit: submit,
    Endorse: endorse,
    Decline: decline,
    StartReview: start_review,
    RecordExpertScore: record_expert_score,
    ReturnForSupplement: return_for_supplement,
    ProvideSupplement: provide_supplement,
    RequestFurtherVerification: request_further_verification,
    Approve: approve,
    Reject: reject,
    Withdraw: withdraw,
    RecordCe: record_ce,
    RecordAnnualAssessment: record_annual_assessment,
    Suspend: suspend,
    Reinstate: reinstate,
    Revoke: revoke,
    ListAsDishonest: list_as_dishonest,
    LiftDishonesty: lift_dishonesty,
    Amend: amend,
    RequestEmployerChange: request_employer_change,
    EndorseEmployerChange: endorse_employer_change,
    DeclineEmployerChange: decline_employer_change,
    ApproveEmployerChange: approve_employer_change,
    RecordCertificate: record_certificate,
    ErasePersonalData: erase_personal_data,
}
"""Command class → handler: the registry's whole write surface."""
