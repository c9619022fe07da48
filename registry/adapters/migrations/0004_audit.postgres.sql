-- The audit log's Merkle tree and the tables that follow the event log with it
-- (registry.audit.tree_store, registry.audit.log). First-release stores have all but
-- audit_unauthenticated already: IF NOT EXISTS adopts them.
CREATE TABLE IF NOT EXISTS audit_merkle_nodes (
    level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TABLE IF NOT EXISTS audit_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    tree_size BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_leaves (
    leaf_index BIGINT PRIMARY KEY,
    notification_id BIGINT NOT NULL UNIQUE,
    originator_id TEXT NOT NULL,
    originator_version BIGINT NOT NULL,
    UNIQUE (originator_id, originator_version)
);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    leaf_index BIGINT NOT NULL,
    document TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_unauthenticated (
    leaf_index BIGINT PRIMARY KEY,
    notification_id BIGINT NOT NULL,
    originator_id TEXT NOT NULL,
    originator_version BIGINT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL
);

INSERT INTO audit_tracking (name, position, tree_size) VALUES ('merkle_tree', 0, 0)
    ON CONFLICT (name) DO NOTHING;
