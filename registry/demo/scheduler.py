"""The demo's scheduler: every story on one simulated timeline, and the registry office.

Each story is a generator that yields the simulated day of its next step; the scheduler
interleaves them by day (the simulated clock never goes back), and the office process runs
the time-driven scheme rules monthly and the annual assessments each January.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Generator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from domain.actors import Actor, Role
from domain.registration import Registration
from domain.status import Status
from registry.application import RecordAnnualAssessment
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.demo.cast import DemoEngineer, plan_cast
from registry.demo.report import DemoResult, build_result

Story = Generator[float, None, None]

REVIEWER = Actor("reviewer-chen", Role.REVIEWER)
EXPERT = Actor("expert-panel-gd", Role.REVIEWER)
REGISTRAR = Actor("registrar-gd-hrss", Role.REGISTRAR)


class Cursor:
    """One story's position on the timeline, in (fractional) days since the start.

    Day 0 is midnight UTC of the simulation's first date, a `weekday0` (Monday = 0).
    """

    def __init__(self, day: float, rng: random.Random, weekday0: int) -> None:
        self.day = day
        self.rng = rng
        self.weekday0 = weekday0

    def later(self, lo: float, hi: float, *, office_hours: bool = True) -> float:
        target = self.day + self.rng.uniform(lo, hi)
        return self.at_office(target) if office_hours else self.at(target)

    def at(self, day: float) -> float:
        self.day = max(day, self.day + 0.001)
        return self.day

    def at_office(self, day: float) -> float:
        """The first weekday moment between 09:00 and 17:00 Beijing time (01:00-09:00 UTC)."""
        whole = int(day)
        frac = day - whole
        if frac > 9 / 24:
            whole += 1
            frac = self.rng.uniform(1 / 24, 9 / 24)
        elif frac < 1 / 24:
            frac = self.rng.uniform(1 / 24, 9 / 24)
        while (self.weekday0 + whole) % 7 >= 5:
            whole += 1
        return self.at(whole + frac)


class Scheduler:
    """Runs the stories (methods `_<story kind>` of a subclass) against a `RegistryApp`."""

    def __init__(
        self,
        app: RegistryApp,
        clock: SimulatedClock,
        *,
        seed: int,
        engineers: int,
        start: datetime,
        end: datetime,
    ) -> None:
        self.app = app
        self.clock = clock
        self.seed = seed
        self.start = start
        self.end = end
        self.span = (end - start).total_seconds() / 86400
        self.cast = plan_cast(seed, engineers)
        self.refusals: Counter[str] = Counter()
        self.rule_events: Counter[str] = Counter()
        self.failed_assessment: set[int] = set()
        self._schemes: dict[UUID, str] = {}

    # ---------------------------------------------------------------- scheduler

    def run(self, progress: Callable[[int], None] | None = None) -> DemoResult:
        began = time.perf_counter()
        first_event = self.app.recorder.max_notification_id() or 0
        queue: list[tuple[float, int, Story]] = []
        sequence = 0

        def push(story: Story) -> None:
            nonlocal sequence
            try:
                day = next(story)
            except StopIteration:
                return
            if day <= self.span:
                heapq.heappush(queue, (day, sequence, story))
                sequence += 1

        push(self._office())
        for engineer in self.cast:
            push(self._story(engineer))
        shown = 0
        while queue:
            day, _, story = heapq.heappop(queue)
            self.clock.set(self.start + timedelta(days=day))
            if progress is not None and int(day) > shown:
                progress(int(day) - shown)
                shown = int(day)
            push(story)
        self.clock.set(self.end)
        if progress is not None and int(self.span) > shown:
            progress(int(self.span) - shown)
        events = (self.app.recorder.max_notification_id() or 0) - first_event
        elapsed = time.perf_counter() - began
        return build_result(
            self.app,
            self.cast,
            seed=self.seed,
            start=self.start,
            end=self.end,
            events=events,
            elapsed=elapsed,
            refusals=self.refusals,
            rule_events=self.rule_events,
        )

    def _story(self, e: DemoEngineer) -> Story:
        """Yields the story's first day, then runs each step when resumed."""
        method: Callable[[DemoEngineer], Story] = getattr(self, f"_{e.kind.name}")
        return method(e)

    def _get(self, rid: UUID) -> Registration:
        return self.app.get(rid)

    # ------------------------------------------------------------------ the office

    def _office(self) -> Story:
        """Monthly supervision sweep (02:00 Beijing on the 1st); annual assessments in January."""
        month = (self.start.replace(day=1) + timedelta(days=32)).replace(day=1)
        while True:
            sweep = month.replace(hour=18) - timedelta(days=1)  # 02:00 CST on the 1st
            yield (sweep - self.start).total_seconds() / 86400
            for result in self.app.supervise():
                self.rule_events.update(result.events)
            if month.month == 1:
                assessment = month.replace(day=12, hour=2)
                yield (assessment - self.start).total_seconds() / 86400
                self._annual_assessments(month.year - 1)
            month = (month + timedelta(days=32)).replace(day=1)

    def _annual_assessments(self, year: int) -> None:
        now = self.clock.now()
        for e in self.cast:
            for rid in e.registrations:
                reg = self._get(rid)
                if reg.scheme != "IET" or reg.approved_at is None:
                    continue
                if reg.approved_at.year > year or year in reg.assessments:
                    continue
                if reg.status is not Status.ACTIVE or reg.status_at(now) is not Status.ACTIVE:
                    continue
                fail = (
                    e.kind.name == "iet_assessment_failed" and e.index not in self.failed_assessment
                )
                if fail:
                    self.failed_assessment.add(e.index)
                note = (
                    "年度考核不合格：未履行岗位职责，项目交付出现重大质量问题"
                    if fail
                    else "年度考核合格"
                )
                self.app.handle(RecordAnnualAssessment(rid, year, not fail, note), REGISTRAR)

    # ----------------------------------------------------------------- timeline

    def _cursor(self, day: float, e: DemoEngineer) -> Cursor:
        return Cursor(day, e.rng, self.start.weekday())

    def _day_now(self) -> float:
        return (self.clock.now() - self.start).total_seconds() / 86400

    def _day_of(self, d: date) -> float:
        moment = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return (moment - self.start).total_seconds() / 86400
