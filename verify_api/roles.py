"""The HTTP role gate, read from the domain's one permission table (`domain.permissions`).

The HTTP layer refuses a caller whose role can never run an operation (403
`auth.role_not_allowed`) before the command runs; the aggregate then checks the same table
with the registration in hand (ownership, the named employer) and refuses with 403
`actor.not_permitted`. Deriving this view from `PERMISSIONS` means the two cannot drift.
"""

from __future__ import annotations

from types import MappingProxyType

from domain.actors import Role
from domain.permissions import AUDIT, PERMISSIONS, SCHEDULED

ROLE_MATRIX: MappingProxyType[str, frozenset[Role]] = MappingProxyType(
    {
        operation: rule.callers
        for operation, rule in PERMISSIONS.items()
        if operation not in SCHEDULED | AUDIT
    }
)
"""operation → roles that may call it over HTTP (the scheduler's and the audit log's
operations are not registry API routes)."""
