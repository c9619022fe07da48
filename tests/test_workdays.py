"""Working days on the Chinese holiday calendar: domain/workdays.py and registry/holidays.py."""

from __future__ import annotations

import json
import logging
import re
import time
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.workdays import (
    CalendarFallbackWarning,
    WorkingCalendar,
    YearSchedule,
    official_schedules,
)
from registry.adapters.holidays import (
    HolidayFileError,
    default_calendar,
    load_holiday_file,
    load_holiday_path,
)

REPO = Path(__file__).resolve().parent.parent
D = date.fromisoformat

# Synthetic operator data for tests only (not a real 2027 schedule).
SYNTHETIC_2027 = YearSchedule.of(
    holidays=[D("2027-01-01"), D("2027-03-02"), D("2027-03-03")],
    working_weekends=[D("2027-03-06"), D("2027-03-07")],
)

ignore_fallback = pytest.mark.filterwarnings("ignore::domain.workdays.CalendarFallbackWarning")


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(i) for i in range((end - start).days + 1)]


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# --- official data ---------------------------------------------------------------------------


def test_matches_package_on_every_day_it_covers(cal: WorkingCalendar) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mismatches = [
            d
            for d in _days(date(2004, 1, 1), date(2026, 12, 31))
            if cal.is_working_day(d) != chinese_calendar.is_workday(d)
        ]
    assert mismatches == []
    assert cal.fallback_years_used == frozenset()
    assert cal.official_years == range(2004, 2027)


def test_package_really_lacks_2027() -> None:
    # The premise of the fallback: if a newer package knows 2027, these tests still hold
    # (source_for would say "official"), but this documents the measured v1.11 behaviour.
    if max(official_schedules()) >= 2027:
        pytest.skip("installed chinesecalendar knows 2027")
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_2024_national_day(cal: WorkingCalendar) -> None:
    for d in _days(D("2024-10-01"), D("2024-10-07")):
        assert not cal.is_working_day(d), d
        assert not chinese_calendar.is_workday(d)
    # 调休: Sunday 29 Sep and Saturday 12 Oct 2024 were working days.
    assert D("2024-09-29").weekday() == 6 and cal.is_working_day(D("2024-09-29"))
    assert D("2024-10-12").weekday() == 5 and cal.is_working_day(D("2024-10-12"))
    assert cal.is_working_day(D("2024-10-08"))
    # Ordinary weekend around it stays off.
    assert not cal.is_working_day(D("2024-09-28"))
    assert not cal.is_working_day(D("2024-10-13"))


def test_2025_facts(cal: WorkingCalendar) -> None:
    for d in _days(D("2025-10-01"), D("2025-10-08")):  # National Day + Mid-Autumn
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(D("2025-09-28"))  # Sunday
    assert cal.is_working_day(D("2025-10-11"))  # Saturday
    for d in _days(D("2025-01-28"), D("2025-02-04")):  # Spring Festival
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(D("2025-01-26")) and cal.is_working_day(D("2025-02-08"))
    assert not cal.is_working_day(D("2025-01-01"))


# --- add_working_days / working_days_between -------------------------------------------------


def test_add_working_days_across_national_day_2024(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D("2024-09-30"), 1) == D("2024-10-08")
    assert cal.add_working_days(D("2024-09-27"), 1) == D("2024-09-29")  # working Sunday
    # Submitted Thu 26 Sep, 7 working days: 27, 29, 30 Sep, 8, 9, 10, 11 Oct.
    assert cal.add_working_days(D("2024-09-26"), 7) == D("2024-10-11")
    assert cal.add_working_days(D("2024-09-26"), 8) == D("2024-10-12")  # working Saturday
    assert cal.add_working_days(D("2024-09-26"), 9) == D("2024-10-14")
    # 15 working days (further verification).
    assert cal.add_working_days(D("2024-09-26"), 15) == D("2024-10-22")


def test_start_day_never_counts(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D("2024-10-01"), 1) == D("2024-10-08")  # start on a holiday
    assert cal.add_working_days(D("2024-10-08"), 1) == D("2024-10-09")  # start on a working day
    assert cal.add_working_days(D("2024-10-05"), 0) == D("2024-10-05")
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.add_working_days(D("2024-10-05"), -1)


def test_across_year_boundary(cal: WorkingCalendar) -> None:
    # 2024-12-31 Tue; 2025-01-01 holiday; 2025-01-02 Thu.
    assert cal.add_working_days(D("2024-12-31"), 1) == D("2025-01-02")
    assert cal.working_days_between(D("2024-12-31"), D("2025-01-02")) == 1
    far = cal.add_working_days(D("2004-01-01"), 5000)
    assert cal.working_days_between(D("2004-01-01"), far) == 5000


