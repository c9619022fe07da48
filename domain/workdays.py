"""Working-day arithmetic on the Chinese public-holiday calendar (SPEC §3).

Review deadlines are counted in *working days*: Monday to Friday, minus public holidays, plus
the adjusted working weekends (调休) of the State Council's yearly schedule.

Where the rules for a year come from, in order of precedence:

1. ``"operator"`` — a :class:`YearSchedule` supplied by the operator (loaded from a holiday file
   by ``registry.adapters.holidays``). It overrides the package for the same year, so an
   operator can add a year the package does not know yet or correct an error in it.
2. ``"official"`` — the ``chinesecalendar`` package (v1.11 knows 2004–2026).
3. ``"weekday-fallback"`` — plain Monday-to-Friday rule. Never raises; the first use of each
   such year is recorded in :attr:`WorkingCalendar.fallback_years_used`, reported to the
   ``on_fallback`` callback and emitted as a :class:`CalendarFallbackWarning`.

Counting convention (used by every method here):

* ``add_working_days(start, n)`` is the date of the *n*-th working day strictly **after**
  ``start``; the start day itself never counts, whether or not it is a working day. A review
  "within 7 working days" of an application submitted on ``s`` is due on
  ``add_working_days(s, 7)``.
* ``working_days_between(start, end)`` counts working days in the half-open interval
  ``(start, end]``, so ``working_days_between(s, add_working_days(s, n)) == n``.

This module is pure (no file or logging I/O): it belongs to the domain layer.
"""

from __future__ import annotations

import threading
import warnings
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

import chinese_calendar  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "CalendarFallbackWarning",
    "CalendarSource",
    "WorkingCalendar",
    "YearSchedule",
    "official_schedules",
]

CalendarSource = Literal["official", "operator", "weekday-fallback"]

