-- Every signed bulk tender check report, by id (registry.adapters.bulk_reports), so whoever
-- receives one can fetch it again and check it. Append-only: the triggers refuse UPDATE and
-- DELETE, so a stored report is exactly what was signed and handed out.
CREATE TABLE IF NOT EXISTS bulk_reports (
    report_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    document TEXT NOT NULL
);

CREATE TRIGGER IF NOT EXISTS bulk_reports_no_update BEFORE UPDATE ON bulk_reports
BEGIN SELECT RAISE(ABORT, 'bulk_reports is append-only'); END;

CREATE TRIGGER IF NOT EXISTS bulk_reports_no_delete BEFORE DELETE ON bulk_reports
BEGIN SELECT RAISE(ABORT, 'bulk_reports is append-only'); END;