def test_working_days_between_conventions(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(D("2024-09-30"), D("2024-10-08")) == 1
    assert cal.working_days_between(D("2024-10-08"), D("2024-09-30")) == -1
    assert cal.working_days_between(D("2024-10-08"), D("2024-10-08")) == 0
    assert cal.working_days_between(D("2024-09-26"), D("2024-10-11")) == 7
    # Whole years agree with a day-by-day count.
    for year in (2024, 2025):
        expected = sum(cal.is_working_day(d) for d in _days(date(year, 1, 1), date(year, 12, 31)))
        assert cal.working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == expected


def test_100k_deadlines_are_fast(cal: WorkingCalendar) -> None:
    starts = [D("2024-01-01") + timedelta(i % 1000) for i in range(100_000)]
    cal.add_working_days(starts[0], 15)  # warm the year caches
    t0 = time.perf_counter()
    for s in starts:
        cal.add_working_days(s, 15)
    assert time.perf_counter() - t0 < 2.0


# --- provenance and fallback -----------------------------------------------------------------


def test_2027_without_file_uses_weekday_rule_and_warns() -> None:
    seen: list[int] = []
    cal = WorkingCalendar(on_fallback=seen.append)
    assert cal.source_for(2026) == "official"
    assert cal.source_for(2027) == "weekday-fallback"
    assert cal.fallback_years_used == frozenset()  # source_for is a pure query
    with pytest.warns(CalendarFallbackWarning, match="2027"):
        assert cal.is_working_day(D("2027-01-01"))  # a Friday: working under the weekday rule
    assert cal.fallback_years_used == {2027}
    assert seen == [2027]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning for the same year
        assert not cal.is_working_day(D("2027-01-02"))  # Saturday
        assert cal.add_working_days(D("2027-01-01"), 1) == D("2027-01-04")
    assert seen == [2027]


def test_deadline_crossing_into_unknown_year_does_not_crash() -> None:
    cal = WorkingCalendar()
    with pytest.warns(CalendarFallbackWarning):
        # 2026-12-30 Wed, 31 Thu; 2027-01-01 Fri under the weekday rule.
        assert cal.add_working_days(D("2026-12-30"), 2) == D("2027-01-01")
        assert cal.add_working_days(D("2026-12-30"), 15) == D("2027-01-20")
        assert cal.working_days_between(D("2026-12-30"), D("2028-01-01")) > 250
    assert cal.fallback_years_used == {2027, 2028}


def test_2027_with_operator_schedule() -> None:
    cal = WorkingCalendar({2027: SYNTHETIC_2027})
    assert cal.source_for(2027) == "operator"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cal.is_working_day(D("2027-01-01"))
        assert not cal.is_working_day(D("2027-03-02"))
        assert cal.is_working_day(D("2027-03-06"))  # Saturday made working
        assert cal.is_working_day(D("2027-03-07"))  # Sunday made working
        assert cal.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")
        assert cal.add_working_days(D("2027-03-01"), 1) == D("2027-03-04")
        assert cal.add_working_days(D("2027-03-05"), 2) == D("2027-03-07")
    assert cal.fallback_years_used == frozenset()


def test_operator_data_overrides_package() -> None:
    cal = WorkingCalendar({2024: YearSchedule()})
    assert cal.source_for(2024) == "operator"
    assert cal.is_working_day(D("2024-10-01"))  # Tuesday, a holiday in the package
    assert not cal.is_working_day(D("2024-09-29"))  # Sunday, working in the package


def test_without_package_data_everything_falls_back() -> None:
    cal = WorkingCalendar(official={})
    assert cal.source_for(2024) == "weekday-fallback"
    assert cal.official_years == range(0)
    with pytest.warns(CalendarFallbackWarning):
        assert cal.is_working_day(D("2024-10-01"))


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        (YearSchedule.of([D("2026-12-31")]), "outside year 2027"),
        (YearSchedule.of([D("2027-03-06")], [D("2027-03-06")]), "both a holiday and"),
        (YearSchedule.of([], [D("2027-03-08")]), "Monday, not a Saturday or Sunday"),
    ],
)
def test_calendar_rejects_inconsistent_schedule(schedule: YearSchedule, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        WorkingCalendar({2027: schedule})


# --- properties ------------------------------------------------------------------------------

PROP_CAL = WorkingCalendar({2027: SYNTHETIC_2027})
dates = st.dates(min_value=date(2002, 1, 1), max_value=date(2029, 12, 31))


@ignore_fallback
@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=1, max_value=400))
def test_property_add_lands_on_working_day(start: date, n: int) -> None:
    result = PROP_CAL.add_working_days(start, n)
    assert result > start
    assert PROP_CAL.is_working_day(result)
    assert PROP_CAL.working_days_between(start, result) == n
    assert PROP_CAL.working_days_between(result, start) == -n
    # Minimal: the day before the result is still short of n.
    assert PROP_CAL.working_days_between(start, result - timedelta(1)) == n - 1


