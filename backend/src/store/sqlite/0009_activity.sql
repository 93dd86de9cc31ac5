-- Activity: issues and pull requests keyed by forge and the forge's id (one record when an
-- item moves between repositories), releases by repository and tag, and each
-- organisation's activity sync position. An organisation's items are those of the
-- repositories it lists (org_repos), like its repositories.
CREATE TABLE activity_items (
    forge             TEXT    NOT NULL,
    id                INTEGER NOT NULL,
    repo_id           INTEGER NOT NULL,
    number            INTEGER NOT NULL,
    kind              TEXT    NOT NULL,
    author            TEXT,
    author_bot        INTEGER NOT NULL,
    created_at        TEXT    NOT NULL,
    closed_at         TEXT,
    merged_at         TEXT,
    first_response_at TEXT,
    state             TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (forge, id)
) WITHOUT ROWID;
-- A window's items: created, closed or merged in it, per repository.
CREATE INDEX activity_created ON activity_items (forge, repo_id, created_at);
CREATE INDEX activity_closed ON activity_items (forge, repo_id, closed_at);
CREATE INDEX activity_merged ON activity_items (forge, repo_id, merged_at);

CREATE TABLE releases (
    forge        TEXT    NOT NULL,
    repo_id      INTEGER NOT NULL,
    tag          TEXT    NOT NULL,
    published_at TEXT    NOT NULL,
    PRIMARY KEY (forge, repo_id, tag)
) WITHOUT ROWID;

CREATE TABLE activity_sync (
    org          TEXT PRIMARY KEY,
    synced_until TEXT NOT NULL
) WITHOUT ROWID;
