"""The SQL credential archive: issued credential strings by serial (migration 0003's table).

Implements `registry.application.certificates.CredentialArchive`; built by
`registry.bootstrap.open_credential_archive`.
"""

from __future__ import annotations

from datetime import datetime

from registry.application.ports import Database


class CredentialArchive:
    """Issued credential strings by serial, so holders can download their QR/PDF again.

    A credential holds only public facts (masked name, number, scheme), so it is kept in
    clear; the first write for a serial wins, which makes retried issues idempotent.
    """

    def __init__(self, db: Database) -> None:
        self.db = db  # its api_issued_credentials table comes from migration 0003

    def put_if_absent(
        self, serial: str, registration_id: str, credential: str, issued_at: datetime
    ) -> str:
        with self.db.transaction() as cur:
            cur.execute("SELECT credential FROM api_issued_credentials WHERE serial = ?", (serial,))
            row = cur.fetchone()
            if row is not None:
                return str(row[0])
            cur.execute(
                "INSERT INTO api_issued_credentials (serial, registration_id, credential,"
                " issued_at) VALUES (?, ?, ?, ?)",
                (serial, registration_id, credential, issued_at.isoformat()),
            )
        return credential

    def get(self, serial: str) -> str | None:
        rows = self.db.query(
            "SELECT credential FROM api_issued_credentials WHERE serial = ?", (serial,)
        )
        return str(rows[0][0]) if rows else None

    def delete(self, serial: str) -> None:
        self.db.execute("DELETE FROM api_issued_credentials WHERE serial = ?", (serial,))
