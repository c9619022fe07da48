"""Lifecycle helpers for the projection tests, on top of the shared `tests.builders`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from registry.application import Apply, Approve, Endorse, RecordExpertScore, StartReview, Submit
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from tests.builders import REVIEWER, attach_required, engineer, iet_facts, person, sie_facts


def facts(scheme: str, employer_id: str = "emp-91440300", **overrides: Any) -> dict[str, Any]:
    return (sie_facts if scheme == "SIE" else iet_facts)(employer_id, **overrides)


def draft(
    app: RegistryApp, n: int, scheme: str = "SIE", *, name: str = "张小三", **fact_overrides: Any
) -> UUID:
    result = app.handle(
        Apply(scheme, person(n, name), facts(scheme, **fact_overrides)), engineer(n)
    )
    return result.registration_id


def to_review(app: RegistryApp, clock: SimulatedClock, rid: UUID, n: int) -> datetime:
    """Attach the required materials, submit (and endorse, for IET) and start the review;
    returns the submission time."""
    attach_required(app, rid, engineer(n), n)
    app.handle(Submit(rid), engineer(n))
    submitted = clock.now()
    registration = app.get(rid)
    if registration.policy.requires_employer_endorsement:
        assert registration.employer_id is not None
        app.handle(Endorse(rid), Actor(registration.employer_id, Role.EMPLOYER))
    app.handle(StartReview(rid), REVIEWER)
    return submitted


def register(
    app: RegistryApp,
    clock: SimulatedClock,
    n: int,
    scheme: str = "SIE",
    *,
    review_days: int = 2,
    name: str = "张小三",
    **fact_overrides: Any,
) -> tuple[UUID, str]:
    """Application to approval; returns (registration id, number)."""
    rid = draft(app, n, scheme, name=name, **fact_overrides)
    to_review(app, clock, rid, n)
    clock.advance(timedelta(days=review_days))
    if scheme == "IET":
        app.handle(RecordExpertScore(rid, 75, "defence"), REVIEWER)
    number = app.handle(Approve(rid), REVIEWER).number
    assert number is not None
    return rid, number
