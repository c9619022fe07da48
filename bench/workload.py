"""The benchmarks' workload: a start date, the actors, and one engineer's data per n.

The data itself (valid ID numbers, names, facts) comes from `registry.samples`, shared with
the tests and the demo; here only the benchmark-specific choices are made (500 employers,
ID numbers distinct up to eight million engineers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.actors import Actor, Role
from domain.personal import PersonalData
from registry.samples import sie_facts, varied_person

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
REVIEWER = Actor("bench-reviewer", Role.REVIEWER)
REGISTRAR = Actor("bench-registrar", Role.REGISTRAR)


def engineer(n: int) -> Actor:
    return Actor(f"bench-engineer-{n}", Role.ENGINEER)


def person(n: int) -> PersonalData:
    """Engineer n's personal data: a varied name and an ID number no other n has."""
    return varied_person(n)


def facts(n: int) -> dict[str, Any]:
    """Engineer n's SIE application, employed by one of 500 employers."""
    return sie_facts(employer_id=f"emp-{9144030000 + n % 500}")
