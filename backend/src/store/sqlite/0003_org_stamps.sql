-- Each organisation's change stamp: moves in the same transaction as anything stored
-- about it, so the portal's cache drops only what a write changed. Never deleted.
CREATE TABLE org_stamps (
    org     TEXT PRIMARY KEY,
    stamp   INTEGER NOT NULL
);
