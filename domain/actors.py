"""Who may act on the registry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ENGINEER = "engineer"
    EMPLOYER = "employer"
    REVIEWER = "reviewer"
    REGISTRAR = "registrar"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"  # scheme rules applied by the registry itself


@dataclass(frozen=True)
class Actor:
    """The person or process behind a command; recorded on every event."""

    id: str
    role: Role

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200:
            raise ValueError("actor id must be 1..200 characters")


SYSTEM = Actor("registry-rules", Role.SYSTEM)
