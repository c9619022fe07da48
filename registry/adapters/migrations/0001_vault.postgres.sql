-- Per-subject data keys, wrapped under a key-encryption key kept outside the database
-- (registry.adapters.vault). The first release created this same table: IF NOT EXISTS
-- adopts it.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id TEXT PRIMARY KEY,
    id_hmac TEXT UNIQUE NOT NULL,
    key BYTEA NOT NULL
);
