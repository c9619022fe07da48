-- Every signed bulk tender check report, by id (registry.adapters.bulk_reports), so whoever
-- receives one can fetch it again and check it. Append-only: the trigger refuses UPDATE and
-- DELETE, so a stored report is exactly what was signed and handed out.
CREATE TABLE IF NOT EXISTS bulk_reports (
    report_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    document TEXT NOT NULL
);

CREATE OR REPLACE FUNCTION bulk_reports_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'bulk_reports is append-only'; END $$;

CREATE OR REPLACE TRIGGER bulk_reports_append_only BEFORE UPDATE OR DELETE ON bulk_reports
FOR EACH ROW EXECUTE FUNCTION bulk_reports_append_only();