_SATURDAY = 5
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarFallbackWarning(UserWarning):
    """Working days of a year were computed with the plain Monday-to-Friday rule."""


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's deviations from the Monday-to-Friday rule.

    ``holidays``: days off (a holiday falling on a weekend is allowed and changes nothing).
    ``working_weekends``: Saturdays/Sundays that are working days (调休).
    """

    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[date], working_weekends: Iterable[date] = ()) -> YearSchedule:
        return cls(frozenset(holidays), frozenset(working_weekends))

    def problems(self, year: int) -> list[str]:
        """Inconsistencies of this schedule as the schedule of ``year`` (empty if none)."""
        out: list[str] = []
        for label, days in (("holiday", self.holidays), ("working weekend", self.working_weekends)):
            for d in sorted(days):
                if d.year != year:
                    out.append(f"{label} {d.isoformat()} is outside year {year}")
        for d in sorted(self.holidays & self.working_weekends):
            out.append(f"{d.isoformat()} is both a holiday and a working weekend")
        for d in sorted(self.working_weekends):
            if d.weekday() < _SATURDAY:
                out.append(
                    f"working weekend {d.isoformat()} is a {_WEEKDAYS[d.weekday()]}, "
                    "not a Saturday or Sunday"
                )
        return out


def official_schedules() -> dict[int, YearSchedule]:
    """The ``chinesecalendar`` package's data, one :class:`YearSchedule` per year it covers.

    Read from the package's constant tables (``holidays``/``workdays``) rather than its
    ``is_workday`` function, which raises ``NotImplementedError`` outside its years.
    """
    raw_holidays: Mapping[date, object] = chinese_calendar.holidays
    raw_workdays: Mapping[date, object] = chinese_calendar.workdays
    years = {d.year for d in raw_holidays} | {d.year for d in raw_workdays}
    if not years:
        return {}
    hol: dict[int, set[date]] = {y: set() for y in range(min(years), max(years) + 1)}
    work: dict[int, set[date]] = {y: set() for y in hol}
    for d in raw_holidays:
        hol[d.year].add(d)
    for d in raw_workdays:
        work[d.year].add(d)
    return {y: YearSchedule(frozenset(hol[y]), frozenset(work[y])) for y in hol}


@dataclass(frozen=True, slots=True)
class _YearTable:
    """Precomputed working-day flags and running counts for one calendar year."""

    first_ordinal: int  # date(year, 1, 1).toordinal()
    working: bytes  # working[i] == 1 iff day i of the year (0-based) is a working day
    cumulative: tuple[int, ...]  # cumulative[i] == working days among days [0, i)

    @property
    def total(self) -> int:
        return self.cumulative[-1]

    def count_through(self, ordinal: int) -> int:
        """Working days from 1 January up to and including the day ``ordinal``."""
        return self.cumulative[ordinal - self.first_ordinal + 1]


def _build_table(year: int, schedule: YearSchedule | None) -> _YearTable:
    first = date(year, 1, 1).toordinal()
    length = date(year, 12, 31).toordinal() - first + 1
    first_weekday = date(year, 1, 1).weekday()
    flags = bytearray(1 if (first_weekday + i) % 7 < _SATURDAY else 0 for i in range(length))
    if schedule is not None:
        for d in schedule.holidays:
            flags[d.toordinal() - first] = 0
        for d in schedule.working_weekends:
            flags[d.toordinal() - first] = 1
    cumulative = [0] * (length + 1)
    running = 0
    for i, flag in enumerate(flags):
        running += flag
        cumulative[i + 1] = running
    return _YearTable(first, bytes(flags), tuple(cumulative))


class WorkingCalendar:
    """Chinese working-day calendar with operator overrides and a weekday-rule fallback.

    ``operator``: ``{year: YearSchedule}`` from the operator; wins over the package per year.
    ``official``: the package's data; defaults to :func:`official_schedules` (injectable
    for tests, or ``{}`` to disable the package).
    ``on_fallback``: called with the year, once per year, the first time the weekday rule is
    used for it (the application layer logs from here; the domain does no I/O).

    Year tables are built lazily and cached, so each call is a dictionary lookup plus a
    binary search. Instances are safe to share between threads.
    """

    def __init__(
        self,
        operator: Mapping[int, YearSchedule] | None = None,
        *,
        official: Mapping[int, YearSchedule] | None = None,
        on_fallback: Callable[[int], None] | None = None,
    ) -> None:
        self._operator: dict[int, YearSchedule] = dict(operator or {})
        self._official: dict[int, YearSchedule] = dict(
            official_schedules() if official is None else official
        )
        problems = [
            f"{source} data for {year}: {problem}"
            for source, data in (("operator", self._operator), ("official", self._official))
            for year, schedule in sorted(data.items())
            for problem in schedule.problems(year)
        ]
        if problems:
            raise ValueError("inconsistent holiday schedule: " + "; ".join(problems))
        self._on_fallback = on_fallback
        self._tables: dict[int, _YearTable] = {}
        self._fallback_years: set[int] = set()
        self._lock = threading.Lock()

    # -- provenance -------------------------------------------------------------------------

    def source_for(self, year: int) -> CalendarSource:
        """Where the rules for ``year`` come from. A pure query: does not warn."""
        if year in self._operator:
            return "operator"
        if year in self._official:
            return "official"
        return "weekday-fallback"

    @property
    def official_years(self) -> range:
        """Years covered by the package data (empty range if none)."""
        if not self._official:
            return range(0)
        return range(min(self._official), max(self._official) + 1)

    @property
    def operator_years(self) -> frozenset[int]:
        return frozenset(self._operator)

    @property
    def fallback_years_used(self) -> frozenset[int]:
        """Years for which the weekday rule has actually been used by this calendar."""
        with self._lock:
            return frozenset(self._fallback_years)

    def schedule_for(self, year: int) -> YearSchedule | None:
        """The schedule in force for ``year``, or ``None`` under the weekday fallback."""
        return self._operator.get(year, self._official.get(year))

    # -- queries ----------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        table = self._table(d.year)
        return table.working[d.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, start: date, n: int) -> date:
        """The date of the ``n``-th working day strictly after ``start`` (start never counts).

        ``n == 0`` returns ``start`` unchanged; negative ``n`` is rejected.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return start
        year = start.year
        table = self._table(year)
        # Position sought, as a running count of working days from 1 January of `year`.
        target = table.count_through(start.toordinal()) + n
        while target > table.total:
            target -= table.total
            year += 1
            if year > date.max.year:
                raise OverflowError(f"{n} working days after {start} is past {date.max}")
            table = self._table(year)
        # Smallest index j with cumulative[j] >= target; the day reaching it is j - 1.
        day_index = bisect_left(table.cumulative, target) - 1
        return date.fromordinal(table.first_ordinal + day_index)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; negative (``-between(end, start)``) if end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        if start.year == end.year:
            table = self._table(start.year)
            return table.count_through(end.toordinal()) - table.count_through(start.toordinal())
        first = self._table(start.year)
        count = first.total - first.count_through(start.toordinal())
        for year in range(start.year + 1, end.year):
            count += self._table(year).total
        return count + self._table(end.year).count_through(end.toordinal())

    # -- internals --------------------------------------------------------------------------

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is not None:
            return table
        return self._build(year)

    def _build(self, year: int) -> _YearTable:
        with self._lock:
            table = self._tables.get(year)
            if table is not None:
                return table
            schedule = self.schedule_for(year)
            table = _build_table(year, schedule)
            self._tables[year] = table
            fell_back = schedule is None
            if fell_back:
                self._fallback_years.add(year)
        if fell_back:
            warnings.warn(
                f"no holiday data for {year}: working days in {year} follow the plain "
                "Monday-to-Friday rule (supply an operator holiday file, see docs/HOLIDAYS.md)",
                CalendarFallbackWarning,
                stacklevel=4,
            )
            if self._on_fallback is not None:
                self._on_fallback(year)
        return table
