"""Registration status: derived from events, never stored as a mutable field."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    EMPLOYER_ENDORSED = "employer_endorsed"
    UNDER_REVIEW = "under_review"
    RETURNED_FOR_SUPPLEMENT = "returned_for_supplement"
    FURTHER_VERIFICATION = "further_verification"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


IN_REVIEW = frozenset(
    {
        Status.SUBMITTED,
        Status.EMPLOYER_ENDORSED,
        Status.UNDER_REVIEW,
        Status.FURTHER_VERIFICATION,
    }
)
"""Statuses that sit in the review queue and count against the working-day SLA."""

REREVIEW = frozenset(
    {Status.UNDER_REVIEW, Status.RETURNED_FOR_SUPPLEMENT, Status.FURTHER_VERIFICATION}
)
"""Statuses in which a numbered registration is re-reviewed after an amendment (still in force)."""

TERMINAL = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.REVOKED})

# Revoked outranks suspended outranks expired when several apply (SPEC §11).
PRECEDENCE = {Status.REVOKED: 3, Status.SUSPENDED: 2, Status.EXPIRED: 1}


def permitted_to_practise(status: Status) -> bool:
    return status is Status.ACTIVE