@ignore_fallback
@settings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=60))
def test_property_matches_day_by_day_reference(start: date, n: int) -> None:
    d, remaining = start, n
    while remaining:
        d += timedelta(1)
        remaining -= PROP_CAL.is_working_day(d)
    assert PROP_CAL.add_working_days(start, n) == d


@ignore_fallback
@settings(max_examples=200, deadline=None)
@given(a=dates, b=dates, c=dates)
def test_property_between_is_additive(a: date, b: date, c: date) -> None:
    between = PROP_CAL.working_days_between
    assert between(a, b) + between(b, c) == between(a, c)


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)),
    n=st.integers(min_value=1, max_value=40),
)
def test_property_agrees_with_package_find_workday(start: date, n: int) -> None:
    # Independent oracle: chinese_calendar.find_workday(n, d) is the n-th working day after d
    # when d is itself a working day.
    cal = PROP_CAL
    if not chinese_calendar.is_workday(start):
        start = chinese_calendar.find_workday(0, start)
    assert cal.add_working_days(start, n) == chinese_calendar.find_workday(n, start)


# --- operator holiday files ------------------------------------------------------------------

VALID_2027: dict[str, Any] = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-03-02", "2027-03-03"],
    "working_weekends": ["2027-03-06", "2027-03-07"],
    "source": "test data, not an official schedule",
}


def test_load_valid_file(tmp_path: Path) -> None:
    hf = load_holiday_file(_write(tmp_path / "2027.json", VALID_2027))
    assert hf.year == 2027
    assert hf.schedule == SYNTHETIC_2027
    assert hf.source == "test data, not an official schedule"


def test_load_directory(tmp_path: Path) -> None:
    _write(tmp_path / "2027.json", VALID_2027)
    _write(
        tmp_path / "2028.json",
        {**VALID_2027, "year": 2028, "holidays": ["2028-01-03"], "working_weekends": []},
    )
    (tmp_path / "README.txt").write_text("ignored", encoding="utf-8")
    loaded = load_holiday_path(tmp_path)
    assert sorted(loaded) == [2027, 2028]
    assert loaded[2028].schedule.holidays == {D("2028-01-03")}


