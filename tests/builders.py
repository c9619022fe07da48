"""Test builders: actors and whole lifecycles; the data builders live in `registry.samples`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from registry.application import (
    Apply,
    Approve,
    AttachEvidence,
    Endorse,
    RecordExpertScore,
    StartReview,
    Submit,
)
from registry.application.clock import SimulatedClock
from registry.application.service import CommandResult, RegistryApp
from registry.samples import (
    EMPLOYER_ID,
    id_number,
    iet_facts,
    person,
    required_evidence,
    sie_facts,
)

__all__ = [  # the data builders are re-exported: tests import them from here
    "EMPLOYER",
    "EMPLOYER_ID",
    "REGISTRAR",
    "REVIEWER",
    "approved",
    "attach_required",
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


def attach_required(app: RegistryApp, rid: UUID, actor: Actor, n: int = 0) -> None:
    """Attach the materials the default policies require at submission (ID copy, photo,
    CHSI report), as the applicant does before submitting."""
    for ref, content in required_evidence(n):
        app.handle(AttachEvidence(rid, ref, content), actor)


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
    rid: UUID = app.handle(Apply(scheme, person(n), facts), eng).registration_id
    attach_required(app, rid, eng, n)
    clock.advance(timedelta(hours=1))
    app.handle(Submit(rid), eng)
    clock.advance(timedelta(days=1))
    if scheme == "IET":
        app.handle(Endorse(rid), EMPLOYER)
        clock.advance(timedelta(days=1))
    app.handle(StartReview(rid), REVIEWER)
    if scheme == "IET":
        app.handle(RecordExpertScore(rid, 78, "combined"), REVIEWER)
    clock.advance(timedelta(days=2))
    return app.handle(Approve(rid), REVIEWER)
