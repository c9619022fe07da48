"""A realistic, deterministic demo data set: three years of a provincial registry's life.

Every engineer gets a *story* (a lifecycle path through both schemes: drafts, employer
pre-review, returns for supplement, further verification, approvals, CE hours, annual
assessments, suspensions, revocations, amendments, lapses, erasure...). The package is split
by job: `reference` (word lists), `cast` (people and who lives which story), `facts`
(application facts), `scheduler` (one timeline, the registry office), `stories` (the
lifecycle paths), `report` (counts and examples) and `cli` (the `registry demo` plugin).
This module is the public face: run the demo, and what tests need to check it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.demo.cast import (
    DEFAULT_ENGINEERS,
    DEFAULT_SEED,
    MIN_ENGINEERS,
    SPAN_DAYS,
    STORY_BY_NAME,
    STORY_KINDS,
    DemoEngineer,
    DemoPerson,
    StoryKind,
    demo_secrets,
    generate_people,
    plan_cast,
)
from registry.demo.reference import EMPLOYERS, DemoEmployer
from registry.demo.report import DemoExample, DemoResult, describe_story
from registry.demo.stories import DemoRun


def demo_timeline_end(until: date | None = None, *, now: datetime | None = None) -> datetime:
    """The simulation's last moment: `until` at 09:00 UTC, or now (never the future)."""
    current = now or datetime.now(tz=UTC)
    if until is None:
        return current.replace(second=0, microsecond=0) - timedelta(minutes=1)
    end = datetime(until.year, until.month, until.day, 9, 0, tzinfo=UTC)
    if end > current:
        raise ValueError(f"--until {until} is in the future; the demo ends at the latest now")
    return end


def run_demo(
    app: RegistryApp,
    clock: SimulatedClock,
    *,
    seed: int = DEFAULT_SEED,
    engineers: int = DEFAULT_ENGINEERS,
    end: datetime,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Run the whole demo on `app`, whose clock must be `clock`, set at `demo_start(end)`."""
    if app.clock is not clock:
        raise ValueError("the app must run on the demo's simulated clock")
    start = demo_start(end)
    if clock.now() > start:
        raise ValueError("the simulated clock is already past the demo's start")
    clock.set(start)
    demo = DemoRun(app, clock, seed=seed, engineers=engineers, start=start, end=end)
    return demo.run(progress)


def demo_start(end: datetime) -> datetime:
    return (end - timedelta(days=SPAN_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)


__all__ = [
    "DEFAULT_ENGINEERS",
    "DEFAULT_SEED",
    "EMPLOYERS",
    "MIN_ENGINEERS",
    "SPAN_DAYS",
    "STORY_BY_NAME",
    "STORY_KINDS",
    "DemoEmployer",
    "DemoEngineer",
    "DemoExample",
    "DemoPerson",
    "DemoResult",
    "DemoRun",
    "StoryKind",
    "demo_secrets",
    "demo_start",
    "demo_timeline_end",
    "describe_story",
    "generate_people",
    "plan_cast",
    "run_demo",
]