def test_directory_with_two_files_for_one_year(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", VALID_2027)
    _write(tmp_path / "b.json", VALID_2027)
    with pytest.raises(HolidayFileError) as info:
        load_holiday_path(tmp_path)
    assert "b.json" in str(info.value) and "a.json" in str(info.value)
    assert "year 2027 is already defined" in str(info.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(HolidayFileError, match="no such file or directory"):
        load_holiday_path(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ({**VALID_2027, "holidays": ["2027-01-01", "2027-02-30"]}, "holidays[1]: '2027-02-30'"),
        ({**VALID_2027, "holidays": ["2027/01/01"]}, "holidays[0]: '2027/01/01' is not a date"),
        ({**VALID_2027, "holidays": ["20270101"]}, "holidays[0]: '20270101' is not a date"),
        ({**VALID_2027, "holidays": [20270101]}, "holidays[0]: 20270101 is not a string"),
        ({**VALID_2027, "holidays": ["2026-12-31"]}, "outside the declared year 2027"),
        (
            {**VALID_2027, "working_weekends": ["2028-01-01"]},
            "working_weekends[0]: 2028-01-01 is outside the declared year 2027",
        ),
        (
            {**VALID_2027, "holidays": ["2027-03-06"], "working_weekends": ["2027-03-06"]},
            "2027-03-06 is listed both in 'holidays' and 'working_weekends'",
        ),
        (
            {**VALID_2027, "working_weekends": ["2027-03-08"]},
            "working_weekends[0]: 2027-03-08 is a Monday, not a Saturday or Sunday",
        ),
        (
            {**VALID_2027, "working_weekends": ["2027-02-29", "2027-03-08"]},
            "working_weekends[1]: 2027-03-08 is a Monday, not a Saturday or Sunday",
        ),
        (
            {**VALID_2027, "holidays": ["2027-01-01", "2027-01-01"]},
            "holidays[1]: 2027-01-01 is listed twice",
        ),
        ({**VALID_2027, "holidays": "2027-01-01"}, "'holidays' must be a list"),
        ({k: v for k, v in VALID_2027.items() if k != "source"}, "missing key(s): source"),
        (
            {k: v for k, v in VALID_2027.items() if k != "working_weekends"},
            "missing key(s): working_weekends",
        ),
        ({**VALID_2027, "holiday": []}, "unknown key(s): holiday"),
        ({**VALID_2027, "year": "2027"}, "'year' must be an integer"),
        ({**VALID_2027, "year": True}, "'year' must be an integer"),
        ({**VALID_2027, "source": "  "}, "'source' must be a non-empty string"),
        ({**VALID_2027, "example": True}, "marked as an EXAMPLE"),
        ([VALID_2027], "top level must be a JSON object"),
        ('{"year": 2027,', "invalid JSON at line 1"),
    ],
)
def test_invalid_files(tmp_path: Path, content: Any, fragment: str) -> None:
    path = _write(tmp_path / "bad-2027.json", content)
    with pytest.raises(HolidayFileError) as info:
        load_holiday_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert fragment in message, message
    assert info.value.path == path
    # Also reported when loading the directory that contains the file.
    with pytest.raises(HolidayFileError, match=re.escape(fragment)):
        load_holiday_path(tmp_path)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    bad = {
        **VALID_2027,
        "holidays": ["2027-02-30", "2026-05-01"],
        "working_weekends": ["2027-03-08"],
    }
    with pytest.raises(HolidayFileError) as info:
        load_holiday_file(_write(tmp_path / "x.json", bad))
    assert len(info.value.problems) == 3, info.value.problems


def test_shipped_example_is_refused_and_not_loaded_by_default() -> None:
    example = REPO / "registry" / "holidays" / "example-2027.json"
    data = json.loads(example.read_text(encoding="utf-8"))
    assert data["example"] is True and "EXAMPLE" in data["comment"]
    with pytest.raises(HolidayFileError, match="EXAMPLE"):
        load_holiday_file(example)
    assert default_calendar(None, today=D("2026-06-01")).source_for(2027) != "operator"


def test_documented_example_is_the_real_2025_schedule(tmp_path: Path) -> None:
    text = (REPO / "docs" / "HOLIDAYS.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    hf = load_holiday_file(_write(tmp_path / "2025.json", block.group(1)))
    assert hf.schedule == official_schedules()[2025]


# --- default_calendar ------------------------------------------------------------------------


def test_default_calendar_without_file_logs_fallback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="registry.adapters.holidays")
    cal = default_calendar(None, today=D("2026-06-01"))
    assert cal.source_for(2026) == "official"
    # Next year's gap is a reminder (INFO); the current year's gap is a warning.
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    startup = [r for r in caplog.records if "no holiday data" in r.getMessage()]
    assert len(startup) == 1 and "no holiday data for 2027" in startup[0].getMessage()
    caplog.clear()
    default_calendar(None, today=D("2027-06-01"))
    urgent = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert urgent and "no holiday data for 2027" in urgent[0].getMessage()
    caplog.clear()
    with pytest.warns(CalendarFallbackWarning):
        cal.add_working_days(D("2026-12-30"), 5)
    used = [r.getMessage() for r in caplog.records if r.name == "registry.adapters.holidays"]
    assert len(used) == 1 and "2027" in used[0]


def test_default_calendar_with_operator_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="registry.adapters.holidays")
    cal = default_calendar(_write(tmp_path / "2027.json", VALID_2027), today=D("2026-06-01"))
    assert cal.source_for(2027) == "operator"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("loaded holidays for 2027" in r.getMessage() for r in caplog.records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cal.add_working_days(D("2027-03-01"), 1) == D("2027-03-04")


def test_default_calendar_logs_override_of_package(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="registry.adapters.holidays")
    data = {**VALID_2027, "year": 2025, "holidays": ["2025-01-01"], "working_weekends": []}
    cal = default_calendar(_write(tmp_path / "2025.json", data), today=D("2025-06-01"))
    assert cal.source_for(2025) == "operator"
    assert cal.is_working_day(D("2025-10-01"))
    assert any(
        "overrides the chinesecalendar data for 2025" in r.getMessage() for r in caplog.records
    )


def test_default_calendar_propagates_file_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "2027.json", {**VALID_2027, "holidays": ["2027-13-01"]})
    with pytest.raises(HolidayFileError, match=r"2027\.json: holidays\[0\]: '2027-13-01'"):
        default_calendar(path)
