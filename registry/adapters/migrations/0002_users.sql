-- API users and the SHA-256 digests of their bearer tokens (registry.adapters.users).
CREATE TABLE IF NOT EXISTS api_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
