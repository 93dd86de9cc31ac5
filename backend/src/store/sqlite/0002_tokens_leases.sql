-- orgpulse embedded store, schema version 2: API tokens and the refresh lease.

-- Only the SHA-256 of a token is kept; the secret is shown once at creation.
CREATE TABLE tokens (
    name         TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT
);

-- One row per lease name; whoever holds an unexpired row may run refreshes.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    run_id     TEXT,
    expires_at TEXT NOT NULL
);
