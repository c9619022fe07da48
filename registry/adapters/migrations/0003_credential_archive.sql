-- Issued credential strings by serial, so holders can download them again
-- (verify_api.services.CredentialArchive).
CREATE TABLE IF NOT EXISTS api_issued_credentials (
    serial TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL,
    credential TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
