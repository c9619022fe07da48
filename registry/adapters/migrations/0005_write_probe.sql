-- One row rewritten by Database.check_writable, so a read-only or full store fails a
-- health check instead of the next command.
CREATE TABLE IF NOT EXISTS ops_write_probe (
    id INTEGER PRIMARY KEY,
    checked_at TEXT NOT NULL
);
