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


class StoreIntegrityError(Exception):
    """The event store cannot vouch for what it holds (a forged or altered event, a wrong
    key). The event store adapter raises a subclass; entry points report it as one line."""

    code = "store.integrity"


class SecretUnavailable(Exception):
    """A secret key file is absent or unreadable; the message says which and what to do.
    The secrets adapter raises a subclass; entry points need not know the adapter."""

    code = "secrets.missing"
