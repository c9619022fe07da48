"""API users as the application sees them: who may call the registry API, and as whom.

The SQL implementation is `registry.adapters.users.UserStore`, built by
`registry.bootstrap.open_users`; entry points hold a `Users` and never import the adapter.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.actors import Actor, Role
from domain.errors import DomainError

ASSIGNABLE_ROLES = frozenset(r for r in Role if r is not Role.SYSTEM)
"""Every role but the system's own may be given to an API user."""


class UnknownUser(DomainError):
    code = "user.not_found"


class DuplicateUser(DomainError):
    code = "user.duplicate"


@dataclass(frozen=True)
class ApiUser:
    """An API user as stored (never the token itself)."""

    name: str
    role: Role
    actor_id: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_id, self.role)


class Users(Protocol):
    """API users and their bearer tokens (only a token's hash is kept)."""

    def create(
        self,
        name: str,
        role: Role | str,
        *,
        actor_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[ApiUser, str]: ...
    def authenticate(self, token: str) -> ApiUser | None: ...
    def list(self) -> builtins.list[ApiUser]: ...
    def revoke(self, name: str, *, now: datetime | None = None) -> ApiUser: ...
