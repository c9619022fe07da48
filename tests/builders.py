"""Test builders: actors and whole lifecycles; the data builders live in `registry.samples`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from registry.application.clock import SimulatedClock
from registry.application.service import CommandResult, RegistryApp
from registry.samples import EMPLOYER_ID, id_number, iet_facts, person, sie_facts

__all__ = [  # the data builders are re-exported: tests import them from here
    "EMPLOYER",
    "EMPLOYER_ID",
    "REGISTRAR",
    "REVIEWER",
    "approved",
    "engineer",
    "id_number",
    "iet_facts",
    "person",
    "sie_facts",
]

REVIEWER = Actor("reviewer-1", Role.REVIEWER)
REGISTRAR = Actor("registrar-1", Role.REGISTRAR)
EMPLOYER = Actor(EMPLOYER_ID, Role.EMPLOYER)


def engineer(n: int) -> Actor:
    return Actor(f"engineer-{n}", Role.ENGINEER)


def approved(
    app: RegistryApp,
    clock: SimulatedClock,
    n: int,
    scheme: str = "SIE",
    facts: dict[str, Any] | None = None,
) -> CommandResult:
    """Take engineer n from application to approval; returns the approval result."""
    eng = engineer(n)
    if facts is None:
        facts = sie_facts() if scheme == "SIE" else iet_facts()
    rid: UUID = app.apply(eng, scheme, person(n), facts).registration_id
    clock.advance(timedelta(hours=1))
    app.submit(rid, eng)
    clock.advance(timedelta(days=1))
    if scheme == "IET":
        app.endorse(rid, EMPLOYER)
        clock.advance(timedelta(days=1))
    app.start_review(rid, REVIEWER)
    if scheme == "IET":
        app.record_expert_score(rid, REVIEWER, 78, "combined")
    clock.advance(timedelta(days=2))
    return app.approve(rid, REVIEWER)
