-- An item's id is the forge's id within its kind: GitLab numbers merge requests and issues
-- in separate sequences (GitHub too, for pull requests and issues), so one id can name
-- one of each. The kind joins the key; rows written before keep their values.
CREATE TABLE activity_items_by_kind (
    forge             TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    id                INTEGER NOT NULL,
    repo_id           INTEGER NOT NULL,
    number            INTEGER NOT NULL,
    author            TEXT,
    author_bot        INTEGER NOT NULL,
    created_at        TEXT    NOT NULL,
    closed_at         TEXT,
    merged_at         TEXT,
    first_response_at TEXT,
    state             TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (forge, kind, id)
) WITHOUT ROWID;
INSERT INTO activity_items_by_kind (forge, kind, id, repo_id, number, author, author_bot,
    created_at, closed_at, merged_at, first_response_at, state, updated_at)
  SELECT forge, kind, id, repo_id, number, author, author_bot, created_at, closed_at,
         merged_at, first_response_at, state, updated_at
  FROM activity_items;
DROP TABLE activity_items;
ALTER TABLE activity_items_by_kind RENAME TO activity_items;
CREATE INDEX activity_created ON activity_items (forge, repo_id, created_at);
CREATE INDEX activity_closed ON activity_items (forge, repo_id, closed_at);
CREATE INDEX activity_merged ON activity_items (forge, repo_id, merged_at);
