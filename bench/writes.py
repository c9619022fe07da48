"""Event writes/s through the registry's commands vs the bare `eventsourcing` library.

The registry side runs real use cases on `RegistryApp` — apply, submit, start review,
approve, record CE hours — each with an idempotency key, as the HTTP API sends them. Every
command is one transaction; its size (events in it: the registration's event plus the
identity index, number sequence / index and idempotency record) is captured from the
recorder as it happens.

The baseline is the bare library on a fresh store of the same kind: a trivial aggregate
saved in exactly the same number of transactions with exactly the same number of events in
each (``Application.save``, nothing else). The two run interleaved in chunks so that disk
and database noise hits both alike. Ratio = registry events/s ÷ library events/s.

This module also holds the workload data (valid ID numbers, facts) and `seed_registrations`,
the bulk loader other benchmarks use to build a realistic store quickly (many aggregates
per transaction: the "import" path, not the command path).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.runner import BenchContext, Figure, Target, tracked
from domain.actors import Actor, Role
from domain.facts import ApplicationFacts
from domain.indexes import IdentityIndex, NumberIndex, NumberSequence
from domain.numbering import check_character, format_number
from domain.personal import PersonalData
from domain.registration import Registration
from domain.schemes import ApplicantHistory
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
REVIEWER = Actor("bench-reviewer", Role.REVIEWER)
REGISTRAR = Actor("bench-registrar", Role.REGISTRAR)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
COMMANDS_PER_REGISTRATION = 5
WARMUP_N = 7_999_999  # an ID number no measured registration uses


# ----------------------------------------------------------------------------- workload


def id_number(n: int) -> str:
    """A valid, distinct 18-character resident ID number for every n < 8,000,000."""
    birth = date(1965, 1, 1) + timedelta(days=n // 1000)
    body = f"440305{birth:%Y%m%d}{n % 1000:03d}"
    return body + check_character(body)


def person(n: int) -> PersonalData:
    name = _SURNAMES[n % 20] + _GIVEN[(n // 20) % 20] + (_GIVEN[(n // 400) % 20] if n % 3 else "")
    return PersonalData(
        name=name,
        id_number=id_number(n),
        phone="13800138000",
        email=f"eng{n}@example.cn",
        address="深圳市南山区科技园",
    )


def engineer(n: int) -> Actor:
    return Actor(f"bench-engineer-{n}", Role.ENGINEER)


def sie_facts(n: int) -> dict[str, Any]:
    employer = f"emp-{9144030000 + n % 500}"
    return {
        "education": [
            {
                "level": "bachelor",
                "institution": "华南理工大学",
                "major": "软件工程",
                "graduated": "2015-07-01",
            }
        ],
        "certificates": [
            {
                "kind": "ruankao_intermediate",
                "name": "系统集成项目管理工程师",
                "issued": "2018-05-20",
            }
        ],
        "projects": [
            {
                "name": "某市政务云平台实施",
                "start": "2019-03-01",
                "end": "2019-12-31",
                "role": "实施工程师",
                "outcome": "上线并培训 300 名用户",
            },
            {
                "name": "制造企业 MES 部署",
                "start": "2020-02-01",
                "end": "2020-10-31",
                "role": "实施负责人",
                "outcome": "覆盖 3 个车间",
            },
        ],
        "employer": {
            "id": employer,
            "name": "深圳某软件有限公司",
            "job_description": "ERP/MES 系统实施与培训",
        },
        "work_years": 6,
        "independent_work_years": 3,
        "skills": "SAP 实施, Oracle 数据库迁移",
        "region": "44",
    }


# ------------------------------------------------------------------- capturing tx sizes


@dataclass
class TxSizes:
    """Events per `insert_events` call (= per transaction) seen on a recorder."""

    sizes: list[int] = field(default_factory=list)

    def attach(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        original: Callable[..., Any] = recorder.insert_events

        def insert_events(stored_events: Sequence[Any], **kwargs: Any) -> Any:
            self.sizes.append(len(stored_events))
            return original(stored_events, **kwargs)

        setattr(recorder, "insert_events", insert_events)  # noqa: B010 - instance wrapper

    def take(self) -> list[int]:
        taken, self.sizes = self.sizes, []
        return taken


# ------------------------------------------------------------------------- the baseline


class Tick(Aggregate):
    """The trivial aggregate of the baseline: a counter."""

    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Ticked")
    def tick(self) -> None:
        self.count += 1


class BareApp(Application[UUID]):
    name = "Bare"


def bare_app(settings: Settings) -> BareApp:
    return BareApp(env=settings.eventsourcing_env())


def save_like(app: BareApp, sizes: Sequence[int]) -> int:
    """One `save` per size with that many events (a new Tick plus ticks); returns events."""
    total = 0
    for size in sizes:
        tick = Tick()
        for _ in range(size - 1):
            tick.tick()
        app.save(tick)
        total += size
    return total


# --------------------------------------------------------------------- the registry side


def lifecycle(app: RegistryApp, clock: SimulatedClock, n: int) -> None:
    """The five commands of one registration's first weeks, with idempotency keys."""
    eng = engineer(n)
    rid = app.apply(eng, "SIE", person(n), sie_facts(n), idempotency_key=f"apply-{n}")
    clock.advance(timedelta(minutes=30))
    app.submit(rid.registration_id, eng, idempotency_key=f"submit-{n}")
    clock.advance(timedelta(minutes=30))
    app.start_review(rid.registration_id, REVIEWER, idempotency_key=f"review-{n}")
    clock.advance(timedelta(minutes=30))
    app.approve(rid.registration_id, REVIEWER, idempotency_key=f"approve-{n}")
    clock.advance(timedelta(minutes=30))
    app.record_ce(rid.registration_id, eng, 12, "省继续教育平台", idempotency_key=f"ce-{n}")
    clock.advance(timedelta(minutes=30))


