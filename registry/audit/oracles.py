"""Authenticated prefix roots for locating tampering: from the live log, locally or over HTTP.

Nothing an oracle says is trusted on its own: the verifier checks each answer against the
signed checkpoint with an RFC 9162 consistency proof before using it.
"""

from __future__ import annotations

from typing import Any

import httpx

from registry.audit.log import AuditLog


class AuditLogOracle:
    """The registry's own tree, read directly (an operator or an auditor with DB access)."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def consistency(self, old_size: int, new_size: int) -> tuple[bytes, bytes, list[bytes]]:
        return (
            self.audit.root(old_size),
            self.audit.root(new_size),
            self.audit.consistency_proof(old_size, new_size),
        )


class HttpOracle:
    """`GET /api/v1/audit/consistency` of a running registry, with an auditor's token."""

    def __init__(self, base_url: str, token: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}

    def consistency(self, old_size: int, new_size: int) -> tuple[bytes, bytes, list[bytes]]:
        response = self.client.get(
            f"{self.base_url}/api/v1/audit/consistency",
            params={"old": old_size, "new": new_size},
            headers=self.headers,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return (
            bytes.fromhex(body["old_root"]),
            bytes.fromhex(body["new_root"]),
            [bytes.fromhex(p) for p in body["proof"]],
        )
