"""Operator holiday files and the registry's default working-day calendar.

File format and operating procedure: ``docs/HOLIDAYS.md``. In short, one JSON object per
year::

    {"year": 2027,
     "holidays": ["2027-01-01", ...],
     "working_weekends": ["2027-02-07", ...],
     "source": "国务院办公厅关于2027年部分节假日安排的通知"}

Files are validated strictly; every problem of a file is reported in one
:class:`HolidayFileError` naming the file and the offending entry.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from domain.workdays import WorkingCalendar, YearSchedule

__all__ = [
    "HolidayFile",
    "HolidayFileError",
    "default_calendar",
    "load_holiday_file",
    "load_holiday_path",
]

logger = logging.getLogger("registry.adapters.holidays")

_REQUIRED_KEYS = ("year", "holidays", "working_weekends", "source")
_OPTIONAL_KEYS = ("comment", "example")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class HolidayFileError(ValueError):
    """A holiday file (or directory of files) cannot be used. Lists every problem found."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(f"{path}: " + "; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class HolidayFile:
    """One validated operator holiday file."""

    path: Path
    year: int
    schedule: YearSchedule
    source: str


def _parse_dates(
    value: Any, key: str, year: int | None, problems: list[str]
) -> list[tuple[int, date]]:
    """The valid entries of a date list as (index, date); problems are appended."""
    if not isinstance(value, list):
        problems.append(f"{key!r} must be a list of YYYY-MM-DD strings, got {type(value).__name__}")
        return []
    days: list[tuple[int, date]] = []
    seen: set[date] = set()
    for i, entry in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(entry, str):
            problems.append(f"{where}: {entry!r} is not a string")
            continue
        if not _ISO_DATE.fullmatch(entry):
            problems.append(f"{where}: {entry!r} is not a date in YYYY-MM-DD form")
            continue
        try:
            d = date.fromisoformat(entry)
        except ValueError as exc:
            problems.append(f"{where}: {entry!r} is not a valid date ({exc})")
            continue
        if year is not None and d.year != year:
            problems.append(f"{where}: {entry} is outside the declared year {year}")
            continue
        if d in seen:
            problems.append(f"{where}: {entry} is listed twice")
            continue
        seen.add(d)
        days.append((i, d))
    return days


def load_holiday_file(path: Path) -> HolidayFile:
    """Read and strictly validate one holiday file. Raises :class:`HolidayFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayFileError(path, [f"cannot read file: {exc}"]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HolidayFileError(
            path, [f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from exc
    if not isinstance(data, dict):
        raise HolidayFileError(
            path, [f"top level must be a JSON object, got {type(data).__name__}"]
        )

    problems: list[str] = []
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        problems.append("missing key(s): " + ", ".join(missing))
    unknown = sorted(set(data) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        problems.append(
            "unknown key(s): "
            + ", ".join(unknown)
            + " (allowed: "
            + ", ".join(_REQUIRED_KEYS + _OPTIONAL_KEYS)
            + ")"
        )
    example = data.get("example", False)
    if not isinstance(example, bool):
        problems.append(f"'example' must be true or false, got {example!r}")
    elif example:
        problems.append(
            'file is marked as an EXAMPLE ("example": true) and is not real holiday data; '
            "copy it, fill in the State Council's published schedule and remove 'example'"
        )

    year: int | None = None
    raw_year = data.get("year")
    if "year" in data:
        if isinstance(raw_year, bool) or not isinstance(raw_year, int):
            problems.append(f"'year' must be an integer, got {raw_year!r}")
        elif not date.min.year <= raw_year <= date.max.year:
            problems.append(f"'year' {raw_year} is out of range")
        else:
            year = raw_year
    source = data.get("source")
    if "source" in data and (not isinstance(source, str) or not source.strip()):
        problems.append("'source' must be a non-empty string naming the published notice")
    if "comment" in data and not isinstance(data["comment"], str):
        problems.append("'comment' must be a string")

    holidays = _parse_dates(data.get("holidays", []), "holidays", year, problems)
    working = _parse_dates(data.get("working_weekends", []), "working_weekends", year, problems)
    for d in sorted({d for _, d in holidays} & {d for _, d in working}):
        problems.append(f"{d.isoformat()} is listed both in 'holidays' and 'working_weekends'")
    for i, d in working:
        if d.weekday() < 5:
            problems.append(
                f"working_weekends[{i}]: {d.isoformat()} is a {_WEEKDAYS[d.weekday()]}, "
                "not a Saturday or Sunday"
            )

    if problems:
        raise HolidayFileError(path, problems)
    assert year is not None and isinstance(source, str)
    return HolidayFile(
        path,
        year,
        YearSchedule.of((d for _, d in holidays), (d for _, d in working)),
        source.strip(),
    )


def load_holiday_path(path: Path) -> dict[int, HolidayFile]:
    """Load one holiday file, or every ``*.json`` file of a directory, keyed by year.

    Two files for the same year are an error. Raises :class:`HolidayFileError`.
    """
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            logger.warning("holiday directory %s contains no *.json files", path)
    elif path.exists():
        files = [path]
    else:
        raise HolidayFileError(path, ["no such file or directory"])

    loaded: dict[int, HolidayFile] = {}
    for file in files:
        hf = load_holiday_file(file)
        if hf.year in loaded:
            raise HolidayFileError(
                file, [f"year {hf.year} is already defined by {loaded[hf.year].path}"]
            )
        loaded[hf.year] = hf
    return loaded


def _log_fallback(year: int) -> None:
    logger.warning(
        "no holiday data for %d: working days in %d are counted Monday to Friday "
        "(supply an operator holiday file, see docs/HOLIDAYS.md)",
        year,
        year,
    )


def default_calendar(
    holiday_path: Path | None = None, *, today: date | None = None
) -> WorkingCalendar:
    """The registry's working-day calendar: package data plus the operator's holiday files.

    Logs (logger ``registry.adapters.holidays``) which operator years were loaded, any operator year
    that overrides the package, a warning at start-up if the current or next year has no
    holiday data, and a warning the first time each year falls back to the weekday rule.
    """
    files = load_holiday_path(holiday_path) if holiday_path is not None else {}
    calendar = WorkingCalendar(
        {year: hf.schedule for year, hf in files.items()}, on_fallback=_log_fallback
    )
    for year, hf in sorted(files.items()):
        if year in calendar.official_years:
            logger.warning(
                "operator holiday file %s overrides the chinesecalendar data for %d (source: %s)",
                hf.path,
                year,
                hf.source,
            )
        else:
            logger.info("loaded holidays for %d from %s (source: %s)", year, hf.path, hf.source)
    current = (today or date.today()).year
    for year in (current, current + 1):
        if calendar.source_for(year) == "weekday-fallback":
            # This year's gap is urgent; next year's is a reminder (the actual fallback
            # use is warned about by the calendar when a deadline first needs it).
            logger.log(
                logging.WARNING if year == current else logging.INFO,
                "no holiday data for %d (chinesecalendar covers %s): deadlines falling in %d "
                "will use the Monday-to-Friday rule until an operator holiday file is supplied",
                year,
                _describe(calendar.official_years),
                year,
            )
    return calendar


def _describe(years: range) -> str:
    return f"{years.start}-{years.stop - 1}" if years else "no years"
