"""The SQL store of signed bulk tender check reports (migration 0006's table).

Implements `registry.application.ports.BulkReports`; built by
`registry.bootstrap.open_bulk_reports`. The table is append-only (triggers refuse UPDATE and
DELETE), so what `get` returns is exactly what was signed and handed out.
"""

from __future__ import annotations

from registry.application.ports import Database


class SqlBulkReports:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, report_id: str, created_at: str, sha256: str, document: str) -> None:
        self.db.execute(
            "INSERT INTO bulk_reports (report_id, created_at, sha256, document)"
            " VALUES (?, ?, ?, ?)",
            (report_id, created_at, sha256, document),
        )

    def get(self, report_id: str) -> str | None:
        rows = self.db.query("SELECT document FROM bulk_reports WHERE report_id = ?", (report_id,))
        return str(rows[0][0]) if rows else None
