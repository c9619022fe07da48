"""Fixtures for the read-model tests: an app on each store, its projections, a fixed calendar."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.workdays import WorkingCalendar
from projections import RegistryProjections
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_projections


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    """The package's official calendar (2004–2026): the tests' dates all fall inside it."""
    return WorkingCalendar()


@pytest.fixture
def app(settings: Settings, clock: SimulatedClock) -> Iterator[RegistryApp]:
    application = open_app(settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def views(app: RegistryApp, calendar: WorkingCalendar) -> RegistryProjections:
    return open_projections(app, calendar)
