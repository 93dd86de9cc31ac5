-- The change feed. `seq` orders it (AUTOINCREMENT: never reused, even after a purge);
-- `key` is the event's natural key, so a change recorded twice on a day stays one row.
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    key  TEXT    NOT NULL UNIQUE,
    org  TEXT    NOT NULL,
    at   TEXT    NOT NULL,
    kind TEXT    NOT NULL,
    doc  TEXT    NOT NULL
);
CREATE INDEX events_by_org ON events (org, seq);
CREATE INDEX events_by_kind ON events (kind, seq);
