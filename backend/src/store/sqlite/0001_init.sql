-- orgpulse embedded store, schema version 1.
-- Records are kept as JSON documents (`doc`) beside the columns that are filtered,
-- sorted or joined on, so the layout mirrors the MongoDB collections.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Bumped by every write; readers cache against it.
INSERT INTO meta (key, value) VALUES ('data_version', 0);

CREATE TABLE tracked_orgs (
    org      TEXT PRIMARY KEY,
    added_at TEXT NOT NULL
);

CREATE TABLE org_status (
    org             TEXT PRIMARY KEY,
    outcome         TEXT NOT NULL,
    last_success_at TEXT
);

CREATE TABLE orgs (
    org        TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    doc        TEXT NOT NULL
);

CREATE TABLE repos (
    forge       TEXT    NOT NULL,
    id          INTEGER NOT NULL,
    org         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    full_name   TEXT    NOT NULL,
    language    TEXT,
    stars       INTEGER NOT NULL,
    forks       INTEGER NOT NULL,
    open_issues INTEGER NOT NULL,
    pushed_at   TEXT,
    license     TEXT,
    archived    INTEGER NOT NULL,
    first_seen  TEXT    NOT NULL,
    gone_since  TEXT,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (forge, id)
);
CREATE INDEX repos_by_org_stars ON repos (org, stars DESC);

CREATE TABLE repo_libraries (
    forge     TEXT    NOT NULL,
    repo_id   INTEGER NOT NULL,
    ecosystem TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    version   TEXT,
    license   TEXT
);
CREATE INDEX repo_libraries_by_repo ON repo_libraries (forge, repo_id);

-- `totals` is the day's DayTotals (what charts read); `repos` the per-repo counts.
CREATE TABLE snapshots (
    org      TEXT NOT NULL,
    day      TEXT NOT NULL,
    totals   TEXT NOT NULL,
    repos    TEXT NOT NULL,
    PRIMARY KEY (org, day)
);

CREATE TABLE http_cache (
    url           TEXT PRIMARY KEY,
    org           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    payload       TEXT NOT NULL,
    stored_at     TEXT NOT NULL
);
CREATE INDEX http_cache_by_org ON http_cache (org);

CREATE TABLE runs (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    status     TEXT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX runs_by_created ON runs (created_at DESC);
