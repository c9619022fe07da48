"""Application-level refusals, on the same `DomainError` base so adapters map one family."""

from __future__ import annotations

from domain.errors import DomainError


class NotFound(DomainError):
    code = "registration.not_found"


class ConcurrencyConflict(DomainError):
    """Someone else changed the registration first; reload and decide again."""

    code = "registration.conflict"


class IdempotencyKeyReused(DomainError):
    code = "idempotency.key_reused"


class PersonalDataErased(DomainError):
    code = "personal_data.erased"
