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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bench.framework import (
    BenchContext,
    Figure,
    Target,
    TxSizes,
    bare_app,
    save_like,
    tracked,
)
from bench.workload import REVIEWER, START, engineer, facts, person
from registry.application import (
    Apply,
    Approve,
    AttachEvidence,
    CommandOptions,
    RecordCe,
    StartReview,
    Submit,
)
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.samples import required_evidence

COMMANDS_PER_REGISTRATION = 5
WARMUP_N = 7_999_999  # an ID number no measured registration uses


# --------------------------------------------------------------------- the registry side


def lifecycle(app: RegistryApp, clock: SimulatedClock, n: int) -> None:
    """The five commands of one registration's first weeks (after attaching the materials
    required at submission), with idempotency keys."""
    eng = engineer(n)
    rid = app.handle(
        Apply("SIE", person(n), facts(n)), eng, CommandOptions(idempotency_key=f"apply-{n}")
    )
    for ref, content in required_evidence(n):  # the materials required at submission
        app.handle(AttachEvidence(rid.registration_id, ref, content), eng)
    clock.advance(timedelta(minutes=30))
    app.handle(Submit(rid.registration_id), eng, CommandOptions(idempotency_key=f"submit-{n}"))
    clock.advance(timedelta(minutes=30))
    app.handle(
        StartReview(rid.registration_id), REVIEWER, CommandOptions(idempotency_key=f"review-{n}")
    )
    clock.advance(timedelta(minutes=30))
    app.handle(
        Approve(rid.registration_id), REVIEWER, CommandOptions(idempotency_key=f"approve-{n}")
    )
    clock.advance(timedelta(minutes=30))
    app.handle(
        RecordCe(rid.registration_id, 12, "省继续教育平台"),
        eng,
        CommandOptions(idempotency_key=f"ce-{n}"),
    )
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
