"""Event times: UTC, timezone-aware, never moving backwards on one registration; business
dates: local calendar dates in the registry's zone (:class:`BusinessTime`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput


def require_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise InvalidInput("event time must be timezone-aware UTC")
    return at.astimezone(UTC)


def add_years(d: date, years: int) -> date:
    """Anniversary arithmetic; 29 February maps to 28 February in common years."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


DEFAULT_TIMEZONE = "Asia/Shanghai"
"""The registry's time zone unless configured (SPEC §12 "Time")."""


@dataclass(frozen=True)
class BusinessTime:
    """Business dates are calendar dates in the registry's zone; instants stay UTC.

    The domain is handed this value (it never reads settings): the aggregate, the read
    models and the entry points turn an instant into its local day, and a local day into
    the instants that bound it, only through here.
    """

    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        """`at` as a local wall-clock time (aware, in the registry's zone)."""
        return at.astimezone(self.zone)

    def day(self, at: datetime) -> date:
        """The local calendar date of the instant `at`."""
        return self.local(at).date()

    def start_of_day(self, on: date) -> datetime:
        """The first instant (UTC) of the local day `on`."""
        return datetime.combine(on, time.min, tzinfo=self.zone).astimezone(UTC)

    def end_of_day(self, on: date) -> datetime:
        """The last instant (UTC) of the local day `on`: "as of DATE" includes that day."""
        return self.start_of_day(on + timedelta(days=1)) - timedelta(microseconds=1)

    def today(self, now: datetime) -> date:
        return self.day(now)

    def show(self, at: datetime) -> str:
        """A person's reading of the instant: local wall-clock time and the zone."""
        return f"{self.local(at):%Y-%m-%d %H:%M} ({self.timezone})"


UTC_TIME = BusinessTime("UTC")
DEFAULT_BUSINESS_TIME = BusinessTime()
