"""API users and bearer tokens: who may call the non-public registry API, and in which role.

A token is 256 random bits shown to the operator once; the registry keeps only its SHA-256
digest, so a leaked database does not leak usable credentials. Lookup goes by digest (an
indexed column) and is then confirmed with a constant-time comparison. Each user maps to one
`Actor` (id + role): the id is what the domain checks ownership against (an engineer's actor
id, an employer's organisation id).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from domain.actors import Actor, Role
from domain.errors import InvalidInput
from registry.application.ports import Database
from registry.application.users import (
    ASSIGNABLE_ROLES,
    ApiUser,
    DuplicateUser,
    UnknownUser,
)

TOKEN_PREFIX = "rgk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:\-]{0,99}$")


def hash_token(token: str) -> str:
    """SHA-256 hex of the token; a 256-bit random secret needs no slow KDF."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class UserStore:
    """API users in the registry database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db  # its api_users table comes from migration 0002

    def create(
        self,
        name: str,
        role: Role | str,
        *,
        actor_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[ApiUser, str]:
        """Create a user; returns the user and the token, which is never retrievable again."""
        if not _NAME.match(name):
            raise InvalidInput("user name must be 1..100 of letters, digits and . _ @ : -")
        try:
            parsed = Role(role)
        except ValueError:
            raise InvalidInput(f"unknown role {role!r}") from None
        if parsed not in ASSIGNABLE_ROLES:
            raise InvalidInput("the system role cannot be given to an API user")
        actor = Actor(actor_id or name, parsed)  # validates the id
        created = (now or datetime.now(tz=UTC)).astimezone(UTC)
        token = new_token()
        with self.db.transaction() as cur:
            cur.execute("SELECT 1 FROM api_users WHERE name = ?", (name,))
            if cur.fetchone() is not None:
                raise DuplicateUser(f"user {name!r} already exists")
            cur.execute(
                "INSERT INTO api_users (name, role, actor_id, token_hash, created_at, revoked_at)"
                " VALUES (?, ?, ?, ?, ?, NULL)",
                (name, parsed.value, actor.id, hash_token(token), created.isoformat()),
            )
        return ApiUser(name, parsed, actor.id, created, None), token

    def authenticate(self, token: str) -> ApiUser | None:
        """The active user holding `token`, or None; never says which part was wrong."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        rows = self.db.query(
            "SELECT name, role, actor_id, token_hash, created_at, revoked_at"
            " FROM api_users WHERE token_hash = ?",
            (digest,),
        )
        if not rows:
            return None
        row = rows[0]
        if not hmac.compare_digest(str(row[3]), digest):
            return None
        user = _user(row)
        return user if user.active else None

    def list(self) -> list[ApiUser]:
        rows = self.db.query(
            "SELECT name, role, actor_id, token_hash, created_at, revoked_at"
            " FROM api_users ORDER BY name"
        )
        return [_user(r) for r in rows]

    def revoke(self, name: str, *, now: datetime | None = None) -> ApiUser:
        """Revoke a user's token at once; the row stays for the audit trail."""
        moment = (now or datetime.now(tz=UTC)).astimezone(UTC)
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE api_users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (moment.isoformat(), name),
            )
            cur.execute(
                "SELECT name, role, actor_id, token_hash, created_at, revoked_at"
                " FROM api_users WHERE name = ?",
                (name,),
            )
            row = cur.fetchone()
        if row is None:
            raise UnknownUser(f"no user {name!r}")
        return _user(row)


def _user(row: tuple[object, ...]) -> ApiUser:
    revoked = row[5]
    return ApiUser(
        name=str(row[0]),
        role=Role(str(row[1])),
        actor_id=str(row[2]),
        created_at=datetime.fromisoformat(str(row[4])),
        revoked_at=datetime.fromisoformat(str(revoked)) if revoked else None,
    )
