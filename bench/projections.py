"""Projection catch-up and full rebuild, events/s, vs reading the same notifications raw.

A store of approved registrations (with CE records, suspensions, reinstatements and
revocations) is bulk-loaded with `bench.seeding.seed_registrations`. Then:

- baseline: ``recorder.select_notifications`` in pages of the projector's batch size,
  decoding every notification into its domain event (``mapper.to_domain_event``) and
  nothing else — the floor any projector on this store pays;
- catch-up: a fresh `RegistryProjections` reads the whole log from position 0 (fold,
  masked-name decryption, view rows and tracking row in one transaction per batch);
- rebuild: `RegistryProjections.rebuild()` on the populated views (shadow replay + switch).

Rates count every notification read (index and sequence aggregates included), the same
count for all three.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.framework import BenchContext, Figure, tracked
from bench.seeding import seed_registrations
from bench.workload import START
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_projections


def raw_read(app: RegistryApp, page: int, advance: Callable[[int], None] | None = None) -> int:
    """Every notification, page by page, decoded into domain events; returns the count."""
    start, count = 1, 0
    while True:
        batch = app.recorder.select_notifications(start, page)
        if not batch:
            return count
        for notification in batch:
            app.mapper.to_domain_event(notification)
        count += len(batch)
        start = batch[-1].id + 1
        if advance is not None:
            advance(len(batch))


def measure(ctx: BenchContext, settings: Settings, store: str, registrations: int) -> list[Figure]:
    app = open_app(settings, clock=SimulatedClock(START))
    try:
        with ctx.progress() as progress:
            with tracked(progress, f"seed {store}", registrations) as advance:
                seed_registrations(app, registrations, advance=advance)
            total = app.recorder.max_notification_id() or 0
            views = open_projections(app)
            page = views.batch_size
            # each measurement twice, keeping the faster: the first read also warms caches
            raw_s = catch_s = rebuild_s = float("inf")
            for attempt in range(2):
                with tracked(progress, f"raw read {store} #{attempt + 1}", total) as advance:
                    t0 = time.perf_counter()
                    read = raw_read(app, page, advance)
                    raw_s = min(raw_s, time.perf_counter() - t0)
                if attempt == 0:
                    with tracked(progress, f"catch-up {store}", total) as advance:
                        t0 = time.perf_counter()
                        caught = views.catch_up(advance)
                        catch_s = time.perf_counter() - t0
                with tracked(progress, f"rebuild {store} #{attempt + 1}", total) as advance:
                    t0 = time.perf_counter()
                    rebuilt = views.rebuild(advance)
                    rebuild_s = min(rebuild_s, time.perf_counter() - t0)
            if not read == caught == rebuilt == total:
                raise RuntimeError(
                    f"notification counts differ: raw {read}, catch-up {caught}, "
                    f"rebuild {rebuilt}, log {total}"
                )
    finally:
        app.close()
    params = {"registrations": registrations, "notifications": total, "page": page}
    raw_rate = total / raw_s
    return [
        Figure(
            name=f"projections.catch_up.{store.lower()}",
            title=f"projection catch-up from empty ({store})",
            unit="events/s",
            value=total / catch_s,
            baseline_title="raw select_notifications + decode",
            baseline=raw_rate,
            params=dict(params),
            notes="fold + masked-name decryption + view/history/decision rows + tracking",
        ),
        Figure(
            name=f"projections.rebuild.{store.lower()}",
            title=f"projection full rebuild ({store})",
            unit="events/s",
            value=total / rebuild_s,
            baseline_title="raw select_notifications + decode",
            baseline=raw_rate,
            params=dict(params),
            notes="delete all view rows, replay the whole log",
        ),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    registrations = ctx.size(1000, 20_000)
    figures = measure(ctx, ctx.sqlite_settings("projections"), "SQLite", registrations)
    problem = ctx.postgres_problem()
    if problem:
        ctx.note(f"  PostgreSQL projections skipped: {problem}")
        return figures
    with ctx.postgres_schema("projections") as settings:
        figures.extend(measure(ctx, settings, "PostgreSQL", registrations))
    return figures
