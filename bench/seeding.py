"""Bulk seeding (the "import" path): a realistic store of approved registrations, fast.

Many aggregates per transaction, built through the domain's own methods so the events are
exactly what the commands record; used by the projection and batch-issue benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from bench.workload import REGISTRAR, REVIEWER, START, engineer, facts, person
from domain.facts import ApplicationFacts
from domain.indexes import IdentityIndex, NumberIndex, NumberSequence
from domain.numbering import format_number
from domain.registration import Registration
from domain.schemes import ApplicantHistory
from registry.application.service import RegistryApp


@dataclass
class Seeded:
    registration_ids: list[UUID]
    numbers: list[str]
    events: int


def seed_registrations(
    app: RegistryApp,
    count: int,
    *,
    seed: int = 7,
    batch: int = 200,
    advance: Callable[[int], None] | None = None,
) -> Seeded:
    """`count` approved registrations with a realistic tail of later events, saved in bulk.

    Each is drafted, submitted, reviewed and approved through the domain's own methods (so
    the events are exactly what the commands record), with its identity index, number index
    and number sequence; then some record CE hours, some are suspended (half of them
    reinstated) and a few revoked. `batch` registrations are saved per transaction.
    """
    rng = random.Random(seed)
    policy = app.policy("SIE")
    vault = app.vault
    at0 = START
    sequences: dict[int, NumberSequence] = {}
    ids: list[UUID] = []
    numbers: list[str] = []
    events = 0
    for first in range(0, count, batch):
        pending: list[Aggregate] = []
        for n in range(first, min(count, first + batch)):
            eng = engineer(n)
            data = person(n)
            subject = vault.subject_for(vault.id_hmac(data.id_number))
            at = at0 + timedelta(minutes=7 * n)
            reg = Registration.draft(
                policy=policy,
                subject_id=subject,
                personal_data=vault.encrypt(subject, data),
                facts=ApplicationFacts.from_dict(facts(n)),
                actor=eng,
                at=at,
            )
            reg.submit(eng, at + timedelta(hours=1), ApplicantHistory(False, False))
            reg.start_review(REVIEWER, at + timedelta(days=1))
            approved_at = at + timedelta(days=3)
            year = approved_at.year
            sequence = sequences.get(year)
            if sequence is None:
                sequence = sequences[year] = NumberSequence(policy.number_prefix, "44", year)
            number = format_number(policy.number_prefix, "44", year, sequence.allocate())
            reg.approve(number, REVIEWER, approved_at)
            roll = rng.random()
            later = approved_at + timedelta(days=rng.randint(30, 300))
            if roll < 0.5:
                reg.record_ce(rng.choice([8, 12, 24]), "省继续教育平台", "", eng, later)
            elif roll < 0.58:
                reg.suspend("investigation", "complaint under investigation", REGISTRAR, later)
                if rng.random() < 0.5:
                    reg.reinstate("investigation closed", REGISTRAR, later + timedelta(days=40))
            elif roll < 0.6:
                reg.revoke("fraud", "forged project evidence", REGISTRAR, later)
            events += len(reg.pending_events) + 2
            pending.extend(
                [
                    reg,
                    IdentityIndex("SIE", IdentityIndex.subject_identity(subject), reg.id, at),
                    NumberIndex(number, reg.id),
                ]
            )
            ids.append(reg.id)
            numbers.append(number)
        for sequence in sequences.values():
            events += len(sequence.pending_events)
            pending.append(sequence)
        app.save(*pending)
        if advance is not None:
            advance(min(count, first + batch) - first)
    return Seeded(ids, numbers, events)
