"""Event times: UTC, timezone-aware, never moving backwards on one registration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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