@dataclass
class WriteResult:
    registry_events: int
    registry_seconds: float
    baseline_events: int
    baseline_seconds: float
    transactions: int

    @property
    def registry_rate(self) -> float:
        return self.registry_events / self.registry_seconds

    @property
    def baseline_rate(self) -> float:
        return self.baseline_events / self.baseline_seconds


def measure_writes(
    registry_settings: Settings,
    baseline_settings: Settings,
    registrations: int,
    advance: Callable[[int], None] | None = None,
    chunk: int = 25,
) -> WriteResult:
    """Registry commands and the same-shaped library saves, interleaved chunk by chunk."""
    clock = SimulatedClock(START)
    app = open_app(registry_settings, clock=clock)
    bare = bare_app(baseline_settings)
    sizes = TxSizes()
    sizes.attach(app)
    try:
        # warm up both (connections, prepared statements, imports); not timed
        lifecycle(app, clock, WARMUP_N)
        save_like(bare, sizes.take())
        reg_s = base_s = 0.0
        reg_events = base_events = transactions = 0
        for start in range(0, registrations, chunk):
            stop = min(registrations, start + chunk)
            t0 = time.perf_counter()
            for n in range(start, stop):
                lifecycle(app, clock, n)
            reg_s += time.perf_counter() - t0
            shape = sizes.take()
            reg_events += sum(shape)
            transactions += len(shape)
            t0 = time.perf_counter()
            base_events += save_like(bare, shape)
            base_s += time.perf_counter() - t0
            if advance is not None:
                advance(stop - start)
    finally:
        app.close()
        bare.close()
    return WriteResult(reg_events, reg_s, base_events, base_s, transactions)


def _figure(store: str, result: WriteResult, registrations: int) -> Figure:
    return Figure(
        name=f"writes.{store.lower()}",
        title=f"event writes/s through registry commands ({store})",
        unit="events/s",
        value=result.registry_rate,
        baseline_title="bare eventsourcing save, same events per transaction",
        baseline=result.baseline_rate,
        target=Target("ratio_at_least", 0.8),
        params={
            "registrations": registrations,
            "commands": registrations * COMMANDS_PER_REGISTRATION,
            "transactions": result.transactions,
            "events": result.registry_events,
            "events_per_transaction": round(result.registry_events / result.transactions, 2),
            "commands_per_s": round(result.transactions / result.registry_seconds, 1),
        },
        notes=(
            "apply, submit, start_review, approve, record_ce with idempotency keys; each "
            "command also reads the aggregate, its idempotency record and indexes"
        ),
    )


def run(ctx: BenchContext) -> list[Figure]:
    registrations = ctx.size(100, 1000)
    figures: list[Figure] = []
    with ctx.progress() as progress:
        with tracked(progress, "writes: SQLite", registrations) as advance:
            result = measure_writes(
                ctx.sqlite_settings("writes-registry"),
                ctx.sqlite_settings("writes-bare"),
                registrations,
                advance,
            )
        figures.append(_figure("SQLite", result, registrations))
        problem = ctx.postgres_problem()
        if problem:
            ctx.note(f"  PostgreSQL writes skipped: {problem}")
            return figures
        with (
            ctx.postgres_schema("writes_reg") as reg_settings,
            ctx.postgres_schema("writes_bare") as bare_settings,
            tracked(progress, "writes: PostgreSQL", registrations) as advance,
        ):
            result = measure_writes(reg_settings, bare_settings, registrations, advance)
        figures.append(_figure("PostgreSQL", result, registrations))
    return figures


# -------------------------------------------------------------- bulk seeding (the import path)


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
                facts=ApplicationFacts.from_dict(sie_facts(n)),
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
