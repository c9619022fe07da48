"""Erasure as one answer: the `ErasePersonalData` handler records one result per registration
of the engineer; a caller that addressed one registration reports that one."""

from __future__ import annotations

from uuid import UUID

from domain.errors import InvalidTransition
from registry.application.commands import CommandResult


def erasure_result(results: list[CommandResult], registration_id: UUID) -> CommandResult:
    """The result for the addressed registration (else the first); refused when nothing
    was left to erase."""
    if not results:
        raise InvalidTransition("personal data already erased")
    mine = [r for r in results if r.registration_id == registration_id]
    return mine[0] if mine else results[0]
